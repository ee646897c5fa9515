package io.pvio.control;

import java.util.List;

/**
 * Runs a pvio command line in the daemon, as {@code pvio vsctl|ofctl|appctl ...} does over the control
 * socket. Thread-safe; mutating commands are serialised.
 */
public interface Control {

    /**
     * @param argv the tool ({@code vsctl}, {@code ofctl} or {@code appctl}) followed by its arguments
     * @return exit status and output; never throws for bad input
     */
    Result execute(List<String> argv);

    /**
     * @param status 0 on success, 1 for a vsctl/ofctl error, 2 for an appctl error or an unknown tool
     * @param out    text for standard output
     * @param err    text for standard error (empty on success)
     */
    record Result(int status, String out, String err) {
        public static Result ok(String out) {
            return new Result(0, out, "");
        }

        public static Result error(int status, String err) {
            return new Result(status, "", err.isEmpty() || err.endsWith("\n") ? err : err + "\n");
        }
    }
}
