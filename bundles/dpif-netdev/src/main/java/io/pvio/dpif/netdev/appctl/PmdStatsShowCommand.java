package io.pvio.dpif.netdev.appctl;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.netdev.DpifNetdev;
import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code dpif-netdev/pmd-stats-show [-pmd CORE] [DP]}. */
@Component(service = UnixctlCommand.class, property = {UnixctlCommand.COMMAND_PROPERTY + "=dpif-netdev/pmd-stats-show",
        UnixctlCommand.USAGE_PROPERTY + "=[-pmd core] [dp]"})
public final class PmdStatsShowCommand extends DpifCommand {
    public PmdStatsShowCommand() {
    }

    public PmdStatsShowCommand(DpifNetdev dp) {
        super(dp);
    }

    @Override
    @Reference(target = TARGET)
    void setDpif(Dpif d) {
        super.setDpif(d);
    }

    @Override
    String exec(DpifNetdev d, List<String> args) throws UnixctlException {
        Integer core = pmdArguments(args, 0, null);
        return d.pmdStatsShow(core);
    }
}
