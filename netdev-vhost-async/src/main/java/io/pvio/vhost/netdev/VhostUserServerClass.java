package io.pvio.vhost.netdev;

import io.pvio.netdev.NetdevClass;
import io.pvio.vhost.async.AsyncBinder;
import io.pvio.vhost.user.ControlThread.Mode;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code dpdkvhostuser}: pvio listens on {@code <run dir>/<port name>} and the front end connects. */
@Component(service = NetdevClass.class, property = NetdevClass.TYPE_PROPERTY + "=" + VhostUserServerClass.TYPE)
public final class VhostUserServerClass extends VhostUserClass {
    public static final String TYPE = "dpdkvhostuser";

    /** For DS: the binder comes with {@link AsyncCopy}. */
    public VhostUserServerClass() {
        this(new AsyncBinder());
    }

    /** For tests and embedders: ports of this class use {@code binder}'s DMA channels. */
    public VhostUserServerClass(AsyncBinder binder) {
        super(Mode.SERVER, TYPE, binder);
    }

    @Reference
    void setAsyncCopy(AsyncCopy a) {
        useAsyncCopy(a);
    }
}
