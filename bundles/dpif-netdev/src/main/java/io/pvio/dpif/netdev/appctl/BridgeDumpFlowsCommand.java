package io.pvio.dpif.netdev.appctl;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.DpifException;
import io.pvio.dpif.netdev.DpifNetdev;
import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@code bridge/dump-flows [--offload-stats] BRIDGE}: the bridge's flows as OVS 3.1's vswitchd prints them
 * (the bridge is the last argument; other arguments but --offload-stats are ignored, as OVS).
 */
@Component(service = UnixctlCommand.class, property = {UnixctlCommand.COMMAND_PROPERTY + "=bridge/dump-flows",
        UnixctlCommand.USAGE_PROPERTY + "=[--offload-stats] bridge"})
public final class BridgeDumpFlowsCommand extends DpifCommand {
    public BridgeDumpFlowsCommand() {
    }

    public BridgeDumpFlowsCommand(DpifNetdev dp) {
        super(dp);
    }

    @Override
    @Reference(target = TARGET)
    void setDpif(Dpif d) {
        super.setDpif(d);
    }

    @Override
    String exec(DpifNetdev d, List<String> args) throws UnixctlException, DpifException {
        if (args.isEmpty()) { // OVS's unixctl server's texts
            throw new UnixctlException("\"bridge/dump-flows\" command requires at least 1 arguments");
        }
        if (args.size() > 2) {
            throw new UnixctlException("\"bridge/dump-flows\" command takes at most 2 arguments");
        }
        return d.bridgeDumpFlows(args.get(args.size() - 1), args.size() == 2 && args.get(0).equals("--offload-stats"));
    }
}
