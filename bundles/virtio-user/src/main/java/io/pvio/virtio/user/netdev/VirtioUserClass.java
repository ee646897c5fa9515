package io.pvio.virtio.user.netdev;

import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevClass;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.NetdevException;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/**
 * Netdev class {@value #TYPE}: a virtio-net device driven over vhost-user from inside pvio (DPDK's
 * net_virtio_user PMD as OVS uses it). Options: see {@link VirtioUserOptions}.
 */
@Component(service = NetdevClass.class, property = NetdevClass.TYPE_PROPERTY + "=" + VirtioUserClass.TYPE)
public final class VirtioUserClass implements NetdevClass {
    public static final String TYPE = "virtio-user";

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Netdev open(String name, Map<String, String> options, NetdevContext context) throws NetdevException {
        return VirtioUserPort.open(name, VirtioUserOptions.parse(name, options, context.runDir()), options, context);
    }
}
