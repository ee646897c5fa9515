package io.pvio.posix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A Unix stream socket that can pass file descriptors (SCM_RIGHTS), as vhost-user needs. Blocking reads
 * ({@link #awaitReadable} bounds every wait so that callers can stop); sends never wait longer than
 * {@link #sendTimeoutMs()} for a peer that does not read, and {@link #shutdown()} never waits for a sender.
 * Control path: may allocate.
 *
 * <p>Descriptors received are owned by the caller. Descriptors sent stay owned by the caller (the kernel
 * duplicates them into the peer).
 */
public final class UnixSocket implements AutoCloseable {
    /** At most this many descriptors are accepted in one message; more is an error (MSG_CTRUNC). */
    public static final int MAX_FDS = 32;
    private static final int SUN_PATH_MAX = 108;
    private static final int CMSG_HDR = 16;

    /** Default bound of one {@link #send}: a peer that reads nothing for this long is given up on. */
    public static final int DEFAULT_SEND_TIMEOUT_MS = 5000;
    /** Slice of a send's wait: how soon a sender sees {@link #shutdown()} whatever the kernel reports. */
    private static final int SEND_POLL_MS = 100;

    private final int fd;
    private final String path;
    private volatile boolean closed;
    private volatile boolean shut;
    private volatile int sendTimeoutMs = DEFAULT_SEND_TIMEOUT_MS;
    /** Held by one sender at a time; never by {@link #shutdown()} (a stuck sender must not block it). */
    private final Object sendLock = new Object();
    private final Memory msg = new Memory(56);
    private final Memory iov = new Memory(16);
    private final Memory control = new Memory(CMSG_HDR + 4L * MAX_FDS);
    private final Memory sendMsg = new Memory(56);
    private final Memory sendIov = new Memory(16);
    private final Memory sendControl = new Memory(CMSG_HDR + 4L * MAX_FDS);

    private UnixSocket(int fd, String path) {
        this.fd = fd;
        this.path = path;
    }

    /** Binds and listens on {@code path} (which must not exist). */
    public static UnixSocket listen(Path path, int backlog) throws PosixException {
        int fd = newSocket();
        try {
            Memory addr = sockaddr(path);
            LibC.bind(fd, addr, (int) addr.size());
            LibC.listen(fd, backlog);
            return new UnixSocket(fd, path.toString());
        } catch (LastErrorException e) {
            Fd.closeQuietly(fd);
            throw PosixException.of("bind/listen on " + path, e);
        }
    }

    /** Connects to the listening socket at {@code path}. */
    public static UnixSocket connect(Path path) throws PosixException {
        int fd = newSocket();
        try {
            Memory addr = sockaddr(path);
            LibC.connect(fd, addr, (int) addr.size());
            return new UnixSocket(fd, path.toString());
        } catch (LastErrorException e) {
            Fd.closeQuietly(fd);
            throw PosixException.of("connect to " + path, e);
        }
    }

    /** What {@link #probe} found at a path. */
    public enum Probe {
        /** No file there. */
        ABSENT,
        /** A socket file nobody listens on (ECONNREFUSED): left by a process that is gone. */
        STALE,
        /** A process listens there (it accepted, or its backlog is full). */
        LISTENING
    }

    /**
     * Whether a process listens on the socket file at {@code path}: a non-blocking connect(2), closed at
     * once. Call it on a socket file only (connecting to any other file is ECONNREFUSED too).
     *
     * @throws PosixException on any other error (EACCES...): nothing can be said of the socket
     */
    public static Probe probe(Path path) throws PosixException {
        Memory addr = sockaddr(path);
        int fd;
        try {
            fd = LibC.socket(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC | LibC.SOCK_NONBLOCK, 0);
        } catch (LastErrorException e) {
            throw PosixException.of("socket(AF_UNIX)", e);
        }
        try {
            LibC.connect(fd, addr, (int) addr.size());
            return Probe.LISTENING;
        } catch (LastErrorException e) {
            switch (e.getErrorCode()) {
                case LibC.ECONNREFUSED:
                    return Probe.STALE;
                case LibC.EAGAIN:
                    return Probe.LISTENING; // backlog full
                case LibC.ENOENT:
                    return Probe.ABSENT;
                default:
                    throw PosixException.of("connect to " + path, e);
            }
        } finally {
            Fd.closeQuietly(fd);
        }
    }

    private static int newSocket() throws PosixException {
        try {
            return LibC.socket(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw PosixException.of("socket(AF_UNIX)", e);
        }
    }

    private static Memory sockaddr(Path path) throws PosixException {
        byte[] p = path.toString().getBytes(StandardCharsets.UTF_8);
        if (p.length >= SUN_PATH_MAX) {
            throw new PosixException("socket path too long (" + p.length + " bytes, at most "
                    + (SUN_PATH_MAX - 1) + "): " + path);
        }
        Memory addr = new Memory(2 + SUN_PATH_MAX);
        addr.clear();
        addr.setShort(0, (short) LibC.AF_UNIX);
        addr.write(2, p, 0, p.length);
        return addr;
    }

    /** Accepts one connection (blocks; use {@link #awaitReadable} first to bound the wait). */
    public UnixSocket accept() throws PosixException {
        try {
            int c = LibC.accept4(fd, null, null, LibC.SOCK_CLOEXEC);
            return new UnixSocket(c, path);
        } catch (LastErrorException e) {
            throw PosixException.of("accept on " + path, e);
        }
    }

    /** Waits up to {@code timeoutMs} for input (or a connection, or hang-up). */
    public boolean awaitReadable(int timeoutMs) throws PosixException {
        return Poll.readable(fd, timeoutMs);
    }

    /** How long one {@link #send} may wait for the peer to make room (default {@link #DEFAULT_SEND_TIMEOUT_MS}). */
    public int sendTimeoutMs() {
        return sendTimeoutMs;
    }

    public void setSendTimeoutMs(int ms) {
        if (ms <= 0) {
            throw new IllegalArgumentException("send timeout " + ms + " ms");
        }
        sendTimeoutMs = ms;
    }

    /**
     * Sends {@code len} bytes of {@code data} from {@code off}, with {@code nfds} descriptors of {@code fds}
     * attached to the first byte. Loops until everything is written, non-blocking: fails when the peer
     * leaves no room for {@link #sendTimeoutMs()} (the message may then be partly sent: the connection is
     * of no further use) or when the socket is shut down meanwhile.
     */
    public void send(byte[] data, int off, int len, int[] fds, int nfds) throws PosixException {
        if (nfds > MAX_FDS) {
            throw new PosixException("too many descriptors to send: " + nfds);
        }
        Memory buf = new Memory(Math.max(1, len));
        buf.write(0, data, off, len);
        synchronized (sendLock) {
            if (closed || shut) {
                throw new PosixException("sendmsg on " + path + ": socket shut down");
            }
            int sent = 0;
            boolean withFds = nfds > 0;
            long deadline = System.nanoTime() + sendTimeoutMs * 1_000_000L;
            while (sent < len || (len == 0 && withFds)) {
                sendIov.setPointer(0, buf.share(sent));
                sendIov.setLong(8, len - sent);
                sendMsg.clear();
                sendMsg.setPointer(16, sendIov);
                sendMsg.setLong(24, 1);
                if (withFds) {
                    sendControl.clear();
                    sendControl.setLong(0, CMSG_HDR + 4L * nfds);
                    sendControl.setInt(8, LibC.SOL_SOCKET);
                    sendControl.setInt(12, LibC.SCM_RIGHTS);
                    for (int i = 0; i < nfds; i++) {
                        sendControl.setInt(CMSG_HDR + 4L * i, fds[i]);
                    }
                    sendMsg.setPointer(32, sendControl);
                    sendMsg.setLong(40, CMSG_HDR + ((4L * nfds + 7) & ~7L));
                }
                long n;
                try {
                    n = LibC.sendmsg(fd, sendMsg, LibC.MSG_NOSIGNAL | LibC.MSG_DONTWAIT);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == LibC.EINTR) {
                        continue;
                    }
                    if (e.getErrorCode() != LibC.EAGAIN) {
                        throw PosixException.of("sendmsg on " + path, e);
                    }
                    long left = (deadline - System.nanoTime()) / 1_000_000L;
                    if (left <= 0) {
                        throw new PosixException("sendmsg on " + path + ": the peer read nothing for "
                                + sendTimeoutMs + " ms (" + sent + " of " + len + " bytes sent)");
                    }
                    Poll.writable(fd, (int) Math.min(left, SEND_POLL_MS));
                    if (shut) {
                        throw new PosixException("sendmsg on " + path + ": socket shut down");
                    }
                    continue;
                }
                withFds = false;
                sent += (int) n;
                if (len == 0) {
                    break;
                }
            }
        }
    }

    /**
     * Receives up to {@code len} bytes into {@code data} at {@code off}; descriptors that came with them are
     * stored into {@code fdsOut} (whose length bounds how many are accepted) and their count into
     * {@code nfdsOut[0]}.
     *
     * @return bytes received; 0 means the peer closed the connection
     * @throws PosixException also when the peer sent more descriptors than {@code fdsOut} holds (all of them
     *                        are closed then)
     */
    public int receive(byte[] data, int off, int len, int[] fdsOut, int[] nfdsOut) throws PosixException {
        Memory buf = new Memory(Math.max(1, len));
        iov.setPointer(0, buf);
        iov.setLong(8, len);
        msg.clear();
        msg.setPointer(16, iov);
        msg.setLong(24, 1);
        control.clear();
        msg.setPointer(32, control);
        msg.setLong(40, control.size());
        long n;
        for (;;) {
            try {
                n = LibC.recvmsg(fd, msg, LibC.MSG_CMSG_CLOEXEC);
                break;
            } catch (LastErrorException e) {
                if (e.getErrorCode() != LibC.EINTR) {
                    throw PosixException.of("recvmsg on " + path, e);
                }
            }
        }
        int nfds = 0;
        int[] got = new int[MAX_FDS];
        long controlLen = msg.getLong(40);
        long at = 0;
        while (at + CMSG_HDR <= controlLen) {
            long cmsgLen = control.getLong(at);
            int level = control.getInt(at + 8);
            int type = control.getInt(at + 12);
            if (cmsgLen < CMSG_HDR || at + cmsgLen > controlLen) {
                break;
            }
            if (level == LibC.SOL_SOCKET && type == LibC.SCM_RIGHTS) {
                int count = (int) ((cmsgLen - CMSG_HDR) / 4);
                for (int i = 0; i < count && nfds < MAX_FDS; i++) {
                    got[nfds++] = control.getInt(at + CMSG_HDR + 4L * i);
                }
            }
            at += (cmsgLen + 7) & ~7L;
        }
        int flags = msg.getInt(48);
        if ((flags & LibC.MSG_CTRUNC) != 0 || nfds > fdsOut.length) {
            Fd.closeAll(got, nfds);
            throw new PosixException("message on " + path + " carried more than "
                    + Math.min(fdsOut.length, MAX_FDS) + " file descriptors");
        }
        System.arraycopy(got, 0, fdsOut, 0, nfds);
        nfdsOut[0] = nfds;
        if (n > 0) {
            buf.read(0, data, off, (int) n);
        }
        return (int) n;
    }

    /**
     * Receives exactly {@code len} bytes (descriptors, if any, are taken from the first read only).
     *
     * @return false when the peer closed the connection before the first byte
     * @throws PosixException when it closed in the middle
     */
    public boolean receiveFully(byte[] data, int off, int len, int[] fdsOut, int[] nfdsOut) throws PosixException {
        int got = receive(data, off, len, fdsOut, nfdsOut);
        if (got == 0 && len > 0) {
            return false;
        }
        int[] none = new int[0];
        int[] n = new int[1];
        try {
            while (got < len) {
                int r = receive(data, off + got, len - got, none, n);
                if (r == 0) {
                    throw new PosixException("connection " + path + " closed in the middle of a message ("
                            + got + " of " + len + " bytes)");
                }
                got += r;
            }
        } catch (PosixException | RuntimeException e) {
            Fd.closeAll(fdsOut, nfdsOut[0]); // the first read's descriptors: nobody else will close them
            nfdsOut[0] = 0;
            throw e;
        }
        return true;
    }

    /** The socket's descriptor. */
    public int fd() {
        return fd;
    }

    public String path() {
        return path;
    }

    /**
     * Wakes up a thread blocked in accept/recv/send on this socket and makes it fail. Never waits for a
     * sender (it takes only the state lock, which no I/O holds).
     */
    public synchronized void shutdown() {
        shut = true;
        if (closed) {
            return; // the number may belong to another descriptor by now
        }
        try {
            LibC.shutdown(fd, LibC.SHUT_RDWR);
        } catch (LastErrorException ignored) {
            // not connected: nothing to wake
        }
    }

    /**
     * Shuts down, then closes once no send is in progress (a sender wakes from the shutdown within
     * {@value #SEND_POLL_MS} ms): the descriptor number is never released under a sender's feet.
     */
    @Override
    public void close() {
        shutdown();
        synchronized (sendLock) {
            synchronized (this) {
                if (!closed) {
                    closed = true;
                    Fd.closeQuietly(fd);
                }
            }
        }
    }

    @Override
    public String toString() {
        return "UnixSocket[" + path + " fd=" + fd + "]";
    }
}
