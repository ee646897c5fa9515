package io.pvio.unixctl;

/** A unixctl command failed; the message is printed to the user and appctl exits with status 2. */
public class UnixctlException extends Exception {
    private static final long serialVersionUID = 1L;

    public UnixctlException(String message) {
        super(message);
    }
}
