package io.pvio.netlinux;

import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevClass;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.NetdevException;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/** Netdev class {@code tap}: an existing (persistent) or new tap device by name (OVS's tap class). */
@Component(service = NetdevClass.class, property = NetdevClass.TYPE_PROPERTY + "=" + TapClass.TYPE)
public final class TapClass implements NetdevClass {
    public static final String TYPE = "tap";

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Netdev open(String name, Map<String, String> options, NetdevContext context) throws NetdevException {
        return new TapNetdev(TYPE, name, options, context);
    }
}
