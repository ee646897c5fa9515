package io.pvio.control.vsctl;

/**
 * A vsctl command was refused; nothing was changed. The message is for the user; the exit status is 1, or
 * the one given (br-exists: 2 with no message, as ovs-vsctl).
 */
public class VsctlException extends Exception {
    private static final long serialVersionUID = 1L;
    private final int status;

    public VsctlException(String message) {
        this(message, 1);
    }

    public VsctlException(String message, int status) {
        super(message);
        this.status = status;
    }

    public int status() {
        return status;
    }
}
