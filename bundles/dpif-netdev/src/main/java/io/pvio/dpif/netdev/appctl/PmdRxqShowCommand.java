package io.pvio.dpif.netdev.appctl;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.netdev.DpifNetdev;
import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@code dpif-netdev/pmd-rxq-show [-pmd CORE] [-secs SECS] [DP]}: which PMD polls which rx queue. SECS is
 * accepted as OVS accepts it; pvio's usage is not windowed (it covers the time since the PMD took the queue).
 */
@Component(service = UnixctlCommand.class, property = {UnixctlCommand.COMMAND_PROPERTY + "=dpif-netdev/pmd-rxq-show",
        UnixctlCommand.USAGE_PROPERTY + "=[-pmd core] [-secs secs] [dp]"})
public final class PmdRxqShowCommand extends DpifCommand {
    public PmdRxqShowCommand() {
    }

    public PmdRxqShowCommand(DpifNetdev dp) {
        super(dp);
    }

    @Override
    @Reference(target = TARGET)
    void setDpif(Dpif d) {
        super.setDpif(d);
    }

    @Override
    String exec(DpifNetdev d, List<String> args) throws UnixctlException {
        Integer core = pmdArguments(args, 0, true);
        return d.pmdRxqShow(core);
    }
}
