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

    /** Wraps a descriptor received from a peer; {@link #close()} closes it. */
    public static EventFd adopt(int fd) {
        return new EventFd(fd, true);
    }

    public int fd() {
        return fd;
    }

    /** Adds 1 to the counter (wakes a poller). Errors other than a full counter are returned as false. */
    public boolean signal() {
        if (closed) {
            return false;
        }
        word.setLong(0, 1);
        try {
            return LibC.write(fd, word, 8) == 8;
        } catch (LastErrorException e) {
            return e.getErrorCode() == LibC.EAGAIN;
        }
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
