package io.pvio.dpif.netdev.appctl;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.DpifException;
import io.pvio.dpif.netdev.DpifNetdev;
import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code fdb/stats-clear [BRIDGE]}: the MAC learning totals back to 0, as OVS 3.1. */
@Component(service = UnixctlCommand.class, property = {UnixctlCommand.COMMAND_PROPERTY + "=fdb/stats-clear",
        UnixctlCommand.USAGE_PROPERTY + "=[bridge]"})
public final class FdbStatsClearCommand extends DpifCommand {
    public FdbStatsClearCommand() {
    }

    public FdbStatsClearCommand(DpifNetdev dp) {
        super(dp);
    }

    @Override
    @Reference(target = TARGET)
    void setDpif(Dpif d) {
        super.setDpif(d);
    }

    @Override
    String exec(DpifNetdev d, List<String> args) throws UnixctlException, DpifException {
        if (args.size() > 1) {
            throw new UnixctlException("usage: fdb/stats-clear [bridge]");
        }
        d.fdbStatsClear(args.isEmpty() ? null : args.get(0));
        return "statistics successfully cleared\n";
    }
}
