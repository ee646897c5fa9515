package io.pvio.dpif.netdev;

import io.pvio.counter.Counter;
import io.pvio.counter.CounterArray;
import io.pvio.dpif.netdev.flow.Flow;
import io.pvio.dpif.netdev.flow.FlowTable;
import io.pvio.dpif.netdev.flow.MacTable;
import io.pvio.dpif.netdev.flow.PortVlans;
import io.pvio.netdev.DataPathClasses;
import io.pvio.netdev.Netdev;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.SoftOffloads;
import io.pvio.posix.Affinity;
import io.pvio.posix.PosixException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A poll-mode driver thread (OVS's pmd_thread_main). Each iteration: adopt a new snapshot if one was
 * published, poll the assigned rx queues (idle ones less often while busy, see {@link #IDLE_AFTER}) into a
 * preallocated batch, classify each packet through its
 * bridge's flow table, batch it per output port, flush the output batches at the end of each rx queue poll
 * (send), then call freePkts on the queues that still have packets in flight.
 *
 * <p>Cycle counter: {@link System#nanoTime()}, read once per iteration; an iteration's time (from its start
 * to the next one's, less the time parked at its end: OVS's sleep cycles) counts as processing when it
 * received packets or retired completions, idle otherwise.
 *
 * <p>Packet ownership: packets received are owned by this thread until added to an output batch (one
 * reference per destination, taken with {@link Packet#retain()}) or freed; a batch handed to send belongs
 * to the port.
 */
final class PmdThread implements Runnable {
    private static final Logger LOG = Logger.getLogger("dpif_netdev");
    /** A frame's header fields in network order (a VarHandle access is inlined whatever C2's profile says). */
    private static final VarHandle BE16 = MethodHandles.byteBufferViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle BE32 = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle SNAP;
    private static final VarHandle ACK;
    private static final VarHandle OUT;
    /**
     * An rx queue that received nothing in this many polls in a row is idle. Idle queues are polled together
     * (a sweep) at most as often as keeps their polling under 1/{@link #IDLE_SWEEP_SHARE} of the PMD's time:
     * the next sweep waits {@code IDLE_SWEEP_SHARE - 1} times as long as the last one took (a tap's read(2)
     * costs microseconds, a vhost ring's index a few nanoseconds), so that 64 idle ports, or one port polled
     * with a system call, cost a busy PMD about 1%. Once the PMD has found no work in {@link
     * #IDLE_SPIN_ITERATIONS} iterations in a row and for {@link #IDLE_SPIN_NS}, every queue is polled every
     * iteration. A queue that receives is active again at once.
     */
    static final int IDLE_AFTER = 1024;
    static final int IDLE_SWEEP_SHARE = 100;
    static final int IDLE_SPIN_ITERATIONS = 64;
    static final long IDLE_SPIN_NS = TimeUnit.MICROSECONDS.toNanos(200);
    /** Bounded wait when draining in-flight packets before adopting a snapshot (tests set it; control path only). */
    static volatile long drainTimeoutNs = TimeUnit.SECONDS.toNanos(2);

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            SNAP = l.findVarHandle(PmdThread.class, "snapshot", PmdSnapshot.class);
            ACK = l.findVarHandle(PmdThread.class, "ackedGen", long.class);
            OUT = l.findVarHandle(PmdThread.class, "packetOut", PacketOut.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // published counters: this thread is their single writer (publishStats), readers any thread
    static final int S_RECEIVED = 0;
    static final int S_HITS = 1;
    static final int S_MISSES = 2;
    static final int S_OUT_BATCHES = 3;
    static final int S_OUT_PKTS = 4;
    static final int S_IDLE_NS = 5;
    static final int S_PROC_NS = 6;
    static final int S_DROPPED = 7;
    static final int S_NO_PORT = 8;
    static final int S_ITERATIONS = 9;
    /** Nanoseconds in free_pkts calls (only with other_config:pmd-perf-metrics=true). */
    static final int S_FREE_NS = 10;
    /** TSO packets segmented in software, the segments made, checksums completed, packets dropped by either. */
    static final int S_SW_SEGMENTED = 11;
    static final int S_SW_SEGMENTS = 12;
    static final int S_SW_CSUM = 13;
    static final int S_SW_OFFLOAD_DROPS = 14;
    /** Nanoseconds polling idle rx queues in busy iterations (only with pmd-perf-metrics=true). */
    static final int S_IDLE_RXQ_NS = 15;
    /** Match groups probed by the lookups of S_HITS + S_MISSES packets (FlowTable.groupsProbed). */
    static final int S_LOOKUPS = 16;
    /** Iterations that received no packet (OVS's pkts histogram bin 0). */
    static final int S_IDLE_ITER = 17;
    /** Iterations that ended parked (pmd-sleep-max), and the nanoseconds parked: not in S_IDLE_NS. */
    static final int S_SLEEP_ITER = 18;
    static final int S_SLEEP_NS = 19;
    /**
     * The System.nanoTime the other counters cover time up to (the start of the iteration that published
     * them): idle, processing and sleep time since the thread started add up to it less {@link #startNs}.
     */
    static final int S_ACCOUNTED_TO = 20;
    static final int N_STATS = 21;

    final int core;
    /** This thread's id for {@link Flow#count(long, long, int, int)}: unique among live PMDs. */
    private final int counterId;
    final Thread thread;
    private final DpifNetdev dp;
    @SuppressWarnings("unused") private volatile PmdSnapshot snapshot; // via SNAP
    @SuppressWarnings("unused") private volatile long ackedGen; // via ACK
    /**
     * The packet-out mailbox: null, a request the control path handed over (release), or {@link #BUSY} while
     * this thread sends the one it took (CAS), then null again (release) once it has.
     */
    @SuppressWarnings("unused") private volatile PacketOut packetOut; // via OUT
    private volatile boolean stop;
    private final CounterArray stats = new CounterArray(N_STATS);
    /** Histograms and totals, recorded only with pmd-perf-metrics=true; this thread is their writer. */
    final PmdPerf perf = new PmdPerf();
    /** When the thread was made: its time is counted from here. */
    final long startNs = System.nanoTime();

    // ---- owned by the PMD thread ----
    private final PacketBatch rx = new PacketBatch();
    private TxPort[] touched = new TxPort[16];
    private int nTouched;
    private TxPort[] pending = new TxPort[16];
    private int nPending;
    private int[] dests = new int[64];
    /**
     * NORMAL's outputs whose VLAN header differs from the frame's: index into {@link #dests} and header
     * ({@link PortVlans#output}); {@link #rewrites} of them for the packet being handled (0 almost always).
     */
    private int[] rewriteAt = new int[64];
    private int[] rewriteTo = new int[64];
    private int rewrites;
    /** deliverRewritten's scratch: each destination's header, or AS_IS. */
    private int[] headerOf = new int[64];
    private static final int AS_IS = -1;
    // one rx burst's lookup keys and results (FlowTable.lookupBurst)
    private final long[] keySrc = new long[PacketBatch.MAX];
    private final long[] keyDst = new long[PacketBatch.MAX];
    private final int[] keyType = new int[PacketBatch.MAX];
    private final int[] keyRank = new int[PacketBatch.MAX];
    private final long[] keyHash = new long[PacketBatch.MAX];
    /** The snapshot's rx queues, active ones in [0, nActive), idle ones after. */
    private RxqRef[] order = new RxqRef[0];
    /** The current load interval's start, and the busy time then (RxqLoad). */
    private long intervalStartNs;
    private long procAtIntervalStart;
    /** The queue whose receiving poll's time runs until the next clock read, and that poll's start. */
    private RxqLoad openLoad;
    private long openLoadStart;
    /** Busy time per interval, the intervals stored, the last one's length: written here, read by pmd-rxq-show. */
    private final CounterArray busyIntervals = new CounterArray(RxqLoad.INTERVALS);
    private final Counter intervalsStored = new Counter();
    private final Counter intervalNs = new Counter();
    /** Consecutive intervals ended at or above pmd-auto-lb-load-threshold (0 while pmd-auto-lb is off). */
    private final Counter overloaded = new Counter();
    private int nActive;
    private static final TxPort[] NONE = new TxPort[0];

    static { // see DataPathClasses
        DataPathClasses.resolve(PmdThread.class, Packet.class, PacketBatch.class, SoftOffloads.class,
                CounterArray.class, Netdev.class);
    }

    /** The snapshot this thread runs on (packet-out finds its bridge views there). */
    private PmdSnapshot current;
    /** Queues a timed-out drain left in flight, kept aside while the datapath is paused. */
    private TxPort[] parked = NONE;
    private long received;
    private long hits;
    private long misses;
    private long lookups;
    private long outBatches;
    private long outPkts;
    private long idleNs;
    private long procNs;
    private long freeNs;
    private long idleRxqNs; // polls of the idle set in iterations that turned out busy
    private long iterIdleRxqNs; // polls of the idle set in this iteration
    /** With perf metrics: the most packets a vhost rx queue held at a receive of this iteration, and the last's. */
    private int iterQfill;
    private int lastQfill;
    private long errors;
    private long errorsLogged;
    private long lastErrorLog;
    private long dropped;
    private long noPort;
    private long iterations;
    private long accountedTo = startNs;
    private long idleIterations;
    private long sleepIterations;
    private long sleepNs;
    /** pmd-perf-metrics as read at this iteration's start. */
    private boolean metrics;
    private int nowSec;
    private long swSegmented;
    private long swSegments;
    private long swCsum;
    private long swOffloadDrops;
    /** Packets of a batch being prepared for a port without some offload (see {@link #prepareAndSend}). */
    private final Packet[] prep = new Packet[PacketBatch.MAX];
    /** The port {@link #segSink} adds segments to. */
    private TxPort segPort;
    private final SoftOffloads.SegmentSink segSink = seg -> {
        TxPort t = segPort;
        if (t.batch.isFull()) {
            send(t);
        }
        t.batch.add(seg);
    };

    PmdThread(DpifNetdev dp, int core, PmdSnapshot initial) {
        this.dp = dp;
        this.core = core;
        this.counterId = core + 1;
        stats.set(S_ACCOUNTED_TO, startNs);
        intervalStartNs = startNs;
        SNAP.setRelease(this, initial);
        this.thread = new Thread(this, String.format("pmd-c%02d", core));
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Publishes a snapshot; the PMD adopts it after its current iteration. */
    void publish(PmdSnapshot s) {
        SNAP.setRelease(this, s);
        LockSupport.unpark(thread);
    }

    /** The snapshot last published to this PMD (what it polls once it has adopted it). */
    PmdSnapshot published() {
        return (PmdSnapshot) SNAP.getAcquire(this);
    }

    /** True once the PMD runs on a snapshot of generation {@code gen} or newer (or has exited). */
    boolean acked(long gen) {
        return (long) ACK.getAcquire(this) >= gen || !thread.isAlive();
    }

    /** Stops the thread and waits for it (it drains its in-flight queues first). */
    void stopAndJoin() {
        stop = true;
        LockSupport.unpark(thread);
        try {
            thread.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            LOG.severe(() -> thread.getName() + " did not stop within 10 s");
        }
    }

    long stat(int i) {
        return stats.get(i);
    }

    /**
     * An OpenFlow packet-out: a packet of the pool (owned by whoever holds the request), its input port (0:
     * none) and actions (Flow's encoding plus Dpif.OUT_ALL, OUT_IN_PORT, OUT_TABLE), on a bridge.
     */
    record PacketOut(Bridge bridge, int inPort, int[] actions, Packet packet) {
    }

    /** In the mailbox while this thread sends a packet-out. */
    private static final PacketOut BUSY = new PacketOut(null, 0, new int[0], null);

    /**
     * Control path, one caller at a time (the datapath lock, held so that no snapshot change runs meanwhile):
     * hands {@code po} to this thread, which sends its packet on its own tx queues at the start of its next
     * iteration, and waits until it has (or, after {@code timeoutNs}, until it has at least taken it). False
     * when the thread did not take it within {@code timeoutNs}: the packet is the caller's again.
     */
    boolean packetOut(PacketOut po, long timeoutNs) {
        OUT.setRelease(this, po);
        LockSupport.unpark(thread);
        long deadline = System.nanoTime() + timeoutNs;
        while (OUT.getAcquire(this) != null) {
            if (System.nanoTime() - deadline > 0 || !thread.isAlive()) {
                return !OUT.compareAndSet(this, po, null); // fails once taken: then the thread owns the packet
            }
            LockSupport.parkNanos(10_000);
        }
        return true;
    }

    /**
     * Pins this thread to the CPU of its core, as OVS's pmd_thread_main does (system property
     * {@code pvio.dpif.pin-pmds=false}: left to the kernel). A failure is logged; the thread runs unpinned.
     */
    private void pin() {
        if (!Boolean.parseBoolean(System.getProperty("pvio.dpif.pin-pmds", "true"))) {
            return;
        }
        try {
            Affinity.pinCurrentThread(core);
            LOG.info(() -> thread.getName() + " pinned to CPU " + core);
        } catch (PosixException | RuntimeException | LinkageError e) {
            LOG.severe(() -> "Thread setaffinity error: " + e.getMessage() + " (" + thread.getName()
                    + " runs unpinned)");
        }
    }

    @Override
    public void run() {
        pin();
        PmdSnapshot cur = null;
        long last = startNs;
        boolean lastBusy = false;
        int idleRun = 0;
        long lastBusyNs = last;
        long slept = 0; // parked at the end of the last iteration
        boolean lastSampled = false; // the last iteration ran with perf metrics on
        int lastRx = 0; // packets the last iteration received
        while (!stop) {
            PmdSnapshot s = (PmdSnapshot) SNAP.getAcquire(this);
            if (s != cur) {
                adopt(s);
                cur = s;
                ACK.setRelease(this, s.gen);
            }
            long now = System.nanoTime();
            long d = now - last - slept; // the last iteration's time awake
            last = now;
            accountedTo = now;
            slept = 0;
            if (lastBusy) {
                procNs += d;
                lastBusyNs = now; // the end of the last busy iteration
            } else {
                idleNs += d;
            }
            if (lastSampled) {
                perf.iteration(iterations, d, lastRx, lastQfill, now);
            }
            chargeOpenLoad(now);
            if (now - intervalStartNs >= RxqLoad.INTERVAL_NS) {
                endInterval(now);
            }
            metrics = dp.perfMetrics();
            nowSec = MacTable.nowSeconds(now);
            long before = received;
            boolean retired = false;
            try {
                PacketOut po = (PacketOut) OUT.getAcquire(this);
                if (po != null && po != BUSY && OUT.compareAndSet(this, po, BUSY)) {
                    try {
                        sendPacketOut(po); // ours now: the control path no longer frees it
                    } finally {
                        OUT.setRelease(this, null); // sent: the control path may return
                    }
                }
                boolean spin = idleRun >= IDLE_SPIN_ITERATIONS && now - lastBusyNs > IDLE_SPIN_NS;
                pollQueues(nActive < order.length && (spin || now - nextIdleSweepNs >= 0), now);
                if (nPending > 0) {
                    // an iteration that retired completions did work: it is busy, and with perf metrics on
                    // its free_pkts time is counted (polls that found nothing complete are idle time)
                    if (metrics) {
                        long t0 = System.nanoTime();
                        if (freePending()) {
                            freeNs += System.nanoTime() - t0;
                            retired = true;
                        }
                    } else {
                        retired = freePending();
                    }
                }
            } catch (RuntimeException | Error e) {
                // e.g. a guest memory fault: Java reports SIGBUS on a mapping as an InternalError
                logDataPathError(e);
                recoverAfterError();
            }
            iterations++;
            lastRx = (int) (received - before);
            lastQfill = iterQfill;
            iterQfill = 0;
            lastSampled = metrics;
            if (lastRx == 0) {
                idleIterations++;
            }
            boolean busy = lastRx != 0 || retired;
            if (busy) {
                idleRxqNs += iterIdleRxqNs;
            }
            iterIdleRxqNs = 0;
            lastBusy = busy;
            publishStats();
            if (busy) {
                idleRun = 0;
            } else if (++idleRun > 64) {
                long sleep = dp.pmdSleepNanos(core);
                if (sleep > 0 && nPending == 0) {
                    long t0 = System.nanoTime();
                    LockSupport.parkNanos(sleep);
                    slept = System.nanoTime() - t0;
                    sleepIterations++;
                    sleepNs += slept; // published with the next iteration's counters
                } else {
                    Thread.onSpinWait();
                }
            }
        }
        drainPending();
        abandonPending();
        publishStats();
    }

    /**
     * OVS's interval store (dp_netdev_pmd_try_optimize): each polled queue's time of the interval into its
     * history, and this PMD's busy time and the interval's length.
     */
    private void endInterval(long now) {
        for (RxqRef r : order) {
            r.load.endInterval();
        }
        long n = intervalsStored.get();
        long busy = procNs - procAtIntervalStart;
        busyIntervals.set((int) (n % RxqLoad.INTERVALS), busy);
        intervalNs.set(now - intervalStartNs);
        int threshold = dp.autoLbLoadThreshold(); // OVS's pmd_overloaded: consecutive intervals at or above
        long len = now - intervalStartNs;
        overloaded.set(threshold >= 0 && len > 0 && busy * 100 / len >= threshold ? overloaded.get() + 1 : 0);
        intervalsStored.set(n + 1);
        intervalStartNs = now;
        procAtIntervalStart = procNs;
    }

    /** Ends the open poll time ({@link #pollQueues}) at {@code now}. */
    private void chargeOpenLoad(long now) {
        if (openLoad != null) {
            openLoad.currentNs += now - openLoadStart;
            openLoad = null;
        }
    }

    /** The length of the last interval (0 before the first ends), for pmd-rxq-show. */
    long intervalNs() {
        return intervalNs.get();
    }

    /** How many intervals in a row, up to the last one, this PMD was overloaded (pmd-auto-lb). */
    long overloadedIntervals() {
        return overloaded.get();
    }

    /** This PMD's busy time in its newest {@code n} intervals. */
    long recentBusyNs(int n) {
        return RxqLoad.recent(busyIntervals, intervalsStored.get(), n);
    }

    /** Rate-limited (one report per second, with the count of the others): an error may repeat every iteration. */
    private void logDataPathError(Throwable e) {
        errors++;
        long now = System.nanoTime();
        if (lastErrorLog != 0 && now - lastErrorLog < 1_000_000_000L) {
            return;
        }
        long suppressed = errors - errorsLogged - 1;
        lastErrorLog = now;
        errorsLogged = errors;
        LOG.log(Level.SEVERE, thread.getName() + ": error in the data path"
                + (suppressed > 0 ? " (" + suppressed + " more since the last report)" : ""), e);
    }

    private void publishStats() {
        stats.set(S_IDLE_NS, idleNs);
        stats.set(S_ITERATIONS, iterations);
        stats.set(S_ACCOUNTED_TO, accountedTo);
        stats.set(S_IDLE_ITER, idleIterations);
        stats.set(S_SLEEP_ITER, sleepIterations);
        stats.set(S_SLEEP_NS, sleepNs);
        stats.set(S_RECEIVED, received);
        stats.set(S_HITS, hits);
        stats.set(S_MISSES, misses);
        stats.set(S_LOOKUPS, lookups);
        stats.set(S_OUT_BATCHES, outBatches);
        stats.set(S_OUT_PKTS, outPkts);
        stats.set(S_PROC_NS, procNs);
        stats.set(S_FREE_NS, freeNs);
        stats.set(S_IDLE_RXQ_NS, idleRxqNs);
        stats.set(S_DROPPED, dropped);
        stats.set(S_NO_PORT, noPort);
        stats.set(S_SW_SEGMENTED, swSegmented);
        stats.set(S_SW_SEGMENTS, swSegments);
        stats.set(S_SW_CSUM, swCsum);
        stats.set(S_SW_OFFLOAD_DROPS, swOffloadDrops);
    }

    /**
     * Control-driven: drain what is in flight, then size the scratch arrays for the new snapshot. Queues still
     * in flight after the bounded wait are kept aside while the datapath is paused and then stay pending on
     * the next snapshot's entry for the same netdev, so that their packets are retired once the copies
     * complete; only ports that are gone from it (closed meanwhile: their close freed what was in flight)
     * are dropped.
     */
    private void adopt(PmdSnapshot s) {
        current = s;
        drainPending();
        if (nPending > 0) {
            int k = parked.length;
            parked = java.util.Arrays.copyOf(parked, k + nPending);
            for (int i = 0; i < nPending; i++) {
                parked[k + i] = pending[i];
                pending[i] = null;
            }
            nPending = 0;
        }
        int n = Math.max(16, s.txPorts.length);
        if (touched.length < n) {
            touched = new TxPort[n];
            pending = new TxPort[n];
        }
        order = s.rxqs.clone();
        nActive = order.length;
        if (dests.length < s.maxBridgePorts + 64) {
            dests = new int[s.maxBridgePorts + 64];
            rewriteAt = new int[dests.length];
            rewriteTo = new int[dests.length];
            headerOf = new int[dests.length];
        }
        if (parked.length > 0 && !s.paused) {
            TxPort[] left = parked;
            parked = NONE;
            carryOver(left, s);
        }
    }

    private void carryOver(TxPort[] left, PmdSnapshot s) {
        for (TxPort old : left) {
            TxPort next = null;
            for (TxPort t : s.txPorts) {
                if (t.netdev == old.netdev) {
                    next = t;
                    break;
                }
            }
            // only the queue this thread still owns: a queue now another PMD's is retired by that PMD's next
            // send on it (two threads must not call freePkts on one unshared queue)
            long kept = next == null ? 0 : old.pendingMask & (1L << next.txqid);
            if (kept != 0) {
                next.pendingMask |= kept;
                next.inFlight = Math.max(next.inFlight, old.inFlight);
                if (!next.inPendingList) {
                    next.inPendingList = true;
                    pending[nPending++] = next;
                }
            }
            LOG.warning(String.format("%s: port '%s' tx queues 0x%x still had packets in flight after %d ms; %s",
                    thread.getName(), old.port.name, old.pendingMask, TimeUnit.NANOSECONDS.toMillis(drainTimeoutNs),
                    kept == old.pendingMask ? "retiring them as their copies complete"
                            : kept != 0 ? "retiring those of queue " + next.txqid + ", the others with their queue's next send"
                            : next != null ? "retired with their queue's next send" : "left to the port's close"));
            old.pendingMask = 0;
            old.inPendingList = false;
        }
    }

    /**
     * Calls freePkts on every pending queue until none is in flight, or the bounded wait ends (what is left
     * stays in {@code pending}).
     */
    private void drainPending() {
        if (nPending == 0) {
            return;
        }
        long deadline = System.nanoTime() + drainTimeoutNs;
        while (nPending > 0) {
            try {
                freePending();
            } catch (RuntimeException e) {
                LOG.log(Level.SEVERE, thread.getName() + ": error draining in-flight packets", e);
                break;
            }
            if (nPending == 0) {
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                break;
            }
            LockSupport.parkNanos(10_000);
        }
    }

    /** The thread is ending: what is still in flight is left to the ports' close. */
    private void abandonPending() {
        parked = NONE;
        for (int i = 0; i < nPending; i++) {
            TxPort t = pending[i];
            LOG.warning(String.format("%s: port '%s' tx queues 0x%x still have packets in flight after %d ms;"
                    + " leaving them to the port's close", thread.getName(), t.port.name, t.pendingMask,
                    TimeUnit.NANOSECONDS.toMillis(drainTimeoutNs)));
            t.pendingMask = 0;
            t.inPendingList = false;
            pending[i] = null;
        }
        nPending = 0;
    }

    /**
     * After a netdev threw: frees what this thread still owns in output batches (not yet handed to send) and
     * forgets the rx batch (its packets may already have been handed on; a throwing port may leak some).
     */
    private void recoverAfterError() {
        rewrites = 0; // a packet's NORMAL outputs noted before the error
        for (int i = 0; i < nTouched; i++) {
            TxPort t = touched[i];
            if (t == null) {
                continue; // flushed before the error
            }
            t.touched = false;
            touched[i] = null;
            try {
                t.batch.freeAll();
            } catch (RuntimeException | Error e) { // a late fault raised in freeAll must not escape recovery
                t.batch.clear();
            }
        }
        nTouched = 0;
        rx.clear();
    }

    /** When the next sweep of the idle queues is due (see {@link #IDLE_SWEEP_SHARE}). */
    private long nextIdleSweepNs;
    /** The last idle sweep's cost as used for the schedule (bounded growth, see pollQueues). */
    private long idleSweepCostNs;

    /**
     * Polls the active queues (last first, so that one turning idle swaps with one already polled) and, when
     * {@code withIdle}, the idle ones; moves queues between the two sets. A poll of an active queue that
     * receives adds its time (from the end of the poll before, or {@code now}, the iteration's start) to the
     * queue's load; the last one's ends with the idle sweep's start or the next iteration's, so that a PMD with
     * one busy queue reads the clock once per iteration, as before. The idle sweep is timed as a whole.
     */
    private void pollQueues(boolean withIdle, long now) {
        RxqRef[] q = order;
        boolean timed = metrics;
        long t = now;
        RxqLoad lastLoad = null; // the last poll's queue if it received: its time ends at the next clock read
        for (int i = nActive - 1; i >= 0; i--) {
            RxqRef r = q[i];
            if (lastLoad != null) {
                long t2 = System.nanoTime();
                lastLoad.currentNs += t2 - t;
                t = t2;
                lastLoad = null;
            }
            if (poll(r) > 0) {
                lastLoad = r.load;
                r.emptyPolls = 0;
            } else if (++r.emptyPolls >= IDLE_AFTER) {
                int last = --nActive;
                q[i] = q[last];
                q[last] = r;
            }
        }
        // the last receiving poll's end: the sweep's start, else the next iteration's (one clock read less)
        openLoad = lastLoad;
        openLoadStart = t;
        if (withIdle) {
            long t0 = System.nanoTime();
            chargeOpenLoad(t0);
            boolean woke = false;
            for (int i = nActive; i < q.length; i++) {
                RxqRef r = q[i];
                if (poll(r) > 0) {
                    r.emptyPolls = 0;
                    q[i] = q[nActive];
                    q[nActive++] = r;
                    woke = true;
                }
            }
            long t1 = System.nanoTime();
            // a sweep that found traffic is no measure of polling's cost: the next one is due at once
            // the sweep's cost may grow by at most 4x a sweep: one sweep stretched by a lock wait or a
            // descheduling must not leave a queue that turns busy again unpolled for milliseconds
            long cost = Math.min(t1 - t0, 4 * Math.max(idleSweepCostNs, 1_000));
            idleSweepCostNs = cost;
            nextIdleSweepNs = woke ? t1 : t1 + cost * (IDLE_SWEEP_SHARE - 1);
            if (timed) {
                iterIdleRxqNs += t1 - t0;
            }
        }
    }

    /** Receives one batch from {@code r} and forwards it; returns the number received. */
    private int poll(RxqRef r) {
        PacketBatch b = rx;
        int n = r.netdev.rxqRecv(r.qid, b);
        if (n <= 0) {
            return 0;
        }
        Policer pol = r.policer;
        if (pol != null) { // ingress policing: what it drops is the port's, as OVS's netdev counts it
            int d = pol.run(b, System.nanoTime(), r.port.qosDropBytes);
            if (d > 0) {
                r.port.qosDrops.addAndGet(d);
                n -= d;
                if (n == 0) {
                    return d;
                }
            }
        }
        received += n;
        if (metrics) {
            perf.rxBatch(n);
            int left = r.netdev.rxqRemaining(r.qid); // vhost ports: the guest's chains not taken yet
            if (left >= 0 && n + left > iterQfill) {
                iterQfill = n + left;
            }
        }
        if (r.noRecv) { // the port is down or has NO_RECV
            b.freeAll();
            dropped += n;
            return n;
        }
        BridgeView v = r.view;
        if (v.bridge.failOpen) {
            return pollFailOpen(r, b, n);
        }
        long hits0 = hits;
        long misses0 = misses;
        FlowTable ft = v.bridge.flows;
        MacTable macs = v.bridge.macs;
        int in = r.ofport;
        Flow run = null;
        int runRank = 0;
        long runPkts = 0;
        long runBytes = 0;
        int cnt = b.size();
        boolean burst = ft.burstLookup();
        if (burst) {
            lookupBurst(b, cnt, ft, in); // many flows: the burst's lookups first, in passes
        }
        int[] ranks = keyRank;
        for (int i = 0; i < cnt; i++) {
            Packet p = b.get(i);
            int len = p.length();
            if (p.dataLength() < 14) {
                p.free();
                dropped++;
                continue;
            }
            long dst;
            long src;
            int rank;
            if (burst) { // lookupBurst has read the keys
                dst = keyDst[i];
                src = keySrc[i];
                rank = ranks[i];
            } else {
                ByteBuffer buf = p.buffer();
                int off = p.dataOffset();
                dst = mac(buf, off);
                src = mac(buf, off + 6);
                rank = ft.rank(in, src, dst, ethType(p, buf, off));
            }
            if (rank == FlowTable.MISS) {
                misses++;
                lookups += ft.groups();
                if (v.bridge.packetInOnMiss) { // as OVS with the default miss config: NO_PACKET_IN is not checked
                    packetIn(v, p, in, 0, 0, io.pvio.dpif.PacketIn.IMPLICIT_MISS, 0xffff);
                }
                p.free();
                dropped++;
                continue;
            }
            Flow f = ft.flow(rank);
            hits++;
            if (f != run) {
                if (run != null) {
                    run.count(runPkts, runBytes, nowSec, counterId);
                    lookups += runPkts * ft.groupsProbed(runRank);
                }
                run = f;
                runRank = rank;
                runPkts = 0;
                runBytes = 0;
            }
            runPkts++;
            runBytes += len;
            int nd = 0;
            int out = f.singleOutput();
            if (out > 0) {
                nd = output(v, out, in, nd); // the common case, without a load of the action list
            } else {
                int[] acts = f.actions();
                for (int a = 0; a < acts.length; a++) {
                    int act = acts[a];
                    if (act > 0) {
                        nd = output(v, act, in, nd);
                    } else if (act == Flow.ACTION_NORMAL) {
                        nd = normal(v, macs, r.vlans, p, in, src, dst, nd);
                    } else if (act == Flow.ACTION_FLOOD) {
                        nd = flood(v, in, nd);
                    } else if (io.pvio.dpif.FlowEntry.isController(act)) {
                        toController(v, p, in, f, act);
                    }
                }
            }
            deliver(p, v, nd);
        }
        if (run != null) {
            run.count(runPkts, runBytes, nowSec, counterId);
            lookups += runPkts * ft.groupsProbed(runRank);
        }
        v.bridge.countLookups(counterId, hits - hits0, misses - misses0);
        b.clear();
        flushTouched();
        return n;
    }

    /**
     * A batch of a bridge in fail-open: every packet to NORMAL, as OVS's hidden flow of priority 15790320 sends
     * it, whatever the flow table holds; counted on the bridge (bridge/dump-flows shows that flow).
     */
    private int pollFailOpen(RxqRef r, PacketBatch b, int n) {
        BridgeView v = r.view;
        long bytes = 0;
        int taken = 0;
        int cnt = b.size();
        for (int i = 0; i < cnt; i++) {
            Packet p = b.get(i);
            if (p.dataLength() < 14) {
                p.free();
                dropped++;
                continue;
            }
            taken++;
            bytes += p.length();
            ByteBuffer buf = p.buffer();
            int off = p.dataOffset();
            deliver(p, v, normal(v, v.bridge.macs, r.vlans, p, r.ofport, mac(buf, off + 6), mac(buf, off), 0));
        }
        v.bridge.failOpenPackets.add(taken);
        v.bridge.failOpenBytes.add(bytes);
        b.clear();
        flushTouched();
        return n;
    }

    /**
     * Executes a packet-out on this thread's current snapshot: its actions select the destinations as a
     * flow's do for a packet received on its input port (OUT_TABLE: the flow table's actions for it), then
     * the packet is delivered and the output batches flushed.
     */
    private void sendPacketOut(PacketOut po) {
        Packet p = po.packet();
        BridgeView v = null;
        for (BridgeView bv : current.views) {
            if (bv.bridge == po.bridge()) {
                v = bv;
            }
        }
        if (v == null) { // the bridge has no view (cannot happen while the caller holds the datapath lock)
            p.free();
            dropped++;
            return;
        }
        int in = po.inPort();
        boolean eth = p.dataLength() >= 14;
        ByteBuffer buf = p.buffer();
        int off = p.dataOffset();
        long dst = eth ? mac(buf, off) : 0;
        long src = eth ? mac(buf, off + 6) : 0;
        int nd = 0;
        for (int act : po.actions()) {
            if (act == io.pvio.dpif.Dpif.OUT_TABLE) {
                if (!eth) {
                    continue;
                }
                FlowTable ft = v.bridge.flows;
                int rank = ft.rank(in, src, dst, ethType(p, buf, off));
                if (rank == FlowTable.MISS) {
                    v.bridge.countLookups(counterId, 0, 1);
                    continue;
                }
                v.bridge.countLookups(counterId, 1, 0);
                Flow f = ft.flow(rank);
                f.count(1, p.length(), nowSec, counterId);
                for (int a : f.actions()) {
                    if (io.pvio.dpif.FlowEntry.isController(a)) {
                        toController(v, p, in, f, a);
                    } else {
                        nd = action(v, p, a, in, src, dst, eth, nd);
                    }
                }
            } else {
                nd = action(v, p, act, in, src, dst, eth, nd);
            }
        }
        deliver(p, v, nd);
        flushTouched();
    }

    /**
     * A copy of {@code p} for the bridge's OpenFlow connections (packet-in), as OVS's controller action: the
     * slow path, which allocates; dropped and counted when the queue is full (no OpenFlow side takes them).
     */
    private void toController(BridgeView v, Packet p, int in, Flow f, int act) {
        packetIn(v, p, in, f.cookie(), f.priority(),
                f.tableMiss() ? io.pvio.dpif.PacketIn.EXPLICIT_MISS : io.pvio.dpif.PacketIn.ACTION,
                io.pvio.dpif.FlowEntry.controllerMaxLen(act));
    }

    /**
     * Queues a copy of {@code p} for the bridge's OpenFlow side (a flow's controller action, or an implicit
     * table miss, OVS's miss_rule); a full queue (nobody takes them) drops it, counted, without a copy.
     */
    private void packetIn(BridgeView v, Packet p, int in, long cookie, int priority, int reason, int maxLen) {
        if (v.bridge.packetIns.remainingCapacity() == 0) {
            v.bridge.packetInDrops.increment();
            return;
        }
        byte[] data = new byte[p.dataLength()];
        p.buffer().get(p.dataOffset(), data);
        if (!v.bridge.packetIns.offer(new io.pvio.dpif.PacketIn(in, cookie, priority, reason, maxLen, data))) {
            v.bridge.packetInDrops.increment();
        }
    }

    private int action(BridgeView v, Packet p, int act, int in, long src, long dst, boolean eth, int nd) {
        if (act > 0) {
            return output(v, act, in, nd);
        }
        if (act == Flow.ACTION_NORMAL) {
            if (!eth) {
                return nd;
            }
            TxPort it = v.port(in); // OFPP_NONE (0) takes any VLAN and learns nothing
            return normal(v, v.bridge.macs, it == null ? PortVlans.DEFAULT : it.vlans, p, in, src, dst, nd);
        }
        if (act == Flow.ACTION_FLOOD) {
            return flood(v, in, nd);
        }
        if (act == io.pvio.dpif.Dpif.OUT_ALL) {
            for (TxPort t : v.every) {
                if (t.ofport != in) {
                    nd = addDest(t, nd);
                }
            }
            return nd;
        }
        if (act == io.pvio.dpif.Dpif.OUT_IN_PORT) {
            TxPort t = v.port(in);
            return t == null ? nd : addDest(t, nd);
        }
        return nd;
    }

    /** The ranks of the burst's flows into keyRank (FlowTable.lookupBurst); short frames are skipped. */
    private void lookupBurst(PacketBatch b, int cnt, FlowTable ft, int in) {
        long[] srcs = keySrc;
        long[] dsts = keyDst;
        int[] types = keyType;
        int[] ranks = keyRank;
        for (int i = 0; i < cnt; i++) {
            Packet p = b.get(i);
            if (p.dataLength() < 14) {
                ranks[i] = -1; // dropped by the caller before it reads the rank
                continue;
            }
            ByteBuffer buf = p.buffer();
            int off = p.dataOffset();
            dsts[i] = mac(buf, off);
            srcs[i] = mac(buf, off + 6);
            types[i] = ethType(p, buf, off);
            ranks[i] = FlowTable.MISS;
        }
        ft.lookupBurst(in, srcs, dsts, types, cnt, ranks, keyHash);
    }

    /**
     * The flow table's dl_type of the frame at {@code off}: as OVS's (vlan-limit 1), the EtherType after an
     * outer 802.1Q or 802.1ad header, else the one at 12.
     */
    private static int ethType(Packet p, ByteBuffer buf, int off) {
        int t = (short) BE16.get(buf, off + 12) & 0xffff;
        if ((t == 0x8100 || t == 0x88a8) && p.dataLength() >= 18) {
            t = (short) BE16.get(buf, off + 16) & 0xffff;
        }
        return t;
    }

    /** The MAC address at {@code off}, as a long (the flow table's and MAC table's key). */
    private static long mac(ByteBuffer buf, int off) {
        return ((short) BE16.get(buf, off) & 0xffffL) << 32 | ((int) BE32.get(buf, off + 2) & 0xffffffffL);
    }

    /** Action output:{@code port} from port {@code in}. */
    private int output(BridgeView v, int port, int in, int nd) {
        if (port == in) {
            return nd; // OpenFlow: output to the input port is skipped
        }
        TxPort t = v.port(port);
        if (t == null) {
            noPort++;
            return nd;
        }
        return addDest(t, nd);
    }

    /** Within the 35 bytes that C2 inlines without a profile (output's, flood's and normal's may be young). */
    private int addDest(TxPort t, int nd) {
        int[] d = dests;
        if (nd < d.length) {
            d[nd] = t.ofport; // an int: no reference store (G1 barrier) per packet
            return nd + 1;
        }
        noPort++;
        return nd;
    }

    private int flood(BridgeView v, int in, int nd) {
        TxPort[] all = v.all;
        for (int i = 0; i < all.length; i++) {
            if (all[i].ofport != in) {
                nd = addDest(all[i], nd);
            }
        }
        return nd;
    }

    /**
     * OVS's xlate_normal for packet {@code p} from port {@code in} (VLANs {@code iv}; 0: no input port, which
     * takes any VLAN and learns nothing): the frame's VLAN checked and translated, its source learned in that
     * VLAN, then its destination's learned port or a flood to the ports of that VLAN. An output whose VLAN
     * header differs from the frame's is noted for {@link #deliver}.
     */
    private int normal(BridgeView v, MacTable macs, PortVlans iv, Packet p, int in, long src, long dst, int nd) {
        ByteBuffer buf = p.buffer();
        int off = p.dataOffset();
        int type = (short) BE16.get(buf, off + 12) & 0xffff;
        int fv = 0;
        if (type == 0x8100 || type == 0x88a8) {
            int len = p.dataLength();
            fv = PortVlans.frameVlan(type, len >= 18 ? (short) BE16.get(buf, off + 14) & 0xffff : 0, len);
            if (fv == PortVlans.PARTIAL) {
                return nd; // a partial VLAN tag: dropped
            }
        }
        if (in != 0 && !iv.inputValid(PortVlans.vid(fv))) {
            return nd; // a VLAN the input port does not carry: dropped
        }
        int inner = iv.input(fv);
        int vlan = inner & 0xfff;
        if (in != 0 && (src >>> 40 & 1) == 0) {
            macs.learn(src, vlan, in, nowSec);
        }
        int port = (dst >>> 40 & 1) != 0 ? -1 : macs.lookup(dst, vlan, nowSec);
        if (port < 0) {
            TxPort[] all = v.all;
            for (int i = 0; i < all.length; i++) {
                TxPort t = all[i];
                if (t.ofport != in && t.vlans.includes(vlan)) {
                    nd = normalDest(t, inner, fv, nd);
                }
            }
            return nd;
        }
        if (port == in) {
            return nd; // destination is on the input port: nothing to do
        }
        TxPort t = v.port(port);
        if (t == null) {
            noPort++;
            return nd;
        }
        return normalDest(t, inner, fv, nd);
    }

    /** NORMAL's output to {@code t} of a frame of VLAN {@code inner} that carries VLAN header {@code fv}. */
    private int normalDest(TxPort t, int inner, int fv, int nd) {
        int out = t.vlans.output(inner);
        if (out != fv && nd < dests.length) {
            rewriteAt[rewrites] = nd;
            rewriteTo[rewrites] = out;
            rewrites++;
        }
        return addDest(t, nd);
    }

    /** Hands {@code p} to its {@code nd} destinations (one reference each) or frees it. */
    private void deliver(Packet p, BridgeView v, int nd) {
        if (rewrites != 0) {
            deliverRewritten(p, v, nd);
            return;
        }
        if (nd == 0) {
            p.free();
            dropped++;
            return;
        }
        for (int k = 1; k < nd; k++) {
            p.retain();
        }
        for (int k = 0; k < nd; k++) {
            toPort(v.port(dests[k]), p);
        }
    }

    private void toPort(TxPort t, Packet p) {
        if (t.batch.isFull()) {
            flush(t);
        }
        t.batch.add(p);
        if (!t.touched) {
            t.touched = true;
            touched[nTouched++] = t;
        }
    }

    /**
     * {@link #deliver} when NORMAL sends {@code p} with another VLAN header to some destinations: one packet
     * per header, each a copy of {@code p} with its header, except the last when no destination takes
     * {@code p} as it is, which {@code p} itself becomes. A copy the pool cannot give is a drop, counted.
     */
    private void deliverRewritten(Packet p, BridgeView v, int nd) {
        int[] hdr = headerOf;
        java.util.Arrays.fill(hdr, 0, nd, AS_IS);
        for (int j = 0; j < rewrites; j++) {
            if (rewriteAt[j] < nd) {
                hdr[rewriteAt[j]] = rewriteTo[j];
            }
        }
        rewrites = 0;
        int asIs = 0;
        for (int k = 0; k < nd; k++) {
            if (hdr[k] == AS_IS) {
                asIs++;
            }
        }
        boolean kept = asIs > 0; // p goes out as it is, so every other header is a copy
        for (int k = 0; k < nd; k++) {
            int h = hdr[k];
            if (h == AS_IS || h == DONE) {
                continue;
            }
            boolean last = true;
            for (int j = k + 1; j < nd && last; j++) {
                last = hdr[j] == AS_IS || hdr[j] == DONE || hdr[j] == h;
            }
            Packet q;
            if (!kept && last && p.refcnt() == 1) {
                q = p;
                kept = true;
                if (!Vlans.rewrite(q, h)) { // no headroom for the header: a copy has the pool's
                    q = Vlans.copyWith(p, h);
                    p.free();
                }
            } else {
                q = Vlans.copyWith(p, h);
            }
            int n = 0;
            for (int j = k; j < nd; j++) {
                if (hdr[j] == h) {
                    n++;
                }
            }
            for (int j = 1; j < n && q != null; j++) {
                q.retain();
            }
            for (int j = k; j < nd; j++) {
                if (hdr[j] == h) {
                    hdr[j] = DONE;
                    if (q != null) {
                        toPort(v.port(dests[j]), q);
                    }
                }
            }
            if (q == null) {
                dropped += n; // no buffer for the copy
            }
        }
        if (asIs == 0) {
            if (!kept) {
                p.free();
            }
            if (nd == 0) {
                dropped++;
            }
            return;
        }
        for (int k = 1; k < asIs; k++) {
            p.retain();
        }
        for (int k = 0; k < nd; k++) {
            if (hdr[k] == AS_IS) {
                toPort(v.port(dests[k]), p);
            }
        }
    }

    private static final int DONE = -2;

    private void flushTouched() {
        for (int i = 0; i < nTouched; i++) {
            TxPort t = touched[i];
            flush(t); // if send throws, recoverAfterError finds this entry and the ones after it
            touched[i] = null;
            t.touched = false;
        }
        nTouched = 0;
    }

    private void flush(TxPort t) {
        PacketBatch b = t.batch;
        int n = b.size();
        if (n == 0) {
            return;
        }
        int ol = 0;
        for (int i = 0; i < n; i++) {
            ol |= b.get(i).offloads();
        }
        if (ol != 0 && (ol & ~accepted(t.netdev.txOffloads())) != 0) {
            prepareAndSend(t);
            return;
        }
        send(t);
    }

    /** The packet offload flags a port with tx offloads {@code caps} takes as they are. */
    private static int accepted(int caps) {
        int ok = Packet.OL_TSO_ECN;
        if ((caps & Netdev.TX_OFFLOAD_CSUM) != 0) {
            ok |= Packet.OL_CSUM_PARTIAL;
            if ((caps & Netdev.TX_OFFLOAD_TSO4) != 0) {
                ok |= Packet.OL_TSO_TCPV4;
            }
            if ((caps & Netdev.TX_OFFLOAD_TSO6) != 0) {
                ok |= Packet.OL_TSO_TCPV6;
            }
        }
        return ok;
    }

    /**
     * OVS's netdev_send_prepare: sends t's batch after doing in software what the port cannot: TCP
     * segmentation (segments from the packet's pool, in its place in the batch) and checksum completion (on a
     * private copy when the packet is shared with another output). A packet that cannot be prepared (bad
     * offsets, not TCP, pool empty) is dropped and counted.
     */
    private void prepareAndSend(TxPort t) {
        PacketBatch b = t.batch;
        int n = b.size();
        int ok = accepted(t.netdev.txOffloads());
        for (int i = 0; i < n; i++) {
            prep[i] = b.get(i);
        }
        b.clear();
        int i = 0;
        try {
            for (; i < n; i++) {
                Packet p = prep[i];
                prep[i] = null;
                int ol = p.offloads();
                if ((ol & Packet.OL_TSO & ~ok) != 0) {
                    int want = SoftOffloads.segmentCount(p);
                    segPort = t;
                    int got;
                    try {
                        got = want < 0 ? -1 : SoftOffloads.segment(p, segSink);
                    } finally {
                        p.free(); // the segments are copies
                    }
                    if (got > 0) {
                        swSegmented++;
                        swSegments += got;
                    }
                    if (got < want || got < 0) {
                        swOffloadDrops++;
                        dropped++;
                    }
                    continue;
                }
                if ((ol & Packet.OL_CSUM_PARTIAL & ~ok) != 0) {
                    if (p.refcnt() > 1) {
                        Packet c = SoftOffloads.copy(p); // another output sends these very bytes
                        p.free();
                        p = c;
                    }
                    if (p == null || !SoftOffloads.completeChecksum(p)) {
                        if (p != null) {
                            p.free();
                        }
                        swOffloadDrops++;
                        dropped++;
                        continue;
                    }
                    swCsum++;
                }
                if (b.isFull()) {
                    send(t);
                }
                b.add(p);
            }
        } finally {
            for (; i < n; i++) { // an output threw: the packets not handed on are still ours
                if (prep[i] != null) {
                    prep[i].free();
                    prep[i] = null;
                }
            }
        }
        send(t);
    }

    private void send(TxPort t) {
        int n = t.batch.size();
        if (n == 0) {
            return;
        }
        Policer eg = t.egress;
        if (eg != null) { // the Port's egress-policer QoS: what it drops is the port's tx_dropped, as OVS-DPDK's
            int d = eg.run(t.batch, System.nanoTime(), t.port.txQosDropBytes);
            if (d > 0) {
                t.port.txQosDrops.addAndGet(d);
                n -= d;
                if (n == 0) {
                    return;
                }
            }
        }
        outBatches++;
        outPkts += n;
        int inFlight;
        try {
            inFlight = t.netdev.send(t.txqid, t.batch, t.concurrent);
        } catch (RuntimeException | Error e) {
            t.batch.clear(); // the packets are the port's all the same (Netdev's contract): not freed here
            throw e;
        }
        t.inFlight = Math.max(inFlight, 0);
        if (!t.batch.isEmpty()) {
            t.batch.clear(); // contract: the port took every packet
        }
        long bit = 1L << t.txqid;
        if (inFlight > 0) {
            t.pendingMask |= bit;
            if (!t.inPendingList) {
                t.inPendingList = true;
                pending[nPending++] = t;
            }
        } else {
            t.pendingMask &= ~bit;
        }
    }

    /**
     * freePkts on each queue whose last send/freePkts returned a positive count; idle ports cost nothing.
     *
     * @return true when some port has fewer packets in flight than before (completions were retired)
     */
    private boolean freePending() {
        boolean progress = false;
        for (int i = 0; i < nPending;) {
            TxPort t = pending[i];
            long mask = t.pendingMask;
            while (mask != 0) {
                int q = Long.numberOfTrailingZeros(mask);
                mask &= mask - 1;
                int left = t.netdev.freePkts(q, t.concurrent);
                if (left < t.inFlight) {
                    progress = true;
                }
                t.inFlight = Math.max(left, 0);
                if (left <= 0) {
                    t.pendingMask &= ~(1L << q);
                }
            }
            if (t.pendingMask == 0) {
                t.inPendingList = false;
                pending[i] = pending[--nPending];
                pending[nPending] = null;
            } else {
                i++;
            }
        }
        return progress;
    }
}
