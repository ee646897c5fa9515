package io.pvio.vhost.netdev;

import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/** {@code netdev-vhost/show [PORT]}: connection state, features and per-virtqueue state of vhost ports. */
@Component(service = UnixctlCommand.class, property = {UnixctlCommand.COMMAND_PROPERTY + "=netdev-vhost/show",
    UnixctlCommand.USAGE_PROPERTY + "=[PORT]"})
public final class VhostShowCommand implements UnixctlCommand {
    @Override
    public String run(List<String> args) throws UnixctlException {
        if (args.size() > 1) {
            throw new UnixctlException("usage: netdev-vhost/show [PORT]");
        }
        if (args.size() == 1) {
            VhostPort p = VhostPorts.get(args.get(0));
            if (p == null) {
                throw new UnixctlException("no such vhost-user port: " + args.get(0));
            }
            return p.show();
        }
        Map<String, VhostPort> all = VhostPorts.all();
        if (all.isEmpty()) {
            return "no vhost-user ports\n";
        }
        StringBuilder sb = new StringBuilder();
        all.values().forEach(p -> sb.append(p.show()));
        return sb.toString();
    }
}
