package io.pvio.dpif.netdev.appctl;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.netdev.DpifNetdev;
import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@code dpif-netdev/pmd-rxq-show [-pmd CORE] [-secs SECS] [DP]}: which PMD polls which rx queue, and each
 * queue's share of its PMD's time over the last SECS seconds (rounded up to 5 s intervals; at most and by
 * default 60), as OVS 3.1.
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
        int[] secs = new int[1];
        Integer core = pmdArguments(args, 0, secs);
        return d.pmdRxqShow(core, secs[0]);
    }
}
