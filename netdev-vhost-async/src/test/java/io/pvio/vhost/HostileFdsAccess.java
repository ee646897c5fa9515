package io.pvio.vhost;

/** {@link HostileFds} for tests of other packages. */
public final class HostileFdsAccess {
    private HostileFdsAccess() {
    }

    public static int sealedMemfd(long size) {
        return HostileFds.sealedMemfd(size);
    }

    public static int fullBlockingEventFd() {
        return HostileFds.fullBlockingEventFd();
    }

    public static void truncate(int fd, long size) {
        HostileFds.truncate(fd, size);
    }
}
