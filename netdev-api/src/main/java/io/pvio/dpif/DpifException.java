package io.pvio.dpif;

/** A datapath operation was refused; the message is meant for the user and nothing was changed. */
public class DpifException extends Exception {
    private static final long serialVersionUID = 1L;

    public DpifException(String message) {
        super(message);
    }

    public DpifException(String message, Throwable cause) {
        super(message, cause);
    }
}
