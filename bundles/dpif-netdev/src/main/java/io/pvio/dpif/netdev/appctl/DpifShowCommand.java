package io.pvio.dpif.netdev.appctl;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.netdev.DpifNetdev;
import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code dpif/show}: the datapath, its bridges and their ports with numbers and types (see {@link DpifNetdev#dpifShow}). */
@Component(service = UnixctlCommand.class, property = {UnixctlCommand.COMMAND_PROPERTY + "=dpif/show",
        UnixctlCommand.USAGE_PROPERTY + "="})
public final class DpifShowCommand extends DpifCommand {
    public DpifShowCommand() {
    }

    public DpifShowCommand(DpifNetdev dp) {
        super(dp);
    }

    @Override
    @Reference(target = TARGET)
    void setDpif(Dpif d) {
        super.setDpif(d);
    }

    @Override
    String exec(DpifNetdev d, List<String> args) throws UnixctlException {
        noArguments("dpif/show", args);
        return d.dpifShow();
    }

    /** OVS's unixctl text for a command that takes none. */
    static void noArguments(String command, List<String> args) throws UnixctlException {
        if (!args.isEmpty()) {
            throw new UnixctlException("\"" + command + "\" command takes at most 0 arguments");
        }
    }
}
