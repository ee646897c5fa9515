package io.pvio.dummy.netdev;

import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevClass;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.NetdevException;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/** Netdev class {@code dummy}: software ports fed and read by tests (OVS's netdev-dummy). */
@Component(service = NetdevClass.class, property = NetdevClass.TYPE_PROPERTY + "=" + DummyClass.TYPE)
public final class DummyClass implements NetdevClass {
    public static final String TYPE = "dummy";

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Netdev open(String name, Map<String, String> options, NetdevContext context) throws NetdevException {
        return new DummyNetdev(name, options, context);
    }
}
