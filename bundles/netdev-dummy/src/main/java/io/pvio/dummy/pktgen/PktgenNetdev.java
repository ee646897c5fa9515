package io.pvio.dummy.pktgen;

import static io.pvio.dummy.pktgen.Frame.MAGIC;
import static io.pvio.dummy.pktgen.Frame.MAGIC_OFF;
import static io.pvio.dummy.pktgen.Frame.PATTERN;
import static io.pvio.dummy.pktgen.Frame.PATTERN_BUF;
import static io.pvio.dummy.pktgen.Frame.PATTERN_OFF;
import static io.pvio.dummy.pktgen.Frame.SEQ_OFF;
import static io.pvio.dummy.pktgen.Frame.SRC_ID_OFF;

import io.pvio.counter.CounterArray;
import io.pvio.dummy.DummyPorts;
import io.pvio.dummy.PktgenPort;
import io.pvio.dummy.netdev.Options;
import io.pvio.memory.NativeMemory;
import io.pvio.netdev.CustomStats;
import io.pvio.netdev.DataPathClasses;
import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.NetdevException;
import io.pvio.netdev.NetdevStats;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

/**
 * A {@code pktgen} port.
 *
 * <p>Generator (rx side), unless option {@code enabled=false}: each rx queue is a source with its own sequence, starting at 0; {@code count}
 * and {@code rate} bound the port's total across its queues (claimed with a CAS, so several PMDs may poll
 * different queues). With a {@code rate}, {@code burst=N} (default 1) releases packets N at a time: a queue
 * hands out nothing until N packets are due (or the batch's room, if smaller), as traffic from a batching
 * source arrives. Generation allocates nothing but pool buffers.
 *
 * <p>Sink (tx side): validates and frees every packet it is sent (see {@link PktgenPort}); synchronous,
 * {@code send} returns 0. Validation state is shared by all tx queues and guarded by one lock per send.
 */
public final class PktgenNetdev implements Netdev, PktgenPort {
    static { // see DataPathClasses
        DataPathClasses.resolve(PktgenNetdev.class, Packet.class, PacketBatch.class, PacketPool.class,
                CounterArray.class);
    }

    private static final Logger LOG = Logger.getLogger("netdev_dummy");
    static final int MAX_QUEUES = 16;
    static final int MAX_SOURCES = 256;
    /** Distinct flows (source MACs, and UDP source ports modulo 65536) a generator cycles through, at most. */
    static final int MAX_FLOWS = 1 << 20;
    private static final Set<String> KNOWN = Set.of("size", "rate", "count", "flows", "src_mac", "dst_mac", "n_rxq",
            "enabled", "payload", "burst", "read_payload");
    /** Source-id bit of frames generated with payload=none: the sink checks their headers only. */
    static final int NO_PATTERN = 0x80;
    private static final java.util.concurrent.atomic.AtomicInteger INSTANCES = new java.util.concurrent.atomic.AtomicInteger();
    /** Bytes per rx queue in {@code Config.images}. */
    static final int IMAGE = 64;
    private static final VarHandle GENERATED;

    static {
        try {
            GENERATED = MethodHandles.lookup().findVarHandle(PktgenNetdev.class, "generated", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Immutable generator configuration, replaced as a whole by setConfig. */
    private static final class Config {
        final int size;
        final long rate;
        final long count;
        final int flows;
        final long srcMac;
        final long dstMac;
        final int nRxq;
        final boolean enabled;
        /** payload=pattern (default): every payload byte is written and checked; none: headers only. */
        final boolean pattern;
        final byte[] template;
        /**
         * Per rx queue, {@value #IMAGE} bytes off-heap: the frame's first {@code SEQ_OFF} bytes as queue q
         * sends them with flow 0 (template, magic, source id). A frame's header is one copy of its image and
         * the sequence number (plus the flow's two fields with flows > 1).
         */
        final ByteBuffer images;
        final long imagesAddr;
        final int srcLow32;
        final double perNs;
        final long rateStart;
        final long rateBase;
        final int burst;
        /** As a sink: read every payload byte of a headers-only frame too (a guest that uses what it gets). */
        final boolean readPayload;

        Config(int size, long rate, long count, int flows, long srcMac, long dstMac, int nRxq, boolean enabled,
                boolean pattern, int srcIp, long rateBase, int burst, int genId, boolean readPayload) {
            this.burst = burst;
            this.readPayload = readPayload;
            this.pattern = pattern;
            this.size = size;
            this.rate = rate;
            this.count = count;
            this.flows = flows;
            this.srcMac = srcMac;
            this.dstMac = dstMac;
            this.nRxq = nRxq;
            this.enabled = enabled;
            this.template = Frame.template(dstMac, srcMac, size, srcIp, 0x0a000002);
            this.images = ByteBuffer.allocateDirect(MAX_QUEUES * IMAGE); // big-endian, as packet buffers are
            for (int q = 0; q < MAX_QUEUES; q++) {
                images.put(q * IMAGE, template, 0, MAGIC_OFF);
                images.putInt(q * IMAGE + MAGIC_OFF, MAGIC);
                images.putInt(q * IMAGE + SRC_ID_OFF, genId << 8 | q | (pattern ? 0 : NO_PATTERN));
            }
            this.imagesAddr = NativeMemory.address(images);
            this.srcLow32 = (int) srcMac;
            this.perNs = rate / 1e9;
            this.rateStart = System.nanoTime();
            this.rateBase = rateBase;
        }

        Map<String, String> options() {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("size", Integer.toString(size));
            m.put("rate", Long.toString(rate));
            m.put("count", Long.toString(count));
            m.put("flows", Integer.toString(flows));
            m.put("src_mac", Options.formatMac(srcMac));
            m.put("dst_mac", Options.formatMac(dstMac));
            m.put("n_rxq", Integer.toString(nRxq));
            m.put("enabled", Boolean.toString(enabled));
            m.put("payload", pattern ? "pattern" : "none");
            m.put("burst", Integer.toString(burst));
            m.put("read_payload", Boolean.toString(readPayload));
            return m;
        }
    }

    private final String name;
    private final NetdevContext context;
    private final PacketPool pool;
    private final int genId;
    private volatile Config cfg;
    private volatile boolean closed;
    @SuppressWarnings("unused")
    private volatile long generated; // via GENERATED
    private final CounterArray seq = CounterArray.padded(MAX_QUEUES); // next sequence per rx queue; written by its poller
    private final Packet[][] segScratch = new Packet[MAX_QUEUES][];
    private final CounterArray rxBytes = CounterArray.padded(MAX_QUEUES);

    // sink state, guarded by sinkLock
    private final Object sinkLock = new Object();
    private final long[] srcKey = new long[MAX_SOURCES];
    private final long[] srcExpected = new long[MAX_SOURCES];
    private final long[] srcWindow = new long[MAX_SOURCES];
    private final long[] srcLast = new long[MAX_SOURCES];
    private int nSources;
    private long received;
    private long receivedBytes;
    private long rxValid;
    private long rxOutOfOrder;
    private long rxDuplicate;
    private long rxLost;
    private long rxCorrupt;
    private long rxOther;
    private long rxPayloadRead;
    private long payloadSum; // what read_payload read, kept so that the reads cannot be left out

    PktgenNetdev(String name, Map<String, String> options, NetdevContext context) throws NetdevException {
        this.name = name;
        this.context = context;
        this.pool = context.pool();
        // per instance: a generator re-created under the same name restarts its sequences, so a sink that
        // stayed open must see a new source, not the old one going back to 0
        this.genId = (name.hashCode() + 0x9E3779B9 * INSTANCES.incrementAndGet()) & 0xffffff;
        this.cfg = parse(options, 0);
        int firstCap = pool.bufferSize() - pool.defaultHeadroom();
        if (firstCap < PATTERN_OFF) {
            throw new NetdevException(name + ": pool " + pool.name() + " leaves " + firstCap
                    + " bytes after the headroom; pktgen frames need " + PATTERN_OFF + " for their headers");
        }
        int maxSegs = 2 + Math.max(0, Frame.MAX_SIZE - firstCap) / pool.bufferSize();
        for (int q = 0; q < MAX_QUEUES; q++) {
            segScratch[q] = new Packet[maxSegs];
        }
        DummyPorts.register(name, this);
        LOG.fine(() -> name + ": opened pktgen port " + cfg.options());
    }

    private Config parse(Map<String, String> o, long rateBase) throws NetdevException {
        Options.onlyKnown(PktgenClass.TYPE, name, o, KNOWN);
        int size = (int) Options.longOpt(name, o, "size", 64, Frame.MIN_SIZE, Frame.MAX_SIZE);
        long rate = Options.longOpt(name, o, "rate", 0, 0, 1_000_000_000L);
        long count = Options.longOpt(name, o, "count", 0, 0, Long.MAX_VALUE);
        int flows = (int) Options.longOpt(name, o, "flows", 1, 1, MAX_FLOWS);
        int h = name.hashCode();
        long dfltSrc = 0x02L << 40 | (h & 0xffffffL) << 16;
        long dfltDst = 0x06L << 40 | (h & 0xffffffL) << 16 | 1;
        long src = Options.macOpt(name, o, "src_mac", dfltSrc);
        long dst = Options.macOpt(name, o, "dst_mac", dfltDst);
        if ((src >>> 40 & 1) != 0) {
            throw new NetdevException(name + ": src_mac " + Options.formatMac(src) + " is a multicast address");
        }
        int nRxq = (int) Options.longOpt(name, o, "n_rxq", 1, 1, MAX_QUEUES);
        String en = o.getOrDefault("enabled", "true");
        if (!en.equals("true") && !en.equals("false")) {
            throw new NetdevException(name + ": option enabled='" + en + "' is not true or false");
        }
        String payload = o.getOrDefault("payload", "pattern");
        if (!payload.equals("pattern") && !payload.equals("none")) {
            throw new NetdevException(name + ": option payload='" + payload + "' is not pattern or none");
        }
        int burst = (int) Options.longOpt(name, o, "burst", 1, 1, PacketBatch.MAX);
        String read = o.getOrDefault("read_payload", "false");
        if (!read.equals("true") && !read.equals("false")) {
            throw new NetdevException(name + ": option read_payload='" + read + "' is not true or false");
        }
        return new Config(size, rate, count, flows, src, dst, nRxq, en.equals("true"), payload.equals("pattern"),
                0x0a000000 | (genId & 0xffff) << 8 | 1, rateBase, burst, genId, read.equals("true"));
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String type() {
        return PktgenClass.TYPE;
    }

    @Override
    public void setConfig(Map<String, String> options) throws NetdevException {
        Config old = cfg;
        Config c = parse(options, (long) GENERATED.getVolatile(this));
        cfg = c;
        LOG.info(() -> name + ": pktgen configuration " + c.options());
        if (c.nRxq != old.nRxq) {
            context.changed();
        }
    }

    @Override
    public Map<String, String> getConfig() {
        return cfg.options();
    }

    @Override
    public int nRxq() {
        return cfg.nRxq;
    }

    @Override
    public int nTxq() {
        return MAX_QUEUES;
    }

    // ---------------------------------------------------------------- generator

    @Override
    public int rxqRecv(int qid, PacketBatch batch) {
        Config c = cfg;
        if (closed || qid >= c.nRxq || !c.enabled) {
            return 0;
        }
        int want = batch.room();
        if (want == 0) {
            return 0;
        }
        int n = claim(c, want);
        int made = 0;
        int at = batch.size();
        boolean single = c.size <= pool.bufferSize() - pool.defaultHeadroom();
        if (single && n > 0 && !pool.allocBulk(batch, n)) {
            single = false; // nearly empty pool: one at a time, as far as it goes
        }
        long s0 = seq.get(qid);
        while (made < n) {
            if (single) { // built in place, in the batch
                build(c, qid, batch.get(at + made), s0 + made);
            } else {
                Packet p = build(c, qid, null, s0 + made);
                if (p == null) {
                    break;
                }
                batch.add(p);
            }
            made++;
        }
        seq.set(qid, s0 + made);
        if (made < n) {
            GENERATED.getAndAdd(this, (long) (made - n)); // pool empty: give the claim back
        }
        if (made > 0) {
            rxBytes.add(qid, (long) made * c.size);
        }
        return made;
    }

    private int claim(Config c, int want) {
        long now = c.rate > 0 ? System.nanoTime() : 0;
        for (;;) {
            long g = (long) GENERATED.getVolatile(this);
            long lim = want;
            if (c.count > 0) {
                lim = Math.min(lim, c.count - g);
            }
            if (c.rate > 0) {
                long allowed = c.rateBase + (long) ((now - c.rateStart) * c.perNs);
                long due = allowed - g;
                if (due < Math.min(c.burst, lim)) {
                    return 0; // not a whole burst due yet (lim: the batch's room, what count leaves)
                }
                lim = Math.min(lim, due);
            }
            if (lim <= 0) {
                return 0;
            }
            if (GENERATED.compareAndSet(this, g, g + lim)) {
                return (int) lim;
            }
        }
    }

    /** Builds frame {@code s} of queue {@code qid} into {@code pre} (allocated by the caller) or new buffers. */
    private Packet build(Config c, int qid, Packet pre, long s) {
        int size = c.size;
        Packet head;
        int firstCap = pool.bufferSize() - pool.defaultHeadroom();
        if (size <= firstCap) {
            head = pre != null ? pre : pool.alloc();
            if (head == null) {
                return null;
            }
            head.setData(head.headroom(), size);
        } else {
            Packet[] sc = segScratch[qid];
            int rest = size - firstCap;
            int nseg = 1 + (rest + pool.bufferSize() - 1) / pool.bufferSize();
            if (!pool.allocBulk(sc, 0, nseg)) {
                return null;
            }
            head = sc[0];
            sc[0] = null;
            head.setData(head.headroom(), firstCap);
            for (int k = 1; k < nseg; k++) {
                Packet seg = sc[k];
                sc[k] = null;
                int len = Math.min(seg.capacity(), rest);
                seg.setSegmentData(0, len);
                rest -= len;
                head.chain(seg);
            }
        }
        ByteBuffer b = head.buffer();
        int off = head.dataOffset();
        // unchecked copy: the head's data (off + length checked against its buffer by setData) is at least
        // min(MIN_SIZE, firstCap) >= PATTERN_OFF > SEQ_OFF bytes (the constructor refused smaller pools)
        NativeMemory.copy(c.imagesAddr + (long) qid * IMAGE, head.address() + off, SEQ_OFF);
        if (c.flows != 1) {
            int flow = (int) (s % c.flows);
            b.putInt(off + 8, c.srcLow32 + flow); // the source MAC's low 32 bits
            b.putShort(off + Frame.UDP_OFF, (short) (Frame.UDP_SRC_BASE + flow));
        }
        b.putLong(off + SEQ_OFF, s);
        if (!c.pattern) {
            return head; // like DPDK's txonly: the payload is whatever the buffer held
        }
        int o = 0;
        for (Packet seg = head; seg != null; seg = seg.next()) {
            int to = o + seg.dataLength();
            int base = seg.dataOffset() - o;
            ByteBuffer sb = seg.buffer();
            for (int f = Math.max(o, PATTERN_OFF); f < to;) {
                int chunk = Math.min(256, to - f);
                sb.put(base + f, PATTERN, (int) ((f + s) & 255), chunk);
                f += chunk;
            }
            o = to;
        }
        return head;
    }

    // ---------------------------------------------------------------- sink

    @Override
    public int send(int qid, PacketBatch batch, boolean concurrentTxq) {
        int n = batch.size();
        boolean read = cfg.readPayload;
        synchronized (sinkLock) {
            for (int i = 0; i < n; i++) {
                check(batch.get(i), read);
            }
        }
        batch.freeAll();
        return 0;
    }

    /** Validates one frame (and reads its whole payload when {@code read}); caller holds sinkLock. */
    private void check(Packet head, boolean read) {
        received++;
        int len = head.length();
        receivedBytes += len;
        ByteBuffer b = head.buffer();
        int off = head.dataOffset();
        if (len < PATTERN_OFF || head.dataLength() < PATTERN_OFF
                || b.getShort(off + Frame.ETH_TYPE_OFF) != 0x0800 || b.getInt(off + MAGIC_OFF) != MAGIC) {
            rxOther++;
            return;
        }
        int srcId = b.getInt(off + SRC_ID_OFF);
        long s = b.getLong(off + SEQ_OFF);
        if ((b.getShort(off + Frame.IP_OFF + 2) & 0xffff) != len - Frame.IP_OFF
                || ((srcId & NO_PATTERN) == 0 && !patternOk(head, s))) {
            rxCorrupt++;
            return;
        }
        if (read && (srcId & NO_PATTERN) != 0) {
            payloadSum += readAll(head);
            rxPayloadRead += len - PATTERN_OFF;
        }
        int i = source(srcId);
        if (i < 0) {
            rxOther++;
            return;
        }
        long e = srcExpected[i];
        if (s >= e) {
            long shift = s + 1 - e;
            rxLost += s - e;
            srcWindow[i] = (shift >= 64 ? 0 : srcWindow[i] << shift) | 1;
            srcExpected[i] = s + 1;
            rxValid++;
        } else {
            long d = e - 1 - s;
            if (d < 64 && (srcWindow[i] & (1L << d)) != 0) {
                rxDuplicate++;
            } else {
                if (d < 64) {
                    srcWindow[i] |= 1L << d;
                    rxLost--;
                }
                rxOutOfOrder++;
            }
        }
        srcLast[i] = s;
    }

    /** Reads every byte after the headers; returns their sum. */
    private static long readAll(Packet head) {
        return scanPayload(head, 0, false);
    }

    private static boolean patternOk(Packet head, long s) {
        return scanPayload(head, s, true) == 0;
    }

    /**
     * Walks the bytes after the headers, eight at a time: with {@code check}, returns how many words differ
     * from the pattern of sequence {@code s} (0: intact); without, returns their sum.
     */
    private static long scanPayload(Packet head, long s, boolean check) {
        long acc = 0;
        int o = 0;
        for (Packet seg = head; seg != null; seg = seg.next()) {
            int to = o + seg.dataLength();
            int base = seg.dataOffset() - o;
            ByteBuffer sb = seg.buffer();
            int f = Math.max(o, PATTERN_OFF);
            for (; to - f >= 8; f += 8) {
                long v = sb.getLong(base + f);
                acc += check ? (v != PATTERN_BUF.getLong((int) ((f + s) & 255)) ? 1 : 0) : v;
            }
            for (; f < to; f++) {
                byte v = sb.get(base + f);
                acc += check ? (v != PATTERN[(int) ((f + s) & 255)] ? 1 : 0) : v;
            }
            o = to;
        }
        return acc;
    }

    /** Slot of source {@code id} (open addressing, inserted on first sight), or -1 when the table is full. */
    private int source(int id) {
        id &= ~NO_PATTERN; // the payload mode may change mid-run: the sequence goes on
        long key = (id & 0xffffffffL) | 1L << 32;
        int mask = MAX_SOURCES - 1;
        int i = (id * 0x9E3779B9) >>> 24 & mask;
        for (int probes = 0; probes < MAX_SOURCES; probes++, i = (i + 1) & mask) {
            if (srcKey[i] == key) {
                return i;
            }
            if (srcKey[i] == 0) {
                if (nSources * 4 >= MAX_SOURCES * 3) {
                    return -1;
                }
                srcKey[i] = key;
                srcExpected[i] = 0;
                srcWindow[i] = 0;
                srcLast[i] = -1;
                nSources++;
                return i;
            }
        }
        return -1;
    }

    @Override
    public int freePkts(int qid, boolean concurrentTxq) {
        return 0;
    }

    // ---------------------------------------------------------------- control

    @Override
    public void getStats(NetdevStats stats) {
        long rxb = 0;
        for (int q = 0; q < MAX_QUEUES; q++) {
            rxb += rxBytes.get(q);
        }
        stats.rxPackets = generated();
        stats.rxBytes = rxb;
        synchronized (sinkLock) {
            stats.txPackets = received;
            stats.txBytes = receivedBytes;
        }
    }

    @Override
    public void getCustomStats(CustomStats sink) {
        stats(sink);
    }

    @Override
    public boolean carrier() {
        return !closed;
    }

    /** The source MAC of its frames ({@code src_mac}, the first of them with {@code flows}). */
    @Override
    public String etherAddr() {
        return Options.formatMac(cfg.srcMac);
    }

    @Override
    public void close() {
        closed = true;
        DummyPorts.unregister(name, this);
        LOG.fine(() -> name + ": closed after generating " + generated() + " packets");
    }

    @Override
    public long generated() {
        return (long) GENERATED.getVolatile(this);
    }

    @Override
    public boolean generationDone() {
        Config c = cfg;
        return c.count > 0 && generated() >= c.count;
    }

    @Override
    public long received() {
        synchronized (sinkLock) {
            return received;
        }
    }

    @Override
    public long rxValid() {
        synchronized (sinkLock) {
            return rxValid;
        }
    }

    @Override
    public long rxOutOfOrder() {
        synchronized (sinkLock) {
            return rxOutOfOrder;
        }
    }

    @Override
    public long rxDuplicate() {
        synchronized (sinkLock) {
            return rxDuplicate;
        }
    }

    @Override
    public long rxLost() {
        synchronized (sinkLock) {
            return rxLost;
        }
    }

    @Override
    public long rxCorrupt() {
        synchronized (sinkLock) {
            return rxCorrupt;
        }
    }

    @Override
    public long rxOther() {
        synchronized (sinkLock) {
            return rxOther;
        }
    }

    @Override
    public void stats(CustomStats sink) {
        sink.put("generated", generated());
        Config c = cfg;
        for (int q = 0; q < c.nRxq; q++) {
            sink.put("gen_q" + q + "_next_seq", seq.get(q));
        }
        synchronized (sinkLock) {
            sink.put("received", received);
            sink.put("rx_valid", rxValid);
            sink.put("rx_out_of_order", rxOutOfOrder);
            sink.put("rx_duplicate", rxDuplicate);
            sink.put("rx_lost", rxLost);
            sink.put("rx_corrupt", rxCorrupt);
            sink.put("rx_other", rxOther);
            sink.put("rx_payload_read_bytes", rxPayloadRead);
            for (int i = 0; i < MAX_SOURCES; i++) {
                if (srcKey[i] != 0) {
                    int id = (int) srcKey[i];
                    sink.put(String.format("src_%06x_q%d_last_seq", id >>> 8, id & 0xff), srcLast[i]);
                }
            }
        }
    }

    @Override
    public String show() {
        StringBuilder sb = new StringBuilder();
        sb.append("pktgen ").append(name).append(" (source id ").append(String.format("%06x", genId)).append("):");
        cfg.options().forEach((k, v) -> sb.append(' ').append(k).append('=').append(v));
        sb.append('\n');
        stats((k, v) -> sb.append("  ").append(k).append(": ").append(v).append('\n'));
        return sb.toString();
    }

    @Override
    public String toString() {
        return "pktgen:" + name;
    }
}
