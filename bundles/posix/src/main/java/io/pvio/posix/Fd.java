package io.pvio.posix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;

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

    /**
     * fstat(2)'s st_size: the size of the file behind {@code fd}. A shared mapping must lie inside its file:
     * touching a mapped page past the end raises SIGBUS, which no bounds check catches.
     * (Linux LP64: x86_64 and aarch64 both keep st_size at offset 48 of struct stat.)
     */
    public static long size(int fd) throws PosixException {
        Memory st = new Memory(256);
        st.clear();
        try {
            LibC.fstat(fd, st);
        } catch (LastErrorException e) {
            throw PosixException.of("fstat(" + fd + ")", e);
        }
        return st.getLong(48);
    }

    /**
     * True when the file behind {@code fd} is sealed against shrinking (F_SEAL_SHRINK: a memfd made with
     * MFD_ALLOW_SEALING and sealed, as QEMU's memory-backend-memfd does by default). False for files that
     * cannot be sealed (hugetlbfs and tmpfs files, memfds without sealing) or are not sealed.
     */
    public static boolean sealedAgainstShrinking(int fd) {
        try {
            return (LibC.fcntl(fd, LibC.F_GET_SEALS, 0) & LibC.F_SEAL_SHRINK) != 0;
        } catch (LastErrorException e) {
            return false; // EINVAL: the file does not support seals
        }
    }

    /** Closes every descriptor in {@code fds[0..n)}. */
    public static void closeAll(int[] fds, int n) {
        for (int i = 0; i < n; i++) {
            closeQuietly(fds[i]);
        }
    }
}
