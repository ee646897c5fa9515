package io.pvio.dpif.netdev.appctl;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.netdev.DpifNetdev;
import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code dpif/dump-dps}: "netdev@BRIDGE" per bridge, as ofproto-dpif names each bridge's datapath. */
@Component(service = UnixctlCommand.class, property = {UnixctlCommand.COMMAND_PROPERTY + "=dpif/dump-dps",
        UnixctlCommand.USAGE_PROPERTY + "="})
public final class DpifDumpDpsCommand extends DpifCommand {
    public DpifDumpDpsCommand() {
    }

    public DpifDumpDpsCommand(DpifNetdev dp) {
        super(dp);
    }

    @Override
    @Reference(target = TARGET)
    void setDpif(Dpif d) {
        super.setDpif(d);
    }

    @Override
    String exec(DpifNetdev d, List<String> args) throws UnixctlException {
        DpifShowCommand.noArguments("dpif/dump-dps", args);
        StringBuilder sb = new StringBuilder();
        for (String b : d.bridges()) { // sorted
            sb.append("netdev@").append(b).append('\n');
        }
        return sb.toString();
    }
}
