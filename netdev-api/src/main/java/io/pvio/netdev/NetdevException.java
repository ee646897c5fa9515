package io.pvio.netdev;

/** A port could not be opened or configured; the message is meant for the user. */
public class NetdevException extends Exception {
    private static final long serialVersionUID = 1L;

    public NetdevException(String message) {
        super(message);
    }

    public NetdevException(String message, Throwable cause) {
        super(message, cause);
    }
}
