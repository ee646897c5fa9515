package io.pvio.dummy.netdev;

import io.pvio.counter.Counter;
import io.pvio.counter.CounterArray;
import io.pvio.dummy.DummyPort;
import io.pvio.dummy.DummyPorts;
import io.pvio.netdev.CustomStats;
import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.NetdevException;
import io.pvio.netdev.NetdevStats;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.logging.Logger;

/**
 * A {@code dummy} port. Receive side: one bounded queue per rx queue, filled by {@link #receive} from any
 * thread and drained by the PMD in {@link #rxqRecv}. Send side: counts, keeps a copy of the last
 * {@link #CAPTURE_DEPTH} frames in preallocated slots, frees the packets. Synchronous: send returns 0.
 */
public final class DummyNetdev implements Netdev, DummyPort {
    private static final Logger LOG = Logger.getLogger("netdev_dummy");
    static final int MAX_QUEUES = 16;
    static final int RXQ_DEPTH = 1024;
    private static final Set<String> KNOWN = Set.of("n_rxq", "n_txq");

    /** netdev_dummy_construct's counter: dummy ports get aa:55:aa:55:00:00, aa:55:aa:55:00:01, ... */
    private static final java.util.concurrent.atomic.AtomicInteger NEXT_N = new java.util.concurrent.atomic.AtomicInteger(0xaa550000);

    private final String name;
    private volatile String hwaddr = Options.formatMac(0xaa55_0000_0000L | (NEXT_N.getAndIncrement() & 0xffff_ffffL));
    private final PacketPool pool;
    private final NetdevContext context;
    @SuppressWarnings("unchecked")
    private final ArrayBlockingQueue<Packet>[] rxq = new ArrayBlockingQueue[MAX_QUEUES];
    private volatile int nRxq;
    private volatile int nTxq;
    // queue counts set_config asked for, applied by reconfigure (guarded by this)
    private int requestedRxq;
    private int requestedTxq;
    /** Per rx queue: 1 while its poller is inside rxqRecv (a tripwire for reconfigure). */
    private final CounterArray polling = CounterArray.padded(MAX_QUEUES);
    private volatile boolean reconfiguredWhileBusy;
    private volatile boolean closed;

    // tx counters: written under the capture lock (the one writer at a time, as the netdev-dpdk tx lock)
    private final Counter sentPkts = new Counter();
    private final Counter sentBytes = new Counter();
    private final CounterArray sentPerQ = new CounterArray(MAX_QUEUES);
    /** Written by setConfig (synchronized). */
    private final Counter rxDropped = new Counter();
    // rx counters per queue: each queue's writer is the one thread polling it
    private final CounterArray rxPkts = CounterArray.padded(MAX_QUEUES);
    private final CounterArray rxBytes = CounterArray.padded(MAX_QUEUES);
    private volatile boolean sawConcurrent;

    // capture ring, guarded by itself
    private final byte[][] capture = new byte[CAPTURE_DEPTH][CAPTURE_BYTES];
    private final int[] captureLen = new int[CAPTURE_DEPTH];
    private long captureHead; // frames captured so far
    private long captureTaken; // frames handed out by takeSent

    DummyNetdev(String name, Map<String, String> options, NetdevContext context) throws NetdevException {
        this.name = name;
        this.context = context;
        this.pool = context.pool();
        int[] q = validate(options);
        for (int i = 0; i < MAX_QUEUES; i++) {
            rxq[i] = new ArrayBlockingQueue<>(RXQ_DEPTH);
        }
        nRxq = requestedRxq = q[0];
        nTxq = requestedTxq = q[1];
        DummyPorts.register(name, this);
        LOG.fine(() -> name + ": opened dummy port with " + nRxq + " rxq, " + nTxq + " txq");
    }

    private int[] validate(Map<String, String> options) throws NetdevException {
        Options.onlyKnown(DummyClass.TYPE, name, options, KNOWN);
        int r = (int) Options.longOpt(name, options, "n_rxq", 1, 1, MAX_QUEUES);
        int t = (int) Options.longOpt(name, options, "n_txq", 1, 1, MAX_QUEUES);
        return new int[] {r, t};
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String type() {
        return DummyClass.TYPE;
    }

    @Override
    public synchronized void setConfig(Map<String, String> options) throws NetdevException {
        int[] q = validate(options);
        if (q[0] != requestedRxq || q[1] != requestedTxq) {
            requestedRxq = q[0];
            requestedTxq = q[1];
            LOG.fine(() -> name + ": requesting " + q[0] + " rxq, " + q[1] + " txq");
            context.requestReconfigure();
        }
    }

    @Override
    public synchronized boolean reconfigureRequired() {
        return requestedRxq != nRxq || requestedTxq != nTxq;
    }

    /** Applies the requested queue counts (the datapath has paused every caller of the data path). */
    @Override
    public synchronized void reconfigure() {
        for (int i = 0; i < MAX_QUEUES; i++) {
            if (polling.get(i) != 0) {
                reconfiguredWhileBusy = true;
                LOG.severe(name + ": reconfigure while rx queue " + i + " is being polled");
            }
        }
        int oldR = nRxq;
        int oldT = nTxq;
        int[] q = {requestedRxq, requestedTxq};
        nRxq = q[0];
        nTxq = q[1];
        // packets queued on queues that no longer exist move to the remaining ones; what finds no room
        // anywhere is dropped and counted (rx_dropped)
        for (int i = q[0]; i < oldR; i++) {
            Packet p;
            while ((p = rxq[i].poll()) != null) {
                boolean moved = false;
                for (int k = 0; k < q[0] && !moved; k++) {
                    moved = rxq[k].offer(p);
                }
                if (!moved) {
                    p.free();
                    rxDropped.increment();
                }
            }
        }
        if (oldR != q[0] || oldT != q[1]) {
            LOG.info(() -> name + ": " + oldR + " rxq, " + oldT + " txq -> " + q[0] + " rxq, " + q[1] + " txq");
        }
    }

    @Override
    public Map<String, String> getConfig() {
        synchronized (this) { // what the user asked for, applied or about to be
            return Map.of("n_rxq", Integer.toString(requestedRxq), "n_txq", Integer.toString(requestedTxq));
        }
    }

    @Override
    public int nRxq() {
        return nRxq;
    }

    @Override
    public int nTxq() {
        return nTxq;
    }

    @Override
    public int rxqRecv(int qid, PacketBatch batch) {
        ArrayBlockingQueue<Packet> q = rxq[qid];
        int n = 0;
        long bytes = 0;
        polling.set(qid, 1);
        while (batch.room() > 0) {
            Packet p = q.poll();
            if (p == null) {
                break;
            }
            bytes += p.length();
            batch.add(p);
            n++;
        }
        polling.set(qid, 0);
        if (n > 0) {
            rxPkts.add(qid, n);
            rxBytes.add(qid, bytes);
        }
        return n;
    }

    @Override
    public int send(int qid, PacketBatch batch, boolean concurrentTxq) {
        int n = batch.size();
        if (concurrentTxq && !sawConcurrent) {
            sawConcurrent = true;
        }
        long bytes = batch.bytes();
        synchronized (capture) {
            for (int i = 0; i < n; i++) {
                Packet p = batch.get(i);
                int slot = (int) (captureHead % CAPTURE_DEPTH);
                captureLen[slot] = copyCapped(p, capture[slot]);
                captureHead++;
            }
            sentPkts.add(n);
            sentBytes.add(bytes);
            sentPerQ.add(qid, n);
        }
        batch.freeAll();
        return 0;
    }

    private static int copyCapped(Packet head, byte[] dst) {
        int at = 0;
        for (Packet s = head; s != null && at < dst.length; s = s.next()) {
            int len = Math.min(s.dataLength(), dst.length - at);
            s.buffer().get(s.dataOffset(), dst, at, len);
            at += len;
        }
        return at;
    }

    @Override
    public int freePkts(int qid, boolean concurrentTxq) {
        return 0;
    }

    @Override
    public void getStats(NetdevStats stats) {
        stats.rxPackets = rxPkts.sum(MAX_QUEUES);
        stats.rxBytes = rxBytes.sum(MAX_QUEUES);
        stats.txPackets = sentPkts.get();
        stats.txBytes = sentBytes.get();
        stats.rxDropped = rxDropped.get();
    }

    @Override
    public void getCustomStats(CustomStats sink) {
        for (int q = 0; q < nTxq; q++) {
            sink.put("tx_q" + q + "_packets", sentPerQ.get(q));
        }
        sink.put("rx_backlog", rxBacklog());
    }

    @Override
    public boolean carrier() {
        return !closed;
    }

    /** As OVS's dummy ports: a MAC of its own; MTU 1500 and no ifindex by default. */
    @Override
    public String etherAddr() {
        return hwaddr;
    }

    @Override
    public void setEtherAddr(String mac) throws NetdevException {
        long v = Options.parseMac(mac);
        if (v < 0) {
            throw new NetdevException(name + ": '" + mac + "' is not an Ethernet address");
        }
        hwaddr = Options.formatMac(v);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        DummyPorts.unregister(name, this);
        for (ArrayBlockingQueue<Packet> q : rxq) {
            Packet p;
            while ((p = q.poll()) != null) {
                p.free();
            }
        }
        LOG.fine(() -> name + ": closed");
    }

    // ---- DummyPort (control path) ----

    @Override
    public synchronized boolean receive(int qid, byte[] frame) { // against setConfig shrinking the queues
        if (qid < 0 || qid >= nRxq) {
            throw new IllegalArgumentException(name + ": rx queue " + qid + " does not exist (n_rxq=" + nRxq + ")");
        }
        if (frame.length < 14 || frame.length > 9018) {
            throw new IllegalArgumentException(name + ": frame of " + frame.length + " bytes (14..9018 allowed)");
        }
        if (closed) {
            return false;
        }
        Packet head = pool.alloc();
        if (head == null) {
            return false;
        }
        int room = head.capacity() - head.headroom();
        int first = Math.min(room, frame.length);
        head.setData(head.headroom(), first);
        head.buffer().put(head.dataOffset(), frame, 0, first);
        int at = first;
        while (at < frame.length) {
            Packet seg = pool.alloc();
            if (seg == null) {
                head.free();
                return false;
            }
            int len = Math.min(seg.capacity(), frame.length - at);
            seg.setSegmentData(0, len);
            seg.buffer().put(0, frame, at, len);
            head.chain(seg);
            at += len;
        }
        if (!rxq[qid].offer(head)) {
            head.free();
            return false;
        }
        if (closed) { // raced with close: take it back if still queued
            if (rxq[qid].remove(head)) {
                head.free();
            }
            return false;
        }
        return true;
    }

    @Override
    public int rxBacklog() {
        int n = 0;
        for (ArrayBlockingQueue<Packet> q : rxq) {
            n += q.size();
        }
        return n;
    }

    @Override
    public long sentPackets() {
        return sentPkts.get();
    }

    @Override
    public long sentBytes() {
        return sentBytes.get();
    }

    @Override
    public long sentPackets(int qid) {
        return sentPerQ.get(qid);
    }

    @Override
    public boolean sawConcurrentTxq() {
        return sawConcurrent;
    }

    @Override
    public boolean reconfiguredWhileBusy() {
        return reconfiguredWhileBusy;
    }

    @Override
    public List<byte[]> lastSent() {
        synchronized (capture) {
            return captured(Math.max(0, captureHead - CAPTURE_DEPTH), false);
        }
    }

    @Override
    public List<byte[]> takeSent() {
        synchronized (capture) {
            return captured(Math.max(captureTaken, captureHead - CAPTURE_DEPTH), true);
        }
    }

    private List<byte[]> captured(long from, boolean take) {
        List<byte[]> out = new ArrayList<>();
        for (long i = from; i < captureHead; i++) {
            int slot = (int) (i % CAPTURE_DEPTH);
            out.add(java.util.Arrays.copyOf(capture[slot], captureLen[slot]));
        }
        if (take) {
            captureTaken = captureHead;
        }
        return out;
    }

    @Override
    public String toString() {
        return "dummy:" + name;
    }
}
