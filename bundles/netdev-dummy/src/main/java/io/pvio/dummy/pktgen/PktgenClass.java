package io.pvio.dummy.pktgen;

import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevClass;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.NetdevException;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/** Netdev class {@code pktgen}: a traffic generator (rx side) and validating sink (tx side). */
@Component(service = NetdevClass.class, property = NetdevClass.TYPE_PROPERTY + "=" + PktgenClass.TYPE)
public final class PktgenClass implements NetdevClass {
    public static final String TYPE = "pktgen";

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Netdev open(String name, Map<String, String> options, NetdevContext context) throws NetdevException {
        return new PktgenNetdev(name, options, context);
    }
}
