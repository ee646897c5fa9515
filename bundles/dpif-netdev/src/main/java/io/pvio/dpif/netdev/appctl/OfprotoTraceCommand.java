package io.pvio.dpif.netdev.appctl;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.DpifException;
import io.pvio.dpif.netdev.DpifNetdev;
import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@code ofproto/trace BRIDGE FLOW}: what table 0 and NORMAL do with a flow, as OVS prints it (see
 * {@link io.pvio.dpif.netdev.flow.Trace}). OVS's other forms, a datapath flow ({@code [dp] odp_flow}), a packet
 * and the options, are refused: pvio traces an OpenFlow flow through a bridge only.
 */
@Component(service = UnixctlCommand.class, property = {UnixctlCommand.COMMAND_PROPERTY + "=ofproto/trace",
        UnixctlCommand.USAGE_PROPERTY + "=bridge br_flow"})
public final class OfprotoTraceCommand extends DpifCommand {
    /** OVS's options of ofproto/trace, which pvio does not have. */
    private static final Set<String> OVS_OPTIONS = Set.of("-generate", "--generate", "--l7", "--l7-len",
            "--ct-next", "-names", "--names", "-consistent", "--consistent");

    public OfprotoTraceCommand() {
    }

    public OfprotoTraceCommand(DpifNetdev dp) {
        super(dp);
    }

    @Override
    @Reference(target = TARGET)
    void setDpif(Dpif d) {
        super.setDpif(d);
    }

    @Override
    String exec(DpifNetdev d, List<String> args) throws UnixctlException, DpifException {
        List<String> words = new ArrayList<>();
        for (String a : args) {
            if (OVS_OPTIONS.contains(a)) {
                throw new UnixctlException(a + ": not supported by pvio (usage: ofproto/trace bridge br_flow)");
            } else if (a.startsWith("-")) {
                throw new UnixctlException(a + ": unknown option"); // OVS's text
            }
            words.add(a);
        }
        if (words.size() > 3) {
            throw new UnixctlException("too many arguments"); // OVS's text
        }
        if (words.size() == 3) {
            throw new UnixctlException("a packet to trace is not supported by pvio (usage: ofproto/trace bridge"
                    + " br_flow)");
        }
        if (args.isEmpty()) {
            throw new UnixctlException("\"ofproto/trace\" command requires at least 1 arguments"); // OVS's text
        }
        if (words.size() <= 1 || words.get(1).contains("(") || words.get(0).equals("ovs-netdev")) {
            throw new UnixctlException("a datapath flow ([dp_name] odp_flow) is not supported by pvio, its datapath"
                    + " has none (usage: ofproto/trace bridge br_flow)");
        }
        return d.ofprotoTrace(words.get(0), words.get(1));
    }
}
