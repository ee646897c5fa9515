package io.pvio.netlinux;

import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevClass;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.NetdevException;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/** Netdev class {@code internal}: a port of the host's own stack, as the bridge's local port (named after the bridge)
 * or an extra one: a tap device the host can put an address on (OVS's internal ports). */
@Component(service = NetdevClass.class, property = NetdevClass.TYPE_PROPERTY + "=" + InternalClass.TYPE)
public final class InternalClass implements NetdevClass {
    public static final String TYPE = "internal";

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Netdev open(String name, Map<String, String> options, NetdevContext context) throws NetdevException {
        return new TapNetdev(TYPE, name, options, context);
    }
}
