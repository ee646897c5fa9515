package io.pvio.vhost;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;

/** Descriptors a hostile front end would send: made with libc directly, blocking, pre-filled. */
final class HostileFds {
    interface C extends Library {
        C LIBC = Native.load("c", C.class);

        int eventfd(int initval, int flags);

        long write(int fd, Memory buf, long n);

        int close(int fd);

        int ftruncate(int fd, long length);

        int memfd_create(String name, int flags);

        int fcntl(int fd, int cmd, long arg);
    }

    static final int MFD_ALLOW_SEALING = 2;
    static final int F_ADD_SEALS = 1033;
    static final int F_SEAL_SEAL = 1;
    static final int F_SEAL_SHRINK = 2;
    static final int F_SEAL_GROW = 4;

    /** A memfd of {@code size} bytes sealed as QEMU's memory-backend-memfd seals by default. */
    static int sealedMemfd(long size) {
        int fd = C.LIBC.memfd_create("sealed", MFD_ALLOW_SEALING);
        if (fd < 0 || C.LIBC.ftruncate(fd, size) != 0
                || C.LIBC.fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
            throw new IllegalStateException("sealed memfd");
        }
        return fd;
    }

    /** ftruncate(2): what a hostile front end does to its memory file under traffic. */
    static void truncate(int fd, long size) {
        if (C.LIBC.ftruncate(fd, size) != 0) {
            throw new IllegalStateException("ftruncate " + fd + " to " + size + ": errno " + com.sun.jna.Native.getLastError());
        }
    }

    private HostileFds() {
    }

    /** A blocking eventfd whose counter is at its maximum (0xfffffffffffffffe): any write of 1 blocks. */
    static int fullBlockingEventFd() {
        int fd = C.LIBC.eventfd(0, 0x80000 /* EFD_CLOEXEC only: blocking */);
        if (fd < 0) {
            throw new IllegalStateException("eventfd failed");
        }
        Memory m = new Memory(8);
        m.setLong(0, 0xfffffffffffffffeL);
        if (C.LIBC.write(fd, m, 8) != 8) {
            throw new IllegalStateException("eventfd pre-fill failed");
        }
        return fd;
    }

    static void close(int fd) {
        C.LIBC.close(fd);
    }
}
