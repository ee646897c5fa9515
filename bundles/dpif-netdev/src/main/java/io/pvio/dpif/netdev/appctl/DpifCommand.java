package io.pvio.dpif.netdev.appctl;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.DpifException;
import io.pvio.dpif.netdev.DpifNetdev;
import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.List;

/** Base of the datapath's appctl commands: holds the datapath they act on. */
abstract class DpifCommand implements UnixctlCommand {
    static final String TARGET = "(" + DpifNetdev.TYPE_PROPERTY + "=netdev)";
    volatile DpifNetdev dp;

    DpifCommand() {
    }

    DpifCommand(DpifNetdev dp) {
        this.dp = dp;
    }

    void setDpif(Dpif d) {
        this.dp = (DpifNetdev) d;
    }

    @Override
    public final String run(List<String> args) throws UnixctlException {
        DpifNetdev d = dp;
        if (d == null) {
            throw new UnixctlException("the userspace datapath is not running");
        }
        try {
            return exec(d, args);
        } catch (DpifException e) {
            throw new UnixctlException(e.getMessage());
        }
    }

    abstract String exec(DpifNetdev d, List<String> args) throws UnixctlException, DpifException;

    /**
     * The arguments of OVS's dpif_netdev_pmd_info from {@code from} on: {@code [-pmd CORE]}, {@code [dp]}, and
     * with {@code secs} non-null (pmd-rxq-show) also {@code [-secs SECS]} into {@code secs[0]} (0 when absent
     * or not a number: OVS's whole window). Returns the core, or null for every PMD.
     */
    static Integer pmdArguments(List<String> args, int from, int[] secs) throws UnixctlException {
        Integer core = null;
        for (int i = from; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("-pmd") || secs != null && a.equals("-secs")) {
                if (i + 1 >= args.size()) {
                    throw new UnixctlException(a.equals("-pmd") ? "-pmd needs a core id" : "-secs needs a number");
                }
                String v = args.get(++i);
                if (a.equals("-pmd")) {
                    try {
                        core = Integer.parseInt(v);
                    } catch (NumberFormatException e) {
                        throw new UnixctlException("invalid pmd core id: " + v);
                    }
                } else {
                    try {
                        secs[0] = Math.max(0, Integer.parseInt(v));
                    } catch (NumberFormatException e) {
                        secs[0] = 0; // as OVS: the whole window
                    }
                }
            } else {
                datapath(a);
            }
        }
        return core;
    }

    /** A command's [dp] argument: the userspace datapath is "ovs-netdev", as in OVS; another name is refused. */
    static void datapath(String name) throws UnixctlException {
        if (!name.equals("ovs-netdev")) {
            throw new UnixctlException("please specify an existing datapath");
        }
    }
}
