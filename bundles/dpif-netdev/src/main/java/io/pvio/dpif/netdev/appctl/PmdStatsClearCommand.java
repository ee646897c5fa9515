package io.pvio.dpif.netdev.appctl;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.netdev.DpifNetdev;
import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code dpif-netdev/pmd-stats-clear [-pmd CORE] [DP]}: as OVS, with -pmd only that PMD's statistics. */
@Component(service = UnixctlCommand.class, property = {UnixctlCommand.COMMAND_PROPERTY + "=dpif-netdev/pmd-stats-clear",
        UnixctlCommand.USAGE_PROPERTY + "=[-pmd core] [dp]"})
public final class PmdStatsClearCommand extends DpifCommand {
    public PmdStatsClearCommand() {
    }

    public PmdStatsClearCommand(DpifNetdev dp) {
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
        d.pmdStatsClear(core);
        return "";
    }
}
