package io.pvio.ofproto.codec;

/** A request pvio answers with an OpenFlow error; the message is for the log. */
public final class OfException extends Exception {
    private static final long serialVersionUID = 1L;
    private final OfError error;

    public OfException(OfError error, String message) {
        super(message);
        this.error = error;
    }

    public OfError error() {
        return error;
    }
}
