package io.pvio.unixctl;

import java.util.List;

/**
 * A command that {@code pvio appctl} runs in the daemon (OVS's unixctl_command_register). Register it as
 * an OSGi service with {@value #COMMAND_PROPERTY} (e.g. {@code dpif-netdev/pmd-stats-show}) and
 * optionally {@value #USAGE_PROPERTY} (argument synopsis, e.g. {@code [-pmd core] [dp]}).
 */
@FunctionalInterface
public interface UnixctlCommand {
    String COMMAND_PROPERTY = "unixctl.command";
    String USAGE_PROPERTY = "unixctl.usage";

    /**
     * Runs the command with its arguments (the words after the command name).
     *
     * @return the text printed to the user
     * @throws UnixctlException with a message for the user; appctl then exits non-zero
     */
    String run(List<String> args) throws UnixctlException;
}
