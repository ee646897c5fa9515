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
