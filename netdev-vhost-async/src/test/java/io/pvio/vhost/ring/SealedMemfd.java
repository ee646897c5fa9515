package io.pvio.vhost.ring;

import com.sun.jna.Library;
import com.sun.jna.Native;

/** memfds made with libc directly: sealed as QEMU seals its memory and log files, or not. */
public final class SealedMemfd {
    interface C extends Library {
        C LIBC = Native.load("c", C.class);

        int memfd_create(String name, int flags);

        int ftruncate(int fd, long length);

        int fcntl(int fd, int cmd, long arg);

        int close(int fd);
    }

    private static final int MFD_ALLOW_SEALING = 2;
    private static final int F_ADD_SEALS = 1033;
    private static final int F_SEAL_SEAL = 1;
    private static final int F_SEAL_SHRINK = 2;
    private static final int F_SEAL_GROW = 4;

    private SealedMemfd() {
    }

    /** A zero-filled memfd of {@code size} bytes, sealed against growing and shrinking when {@code sealed}. */
    public static int create(long size, boolean sealed) {
        int fd = C.LIBC.memfd_create("log", MFD_ALLOW_SEALING);
        if (fd < 0 || C.LIBC.ftruncate(fd, size) != 0
                || sealed && C.LIBC.fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
            throw new IllegalStateException("memfd of " + size + " bytes");
        }
        return fd;
    }

    public static void close(int fd) {
        C.LIBC.close(fd);
    }
}
