package io.pvio.vhost.netdev;

import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevClass;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.NetdevException;
import io.pvio.vhost.user.ControlThread.Mode;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/** {@code dpdkvhostuser}: pvio listens on {@code <run dir>/<port name>} and the front end connects. */
@Component(service = NetdevClass.class, property = NetdevClass.TYPE_PROPERTY + "=" + VhostUserServerClass.TYPE)
public final class VhostUserServerClass implements NetdevClass {
    public static final String TYPE = "dpdkvhostuser";

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Netdev open(String name, Map<String, String> options, NetdevContext context) throws NetdevException {
        return VhostPort.open(Mode.SERVER, name, options, context);
    }
}
