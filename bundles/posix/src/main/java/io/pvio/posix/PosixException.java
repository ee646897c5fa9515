package io.pvio.posix;

import com.sun.jna.LastErrorException;
import java.io.IOException;

/** A failed system call: what was attempted, errno and its text. */
public class PosixException extends IOException {
    private static final long serialVersionUID = 1L;
    private final int errno;

    public PosixException(String what, int errno) {
        super(what + ": " + LibC.strerror(errno) + " (errno " + errno + ")");
        this.errno = errno;
    }

    public PosixException(String message) {
        super(message);
        this.errno = 0;
    }

    static PosixException of(String what, LastErrorException e) {
        return new PosixException(what, e.getErrorCode());
    }

    public int errno() {
        return errno;
    }
}
