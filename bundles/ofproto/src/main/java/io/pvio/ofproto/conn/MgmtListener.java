package io.pvio.ofproto.conn;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.DpifException;
import io.pvio.ofproto.codec.Of;
import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A bridge's OpenFlow management socket, {@code RUN_DIR/<bridge>.mgmt} (ovs-vswitchd's name, where
 * ovs-ofctl looks for it): a thread accepts connections, a thread per connection reads whole messages and
 * writes the replies, and a thread looks at the bridge's ports every {@link #PORT_POLL_MS} ms and sends their
 * changes to every connection (OFPT_PORT_STATUS). {@link #close} removes the socket file and ends every
 * connection.
 */
public final class MgmtListener implements AutoCloseable {
    static final Logger LOG = Logger.getLogger("connmgr");
    /** How often the ports are compared with what each connection was told. */
    static final long PORT_POLL_MS = 100;

    private final String bridge;
    private final Path path;
    private final Supplier<Dpif> dpif;
    private final ServerSocketChannel server;
    private final Map<SocketChannel, OfConnection> conns = new ConcurrentHashMap<>();
    private volatile boolean closing;
    private int accepted; // accept thread only
    /** What the port status thread last told which datapath of the table-miss packet-ins. */
    private Dpif missDpif;
    private boolean missToldWanted;
    /** Controller links by target (set-controller), each with its thread; guarded by itself. */
    private final Map<String, ControllerLink> controllers = new java.util.HashMap<>();

    /**
     * Binds the socket (replacing a stale file) and starts accepting.
     *
     * @throws IOException when it cannot (a name with '/', a path longer than a Unix socket's 107 bytes)
     */
    public MgmtListener(Path runDir, String bridge, Supplier<Dpif> dpif) throws IOException {
        if (bridge.isEmpty() || bridge.contains("/") || bridge.indexOf('\0') >= 0) {
            throw new IOException("bridge name '" + bridge + "' cannot name a socket file");
        }
        this.bridge = bridge;
        this.path = runDir.resolve(bridge + ".mgmt");
        this.dpif = dpif;
        // bound and listening under a temporary name, then renamed: the socket file appears ready to connect
        Path tmp = runDir.resolve(bridge + ".mgmt.tmp");
        Files.deleteIfExists(tmp);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(tmp));
            Files.move(tmp, path, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            server.close();
            Files.deleteIfExists(tmp);
            throw e;
        }
        Thread t = new Thread(this::acceptLoop, "ofproto-" + bridge);
        t.setDaemon(true);
        t.start();
        Thread ps = new Thread(this::portStatusLoop, "ofproto-" + bridge + "-ports");
        ps.setDaemon(true);
        ps.start();
        Thread pi = new Thread(this::packetInLoop, "ofproto-" + bridge + "-packet-in");
        pi.setDaemon(true);
        pi.start();
        LOG.info(() -> bridge + ": listening on " + path);
    }

    public Path path() {
        return path;
    }

    private void acceptLoop() {
        while (!closing) {
            SocketChannel c;
            try {
                c = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!closing) {
                    LOG.log(Level.WARNING, bridge + ": accept failed on " + path, e);
                }
                return;
            }
            OfConnection session = new OfConnection(bridge, dpif);
            conns.put(c, session);
            String name = "unix#" + ++accepted;
            Thread t = new Thread(() -> serve(c, session, name), "ofproto-" + bridge + "-" + name);
            t.setDaemon(true);
            t.start();
        }
    }

    /**
     * Sends each connection the changes of the bridge's ports and its flow removals. A connection whose peer
     * does not read blocks this thread (and so the others' messages) until it is closed, never a request or
     * the datapath.
     */
    private void portStatusLoop() {
        while (!closing) {
            try {
                Thread.sleep(PORT_POLL_MS);
            } catch (InterruptedException e) {
                return;
            }
            boolean missWanted = false;
            for (Map.Entry<SocketChannel, OfConnection> e : conns.entrySet()) {
                OfConnection session = e.getValue();
                missWanted |= session.wantsPacketInOnMiss();
                try {
                    synchronized (session) {
                        write(e.getKey(), session.portStatus());
                        write(e.getKey(), session.flowRemoved());
                    }
                } catch (IOException ex) {
                    LOG.fine(() -> bridge + ": cannot send a port status: " + ex.getMessage()); // its reader ends it
                }
            }
            Dpif d = dpif.get();
            if (d != null && (d != missDpif || missWanted != missToldWanted)) {
                try {
                    d.setPacketInOnMiss(bridge, missWanted); // a table miss is a packet-in while a 1.0 session is open
                    missDpif = d;
                    missToldWanted = missWanted;
                } catch (DpifException | RuntimeException ex) {
                    LOG.log(Level.FINE, bridge + ": cannot set packet-ins on miss", ex);
                }
            }
        }
    }

    /**
     * Connects to exactly {@code targets} (tcp:IP[:PORT], unix:PATH) as the bridge's controllers: new ones are
     * connected (and reconnected, as OVS's rconn), gone ones closed. The connections share the management
     * connections' asynchronous messages.
     */
    public void setControllers(List<String> targets) {
        synchronized (controllers) {
            controllers.entrySet().removeIf(e -> {
                if (!targets.contains(e.getKey()) || closing) {
                    e.getValue().stop();
                    LOG.info(() -> bridge + ": removed primary controller \"" + e.getKey() + "\"");
                    return true;
                }
                return false;
            });
            for (String t : targets) {
                if (!closing && !controllers.containsKey(t)) {
                    ControllerLink l = new ControllerLink(t);
                    controllers.put(t, l);
                    LOG.info(() -> bridge + ": added primary controller \"" + t + "\"");
                    l.start();
                }
            }
        }
    }

    /**
     * One controller: connects, serves the session until it ends, then waits (1 s, doubling to 8 s, as OVS's
     * rconn backoff) and connects again, until stopped. Logs as OVS's rconn.
     */
    private final class ControllerLink {
        final String target;
        final String name;
        volatile boolean stopped;
        volatile SocketChannel channel;
        private final Thread thread;

        ControllerLink(String target) {
            this.target = target;
            this.name = bridge + "<->" + target;
            this.thread = new Thread(this::run, "ofproto-" + bridge + "-" + target);
            thread.setDaemon(true);
        }

        void start() {
            thread.start();
        }

        void stop() {
            stopped = true;
            record(null);
            SocketChannel c = channel;
            if (c != null) {
                try {
                    c.close();
                } catch (IOException e) {
                    LOG.log(Level.FINE, name + ": close", e);
                }
            }
            thread.interrupt();
        }

        /** rconn's view of the connection, for the Controller row (OVS's connmgr_get_controller_info). */
        private String lastError;
        private long lastConnect = -1;
        private long lastDisconnect = -1;

        private void status(boolean connected, String state) {
            if (!stopped) {
                record(new io.pvio.dpif.ControllerStatus(connected, state, lastError, lastConnect, lastDisconnect));
            }
        }

        private void record(io.pvio.dpif.ControllerStatus st) {
            Dpif d = dpif.get();
            if (d != null) {
                d.setControllerStatus(bridge, target, st);
            }
        }

        private void run() {
            long backoff = 1000;
            while (!stopped && !closing) {
                LOG.info(() -> name + ": connecting...");
                status(false, "CONNECTING");
                SocketChannel c;
                try {
                    c = open(target);
                } catch (IOException | RuntimeException e) {
                    String why = e.getMessage() == null ? e.toString() : e.getMessage();
                    LOG.info(() -> name + ": connection failed (" + why + ")");
                    lastError = why;
                    status(false, "BACKOFF");
                    long wait = backoff;
                    LOG.info(() -> name + ": waiting " + wait / 1000 + " seconds before reconnect");
                    if (!pause(wait)) {
                        return;
                    }
                    backoff = Math.min(backoff * 2, 8000);
                    continue;
                }
                backoff = 1000;
                channel = c;
                if (stopped) {
                    closeQuietly(c);
                    return;
                }
                LOG.info(() -> name + ": connected");
                lastConnect = System.currentTimeMillis();
                status(true, "ACTIVE");
                OfConnection session = new OfConnection(bridge, dpif, true);
                conns.put(c, session);
                serve(c, session, target);
                channel = null;
                lastDisconnect = System.currentTimeMillis();
                if (!stopped && !closing) {
                    LOG.info(() -> name + ": connection closed by peer");
                    lastError = "End of file"; // rconn's EOF
                    status(false, "BACKOFF");
                    if (!pause(1000)) {
                        return;
                    }
                }
            }
        }

        private boolean pause(long ms) {
            try {
                Thread.sleep(ms);
                return !stopped && !closing;
            } catch (InterruptedException e) {
                return false;
            }
        }
    }

    /** A connection to {@code tcp:IP[:PORT]} (OVS's default port 6653) or {@code unix:PATH}. */
    static SocketChannel open(String target) throws IOException {
        if (target.startsWith("unix:")) {
            return SocketChannel.open(UnixDomainSocketAddress.of(target.substring(5)));
        }
        if (!target.startsWith("tcp:")) {
            throw new IOException("unsupported controller target " + target);
        }
        String hp = target.substring(4);
        String host = hp;
        int port = 6653;
        int colon = hp.lastIndexOf(':');
        if (hp.startsWith("[")) { // [IPv6]:PORT
            int close = hp.indexOf(']');
            host = hp.substring(1, close);
            if (close + 1 < hp.length() && hp.charAt(close + 1) == ':') {
                port = Integer.parseInt(hp.substring(close + 2));
            }
        } else if (colon >= 0) {
            host = hp.substring(0, colon);
            port = Integer.parseInt(hp.substring(colon + 1));
        }
        SocketChannel c = SocketChannel.open();
        try {
            c.socket().connect(new java.net.InetSocketAddress(java.net.InetAddress.getByName(host), port), 5000);
            c.socket().setTcpNoDelay(true);
        } catch (IOException | RuntimeException e) {
            closeQuietly(c);
            throw e;
        }
        return c;
    }

    private static void closeQuietly(SocketChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            LOG.log(Level.FINE, "close", e);
        }
    }

    /**
     * Takes the bridge's packet-ins as the flows send them to the controller and sends each to the connections
     * that want it (see {@link OfConnection#packetIn}); those nobody wants are dropped, as in OVS.
     */
    private void packetInLoop() {
        while (!closing) {
            try {
                Dpif d = dpif.get();
                io.pvio.dpif.PacketIn pin = d == null ? null : d.takePacketIn(bridge, PORT_POLL_MS);
                if (d == null) {
                    Thread.sleep(PORT_POLL_MS);
                }
                if (pin == null) {
                    continue;
                }
                for (Map.Entry<SocketChannel, OfConnection> e : conns.entrySet()) {
                    OfConnection session = e.getValue();
                    synchronized (session) {
                        byte[] m = session.packetIn(pin);
                        if (m != null) {
                            write(e.getKey(), List.of(m));
                        }
                    }
                }
            } catch (InterruptedException e) {
                return;
            } catch (IOException e) {
                LOG.fine(() -> bridge + ": cannot send a packet-in: " + e.getMessage()); // its reader ends it
            } catch (DpifException | RuntimeException e) {
                LOG.log(Level.FINE, bridge + ": no packet-ins for now", e); // the bridge is going away
                try {
                    Thread.sleep(PORT_POLL_MS);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private void serve(SocketChannel c, OfConnection session, String name) {
        LOG.fine(() -> bridge + "<->" + name + ": connection opened");
        ByteBuffer header = ByteBuffer.allocate(Of.HEADER);
        try (c) {
            synchronized (session) {
                write(c, List.of(OfConnection.hello()));
            }
            while (!session.closed()) {
                header.clear();
                if (!readFully(c, header, true)) {
                    break;
                }
                int len = header.getShort(2) & 0xffff;
                if (len < Of.HEADER) {
                    LOG.info(() -> bridge + ": message with length " + len + " < 8: closing the connection");
                    break;
                }
                ByteBuffer msg = ByteBuffer.allocate(len);
                msg.put(header.flip());
                readFully(c, msg, false);
                msg.flip();
                synchronized (session) { // whole replies, never inside a port status
                    write(c, session.handle(msg));
                }
            }
        } catch (EOFException e) {
            LOG.info(() -> bridge + ": connection closed in the middle of a message");
        } catch (IOException e) {
            if (!closing) {
                LOG.fine(() -> bridge + ": connection dropped: " + e.getMessage());
            }
        } finally {
            conns.remove(c);
            String mods = session.flowModSummary();
            if (mods != null) {
                LOG.info(() -> bridge + "<->" + name + ": " + mods);
            }
            LOG.fine(() -> bridge + "<->" + name + ": connection closed");
        }
    }

    /** @return false at a clean end of stream before the first byte (when {@code eofOk}) */
    private static boolean readFully(SocketChannel c, ByteBuffer b, boolean eofOk) throws IOException {
        boolean first = true;
        while (b.hasRemaining()) {
            if (c.read(b) < 0) {
                if (first && eofOk && b.position() == 0) {
                    return false;
                }
                throw new EOFException();
            }
            first = false;
        }
        return true;
    }

    private static void write(SocketChannel c, List<byte[]> msgs) throws IOException {
        for (byte[] m : msgs) {
            ByteBuffer b = ByteBuffer.wrap(m);
            while (b.hasRemaining()) {
                c.write(b);
            }
        }
    }

    @Override
    public void close() {
        closing = true;
        setControllers(List.of());
        try {
            server.close();
        } catch (IOException e) {
            LOG.log(Level.FINE, "closing " + path, e);
        }
        for (SocketChannel c : conns.keySet()) {
            try {
                c.close();
            } catch (IOException e) {
                LOG.log(Level.FINE, "closing a connection on " + path, e);
            }
        }
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.warning(() -> "cannot remove " + path + ": " + e);
        }
        LOG.info(() -> bridge + ": stopped listening on " + path);
    }
}
