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

/** {@code dpdkvhostuserclient}: pvio connects to the front end's socket ({@code options:vhost-server-path}). */
@Component(service = NetdevClass.class, property = NetdevClass.TYPE_PROPERTY + "=" + VhostUserClientClass.TYPE)
public final class VhostUserClientClass implements NetdevClass {
    public static final String TYPE = "dpdkvhostuserclient";

    private volatile AsyncBinder binder;

    /** For DS: the binder comes with {@link AsyncCopy}. */
    public VhostUserClientClass() {
        this(new AsyncBinder());
    }

    /** For tests and embedders: ports of this class use {@code binder}'s DMA channels. */
    public VhostUserClientClass(AsyncBinder binder) {
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
        return VhostPort.open(Mode.CLIENT, name, options, context, binder);
    }
}
