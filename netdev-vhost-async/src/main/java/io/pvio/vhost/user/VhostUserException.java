package io.pvio.vhost.user;

/** A vhost-user message was refused; the message says why, for the log. */
public class VhostUserException extends Exception {
    private static final long serialVersionUID = 1L;
    private final boolean fatal;

    public VhostUserException(String message, boolean fatal) {
        super(message);
        this.fatal = fatal;
    }

    /** True when the connection cannot go on (broken framing). */
    public boolean fatal() {
        return fatal;
    }
}
