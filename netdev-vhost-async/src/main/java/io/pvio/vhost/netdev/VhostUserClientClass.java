package io.pvio.vhost.netdev;

import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevClass;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.NetdevException;
import io.pvio.vhost.user.ControlThread.Mode;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/** {@code dpdkvhostuserclient}: pvio connects to the front end's socket ({@code options:vhost-server-path}). */
@Component(service = NetdevClass.class, property = NetdevClass.TYPE_PROPERTY + "=" + VhostUserClientClass.TYPE)
public final class VhostUserClientClass implements NetdevClass {
    public static final String TYPE = "dpdkvhostuserclient";

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Netdev open(String name, Map<String, String> options, NetdevContext context) throws NetdevException {
        return VhostPort.open(Mode.CLIENT, name, options, context);
    }
}
