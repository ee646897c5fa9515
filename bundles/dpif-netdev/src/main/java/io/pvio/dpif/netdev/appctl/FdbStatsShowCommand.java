package io.pvio.dpif.netdev.appctl;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.DpifException;
import io.pvio.dpif.netdev.DpifNetdev;
import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code fdb/stats-show BRIDGE}: the MAC learning table figures, as OVS 3.1. */
@Component(service = UnixctlCommand.class, property = {UnixctlCommand.COMMAND_PROPERTY + "=fdb/stats-show",
        UnixctlCommand.USAGE_PROPERTY + "=bridge"})
public final class FdbStatsShowCommand extends DpifCommand {
    public FdbStatsShowCommand() {
    }

    public FdbStatsShowCommand(DpifNetdev dp) {
        super(dp);
    }

    @Override
    @Reference(target = TARGET)
    void setDpif(Dpif d) {
        super.setDpif(d);
    }

    @Override
    String exec(DpifNetdev d, List<String> args) throws UnixctlException, DpifException {
        if (args.size() != 1) {
            throw new UnixctlException("usage: fdb/stats-show bridge");
        }
        return d.fdbStatsShow(args.get(0));
    }
}
