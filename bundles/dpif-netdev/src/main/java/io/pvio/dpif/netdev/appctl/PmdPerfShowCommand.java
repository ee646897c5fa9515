package io.pvio.dpif.netdev.appctl;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.netdev.DpifNetdev;
import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@code dpif-netdev/pmd-perf-show [-nh] [-it ITER_LEN] [-ms MS_LEN] [-pmd CORE] [DP]}, parsed as OVS's
 * pmd_perf_show_cmd: the options -nh, -it and -ms first (a history length is read as strtol reads it and
 * bounded to 0..1000), then -pmd and the datapath.
 */
@Component(service = UnixctlCommand.class, property = {UnixctlCommand.COMMAND_PROPERTY + "=dpif-netdev/pmd-perf-show",
        UnixctlCommand.USAGE_PROPERTY + "=[-nh] [-it iter-history-len] [-ms ms-history-len] [-pmd core] [dp]"})
public final class PmdPerfShowCommand extends DpifCommand {
    public PmdPerfShowCommand() {
    }

    public PmdPerfShowCommand(DpifNetdev dp) {
        super(dp);
    }

    @Override
    @Reference(target = TARGET)
    void setDpif(Dpif d) {
        super.setDpif(d);
    }

    @Override
    String exec(DpifNetdev d, List<String> args) throws UnixctlException {
        boolean histograms = true;
        int iterHistory = 0;
        int msHistory = 0;
        int i = 0;
        for (; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("-nh")) {
                histograms = false;
            } else if (a.equals("-it") && i + 1 < args.size()) {
                iterHistory = historyLength(args.get(++i));
            } else if (a.equals("-ms") && i + 1 < args.size()) {
                msHistory = historyLength(args.get(++i));
            } else {
                break;
            }
        }
        Integer core = pmdArguments(args, i, null);
        return d.pmdPerfShow(core, histograms, iterHistory, msHistory);
    }

    /** strtol(s, NULL, 10) bounded to [0, HISTORY_LEN]: the leading digits after an optional sign, else 0. */
    static int historyLength(String s) {
        String t = s.strip();
        int end = 0;
        if (end < t.length() && (t.charAt(end) == '-' || t.charAt(end) == '+')) {
            end++;
        }
        int digits = end;
        while (end < t.length() && Character.isDigit(t.charAt(end)) && end - digits < 10) {
            end++;
        }
        if (end == digits) {
            return 0;
        }
        long v = Long.parseLong(t.substring(0, end));
        return (int) Math.max(0, Math.min(v, DpifNetdev.PERF_HISTORY_LEN));
    }
}
