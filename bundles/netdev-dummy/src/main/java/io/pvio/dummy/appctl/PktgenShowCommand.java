package io.pvio.dummy.appctl;

import io.pvio.dummy.DummyPorts;
import io.pvio.dummy.PktgenPort;
import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/** {@code pktgen/show [PORT]}: configuration, generator and sink counters of pktgen ports. */
@Component(service = UnixctlCommand.class, property = {UnixctlCommand.COMMAND_PROPERTY + "=pktgen/show",
        UnixctlCommand.USAGE_PROPERTY + "=[PORT]"})
public final class PktgenShowCommand implements UnixctlCommand {
    @Override
    public String run(List<String> args) throws UnixctlException {
        if (args.size() > 1) {
            throw new UnixctlException("usage: pktgen/show [PORT]");
        }
        if (args.size() == 1) {
            PktgenPort p = DummyPorts.pktgen(args.get(0));
            if (p == null) {
                throw new UnixctlException("no such pktgen port: " + args.get(0));
            }
            return p.show();
        }
        Map<String, PktgenPort> all = DummyPorts.pktgens();
        if (all.isEmpty()) {
            return "no pktgen ports\n";
        }
        StringBuilder sb = new StringBuilder();
        all.values().forEach(p -> sb.append(p.show()));
        return sb.toString();
    }
}
