package io.pvio.vhost.user;

import io.pvio.counter.Counter;
import io.pvio.posix.Fd;
import io.pvio.posix.PosixException;
import io.pvio.posix.UnixSocket;
import io.pvio.vhost.ring.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The control thread of one vhost-user port: owns the Unix socket, reads the front end's messages and
 * feeds them to the {@link VhostDevice}; reconnects (client mode, every second) or accepts the next
 * front end (server mode) when a connection ends. Every wait is bounded so that {@link #stop()} returns
 * promptly.
 */
public final class ControlThread {
    /** Who connects: pvio ({@code CLIENT}, dpdkvhostuserclient) or the front end ({@code SERVER}). */
    public enum Mode { CLIENT, SERVER }

    private static final Logger LOG = Logger.getLogger("netdev_dpdk");
    private static final Logger DPDK = Logger.getLogger("dpdk");
    static final int POLL_MS = 100;
    static final int RECONNECT_MS = 1000;

    private final VhostDevice dev;
    private final Mode mode;
    private final Path path;
    private final Thread thread;
    private volatile boolean stopping;
    private volatile UnixSocket listener;
    /** The server socket file's identity once bound: stop() removes that file only. */
    private volatile Object bound;
    private volatile UnixSocket conn;
    /** Written by the control thread only. */
    private final Counter connections = new Counter();

    public ControlThread(VhostDevice dev, Mode mode, Path path) {
        this.dev = dev;
        this.mode = mode;
        this.path = path;
        this.thread = new Thread(this::run, "vhost_ctl-" + dev.name());
        thread.setDaemon(true);
    }

    /**
     * Starts the thread; in server mode the socket is bound first (errors reach the caller). A file
     * already at the path is replaced only when it is a socket nobody listens on (left by an earlier
     * run); anything else is refused and left alone, as DPDK refuses to bind (EADDRINUSE).
     */
    public void start() throws PosixException {
        if (mode == Mode.SERVER) {
            try {
                removeStaleSocket();
            } catch (PosixException e) {
                DPDK.severe(String.format("VHOST_CONFIG: (%s) failed to bind: %s", path, e.getMessage()));
                throw e;
            }
            listener = UnixSocket.listen(path, 4);
            bound = fileKey();
        }
        thread.start();
    }

    private void removeStaleSocket() throws PosixException {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return;
        } catch (IOException e) {
            throw new PosixException("cannot examine the file there: " + e.getMessage());
        }
        if (!isSocket(a)) {
            String what = a.isRegularFile() ? "a regular file" : a.isDirectory() ? "a directory"
                    : a.isSymbolicLink() ? "a symbolic link" : "a special file";
            throw new PosixException("the file there is " + what + ", not a socket; not removed");
        }
        switch (UnixSocket.probe(path)) {
            case LISTENING:
                throw new PosixException("Address already in use: a process listens on it; not removed");
            case STALE:
                try {
                    Files.deleteIfExists(path);
                } catch (IOException e) {
                    throw new PosixException("cannot remove the stale socket there: " + e.getMessage());
                }
                DPDK.info(String.format("VHOST_CONFIG: (%s) removed a stale socket (nobody listens on it)", path));
                return;
            default:
                return; // gone meanwhile
        }
    }

    /** Whether the file is a socket (st_mode's S_IFSOCK; without the unix view, any "other" file). */
    private boolean isSocket(BasicFileAttributes a) throws PosixException {
        if (!a.isOther()) {
            return false;
        }
        try {
            Object mode = Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            return !(mode instanceof Integer) || ((Integer) mode & 0170000) == 0140000;
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return true;
        } catch (IOException e) {
            throw new PosixException("cannot examine the file there: " + e.getMessage());
        }
    }

    /** The bound socket file's identity (device, inode), or null. */
    private Object fileKey() {
        try {
            return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    /** Stops the thread, closes the connection (the device is disconnected) and removes a server socket. */
    public void stop() {
        stopping = true;
        UnixSocket c = conn;
        if (c != null) {
            c.shutdown();
        }
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        UnixSocket l = listener;
        if (l != null) {
            l.close();
            Object now = fileKey();
            if (now != null && !now.equals(bound)) {
                LOG.warning("not removing " + path + ": the file is no longer this port's socket");
                return;
            }
            try {
                Files.deleteIfExists(path);
            } catch (IOException e) {
                LOG.warning("could not remove socket " + path + ": " + e.getMessage());
            }
        }
    }

    public Mode mode() {
        return mode;
    }

    public Path path() {
        return path;
    }

    /** Number of connections served so far. */
    public long connections() {
        return connections.get();
    }

    private void run() {
        boolean toldWaiting = false;
        while (!stopping) {
            UnixSocket c = null;
            try {
                if (mode == Mode.CLIENT) {
                    try {
                        c = UnixSocket.connect(path);
                    } catch (PosixException e) {
                        if (!toldWaiting) {
                            DPDK.info(String.format("VHOST_CONFIG: (%s) failed to connect: %s; retrying every second",
                                    path, e.getMessage()));
                            toldWaiting = true;
                        }
                        sleep(RECONNECT_MS);
                        continue;
                    }
                } else {
                    if (!listener.awaitReadable(POLL_MS)) {
                        continue;
                    }
                    c = listener.accept();
                }
            } catch (PosixException e) {
                if (!stopping) {
                    LOG.log(Level.WARNING, "vhost-user socket " + path + ": " + e.getMessage());
                    sleep(RECONNECT_MS);
                }
                continue;
            }
            toldWaiting = false;
            conn = c;
            connections.increment();
            DPDK.info(String.format("VHOST_CONFIG: (%s) %s", path,
                    mode == Mode.CLIENT ? "connected" : "new vhost user connection is " + c.fd()));
            dev.connect();
            try {
                serve(c);
            } finally {
                conn = null;
                try {
                    dev.disconnect();
                    GuestMemory.deliverPendingFault(); // a fault of this connection's table is its own
                } catch (RuntimeException | InternalError e) { // InternalError: a fault on a guest mapping
                    LOG.log(Level.SEVERE, "vHost device '" + dev.name() + "': error while disconnecting", e);
                }
                c.close();
                if (!stopping) {
                    DPDK.info(String.format("VHOST_CONFIG: (%s) vhost peer closed%s", path,
                            mode == Mode.CLIENT ? "; reconnecting" : ""));
                }
            }
        }
    }

    private void sleep(int ms) {
        long end = System.nanoTime() + ms * 1_000_000L;
        while (!stopping && System.nanoTime() < end) {
            try {
                Thread.sleep(Math.min(POLL_MS, ms));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void serve(UnixSocket c) {
        byte[] hdr = new byte[Request.HEADER_SIZE];
        byte[] payload = new byte[Request.MAX_PAYLOAD];
        int[] extraFds = new int[UnixSocket.MAX_FDS];
        int[] n = new int[1];
        VhostDevice.Message m = new VhostDevice.Message();
        ByteBuffer hb = ByteBuffer.wrap(hdr).order(ByteOrder.LITTLE_ENDIAN);
        long lastCheck = System.nanoTime();
        while (!stopping) {
            try {
                long now = System.nanoTime();
                if (now - lastCheck >= POLL_MS * 1_000_000L) {
                    lastCheck = now;
                    GuestMemory mem = dev.memory();
                    String shrunk = mem == null ? null : mem.shrunk();
                    if (shrunk != null) {
                        LOG.warning(String.format("vHost device '%s': the front end shrank its memory file (%s);"
                                + " guest memory past the new end cannot be accessed; closing the connection",
                                dev.name(), shrunk));
                        return;
                    }
                }
                if (!c.awaitReadable(POLL_MS)) {
                    continue;
                }
                if (!c.receiveFully(hdr, 0, hdr.length, m.fds, n)) {
                    return; // the front end closed the connection
                }
                m.nfds = n[0];
                m.request = hb.getInt(0);
                m.flags = hb.getInt(4);
                m.size = hb.getInt(8);
                if ((m.flags & Request.VERSION_MASK) != Request.FLAG_VERSION || m.size < 0
                        || m.size > Request.MAX_PAYLOAD) {
                    m.closeFds();
                    LOG.warning(String.format("vHost device '%s': malformed message header (request %d, flags 0x%x,"
                            + " size %d); closing the connection", dev.name(), m.request, m.flags, m.size));
                    return;
                }
                if (m.size > 0) {
                    int got = 0;
                    while (got < m.size) {
                        int r = c.receive(payload, got, m.size - got, extraFds, n);
                        Fd.closeAll(extraFds, n[0]); // descriptors belong to the first byte only
                        if (r == 0) {
                            m.closeFds();
                            LOG.warning(String.format("vHost device '%s': connection closed in the middle of %s",
                                    dev.name(), Request.name(m.request)));
                            return;
                        }
                        got += r;
                    }
                }
                m.payload = ByteBuffer.wrap(payload, 0, m.size).slice().order(ByteOrder.LITTLE_ENDIAN);
                boolean goOn = dispatch(c, m);
                GuestMemory.deliverPendingFault(); // charged to this message, not to a later one
                if (!goOn) {
                    return;
                }
            } catch (PosixException e) {
                if (!stopping) {
                    LOG.warning(String.format("vHost device '%s': %s; closing the connection", dev.name(),
                            e.getMessage()));
                }
                m.closeFds();
                return;
            } catch (RuntimeException | InternalError e) {
                // a bug or a fault on a guest mapping, not the front end's input (that is refused with VhostUserException): the connection
                // goes, the thread stays to accept or reconnect
                LOG.log(Level.SEVERE, String.format("vHost device '%s': internal error handling %s; closing the"
                        + " connection", dev.name(), Request.name(m.request)), e);
                m.closeFds();
                return;
            }
        }
    }

    /** Handles one message and replies; false when the connection must be closed. */
    private boolean dispatch(UnixSocket c, VhostDevice.Message m) throws PosixException {
        int req = m.request;
        if (DPDK.isLoggable(Level.FINE)) {
            DPDK.fine(String.format("VHOST_CONFIG: (%s) read message %s", path, Request.name(req)));
        }
        // like DPDK: a front end that asks for a reply gets one (it would wait for it otherwise), whether
        // or not it negotiated REPLY_ACK; requests that reply with data reply only with their data
        boolean needAck = (m.flags & Request.FLAG_NEED_REPLY) != 0 && !Request.repliesWithData(req);
        ByteBuffer reply;
        try {
            reply = dev.handle(m);
        } catch (VhostUserException e) {
            LOG.warning(String.format("vHost device '%s': %s refused: %s", dev.name(), Request.name(req),
                    e.getMessage()));
            if (needAck) {
                sendReply(c, req, ack(1));
                return true;
            }
            if (e.fatal() || !"unsupported request".equals(e.getMessage())) {
                LOG.warning(String.format("vHost device '%s': closing the connection (the front end did not ask"
                        + " for a reply it could fail on)", dev.name()));
                return false;
            }
            return true; // unknown request without REPLY_ACK: logged and ignored
        }
        if (reply != null) {
            sendReply(c, req, reply);
        } else if (needAck) {
            sendReply(c, req, ack(0));
        }
        return true;
    }

    private static ByteBuffer ack(long v) {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, v);
        return b;
    }

    private static void sendReply(UnixSocket c, int req, ByteBuffer payload) throws PosixException {
        int len = payload.capacity();
        ByteBuffer out = ByteBuffer.allocate(Request.HEADER_SIZE + len).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(0, req);
        out.putInt(4, Request.FLAG_VERSION | Request.FLAG_REPLY);
        out.putInt(8, len);
        out.put(Request.HEADER_SIZE, payload, 0, len);
        c.send(out.array(), 0, out.capacity(), null, 0);
    }
}
