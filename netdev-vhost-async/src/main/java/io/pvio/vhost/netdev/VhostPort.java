package io.pvio.vhost.netdev;

import io.pvio.netdev.CustomStats;
import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.NetdevException;
import io.pvio.netdev.NetdevStats;
import io.pvio.packet.PacketBatch;
import io.pvio.posix.PosixException;
import io.pvio.vhost.ring.Virtqueue;
import io.pvio.vhost.ring.VirtioFeatures;
import io.pvio.vhost.user.ControlThread;
import io.pvio.vhost.user.ControlThread.Mode;
import io.pvio.vhost.user.VhostDevice;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Logger;

/**
 * A vhost-user port: tx queue {@code q} writes into the guest's receive virtqueue {@code 2q}, rx queue
 * {@code q} reads the guest's transmit virtqueue {@code 2q+1}. Transmission is synchronous (copies done
 * when {@link #send} returns), so {@link #send} and {@link #freePkts} return 0.
 */
public final class VhostPort implements Netdev, VhostDevice.Listener {
    private static final Logger LOG = Logger.getLogger("netdev_dpdk");

    private final String name;
    private final Mode mode;
    private final NetdevContext ctx;
    private final Path socket;
    private final VhostDevice dev;
    private final ControlThread control;
    private final ReentrantLock[] txLocks = new ReentrantLock[VhostDevice.MAX_QUEUE_PAIRS];
    /** Packets dropped before reaching a virtqueue (no carrier, queue busy), per tx queue. */
    private final AtomicLongArray txDroppedNoRing = new AtomicLongArray(VhostDevice.MAX_QUEUE_PAIRS);
    private volatile VhostOptions options;
    private volatile boolean closed;

    private VhostPort(String name, Mode mode, VhostOptions options, NetdevContext ctx, Path socket) {
        this.name = name;
        this.mode = mode;
        this.options = options;
        this.ctx = ctx;
        this.socket = socket;
        this.dev = new VhostDevice(name, this);
        this.control = new ControlThread(dev, mode, socket);
        for (int i = 0; i < txLocks.length; i++) {
            txLocks[i] = new ReentrantLock();
        }
    }

    static VhostPort open(Mode mode, String name, Map<String, String> options, NetdevContext ctx)
            throws NetdevException {
        VhostOptions o = VhostOptions.parse(name, mode, options);
        Path sock;
        if (mode == Mode.CLIENT) {
            sock = Path.of(o.serverPath());
        } else {
            sock = ctx.runDir().resolve(name);
            if (sock.toString().length() >= 108) {
                throw new NetdevException(name + ": socket path " + sock + " is too long for a Unix socket");
            }
        }
        VhostPort p = new VhostPort(name, mode, o, ctx, sock);
        try {
            p.control.start();
        } catch (PosixException e) {
            throw new NetdevException(name + ": cannot create vhost-user socket " + sock + ": " + e.getMessage(), e);
        }
        if (mode == Mode.CLIENT) {
            LOG.info(String.format("vHost User device '%s' created in 'client' mode, using client socket '%s'", name,
                    sock));
        } else {
            LOG.info(String.format("Socket %s created for vhost-user port %s", sock, name));
        }
        VhostPorts.register(p);
        return p;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String type() {
        return VhostOptions.typeOf(mode);
    }

    public Mode mode() {
        return mode;
    }

    /** The socket path (the front end's in client mode, ours in server mode). */
    public Path socket() {
        return socket;
    }

    /** The vhost-user device (tests, appctl). */
    public VhostDevice device() {
        return dev;
    }

    /** The vhost-async-attr option as given, or null (for the asynchronous copy configuration). */
    public String asyncAttr() {
        return options.asyncAttr();
    }

    @Override
    public void setConfig(Map<String, String> newOptions) throws NetdevException {
        VhostOptions o = VhostOptions.parse(name, mode, newOptions);
        if (!Objects.equals(o.serverPath(), options.serverPath())) {
            throw new NetdevException(name + ": " + VhostOptions.SERVER_PATH + " cannot change on an open port ("
                    + options.serverPath() + "); delete the port and add it again");
        }
        options = o;
    }

    @Override
    public Map<String, String> getConfig() {
        return options.given();
    }

    @Override
    public int nRxq() {
        return dev.queuePairs();
    }

    @Override
    public int nTxq() {
        return dev.queuePairs();
    }

    @Override
    public int rxqRecv(int qid, PacketBatch batch) {
        if (qid < 0 || qid >= VhostDevice.MAX_QUEUE_PAIRS || batch.room() == 0) {
            return 0;
        }
        Virtqueue vq = dev.vq(2 * qid + 1);
        if (!vq.tryLock()) {
            return 0; // the control thread is reconfiguring the queue
        }
        try {
            return vq.dequeue(ctx.pool(), batch);
        } finally {
            vq.unlock();
        }
    }

    @Override
    public int send(int qid, PacketBatch batch, boolean concurrentTxq) {
        int n = batch.size();
        if (n == 0) {
            return 0;
        }
        int q = Math.floorMod(qid, VhostDevice.MAX_QUEUE_PAIRS);
        ReentrantLock txLock = concurrentTxq ? txLocks[q] : null;
        if (txLock != null) {
            txLock.lock();
        }
        try {
            int pairs = dev.queuePairs();
            Virtqueue vq = dev.vq(2 * (q % pairs));
            if (vq.tryLock()) {
                try {
                    int sent = vq.enqueue(batch);
                    if (sent < n) {
                        vq.countDropped(n - sent);
                    }
                } finally {
                    vq.unlock();
                }
            } else {
                txDroppedNoRing.addAndGet(q, n);
            }
            batch.freeAll();
        } finally {
            if (txLock != null) {
                txLock.unlock();
            }
        }
        return 0;
    }

    @Override
    public int freePkts(int qid, boolean concurrentTxq) {
        return 0;
    }

    @Override
    public void getStats(NetdevStats s) {
        for (int i = 0; i < VhostDevice.MAX_VQS; i++) {
            Virtqueue vq = dev.vq(i);
            if ((i & 1) == 0) {
                s.txPackets += vq.counter(Virtqueue.C_PACKETS);
                s.txBytes += vq.counter(Virtqueue.C_BYTES);
                s.txDropped += vq.counter(Virtqueue.C_DROPPED);
            } else {
                s.rxPackets += vq.counter(Virtqueue.C_PACKETS);
                s.rxBytes += vq.counter(Virtqueue.C_BYTES);
                s.rxErrors += vq.counter(Virtqueue.C_ERRORS);
                s.rxDropped += vq.counter(Virtqueue.C_DROPPED);
            }
        }
        for (int q = 0; q < VhostDevice.MAX_QUEUE_PAIRS; q++) {
            s.txDropped += txDroppedNoRing.get(q);
        }
    }

    @Override
    public void getCustomStats(CustomStats sink) {
        int pairs = dev.queuePairs();
        for (int q = 0; q < VhostDevice.MAX_QUEUE_PAIRS; q++) {
            Virtqueue tx = dev.vq(2 * q);
            Virtqueue rx = dev.vq(2 * q + 1);
            boolean show = q < pairs || tx.counter(Virtqueue.C_BROKEN) + rx.counter(Virtqueue.C_BROKEN) > 0;
            if (!show) {
                continue;
            }
            sink.put("tx_q" + q + "_guest_notifications", tx.counter(Virtqueue.C_NOTIFICATIONS));
            sink.put("rx_q" + q + "_guest_notifications", rx.counter(Virtqueue.C_NOTIFICATIONS));
            sink.put("tx_q" + q + "_broken", tx.counter(Virtqueue.C_BROKEN));
            sink.put("rx_q" + q + "_broken", rx.counter(Virtqueue.C_BROKEN));
        }
        sink.put("vhost_connections", control.connections());
        sink.put("vhost_messages", dev.messages());
        sink.put("vhost_bad_messages", dev.badMessages());
    }

    @Override
    public Map<String, String> status() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("mode", mode == Mode.CLIENT ? "client" : "server");
        m.put("socket", socket.toString());
        m.put("status", dev.connected() ? "connected" : "disconnected");
        if (dev.connected()) {
            m.put("features", String.format("0x%016x", dev.features()));
            m.put("num_of_vrings", Integer.toString(2 * dev.queuePairs()));
            m.put("numa", "0");
        }
        return m;
    }

    @Override
    public boolean carrier() {
        return dev.carrier();
    }

    @Override
    public void changed() {
        if (!closed) {
            ctx.changed();
        }
    }

    /** Text of appctl netdev-vhost/show for this port. */
    public String show() {
        StringBuilder sb = new StringBuilder();
        sb.append(name).append(": ").append(type()).append(", ").append(mode == Mode.CLIENT ? "client" : "server")
                .append(" socket ").append(socket).append('\n');
        sb.append("  state: ").append(dev.connected() ? "connected" : "disconnected")
                .append(dev.running() ? ", running" : "").append(", carrier ").append(carrier() ? "up" : "down")
                .append(", connections ").append(control.connections()).append('\n');
        if (dev.connected()) {
            sb.append("  features: ").append(VirtioFeatures.describe(dev.features())).append('\n');
            sb.append("  protocol features: ").append(String.format("0x%x", dev.protocolFeatures())).append('\n');
            sb.append("  memory: ").append(dev.memory() == null ? "none"
                    : dev.memory().regions() + " region(s), " + dev.memory().totalSize() + " bytes").append('\n');
        }
        sb.append("  messages: ").append(dev.messages()).append(", refused ").append(dev.badMessages());
        if (dev.lastError() != null) {
            sb.append(" (last: ").append(dev.lastError()).append(')');
        }
        sb.append('\n');
        if (options.asyncAttr() != null) {
            sb.append("  vhost-async-attr: ").append(options.asyncAttr()).append('\n');
        }
        for (int i = 0; i < VhostDevice.MAX_VQS; i++) {
            Virtqueue vq = dev.vq(i);
            if (vq.size() == 0 && vq.broken() == null && vq.counter(Virtqueue.C_BROKEN) == 0) {
                continue;
            }
            sb.append("  vring ").append(i).append(" (").append((i & 1) == 0 ? "tx" : "rx").append("_qid ")
                    .append(i / 2).append("): ").append(vq.describe());
            if (vq.counter(Virtqueue.C_BROKEN) > 0) {
                sb.append(", broken ").append(vq.counter(Virtqueue.C_BROKEN)).append(" time(s)");
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        control.stop();
        VhostPorts.unregister(this);
        LOG.info(String.format("vHost User device '%s' %s", name, mode == Mode.SERVER
                ? "destroyed; socket " + socket + " removed" : "destroyed"));
    }
}
