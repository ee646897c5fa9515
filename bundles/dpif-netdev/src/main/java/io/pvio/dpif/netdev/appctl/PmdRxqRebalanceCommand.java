package io.pvio.dpif.netdev.appctl;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.netdev.DpifNetdev;
import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code dpif-netdev/pmd-rxq-rebalance [DP]}: assigns the rx queues to the PMD threads again. */
@Component(service = UnixctlCommand.class, property = {UnixctlCommand.COMMAND_PROPERTY + "=dpif-netdev/pmd-rxq-rebalance",
        UnixctlCommand.USAGE_PROPERTY + "=[dp]"})
public final class PmdRxqRebalanceCommand extends DpifCommand {
    public PmdRxqRebalanceCommand() {
    }

    public PmdRxqRebalanceCommand(DpifNetdev dp) {
        super(dp);
    }

    @Override
    @Reference(target = TARGET)
    void setDpif(Dpif d) {
        super.setDpif(d);
    }

    @Override
    String exec(DpifNetdev d, List<String> args) throws UnixctlException {
        for (String a : args) {
            datapath(a);
        }
        d.pmdRxqRebalance();
        return "pmd rxq rebalance requested.\n";
    }
}
