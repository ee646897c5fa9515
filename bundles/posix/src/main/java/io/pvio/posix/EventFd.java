package io.pvio.posix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;

/**
 * An eventfd used as a vhost-user kick or call notifier. {@link #signal()} and {@link #drain()} do not
 * allocate, so they may be used on the data path; one thread at a time per direction.
 */
public final class EventFd implements AutoCloseable {
    private final int fd;
    private final boolean owned;
    private final Memory word = new Memory(8);
    private volatile boolean closed;
    private int lastError;

    private EventFd(int fd, boolean owned) {
        this.fd = fd;
        this.owned = owned;
    }

    /** A new non-blocking eventfd. */
    public static EventFd create() throws PosixException {
        try {
            return new EventFd(LibC.eventfd(0, LibC.EFD_NONBLOCK | LibC.EFD_CLOEXEC), true);
        } catch (LastErrorException e) {
            throw PosixException.of("eventfd", e);
        }
    }

    /**
     * Wraps a descriptor received from a peer; {@link #close()} closes it. The descriptor's file
     * description is made non-blocking (the peer shares it): {@link #signal()} and {@link #drain()} must
     * never wait on a counter, pipe or socket that the peer keeps full or empty. QEMU and DPDK create their
     * eventfds non-blocking already.
     *
     * @throws PosixException when {@code fd} is not an open descriptor (it is closed then)
     */
    public static EventFd adopt(int fd) throws PosixException {
        try {
            int fl = LibC.fcntl(fd, LibC.F_GETFL, 0);
            if ((fl & LibC.O_NONBLOCK) == 0) {
                LibC.fcntl(fd, LibC.F_SETFL, fl | LibC.O_NONBLOCK);
            }
        } catch (LastErrorException e) {
            Fd.closeQuietly(fd);
            throw PosixException.of("fcntl(O_NONBLOCK) on received descriptor " + fd, e);
        }
        return new EventFd(fd, true);
    }

    public int fd() {
        return fd;
    }

    /**
     * Adds 1 to the counter (wakes a poller); never blocks on a descriptor made by {@link #create} or
     * {@link #adopt}. False when nothing was added: closed, counter full (EAGAIN) or any other error
     * ({@link #lastError()} says which).
     */
    public boolean signal() {
        if (closed) {
            lastError = LibC.EBADF;
            return false;
        }
        word.setLong(0, 1);
        try {
            if (LibC.write(fd, word, 8) == 8) {
                return true;
            }
            lastError = 0; // a short write: not an eventfd
            return false;
        } catch (LastErrorException e) {
            lastError = e.getErrorCode();
            return false;
        }
    }

    /** errno of the last failed {@link #signal()} (0: short write), for the log. */
    public int lastError() {
        return lastError;
    }

    /** Reads and resets the counter; returns it (0 when nothing was signalled or the fd is blocking-empty). */
    public long drain() {
        if (closed) {
            return 0;
        }
        try {
            if (LibC.read(fd, word, 8) == 8) {
                return word.getLong(0);
            }
        } catch (LastErrorException e) {
            // EAGAIN: nothing pending
        }
        return 0;
    }

    /** Waits up to {@code timeoutMs} for a signal. */
    public boolean await(int timeoutMs) throws PosixException {
        return Poll.readable(fd, timeoutMs);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            if (owned) {
                Fd.closeQuietly(fd);
            }
        }
    }
}
