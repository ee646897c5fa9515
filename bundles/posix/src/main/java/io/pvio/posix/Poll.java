package io.pvio.posix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;

/** poll(2) over a few descriptors. Control path (allocates a small buffer per call). */
public final class Poll {
    private Poll() {
    }

    /** True when {@code fd} is readable (or hung up / in error) within {@code timeoutMs} (-1: forever). */
    public static boolean readable(int fd, int timeoutMs) throws PosixException {
        int[] fds = {fd};
        boolean[] ready = new boolean[1];
        return readable(fds, 1, timeoutMs, ready) > 0;
    }

    /**
     * Waits until one of {@code fds[0..n)} is readable; marks {@code ready[i]}. Returns how many are ready,
     * 0 on timeout or EINTR.
     */
    public static int readable(int[] fds, int n, int timeoutMs, boolean[] ready) throws PosixException {
        Memory p = new Memory(8L * Math.max(1, n));
        for (int i = 0; i < n; i++) {
            p.setInt(8L * i, fds[i]);
            p.setShort(8L * i + 4, LibC.POLLIN);
            p.setShort(8L * i + 6, (short) 0);
        }
        int r;
        try {
            r = LibC.poll(p, n, timeoutMs);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == LibC.EINTR) {
                return 0;
            }
            throw PosixException.of("poll", e);
        }
        for (int i = 0; i < n; i++) {
            short rev = p.getShort(8L * i + 6);
            ready[i] = rev != 0;
        }
        return r;
    }

    /** True when {@code fd} can be written (or hung up / in error) within {@code timeoutMs}. */
    public static boolean writable(int fd, int timeoutMs) throws PosixException {
        Memory p = new Memory(8);
        p.setInt(0, fd);
        p.setShort(4, LibC.POLLOUT);
        p.setShort(6, (short) 0);
        try {
            return LibC.poll(p, 1, timeoutMs) > 0;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == LibC.EINTR) {
                return false;
            }
            throw PosixException.of("poll", e);
        }
    }
}
