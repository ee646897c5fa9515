package io.pvio.vhost.netdev;

import io.pvio.netdev.NetdevClass;
import io.pvio.vhost.async.AsyncBinder;
import io.pvio.vhost.user.ControlThread.Mode;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code dpdkvhostuserclient}: pvio connects to the front end's socket ({@code options:vhost-server-path}). */
@Component(service = NetdevClass.class, property = NetdevClass.TYPE_PROPERTY + "=" + VhostUserClientClass.TYPE)
public final class VhostUserClientClass extends VhostUserClass {
    public static final String TYPE = "dpdkvhostuserclient";

    /** For DS: the binder comes with {@link AsyncCopy}. */
    public VhostUserClientClass() {
        this(new AsyncBinder());
    }

    /** For tests and embedders: ports of this class use {@code binder}'s DMA channels. */
    public VhostUserClientClass(AsyncBinder binder) {
        super(Mode.CLIENT, TYPE, binder);
    }

    @Reference
    void setAsyncCopy(AsyncCopy a) {
        useAsyncCopy(a);
    }
}
