package io.pvio.control.vsctl;

/** A vsctl command was refused; nothing was changed. The message is for the user (exit status 1). */
public class VsctlException extends Exception {
    private static final long serialVersionUID = 1L;

    public VsctlException(String message) {
        super(message);
    }
}
