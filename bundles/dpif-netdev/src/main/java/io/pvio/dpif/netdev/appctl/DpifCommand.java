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

    /** A command's [dp] argument: the userspace datapath is "ovs-netdev", as in OVS; another name is refused. */
    static void datapath(String name) throws UnixctlException {
        if (!name.equals("ovs-netdev")) {
            throw new UnixctlException("please specify an existing datapath");
        }
    }
}
