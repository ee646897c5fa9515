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
            for (Map.Entry<SocketChannel, OfConnection> e : conns.entrySet()) {
                OfConnection session = e.getValue();
                try {
                    synchronized (session) {
                        write(e.getKey(), session.portStatus());
                        write(e.getKey(), session.flowRemoved());
                    }
                } catch (IOException ex) {
                    LOG.fine(() -> bridge + ": cannot send a port status: " + ex.getMessage()); // its reader ends it
                }
            }
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
