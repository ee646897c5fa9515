package io.pvio.vhost.netdev;

import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevClass;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.NetdevException;
import io.pvio.vhost.async.AsyncBinder;
import io.pvio.vhost.user.ControlThread.Mode;
import java.util.Map;

/**
 * What the two vhost-user netdev classes share: the socket role, and the bundle's one {@link AsyncBinder}
 * (from {@link AsyncCopy} under DS), through which their ports' queues get DMA channels.
 */
abstract class VhostUserClass implements NetdevClass {
    private final Mode mode;
    private final String type;
    private volatile AsyncBinder binder;

    VhostUserClass(Mode mode, String type, AsyncBinder binder) {
        this.mode = mode;
        this.type = type;
        this.binder = binder;
    }

    /** DS: the bundle's binder replaces the private one before any port opens. */
    void useAsyncCopy(AsyncCopy a) {
        binder = a.binder();
    }

    public AsyncBinder binder() {
        return binder;
    }

    @Override
    public void setOtherConfig(Map<String, String> otherConfig) {
        AsyncCopy.setOtherConfig(binder, otherConfig);
        String tso = otherConfig == null ? null : otherConfig.get("userspace-tso-enable");
        VhostPort.setUserspaceTso("true".equalsIgnoreCase(tso == null ? "" : tso.trim()));
    }

    @Override
    public String type() {
        return type;
    }

    @Override
    public Netdev open(String name, Map<String, String> options, NetdevContext context) throws NetdevException {
        return VhostPort.open(mode, name, options, context, binder);
    }
}
