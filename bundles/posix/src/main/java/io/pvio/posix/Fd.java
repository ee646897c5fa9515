package io.pvio.posix;

import com.sun.jna.LastErrorException;

/** Plain file descriptor helpers. */
public final class Fd {
    private Fd() {
    }

    /** Closes {@code fd} if it is not negative; errors are ignored (as after a failed close nothing can be done). */
    public static void closeQuietly(int fd) {
        if (fd >= 0) {
            try {
                LibC.close(fd);
            } catch (LastErrorException ignored) {
                // EBADF/EINTR: the descriptor is gone either way
            }
        }
    }

    /** dup(2). */
    public static int dup(int fd) throws PosixException {
        try {
            return LibC.dup(fd);
        } catch (LastErrorException e) {
            throw PosixException.of("dup(" + fd + ")", e);
        }
    }

    /** Closes every descriptor in {@code fds[0..n)}. */
    public static void closeAll(int[] fds, int n) {
        for (int i = 0; i < n; i++) {
            closeQuietly(fds[i]);
        }
    }
}
