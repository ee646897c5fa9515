package io.pvio.dpif.netdev.appctl;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.DpifException;
import io.pvio.dpif.netdev.DpifNetdev;
import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code fdb/add BRIDGE PORT VLAN MAC}: a static MAC entry (OVS 3.1). */
@Component(service = UnixctlCommand.class, property = {UnixctlCommand.COMMAND_PROPERTY + "=fdb/add",
        UnixctlCommand.USAGE_PROPERTY + "=bridge port vlan mac"})
public final class FdbAddCommand extends DpifCommand {
    public FdbAddCommand() {
    }

    public FdbAddCommand(DpifNetdev dp) {
        super(dp);
    }

    @Override
    @Reference(target = TARGET)
    void setDpif(Dpif d) {
        super.setDpif(d);
    }

    @Override
    String exec(DpifNetdev d, List<String> args) throws UnixctlException, DpifException {
        if (args.size() != 4) {
            throw new UnixctlException("usage: fdb/add bridge port vlan mac");
        }
        return d.fdbAdd(args.get(0), args.get(1), args.get(2), args.get(3));
    }
}
