package io.pvio.vhost.netdev;

import io.pvio.counter.CounterArray;
import io.pvio.netdev.CustomStats;
import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.NetdevException;
import io.pvio.netdev.NetdevStats;
import io.pvio.netdev.RunDirectory;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.posix.PosixException;
import io.pvio.vhost.async.AsyncAttr;
import io.pvio.vhost.async.AsyncBinder;
import io.pvio.vhost.async.AsyncQueue;
import io.pvio.vhost.async.CopyTracker;
import io.pvio.vhost.ring.DirtyLog;
import io.pvio.vhost.ring.GuestMemory;
import io.pvio.vhost.ring.Virtqueue;
import io.pvio.vhost.ring.VirtioFeatures;
import io.pvio.vhost.user.ControlThread;
import io.pvio.vhost.user.ControlThread.Mode;
import io.pvio.vhost.user.VhostDevice;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Logger;

/**
 * A vhost-user port: tx queue {@code q} writes into the guest's receive virtqueue {@code 2q}, rx queue
 * {@code q} reads the guest's transmit virtqueue {@code 2q+1}.
 *
 * <h2>Asynchronous copies</h2>
 * Queues named in {@code options:vhost-async-attr} are bound by the shared {@link AsyncBinder} to a DMA
 * channel (while {@code other_config:vhost-async-copy-support=true} and a channel with that address
 * exists). A bound tx queue's {@link #send} submits the copies and returns the number of its packets still
 * in flight; those packets are the port's until {@link #freePkts} (or a later send) finds them complete,
 * publishes their used elements in order and frees them. A bound rx queue's {@link #rxqRecv} returns only
 * packets whose copies have completed, in ring order. Unbound queues copy synchronously (send returns 0).
 */
public final class VhostPort implements Netdev, VhostDevice.Listener {
    private static final Logger LOG = Logger.getLogger("netdev_dpdk");
    private static final AtomicLong SEQ = new AtomicLong();

    private final String name;
    private final Mode mode;
    private final NetdevContext ctx;
    private final Path socket;
    private final VhostDevice dev;
    private final ControlThread control;
    private final ReentrantLock[] txLocks = new ReentrantLock[VhostDevice.MAX_QUEUE_PAIRS];
    /**
     * Packets dropped before reaching a virtqueue (no carrier, queue busy), per tx queue. Each slot's writer
     * is the tx queue's sender (one thread, or the holder of the queue's tx lock with concurrentTxq).
     */
    private final CounterArray txDroppedNoRing = CounterArray.padded(VhostDevice.MAX_QUEUE_PAIRS);
    /**
     * Sends and freePkts calls on a shared (concurrentTxq) tx queue that found its lock taken; counted once
     * the lock is held (single writer).
     */
    private final CounterArray txLockContended = CounterArray.padded(VhostDevice.MAX_QUEUE_PAIRS);
    /** Retries of sends that found too few guest buffers (OVS's tx_retries), per tx queue; its sender writes. */
    private final CounterArray txRetries = CounterArray.padded(VhostDevice.MAX_QUEUE_PAIRS);
    /** Per tx queue, the packets a retry sends; empty between sends. */
    private final PacketBatch[] retryBatches = new PacketBatch[VhostDevice.MAX_QUEUE_PAIRS];
    /** options:tx-retries-max. */
    private volatile int txRetriesMax;
    /** Tests: runs on the sender before each retry (a guest making room meanwhile). */
    private volatile Runnable beforeRetry;
    private final AsyncBinder binder;
    private final AsyncVq[] async = new AsyncVq[VhostDevice.MAX_VQS];
    /** Virtqueues currently requested from the binder (guarded by this). */
    private final boolean[] requested = new boolean[VhostDevice.MAX_VQS];
    private volatile VhostOptions options;
    private volatile boolean closed;
    /**
     * Queue pairs the data path uses (nRxq, nTxq): the front end's as of the last {@link #reconfigure()}.
     * Written only by reconfigure, while no data-path call runs on the port.
     */
    private volatile int queues = 1;

    private VhostPort(String name, Mode mode, VhostOptions options, NetdevContext ctx, Path socket,
            AsyncBinder binder) {
        this.name = name;
        this.mode = mode;
        this.options = options;
        this.ctx = ctx;
        this.socket = socket;
        this.binder = binder;
        this.dev = new VhostDevice(name, this, binder.memory());
        dev.setNextOffered(offeredFeatures());
        this.control = new ControlThread(dev, mode, socket);
        for (int i = 0; i < txLocks.length; i++) {
            txLocks[i] = new ReentrantLock();
            retryBatches[i] = new PacketBatch();
        }
        this.txRetriesMax = options.txRetriesMax();
        long seq = SEQ.incrementAndGet();
        for (int i = 0; i < async.length; i++) {
            async[i] = new AsyncVq(dev.vq(i), (seq << 8) | i);
        }
    }

    /** One virtqueue as the binder sees it. */
    private final class AsyncVq implements AsyncQueue {
        private final Virtqueue vq;
        private final long order;

        AsyncVq(Virtqueue vq, long order) {
            this.vq = vq;
            this.order = order;
        }

        @Override
        public CopyTracker tracker() {
            return vq.tracker();
        }

        @Override
        public void exclusive(Runnable action) {
            vq.lockExclusive();
            try {
                action.run();
            } finally {
                vq.unlockExclusive();
            }
        }

        @Override
        public boolean drainLocked() {
            return vq.drainAsync(AsyncBinder.drainTimeoutNanos());
        }

        @Override
        public long lockOrder() {
            return order;
        }

        @Override
        public String describe() {
            int i = vq.index();
            return name + " " + ((i & 1) == 0 ? "txq" : "rxq") + i / 2;
        }
    }

    static VhostPort open(Mode mode, String name, Map<String, String> options, NetdevContext ctx)
            throws NetdevException {
        return open(mode, name, options, ctx, new AsyncBinder());
    }

    static VhostPort open(Mode mode, String name, Map<String, String> options, NetdevContext ctx,
            AsyncBinder binder) throws NetdevException {
        VhostOptions o = VhostOptions.parse(name, mode, options);
        AsyncAttr attr = checkAttr(name, o.asyncAttr(), binder);
        Path sock;
        if (mode == Mode.CLIENT) {
            sock = Path.of(o.serverPath());
        } else {
            sock = ctx.runDir().resolve(name);
            if (RunDirectory.isDaemonFile(name)) {
                String why = "the name is reserved for the daemon's own files (control socket, OpenFlow"
                        + " sockets, database, log); choose another port name";
                LOG.severe(String.format("vHost User device '%s': cannot create socket %s: %s", name, sock, why));
                throw new NetdevException(name + ": cannot create vhost-user socket " + sock + ": " + why);
            }
            if (sock.toString().length() >= 108) {
                throw new NetdevException(name + ": socket path " + sock + " is too long for a Unix socket");
            }
        }
        VhostPort p = new VhostPort(name, mode, o, ctx, sock, binder);
        p.applyAttr(attr);
        try {
            p.control.start();
        } catch (PosixException e) {
            p.releaseAsync();
            throw new NetdevException(name + ": cannot create vhost-user socket " + sock + ": " + e.getMessage(), e);
        }
        if (mode == Mode.CLIENT) {
            LOG.info(String.format("vHost User device '%s' created in 'client' mode, using client socket '%s'", name,
                    sock));
        } else {
            LOG.info(String.format("Socket %s created for vhost-user port %s", sock, name));
        }
        if (o.txRetriesMax() != VhostOptions.TX_RETRIES_DEFAULT) {
            LOG.info(String.format("Max Tx retries for vhost device '%s' set to %d", name, o.txRetriesMax()));
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

    /** The binder this port's queues are bound by. */
    public AsyncBinder binder() {
        return binder;
    }

    /**
     * Parses and checks {@code options:vhost-async-attr}: well formed, queues this port can have, and a DMA
     * channel at every address now.
     */
    static AsyncAttr checkAttr(String port, String value, AsyncBinder binder) throws NetdevException {
        AsyncAttr a;
        try {
            a = AsyncAttr.parse(value);
        } catch (IllegalArgumentException e) {
            throw new NetdevException(port + ": " + e.getMessage());
        }
        for (AsyncAttr.Entry e : a.entries()) {
            if (e.queue() >= VhostDevice.MAX_QUEUE_PAIRS) {
                throw new NetdevException(port + ": vhost-async-attr: unknown queue " + e.queueName()
                        + " (a vhost-user port has at most " + VhostDevice.MAX_QUEUE_PAIRS + " queue pairs: txq0..txq"
                        + (VhostDevice.MAX_QUEUE_PAIRS - 1) + ", rxq0..rxq" + (VhostDevice.MAX_QUEUE_PAIRS - 1) + ")");
            }
            if (!binder.hasChannel(e.address())) {
                List<String> have = binder.addresses();
                throw new NetdevException(port + ": vhost-async-attr: no DMA channel at " + e.address() + " for "
                        + e.queueName() + " (" + (have.isEmpty() ? "no DMA channel is available"
                        : "available: " + String.join(", ", have)) + ")");
            }
        }
        return a;
    }

    /** Requests what {@code a} says from the binder (drains queues whose channel changes), releases the rest. */
    private synchronized void applyAttr(AsyncAttr a) {
        boolean[] want = new boolean[VhostDevice.MAX_VQS];
        for (AsyncAttr.Entry e : a.entries()) {
            int i = 2 * e.queue() + (e.tx() ? 0 : 1);
            want[i] = true;
            binder.request(async[i], e.address(), e.threshold());
            requested[i] = true;
        }
        for (int i = 0; i < requested.length; i++) {
            if (requested[i] && !want[i]) {
                binder.release(async[i]);
                requested[i] = false;
            }
        }
    }

    /** Releases every queue from the binder (drained first). */
    private synchronized void releaseAsync() {
        for (int i = 0; i < requested.length; i++) {
            if (requested[i]) {
                binder.release(async[i]);
                requested[i] = false;
            }
        }
    }

    @Override
    public void setConfig(Map<String, String> newOptions) throws NetdevException {
        VhostOptions o = VhostOptions.parse(name, mode, newOptions);
        if (!Objects.equals(o.serverPath(), options.serverPath())) {
            throw new NetdevException(name + ": " + VhostOptions.SERVER_PATH + " cannot change on an open port ("
                    + options.serverPath() + "); delete the port and add it again");
        }
        AsyncAttr a = checkAttr(name, o.asyncAttr(), binder);
        if (!Objects.equals(o.asyncAttr(), options.asyncAttr())) {
            LOG.info(name + ": vhost-async-attr " + (a.entries().isEmpty() ? "removed" : "set to " + a));
        }
        applyAttr(a);
        if (o.txRetriesMax() != txRetriesMax) {
            txRetriesMax = o.txRetriesMax();
            LOG.info(String.format("Max Tx retries for vhost device '%s' set to %d", name, o.txRetriesMax()));
        }
        options = o;
    }

    @Override
    public Map<String, String> getConfig() {
        return options.given();
    }

    @Override
    public int nRxq() {
        return queues;
    }

    @Override
    public int nTxq() {
        return queues;
    }

    /** True when the front end set up more or fewer queue pairs than the data path uses. */
    @Override
    public boolean reconfigureRequired() {
        return !closed && dev.queuePairs() != queues;
    }

    /**
     * Adopts the front end's queue pairs (netdev_dpdk_vhost_reconfigure). The data path is paused: no
     * rxqRecv, send or freePkts runs on this port. Queues that go away are drained: completed dequeued
     * packets nobody will poll any more are freed and counted as rx_dropped, copies in flight on a tx queue
     * are completed and published.
     */
    @Override
    public void reconfigure() {
        int want = dev.queuePairs();
        int old = queues;
        if (want == old) {
            return;
        }
        for (int q = want; q < old; q++) {
            for (int i = 2 * q; i <= 2 * q + 1; i++) {
                Virtqueue vq = dev.vq(i);
                vq.lock();
                try {
                    vq.drainAsync(AsyncBinder.drainTimeoutNanos());
                    int n = vq.stashed();
                    if (n > 0) {
                        vq.freeStash();
                        vq.countDropped(n);
                        LOG.warning(String.format("vHost Device '%s': %d received packet(s) of removed rx queue %d"
                                + " dropped", name, n, q));
                    }
                } finally {
                    vq.unlock();
                }
            }
        }
        queues = want;
        LOG.info(String.format("vHost Device '%s': %d queue pair(s) in use (was %d)", name, want, old));
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
        int before = batch.size();
        try {
            int rarp = qid == 0 && vq.ready() ? injectRarp(batch) : 0; // as DPDK, once the queue runs
            CopyTracker t = vq.tracker();
            int got = t.channel() != null || t.inFlight() > 0 || vq.stashed() > 0
                    ? vq.dequeueAsync(ctx.pool(), batch) : vq.dequeue(ctx.pool(), batch);
            vq.faultFence();
            return rarp + got;
        } catch (InternalError e) { // a fault on the guest's mapping (truncated file): this queue's
            vq.markBrokenBy(e);
            // a faulting copy leaves its packet's bytes undefined (stale pool data): none is forwarded
            int n = batch.size() - before;
            for (int i = before; i < batch.size(); i++) {
                batch.get(i).free();
            }
            batch.truncate(before);
            vq.countDropped(n);
            return 0;
        } catch (RuntimeException e) {
            vq.markBrokenBy(e);
            return batch.size() - before; // what was added is complete and the caller's
        } finally {
            vq.unlock();
        }
    }

    /** The guest's transmit chains left after the last receive (split rings; -1 for packed ones). */
    @Override
    public int rxqRemaining(int qid) {
        if (qid < 0 || qid >= VhostDevice.MAX_QUEUE_PAIRS) {
            return -1;
        }
        return dev.vq(2 * qid + 1).rxRemaining();
    }

    /**
     * After SEND_RARP: a RARP request broadcast from the guest's MAC (DPDK's make_rarp_packet), first in the
     * batch, so that the switch floods it and the network learns the guest's new port. A later call retries
     * when the pool is empty. Returns the packets added (0 or 1).
     */
    private int injectRarp(PacketBatch batch) {
        long mac = dev.takeRarp();
        if (mac < 0) {
            return 0;
        }
        Packet p = ctx.pool().alloc();
        if (p == null) {
            dev.requeueRarp(mac);
            return 0;
        }
        java.nio.ByteBuffer b = p.buffer();
        int at = p.append(RARP_LEN);
        for (int i = 0; i < RARP_LEN; i++) {
            b.put(at + i, (byte) 0);
        }
        for (int i = 0; i < 6; i++) {
            byte m = (byte) (mac >>> (8 * (5 - i)));
            b.put(at + i, (byte) 0xff); // broadcast
            b.put(at + 6 + i, m); // Ethernet source
            b.put(at + 22 + i, m); // sender hardware address
            b.put(at + 32 + i, m); // target hardware address
        }
        b.put(at + 12, (byte) 0x80).put(at + 13, (byte) 0x35); // ETH_P_RARP
        b.put(at + 15, (byte) 1); // hardware type Ethernet
        b.put(at + 16, (byte) 0x08); // protocol IPv4
        b.put(at + 18, (byte) 6).put(at + 19, (byte) 4);
        b.put(at + 21, (byte) 3); // RARP request; sender and target IP stay 0
        batch.add(p);
        dev.countRarp();
        LOG.info(String.format("vHost device '%s': RARP broadcast from %s injected", name,
                VhostDevice.macString(mac)));
        return 1;
    }

    /** A RARP frame: Ethernet header, ARP for IPv4 over Ethernet, padded to the 60-byte minimum. */
    private static final int RARP_LEN = 60;

    private ReentrantLock lockTxq(int q, boolean concurrentTxq) {
        if (!concurrentTxq) {
            return null;
        }
        ReentrantLock l = txLocks[q];
        if (!l.tryLock()) {
            l.lock();
            txLockContended.add(q, 1);
        }
        return l;
    }

    @Override
    public int send(int qid, PacketBatch batch, boolean concurrentTxq) {
        int n = batch.size();
        if (n == 0) {
            return freePkts(qid, concurrentTxq);
        }
        if (qid < 0 || qid >= queues) {
            return dropBadQueue(qid, batch);
        }
        int q = qid;
        int inFlight = 0;
        ReentrantLock txLock = lockTxq(q, concurrentTxq);
        try {
            Virtqueue vq = dev.vq(2 * q);
            if (vq.lockForSend()) {
                try {
                    CopyTracker t = vq.tracker();
                    if (t.channel() != null || t.inFlight() > 0) {
                        long begun = t.begun();
                        boolean failed = false;
                        try {
                            vq.enqueueAsync(batch);
                            vq.faultFence();
                        } catch (RuntimeException | InternalError e) {
                            vq.markBrokenBy(e);
                            failed = true;
                        }
                        // the packets the tracker began are the batch's first ones and the queue's now; the
                        // rest are dropped. Counted on the tracker, not taken from enqueueAsync's result: a
                        // late fault of the burst can surface as the walk or enqueueAsync returns
                        int sent = (int) (t.begun() - begun);
                        if (!failed && retryWanted(vq, n, sent)) {
                            vq.countDropped(retry(q, vq, batch, sent, true));
                        } else {
                            for (int i = sent; i < n; i++) {
                                batch.get(i).free();
                            }
                            if (sent < n) {
                                vq.countDropped(n - sent);
                            }
                            batch.clear();
                        }
                        inFlight = t.inFlight();
                    } else {
                        int sent = -1;
                        boolean failed = false;
                        try {
                            sent = vq.enqueue(batch);
                            vq.faultFence();
                        } catch (RuntimeException | InternalError e) {
                            vq.markBrokenBy(e);
                            failed = true;
                        }
                        if (!failed && retryWanted(vq, n, sent)) {
                            vq.countDropped(retry(q, vq, batch, sent, false));
                        } else if (sent >= 0 && sent < n) {
                            vq.countDropped(n - sent);
                        }
                        batch.freeAll();
                    }
                } finally {
                    vq.unlock();
                }
            } else {
                txDroppedNoRing.add(q, n);
                batch.freeAll();
                inFlight = vq.tracker().inFlight(); // earlier packets still need freePkts (racy read: a hint)
            }
        } finally {
            if (txLock != null) {
                txLock.unlock();
            }
        }
        return inFlight;
    }

    /**
     * True when a send's first pass delivered some but not all packets and the walk stopped for want of
     * guest buffers (OVS retries then, not when nothing went: the guest may not be taking packets).
     */
    private boolean retryWanted(Virtqueue vq, int n, int sent) {
        return sent > 0 && sent < n && vq.enqueueStop() < n && txRetriesMax > 0;
    }

    /**
     * OVS's __netdev_dpdk_vhost_send retries: the first pass left {@code batch} with [0, sent) delivered,
     * then the packets it skipped, then from {@link Virtqueue#enqueueStop()} on those it did not try. Sends
     * the untried ones again while a pass delivers something and some are left, at most tx-retries-max
     * times; counts the retries. Empties the batch (delivered packets: freed after a CPU copy, the
     * tracker's with asynchronous copies). Returns the packets dropped.
     */
    private int retry(int q, Virtqueue vq, PacketBatch batch, int sent, boolean async) {
        int max = txRetriesMax;
        CopyTracker t = vq.tracker();
        PacketBatch cur = batch;
        PacketBatch next = retryBatches[q];
        int stop = vq.enqueueStop();
        int retries = 0;
        int dropped = 0;
        for (;;) {
            boolean again = sent > 0 && stop < cur.size() && retries < max;
            if (again) {
                moveFrom(cur, stop, next);
            }
            dropped += cur.size() - sent;
            if (async) {
                for (int i = sent; i < cur.size(); i++) {
                    cur.get(i).free();
                }
                cur.clear();
            } else {
                cur.freeAll();
            }
            if (!again) {
                break;
            }
            retries++;
            Runnable h = beforeRetry;
            if (h != null) {
                h.run();
            }
            PacketBatch b = cur;
            cur = next;
            next = b;
            long begun = t.begun();
            sent = 0;
            try {
                if (async) {
                    vq.enqueueAsync(cur);
                } else {
                    sent = vq.enqueue(cur);
                }
                stop = vq.enqueueStop();
                vq.faultFence();
            } catch (RuntimeException | InternalError e) {
                vq.markBrokenBy(e);
                stop = cur.size(); // no further retry
            }
            if (async) {
                sent = (int) (t.begun() - begun); // as in send
            }
        }
        txRetries.add(q, retries);
        return dropped;
    }

    /** Moves the packets of {@code from} from index {@code i} on to the end of {@code to}. */
    private static void moveFrom(PacketBatch from, int i, PacketBatch to) {
        for (int j = i; j < from.size(); j++) {
            to.add(from.get(j));
        }
        from.truncate(i);
    }

    private long badQueueLogged;

    /**
     * send on a tx queue the port does not have (outside 0..nTxq-1: the caller broke the contract): the
     * packets are freed and counted as tx_dropped, on the tx queue with that number modulo the maximum.
     */
    private int dropBadQueue(int qid, PacketBatch batch) {
        int n = batch.size();
        batch.freeAll();
        txDroppedNoRing.add(Math.floorMod(qid, VhostDevice.MAX_QUEUE_PAIRS), n);
        long now = System.nanoTime();
        if (badQueueLogged == 0 || now - badQueueLogged > 5_000_000_000L) { // racy rate limit: a log line more or less
            badQueueLogged = now;
            LOG.warning(String.format("vHost Device '%s': send on tx queue %d of %d; %d packet(s) dropped", name, qid,
                    queues, n));
        }
        return 0;
    }

    @Override
    public int freePkts(int qid, boolean concurrentTxq) {
        if (qid < 0 || qid >= VhostDevice.MAX_QUEUE_PAIRS) {
            return 0;
        }
        int q = qid;
        Virtqueue vq = dev.vq(2 * q);
        CopyTracker t = vq.tracker();
        if (t.inFlight() == 0) {
            return 0; // nothing pending: no lock, no poll
        }
        ReentrantLock txLock = lockTxq(q, concurrentTxq);
        try {
            if (!vq.tryLock()) {
                return t.inFlight(); // the control path holds the queue (and drains it if needed)
            }
            try {
                int before = t.inFlight();
                int left = vq.completeAsync();
                vq.faultFence();
                if (left < before) {
                    t.countFreePktsWork();
                }
                return left;
            } catch (RuntimeException | InternalError e) { // a fault on the used ring: this queue's
                vq.markBrokenBy(e);
                return t.inFlight();
            } finally {
                vq.unlock();
            }
        } finally {
            if (txLock != null) {
                txLock.unlock();
            }
        }
    }

    /** other_config:userspace-tso-enable: vhost ports offer checksum and TSO offloads from their next connection. */
    private static volatile boolean userspaceTso;

    static void setUserspaceTso(boolean on) {
        if (on == userspaceTso) {
            return;
        }
        userspaceTso = on;
        LOG.info("userspace TSO support is " + (on ? "enabled" : "disabled")
                + " (vhost-user ports: from their next connection)");
        for (VhostPort p : VhostPorts.all().values()) {
            p.dev.setNextOffered(offeredFeatures());
        }
    }

    private static long offeredFeatures() {
        return VirtioFeatures.OFFERED | (userspaceTso ? VirtioFeatures.OFFLOADS : 0);
    }

    /** What the guest takes (GUEST_CSUM, GUEST_TSO4/6 negotiated): the datapath does the rest in software. */
    @Override
    public int txOffloads() {
        long f = dev.features();
        if (!VirtioFeatures.has(f, VirtioFeatures.NET_F_GUEST_CSUM)) {
            return 0;
        }
        int caps = TX_OFFLOAD_CSUM;
        if (VirtioFeatures.has(f, VirtioFeatures.NET_F_GUEST_TSO4)) {
            caps |= TX_OFFLOAD_TSO4;
        }
        if (VirtioFeatures.has(f, VirtioFeatures.NET_F_GUEST_TSO6)) {
            caps |= TX_OFFLOAD_TSO6;
        }
        return caps;
    }

    @Override
    public void getStats(NetdevStats s) {
        for (int i = 0; i < VhostDevice.MAX_VQS; i++) {
            Virtqueue vq = dev.vq(i);
            if ((i & 1) == 0) {
                s.txPackets += vq.counter(Virtqueue.C_PACKETS);
                s.txBytes += vq.counter(Virtqueue.C_BYTES);
                s.txDropped += vq.counter(Virtqueue.C_DROPPED);
                s.txErrors += vq.counter(Virtqueue.C_ERRORS); // offloads the guest did not take (also dropped)
            } else {
                s.rxPackets += vq.counter(Virtqueue.C_PACKETS);
                s.rxBytes += vq.counter(Virtqueue.C_BYTES);
                s.rxErrors += vq.counter(Virtqueue.C_ERRORS) + vq.counter(Virtqueue.C_BAD_HEADERS);
                s.rxDropped += vq.counter(Virtqueue.C_DROPPED);
            }
        }
        for (int q = 0; q < VhostDevice.MAX_QUEUE_PAIRS; q++) {
            s.txDropped += txDroppedNoRing.get(q);
            s.txInFlight += dev.vq(2 * q).tracker().inFlight();
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
            sink.put("tx_q" + q + "_guest_notifications_failed", tx.counter(Virtqueue.C_CALL_FAILED));
            sink.put("rx_q" + q + "_guest_notifications_failed", rx.counter(Virtqueue.C_CALL_FAILED));
            sink.put("tx_q" + q + "_used_updates", tx.counter(Virtqueue.C_USED_UPDATES));
            sink.put("rx_q" + q + "_used_updates", rx.counter(Virtqueue.C_USED_UPDATES));
            sink.put("tx_q" + q + "_broken", tx.counter(Virtqueue.C_BROKEN));
            sink.put("rx_q" + q + "_broken", rx.counter(Virtqueue.C_BROKEN));
            sink.put("rx_q" + q + "_bad_virtio_headers", rx.counter(Virtqueue.C_BAD_HEADERS));
            sink.put("tx_q" + q + "_lock_contended", txLockContended.get(q));
            long txCopy = tx.counter(Virtqueue.C_COPY_NS);
            long rxCopy = rx.counter(Virtqueue.C_COPY_NS);
            if (Virtqueue.copyTiming() || txCopy + rxCopy > 0) {
                // other_config:pmd-perf-metrics=true: time in the copy phase of this queue's bursts
                sink.put("tx_q" + q + "_copy_ns", txCopy);
                sink.put("rx_q" + q + "_copy_ns", rxCopy);
            }
        }
        for (int i = 0; i < VhostDevice.MAX_VQS; i++) {
            CopyTracker t = dev.vq(i).tracker();
            if (isRequested(i) || t.submittedTotal() > 0) {
                String prefix = ((i & 1) == 0 ? "tx_q" : "rx_q") + i / 2 + "_";
                t.stats((k, v) -> sink.put(prefix + k, v));
            }
        }
        sink.put("tx_retries", txRetries.sum(VhostDevice.MAX_QUEUE_PAIRS));
        sink.put("vhost_connections", control.connections());
        sink.put("vhost_messages", dev.messages());
        sink.put("vhost_bad_messages", dev.badMessages());
        sink.put("vhost_rarps_injected", dev.rarpsInjected());
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

    /** As netdev-dpdk's vhost ports: no address of their own. */
    @Override
    public String etherAddr() {
        return "00:00:00:00:00:00";
    }

    /** As netdev_dpdk_get_ifindex: {@code hash_string(name, 0) % 0xfffffe + 1}. */
    @Override
    public int ifindex() {
        return ovsIfindex(name);
    }

    /** OVS's hash_string(s, 0) (lib/hash.c hash_bytes with murmur3's mhash, as an x86-64 build without SSE4.2 has it) % 0xfffffe + 1. */
    static int ovsIfindex(String s) {
        byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int hash = 0;
        for (int i = 0; i < b.length; i += 4) {
            int w = 0;
            for (int j = 0; j < 4 && i + j < b.length; j++) {
                w |= (b[i + j] & 0xff) << (8 * j); // little-endian words, the tail zero-filled
            }
            if (w != 0) { // mhash_add__: a zero word leaves the hash
                w *= 0xcc9e2d51;
                w = Integer.rotateLeft(w, 15);
                w *= 0x1b873593;
                hash ^= w;
            }
            hash = Integer.rotateLeft(hash, 13) * 5 + 0xe6546b64;
        }
        hash ^= b.length; // hash_finish
        hash ^= hash >>> 16;
        hash *= 0x85ebca6b;
        hash ^= hash >>> 13;
        hash *= 0xc2b2ae35;
        hash ^= hash >>> 16;
        return (int) (Integer.toUnsignedLong(hash) % 0xfffffe + 1);
    }

    /** From the control thread: carrier or layout changed; a new queue count waits for {@link #reconfigure()}. */
    @Override
    public void changed() {
        if (closed) {
            return;
        }
        if (reconfigureRequired()) {
            LOG.info(String.format("vHost Device '%s': front end uses %d queue pair(s), requesting reconfiguration",
                    name, dev.queuePairs()));
            ctx.requestReconfigure();
        } else {
            ctx.changed();
        }
    }

    /** Tests: {@code r} runs on the sending thread before each retry of a send; null: nothing. */
    public void beforeRetry(Runnable r) {
        beforeRetry = r;
    }

    /** The context the port was opened with (tests). */
    public NetdevContext context() {
        return ctx;
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
            GuestMemory mem = dev.memory(); // read once: the front end may disconnect meanwhile
            sb.append("  memory: ").append(mem == null ? "none"
                    : mem.regions() + " region(s), " + mem.totalSize() + " bytes").append('\n');
            DirtyLog log = dev.log(); // only its fields are read: safe after an unmap
            if (log != null) {
                sb.append("  dirty log: ").append(log.size()).append(" bytes, covers up to ")
                        .append(String.format("0x%x", log.covers())).append(", logging ")
                        .append(VirtioFeatures.has(dev.features(), VirtioFeatures.F_LOG_ALL) ? "on" : "off")
                        .append(", ranges marked ").append(log.marks()).append(", outside ").append(log.outside()).append('\n');
            }
        }
        if (dev.rarpsInjected() > 0) {
            sb.append("  RARPs injected: ").append(dev.rarpsInjected()).append('\n');
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
        sb.append(asyncDescription());
        return sb.toString();
    }

    private synchronized boolean isRequested(int vq) {
        return requested[vq];
    }

    /** One line per queue named in vhost-async-attr: its channel binding and copies in flight. */
    private String asyncDescription() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < VhostDevice.MAX_VQS; i++) {
            if (!isRequested(i)) {
                continue;
            }
            CopyTracker t = dev.vq(i).tracker();
            sb.append("  async ").append(async[i].describe().substring(name.length() + 1)).append(": ")
                    .append(binder.describe(async[i])).append(", in flight ").append(t.inFlight())
                    .append(" packet(s) / ").append(t.dmaInFlight()).append(" DMA copies")
                    .append(", dma ").append(t.dmaCopies()).append(", cpu ").append(t.cpuCopies())
                    .append(", dma errors ").append(t.dmaErrors()).append(", ring full ")
                    .append(t.ringFullFallbacks()).append('\n');
        }
        return sb.toString();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        control.stop(); // a connected front end is disconnected: every ring is drained, then reset
        releaseAsync();
        for (int i = 0; i < VhostDevice.MAX_VQS; i++) {
            Virtqueue vq = dev.vq(i);
            vq.lock();
            try {
                vq.drainAsync(AsyncBinder.drainTimeoutNanos());
                vq.freeStash();
            } finally {
                vq.unlock();
            }
        }
        VhostPorts.unregister(this);
        LOG.info(String.format("vHost User device '%s' %s", name, mode == Mode.SERVER
                ? "destroyed; socket " + socket + " removed" : "destroyed"));
    }
}
