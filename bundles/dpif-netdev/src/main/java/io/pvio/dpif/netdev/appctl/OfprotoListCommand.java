package io.pvio.dpif.netdev.appctl;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.netdev.DpifNetdev;
import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code ofproto/list}: the bridges, one a line, sorted. */
@Component(service = UnixctlCommand.class, property = {UnixctlCommand.COMMAND_PROPERTY + "=ofproto/list",
        UnixctlCommand.USAGE_PROPERTY + "="})
public final class OfprotoListCommand extends DpifCommand {
    public OfprotoListCommand() {
    }

    public OfprotoListCommand(DpifNetdev dp) {
        super(dp);
    }

    @Override
    @Reference(target = TARGET)
    void setDpif(Dpif d) {
        super.setDpif(d);
    }

    @Override
    String exec(DpifNetdev d, List<String> args) throws UnixctlException {
        DpifShowCommand.noArguments("ofproto/list", args);
        StringBuilder sb = new StringBuilder();
        for (String b : d.bridges()) {
            sb.append(b).append('\n');
        }
        return sb.toString();
    }
}
