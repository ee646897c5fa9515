package io.pvio.vhost.netdev;

import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevClass;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.NetdevException;
import io.pvio.vhost.user.ControlThread.Mode;
import java.util.Map;
import io.pvio.vhost.async.AsyncBinder;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code dpdkvhostuser}: pvio listens on {@code <run dir>/<port name>} and the front end connects. */
@Component(service = NetdevClass.class, property = NetdevClass.TYPE_PROPERTY + "=" + VhostUserServerClass.TYPE)
public final class VhostUserServerClass implements NetdevClass {
    public static final String TYPE = "dpdkvhostuser";

    private volatile AsyncBinder binder;

    /** For DS: the binder comes with {@link AsyncCopy}. */
    public VhostUserServerClass() {
        this(new AsyncBinder());
    }

    /** For tests and embedders: ports of this class use {@code binder}'s DMA channels. */
    public VhostUserServerClass(AsyncBinder binder) {
        this.binder = binder;
    }

    @Reference
    void setAsyncCopy(AsyncCopy a) {
        binder = a.binder();
    }

    public AsyncBinder binder() {
        return binder;
    }

    @Override
    public void setOtherConfig(Map<String, String> otherConfig) {
        AsyncCopy.setOtherConfig(binder, otherConfig);
    }

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Netdev open(String name, Map<String, String> options, NetdevContext context) throws NetdevException {
        return VhostPort.open(Mode.SERVER, name, options, context, binder);
    }
}
