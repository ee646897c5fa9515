package io.pvio.dpif.netdev.appctl;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.DpifException;
import io.pvio.dpif.netdev.DpifNetdev;
import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code fdb/del BRIDGE VLAN MAC}: removes a static MAC entry (OVS 3.1). */
@Component(service = UnixctlCommand.class, property = {UnixctlCommand.COMMAND_PROPERTY + "=fdb/del",
        UnixctlCommand.USAGE_PROPERTY + "=bridge vlan mac"})
public final class FdbDelCommand extends DpifCommand {
    public FdbDelCommand() {
    }

    public FdbDelCommand(DpifNetdev dp) {
        super(dp);
    }

    @Override
    @Reference(target = TARGET)
    void setDpif(Dpif d) {
        super.setDpif(d);
    }

    @Override
    String exec(DpifNetdev d, List<String> args) throws UnixctlException, DpifException {
        if (args.size() != 3) {
            throw new UnixctlException("usage: fdb/del bridge vlan mac");
        }
        d.fdbDel(args.get(0), args.get(1), args.get(2));
        return "";
    }
}
