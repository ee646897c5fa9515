package io.pvio.vhost.ring;

import io.pvio.counter.CounterArray;
import io.pvio.netdev.DataPathClasses;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import io.pvio.posix.EventFd;
import io.pvio.vhost.async.AsyncCopySink;
import io.pvio.vhost.async.CopyTracker;
import io.pvio.vhostuser.PackedRing;
import io.pvio.vhostuser.SplitRing;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.logging.Logger;

/**
 * One virtio 1.x virtqueue of a vhost-user device, split or packed (VIRTIO_F_RING_PACKED), as the back end
 * sees it.
 *
 * <h2>Threads and locking</h2>
 * The control thread configures the queue (SET_VRING_*, memory table, reset) only while holding the
 * queue's access lock ({@link #lock()}); the data path ({@link #enqueue}, {@link #dequeue}) runs only
 * after {@link #tryLock()} succeeded and gives up (returns 0) when the control thread holds the lock.
 * Guest memory is therefore never replaced or unmapped while a data-path thread is inside it.
 *
 * <h2>Guest memory</h2>
 * Every access goes through the memory table's bounds-checked views. Descriptor addresses and lengths
 * are validated before anything is copied; a descriptor outside guest memory, a looping or over-long
 * chain, a bad indirect table or an impossible length marks the queue broken (logged, counted): it is
 * then skipped until the front end restarts it.
 *
 * <h2>Shape (DPDK: vhost.c / virtio_net.c)</h2>
 * This class holds the queue's configuration, the lock protocol, the used-ring publication and the
 * asynchronous bookkeeping around the walkers. {@link SplitEnqueue} and {@link SplitDequeue} walk the split
 * ring (descriptor chains into a {@link BufVec}, virtio-net headers through {@link NetHeader}),
 * {@link PackedEnqueue} and {@link PackedDequeue} the packed ring, and all of them hand every copy and used
 * element to a {@link CopySink}: {@link CpuCopySink} for {@link #enqueue} /
 * {@link #dequeue}, {@link AsyncCopySink} for {@link #enqueueAsync} / {@link #dequeueAsync}. Every CPU store
 * into guest memory goes through {@link GuestWrites}.
 *
 * <h2>Copies and the used ring</h2>
 * Used elements are collected in a shadow array and published by {@link #flushUsed()} (split: release
 * store of used->idx; packed: used descriptors in ring order, the first one's flags stored last with
 * release; then a call if the guest wants one), a step separate from the copies.
 *
 * <h2>Packed rings</h2>
 * {@link #lastAvail} and {@link #lastUsed} are ring positions (0..size-1) with the wrap counters
 * {@link #availWrap} and {@link #usedWrap}; SET/GET_VRING_BASE carry position | wrap &lt;&lt; 15, as DPDK and
 * QEMU. A used element spans as many positions as its buffer had descriptors: the walkers push that count
 * ({@link #pushUsedCount}) just before handing the element to the sink, and the element takes it when it
 * reaches the shadow array (at once from the CPU sink, in order once copied from the tracker).
 * {@link #inFlightDescs} (positions consumed, used descriptor not yet written) never exceeds the ring
 * size, so the device never reads a position whose used descriptor it still owes.
 *
 * <h2>Asynchronous copies</h2>
 * When the queue's {@link CopyTracker} is bound to a DMA channel, {@link #enqueueAsync} and
 * {@link #dequeueAsync} hand payload copies to it and the used elements are published only once a packet
 * and every earlier one have been copied ({@link #completeAsync}). On enqueue, a packet with one reference
 * carries its virtio-net header in its own headroom, so that header and frame are one copy. Every step that
 * changes what the copies target or where the used ring is (ring stop, new memory table, new addresses,
 * disable, reset) first drains the copies in flight ({@link #drainAsync}), with the access lock held, so
 * GET_VRING_BASE reports a base consistent with the used ring and no memory is unmapped under a DMA engine.
 *
 * <h2>Dirty page logging</h2>
 * While VHOST_F_LOG_ALL is negotiated and the device has a log ({@link #setLog}), every write into guest
 * memory is marked in the {@link DirtyLog} right after it: {@link GuestWrites} marks the CPU's stores
 * (the walkers and {@link CpuCopySink} pass it {@link #log}), the tracker marks a copy into the guest when
 * it collects its completion ({@link CopyTracker.Written}), {@link #flushUsed()} marks the used elements and
 * index it wrote at the ring's log address (SET_VRING_ADDR with VHOST_VRING_F_LOG).
 */
public final class Virtqueue {
    /** Largest ring size accepted (virtio's limit). */
    public static final int MAX_SIZE = 32768;
    /**
     * Largest frame taken from a guest: a 64 KiB IP packet (a TSO one: IPv4's total length, or IPv6's payload
     * length and its header) behind Ethernet and two VLAN tags.
     */
    public static final int MAX_PACKET = 65535 + 40 + 14 + 8;

    static final int DESC_F_NEXT = 1;
    static final int DESC_F_WRITE = 2;
    static final int DESC_F_INDIRECT = 4;
    static final int AVAIL_F_NO_INTERRUPT = 1;
    static final int USED_F_NO_NOTIFY = 1;

    private static final Logger LOG = Logger.getLogger("netdev_dpdk");

    /**
     * The classes the data path calls, resolved and initialized before any queue runs (see DataPathClasses).
     * DirtyLog too: C2 inlines no method whose signature names an unloaded class, and nothing loads DirtyLog
     * before a migration.
     */
    static {
        DataPathClasses.resolve(Virtqueue.class, Packet.class, PacketBatch.class, PacketPool.class, SplitRing.class,
                PackedRing.class, EventFd.class, CounterArray.class, DirtyLog.class, Le.class, GuestWrites.class,
                NetHeader.class, RingWalker.class);
    }


    /** Counter indexes (see {@link #counter(int)}). */
    public static final int C_PACKETS = 0;
    public static final int C_BYTES = 1;
    public static final int C_DROPPED = 2;
    public static final int C_ERRORS = 3;
    public static final int C_NOTIFICATIONS = 4;
    public static final int C_BROKEN = 5;
    /** Nanoseconds in the copy phase of bursts (while {@link #setCopyTiming} is on). */
    public static final int C_COPY_NS = 6;
    /** used->idx stores that published at least one element (packets / this = the guest's average batch). */
    public static final int C_USED_UPDATES = 7;
    /** Calls the guest wanted that could not be signalled (call fd full or broken; never waited for). */
    public static final int C_CALL_FAILED = 8;
    /** At most one "cannot signal" warning per queue per this many nanoseconds (OVS-style rate limit). */
    static final long CALL_LOG_INTERVAL_NS = 5_000_000_000L;
    /** Guest packets dropped for a virtio-net header with offloads that are not negotiated or not valid. */
    public static final int C_BAD_HEADERS = 9;
    private static final int N_COUNTERS = 10;

    /** other_config:pmd-perf-metrics: time each burst's copy phase (two clock reads per burst). */
    private static volatile boolean copyTiming;

    private final String device;
    private final int index;
    private final AccessLock access = new AccessLock();
    /** Written by the lock holder only (one writer at a time), read by any thread. */
    private final CounterArray counters = new CounterArray(N_COUNTERS);

    // ---- configuration: written by the control thread with the access lock held (package-private: the
    // walkers read it, as the lock holder)
    int size;
    /** Split rings only (their size is a power of two): size - 1. A packed ring wraps at {@link #size}. */
    int mask;
    private boolean addrSet;
    private long descUva;
    /** Guest physical address of the descriptor ring (packed rings log their write-backs there). */
    private long descGpa;
    private long availUva;
    private long usedUva;
    private boolean started;
    private boolean enabled;
    private EventFd kick;
    private EventFd call;
    GuestMemory mem;
    boolean mrg;
    /** VIRTIO_F_RING_PACKED negotiated. */
    boolean packed;
    private boolean eventIdx;
    boolean indirect;
    /** The virtio-net header and the offloads the guest negotiated. */
    private final NetHeader header = new NetHeader();
    /** VHOST_F_LOG_ALL negotiated. */
    private boolean logAll;
    /** The device's dirty page log (SET_LOG_BASE), or null. */
    private DirtyLog dirtyLog;
    /** Guest physical address of the used ring for the log (VHOST_VRING_F_LOG), or -1: not logged. */
    private long logUsed = -1;
    /** Where writes are marked: {@link #dirtyLog} while {@link #logAll}, else null (the walkers read it). */
    DirtyLog log;
    /** Marks the tracker's copies into guest memory (enqueue queues only). */
    private final CopyTracker.Written logCopy = this::loggedAddress;

    // ---- ring state: owned by the lock holder
    boolean ready;
    ByteBuffer desc;
    int descOff;
    ByteBuffer avail;
    int availOff;
    private ByteBuffer used;
    private int usedOff;
    int lastAvail;
    /** Split: the avail index the last dequeue burst read (the PMD's; {@link #rxRemaining}). */
    int availSeen;
    private int lastUsed;
    // packed only: the wrap counters of lastAvail and lastUsed, positions consumed without a used descriptor
    // yet, and the positions of used elements between their walk and the shadow array (a FIFO)
    boolean availWrap = true;
    private boolean usedWrap = true;
    int inFlightDescs;
    private int[] countFifo = new int[0];
    /** countFifo.length - 1: the FIFO is a power of two of at least {@link #size} entries (any ring size). */
    private int countMask;
    private int countHead;
    private int countTail;
    private volatile String broken;
    /** Copy of used->idx as last published and avail->idx as last seen, for appctl (racy reads). */
    private volatile int shownAvail;

    /** Used elements collected, not yet published: [0, nUsed). */
    private int[] usedId = new int[0];
    private int[] usedLen = new int[0];
    /** Packed: ring positions of each collected element. */
    private int[] usedCount = new int[0];
    int nUsed;
    /**
     * Index in the last enqueue's batch of the first packet its walk did not reach for want of guest
     * buffers (the batch's size when it reached every packet or the burst broke). Lock holder only.
     */
    int enqueueStop;

    /** avail->idx of unsealed memory is read through here (see {@link #availIndex}). */
    private final ByteBuffer idxProbe = ByteBuffer.allocateDirect(8).order(ByteOrder.LITTLE_ENDIAN);
    /**
     * The data path touched guest memory since the last {@link #faultFence()} (past a probed avail->idx):
     * the fence is due. Lock holder only.
     */
    private boolean fenceDue;
    /** {@link #fenceDue} when the current burst began (see {@link #burstStart}). */
    private boolean dueBefore;

    // ---- the walkers and their sinks (lock holder only)
    private final BufVec vec = new BufVec();
    private final Heads heads = new Heads();
    private final SplitEnqueue enq = new SplitEnqueue(this, vec, header, heads);
    private final SplitDequeue deq = new SplitDequeue(this, vec, header);
    private final PackedEnqueue penq = new PackedEnqueue(this, vec, header, heads);
    private final PackedDequeue pdeq = new PackedDequeue(this, vec, header);

    // ---- asynchronous copies (lock holder only)
    private final CopyTracker tracker;
    private final Retire retire = new Retire();
    private final CpuCopySink cpuSink = new CpuCopySink(retire);
    private final AsyncCopySink asyncSink;
    /** Packets of an asynchronous dequeue burst until the tracker takes them (see SplitDequeue#run). */
    private final PacketBatch stagedAsync = new PacketBatch();
    /** Dequeue: packets whose copies completed, not yet handed to rxqRecv: [stashTail, stashHead). */
    private Packet[] stash = new Packet[2];
    private long stashHead;
    private long stashTail;
    /** Odd while a rebind ({@link #lockExclusive}) holds or waits for the lock; one rebinder at a time. */
    private final java.util.concurrent.atomic.AtomicInteger exclusiveSeq = new java.util.concurrent.atomic.AtomicInteger();

    public Virtqueue(String device, int index) {
        this.device = device;
        this.index = index;
        this.tracker = new CopyTracker(device + " " + ((index & 1) == 0 ? "txq" : "rxq") + index / 2, 2, 2);
        this.asyncSink = new AsyncCopySink(tracker);
    }

    /**
     * Receives used elements (from the CPU sink at once, from the tracker once retired) into the shadow
     * array, and the tracker's retired packets: freed (a batch at a time: {@link #flush} after each
     * collection) or stashed.
     */
    private final class Retire implements CopyTracker.Sink, CopySink.Used {
        private final PacketBatch freed = new PacketBatch();

        void flush() {
            if (!freed.isEmpty()) {
                freed.freeAll();
            }
        }

        @Override
        public void used(int id, int len) {
            if (nUsed == usedId.length) {
                // more elements in flight than the ring has entries: only a guest that posts heads it has
                // not got back yet does that; publish in ring-sized steps instead of overflowing
                flushUsed();
            }
            usedId[nUsed] = id;
            usedLen[nUsed] = len;
            if (packed) {
                usedCount[nUsed] = countFifo[countTail++ & countMask];
            }
            nUsed++;
        }

        @Override
        public void packet(Packet p) {
            if ((index & 1) == 0) {
                if (freed.isFull()) {
                    freed.freeAll();
                }
                freed.add(p); // enqueue: the packet's bytes are in the guest now
            } else {
                stash[(int) (stashHead++ & (stash.length - 1))] = p;
            }
        }
    }

    public int index() {
        return index;
    }

    // =====================================================================================
    // control path (caller holds the access lock)

    public void lock() {
        access.lock();
    }

    public void unlock() {
        access.unlock();
    }

    /** Data path: takes the access lock if nobody holds it. */
    public boolean tryLock() {
        return access.tryLock();
    }

    /**
     * Transmit path: takes the access lock if nobody holds it, or waits for it while the asynchronous copy
     * configuration holds it ({@link #lockExclusive}: a short drain), so that a rebind loses no packet.
     */
    public boolean lockForSend() {
        for (;;) {
            int before = exclusiveSeq.get();
            if (access.tryLock()) {
                return true;
            }
            int after = exclusiveSeq.get();
            if ((after & 1) != 0) {
                access.lock(); // a rebind holds the queue: wait for its short drain
                return true;
            }
            if (before == after) {
                return false; // another control step holds the queue: drop, as DPDK does
            }
            // a rebind started and ended during the attempt: try again
        }
    }

    /** Takes the access lock for an asynchronous copy reconfiguration (transmitters wait rather than drop). */
    public void lockExclusive() {
        if (!access.isHeldByCurrentThread()) {
            exclusiveSeq.incrementAndGet(); // odd before lock(): a transmitter that finds the lock taken waits
        }
        access.lock();
    }

    public void unlockExclusive() {
        boolean last = access.getHoldCount() == 1;
        access.unlock();
        if (last) {
            exclusiveSeq.incrementAndGet(); // even after the unlock: see lockForSend
        }
    }

    /** The queue's copy tracker (bound to a DMA channel by the binder, or not). */
    public CopyTracker tracker() {
        return tracker;
    }

    /**
     * Completes every asynchronous copy in flight and publishes the used elements (lock held). Returns
     * false when the copies did not complete within {@code timeoutNanos}: their memory must stay mapped.
     */
    public boolean drainAsync(long timeoutNanos) {
        if (tracker.inFlight() == 0) {
            return true;
        }
        try {
            fenceNow(); // a late fault of this thread's earlier guest accesses, not inside the retiring frees
        } catch (RuntimeException | InternalError e) {
            markBroken("unexpected " + e + " before draining copies");
        }
        boolean ok;
        for (;;) {
            try {
                ok = tracker.drain(retire, timeoutNanos);
                break;
            } catch (RuntimeException | InternalError e) {
                // a copy redone by the CPU faulted (truncated memory): the tracker stays consistent and that
                // copy is not tried again, so the drain goes on
                markBroken("unexpected " + e + " retiring copies");
            }
        }
        retire.flush();
        try {
            flushUsed();
            fenceDue = true; // the CPU may have redone copies
            faultFence();
        } catch (RuntimeException | InternalError e) {
            markBroken("unexpected " + e + " publishing used elements");
        }
        if (!ok) {
            LOG.severe(String.format("vHost device '%s' queue %d: %d DMA copies on %s did not complete (no"
                    + " progress for %d ms, or %d ms in all)", device, index, tracker.dmaInFlight(),
                    tracker.channel(), io.pvio.vhost.async.CopyTracker.STALL_NANOS / 1_000_000,
                    timeoutNanos / 1_000_000));
        }
        return ok;
    }

    private void drainAsync() {
        drainAsync(io.pvio.vhost.async.AsyncBinder.drainTimeoutNanos());
    }

    /** True when no copy is in flight (the guest memory may be unmapped). */
    public boolean asyncIdle() {
        return tracker.dmaInFlight() == 0;
    }

    private void held() {
        if (!access.isHeldByCurrentThread()) {
            throw new IllegalStateException("virtqueue " + index + " configured without its access lock");
        }
    }

    /**
     * SET_VRING_NUM; {@code num} is in 1..{@link #MAX_SIZE} and, for a split ring, a power of two (checked by
     * the caller; a packed ring may have any size, VIRTIO 1.1 2.7).
     */
    public void setNum(int num) {
        held();
        drainAsync();
        tracker.resize(num, Math.max(64, 4 * num));
        if (stashHead == stashTail) {
            stash = new Packet[tracker.packetCapacity()];
            stashHead = stashTail = 0;
        } else if (stash.length < tracker.packetCapacity()) {
            Packet[] n = new Packet[tracker.packetCapacity()];
            int k = 0;
            for (long i = stashTail; i < stashHead; i++) {
                n[k++] = stash[(int) (i & (stash.length - 1))];
            }
            stash = n;
            stashTail = 0;
            stashHead = k;
        }
        size = num;
        mask = num - 1;
        usedId = new int[num];
        usedLen = new int[num];
        usedCount = new int[num];
        // the FIFO holds at most inFlightDescs (<= num) elements: each spans at least one ring position
        countFifo = new int[num == 1 ? 1 : Integer.highestOneBit(num - 1) << 1];
        countMask = countFifo.length - 1;
        countHead = countTail = 0;
        inFlightDescs = 0;
        heads.resize(num);
        refresh();
    }

    public int size() {
        return size;
    }

    /** SET_VRING_ADDR (front-end virtual addresses), used ring not logged. */
    public void setAddr(long desc, long used, long avail) {
        setAddr(desc, used, avail, -1);
    }

    /**
     * SET_VRING_ADDR; {@code logGuestAddr}: the used ring's guest physical address for the dirty log
     * (VHOST_VRING_F_LOG), or -1.
     */
    public void setAddr(long desc, long used, long avail, long logGuestAddr) {
        held();
        logUsed = logGuestAddr;
        descUva = desc;
        usedUva = used;
        availUva = avail;
        addrSet = true;
        refresh();
    }

    /** SET_VRING_BASE: split, the next avail index; packed, the next position | its wrap counter &lt;&lt; 15. */
    public void setBase(int base) {
        held();
        drainAsync();
        if (packed) {
            lastAvail = PackedRing.eventOff(base);
            availWrap = PackedRing.eventWrap(base);
            usedWrap = availWrap;
        } else {
            lastAvail = base & 0xffff;
            availSeen = lastAvail;
        }
        lastUsed = lastAvail;
        refresh();
    }

    /** SET_VRING_KICK: the ring starts (kick may be null for a polling front end). Clears a broken state. */
    public void start(EventFd newKick) {
        held();
        if (kick != null) {
            kick.close();
        }
        kick = newKick;
        started = true;
        broken = null;
        refresh();
    }

    /**
     * GET_VRING_BASE: stops the ring and returns the next avail index to process (packed: the next position
     * | its wrap counter &lt;&lt; 15; every used descriptor is written by then).
     */
    public int stop() {
        held();
        int inFlight = tracker.inFlight();
        if (inFlight > 0 && log != null) {
            LOG.info(String.format("vHost device '%s' queue %d: GET_VRING_BASE completes and logs the copies of"
                    + " %d packet(s) in flight first", device, index, inFlight));
        }
        drainAsync();
        flushUsed();
        started = false;
        if (kick != null) {
            kick.close();
            kick = null;
        }
        broken = null;
        refresh();
        return packed ? PackedRing.offWrap(lastAvail, availWrap) : lastAvail;
    }

    /** SET_VRING_CALL (null: no notifications). */
    public void setCall(EventFd newCall) {
        held();
        if (call != null) {
            call.close();
        }
        call = newCall;
    }

    /** SET_VRING_ENABLE. Returns true when the state changed. */
    public boolean setEnabled(boolean on) {
        held();
        boolean changed = enabled != on;
        enabled = on;
        refresh();
        return changed;
    }

    public boolean enabled() {
        return enabled;
    }

    public boolean started() {
        return started;
    }

    /** A new memory table (the old one is unmapped by the caller after releasing every lock). */
    public void setMemory(GuestMemory m) {
        held();
        drainAsync(); // copies into the old table are retired (and logged) against the old table
        mem = m;
        vec.setMemory(m);
        refresh();
    }

    /** The negotiated features. */
    public void setFeatures(long features) {
        held();
        drainAsync();
        mrg = VirtioFeatures.has(features, VirtioFeatures.NET_F_MRG_RXBUF);
        eventIdx = VirtioFeatures.has(features, VirtioFeatures.RING_F_EVENT_IDX);
        indirect = VirtioFeatures.has(features, VirtioFeatures.RING_F_INDIRECT_DESC);
        packed = VirtioFeatures.has(features, VirtioFeatures.F_RING_PACKED);
        header.setFeatures(features);
        logAll = VirtioFeatures.has(features, VirtioFeatures.F_LOG_ALL);
        updateLog();
        refresh();
    }

    /** The device's dirty page log (SET_LOG_BASE), or null; marked while VHOST_F_LOG_ALL is negotiated. */
    public void setLog(DirtyLog l) {
        held();
        dirtyLog = l;
        updateLog();
    }

    /** True while writes into guest memory are marked in a log. */
    public boolean logging() {
        return log != null;
    }

    private void updateLog() {
        log = logAll ? dirtyLog : null;
        cpuSink.setLog(log);
        tracker.setWritten(log != null && (index & 1) == 0 ? logCopy : null);
    }

    /** A tracker's copy into guest memory is in place (native address: mapped in {@link #mem}). */
    private void loggedAddress(long dst, int len) {
        DirtyLog l = log;
        if (l != null) {
            l.mark(mem.gpaOfAddress(dst), len); // -1 (not guest memory) is counted as outside the log
        }
    }

    /** Back to the state of a fresh connection (counters are kept). */
    public void reset() {
        held();
        drainAsync();
        ready = false;
        size = 0;
        mask = 0;
        addrSet = false;
        started = false;
        enabled = false;
        if (kick != null) {
            kick.close();
            kick = null;
        }
        if (call != null) {
            call.close();
            call = null;
        }
        mem = null;
        desc = avail = used = null;
        lastAvail = lastUsed = 0;
        availSeen = 0;
        availWrap = usedWrap = true;
        inFlightDescs = 0;
        countHead = countTail = 0;
        packed = false;
        nUsed = 0;
        broken = null;
        shownAvail = 0;
        logAll = false;
        dirtyLog = null;
        logUsed = -1;
        updateLog();
    }

    /** True when the data path may use the ring. */
    public boolean ready() {
        return ready;
    }

    /** Recomputes readiness and the ring views. */
    private void refresh() {
        drainAsync(); // before the views change: in-flight copies complete into what they were made for
        ready = false;
        desc = avail = used = null;
        if (size == 0 || !addrSet || !started || !enabled || mem == null || broken != null) {
            return;
        }
        if (!packed && Integer.bitCount(size) != 1) { // features renegotiated without packed after SET_VRING_NUM
            markBroken("split ring of size " + size + " (not a power of two)");
            return;
        }
        int rd = mem.regionOfUva(descUva);
        int ra = mem.regionOfUva(availUva);
        int ru = mem.regionOfUva(usedUva);
        // packed: the descriptor ring, the driver (avail) and device (used) event suppression structures
        int descBytes = packed ? PackedRing.descRingBytes(size) : SplitRing.descTableBytes(size);
        int availBytes = packed ? PackedRing.EVENT_SIZE : SplitRing.availBytes(size);
        int usedBytes = packed ? PackedRing.EVENT_SIZE : SplitRing.usedBytes(size);
        if (rd < 0 || ra < 0 || ru < 0 || mem.uvaRoom(rd, descUva) < descBytes
                || mem.uvaRoom(ra, availUva) < availBytes || mem.uvaRoom(ru, usedUva) < usedBytes) {
            markBroken("ring addresses outside guest memory");
            return;
        }
        int availAlign = packed ? PackedRing.EVENT_ALIGN : SplitRing.AVAIL_ALIGN;
        int usedAlign = packed ? PackedRing.EVENT_ALIGN : SplitRing.USED_ALIGN;
        if ((descUva & (SplitRing.DESC_ALIGN - 1)) != 0 || (availUva & (availAlign - 1)) != 0
                || (usedUva & (usedAlign - 1)) != 0) {
            markBroken("misaligned ring addresses");
            return;
        }
        if (packed && lastAvail >= size) {
            markBroken("ring base position " + lastAvail + " beyond the ring size " + size);
            return;
        }
        desc = mem.view(rd);
        descOff = mem.uvaOffset(rd, descUva);
        descGpa = mem.gpaAt(rd, descOff);
        avail = mem.view(ra);
        availOff = mem.uvaOffset(ra, availUva);
        used = mem.view(ru);
        usedOff = mem.uvaOffset(ru, usedUva);
        nUsed = 0;
        if (packed) {
            inFlightDescs = 0;
            countHead = countTail = 0;
            // we poll: no kicks needed (DPDK's vhost_enable_notify_packed(0))
            GuestWrites.eventFlags(used, usedOff + PackedRing.EVENT_FLAGS, PackedRing.EVENT_FLAG_DISABLE);
            if (log != null) {
                GuestWrites.ringWritten(log, mem.gpaAt(ru, usedOff) + PackedRing.EVENT_FLAGS, 2);
            }
            ready = true;
            return;
        }
        int usedIdx = Le.getShort(used, usedOff + SplitRing.USED_IDX) & 0xffff;
        if (usedIdx != lastUsed) {
            LOG.warning(String.format("vHost device '%s' queue %d: last_used_idx (%d) and used->idx (%d) mismatch;"
                    + " some packets may be resent for Tx and dropped for Rx", device, index, lastUsed, usedIdx));
            lastUsed = usedIdx;
            lastAvail = usedIdx;
            availSeen = usedIdx;
        }
        if (!eventIdx) {
            GuestWrites.usedFlags(used, usedOff + SplitRing.USED_FLAGS, USED_F_NO_NOTIFY); // we poll: no kicks needed
            if (logUsed >= 0) {
                GuestWrites.ringWritten(log, logUsed + SplitRing.USED_FLAGS, 2);
            }
        }
        nUsed = 0;
        ready = true;
    }

    /**
     * {@link GuestMemory#faultFence()} of the queue's table, at the end of every burst (lock held): a late
     * fault of this queue surfaces here. Free after a poll that found nothing (it read avail->idx only, in a
     * way that cannot leave a fault pending) and on sealed memory.
     */
    public void faultFence() {
        if (fenceDue) {
            fenceDue = false;
            fenceNow();
        }
    }

    /** The fence inside a burst, before a pool operation or a hand-over (the burst's end fence stays due). */
    void fenceNow() {
        GuestMemory m = mem;
        if (m != null && !m.sealed()) {
            fences++;
            GuestMemory.deliverPendingFault();
        }
    }

    /** Fences this queue ran on unsealed memory (lock holder's count, for tests). */
    private int fences;

    int fences() {
        return fences;
    }

    /** True when the next {@link #faultFence()} fences (for tests). */
    boolean fenceDue() {
        return fenceDue;
    }

    /**
     * Split rings: the chains the guest had made available at the last dequeue burst that the queue has not
     * taken (DPDK's rte_vhost_rx_queue_count, without a read of the guest's index); -1 for packed rings,
     * whose count is not kept. The polling PMD's, after its receive.
     */
    public int rxRemaining() {
        return packed ? -1 : (availSeen - lastAvail) & 0xffff;
    }

    /** A walker's burst starts: the fence is due, unless the burst turns out idle ({@link #burstIdle}). */
    void burstStart() {
        dueBefore = fenceDue;
        fenceDue = true;
    }

    /** The burst read avail->idx (through {@link #availIndex}) and nothing else: it owes no fence. */
    void burstIdle() {
        fenceDue = dueBefore;
    }

    /** Marks the queue broken after an unexpected error in its data path (lock holder). */
    public void markBrokenBy(Throwable e) {
        markBroken("unexpected " + e);
    }

    /** Marks the queue broken: logged once per incident and counted. Returns -1 for convenience. */
    long markBroken(String reason) {
        if (broken == null) {
            broken = reason;
            add(C_BROKEN, 1);
            LOG.warning(String.format("vHost device '%s' queue %d is broken: %s; the queue is stopped until the"
                    + " front end restarts it", device, index, reason));
        }
        ready = false;
        return -1;
    }

    /** Why the queue is broken, or null. */
    public String broken() {
        return broken;
    }

    public long counter(int c) {
        return counters.get(c);
    }

    /**
     * Switches the timing of copy phases for every queue: a burst's copy phase (descriptor walk, headers,
     * payload copies on the CPU or their submission to a DMA channel) is added to {@link #C_COPY_NS}.
     */
    public static void setCopyTiming(boolean on) {
        copyTiming = on;
    }

    public static boolean copyTiming() {
        return copyTiming;
    }

    void add(int c, long d) {
        counters.add(c, d);
    }

    /**
     * After {@link #enqueue} or {@link #enqueueAsync}: the packets of the batch from this index on were not
     * tried, the guest's ring having no room (OVS's vhost send retries them); those between the delivered
     * ones and this index were skipped (offloads refused, too large) and will not fit on a retry either.
     */
    public int enqueueStop() {
        return enqueueStop;
    }

    /** Counts {@code n} packets dropped by the caller (tx side: ring full, no carrier). Lock holder only. */
    public void countDropped(int n) {
        add(C_DROPPED, n);
    }

    /** One line for appctl (racy snapshot of the ring indexes). */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append(enabled ? "enabled" : "disabled").append(", ").append(started ? "started" : "stopped");
        sb.append(", size ").append(size);
        if (packed) {
            sb.append(", packed, last_avail ").append(lastAvail).append(availWrap ? " wrap 1" : " wrap 0");
            sb.append(", last_used ").append(lastUsed).append(usedWrap ? " wrap 1" : " wrap 0");
        } else {
            sb.append(", avail_idx ").append(shownAvail).append(", last_avail_idx ").append(lastAvail);
            sb.append(", used_idx ").append(lastUsed);
        }
        sb.append(", call ").append(call != null ? "fd" : "none");
        String b = broken;
        if (b != null) {
            sb.append(", BROKEN: ").append(b);
        }
        return sb.toString();
    }

    // =====================================================================================
    // data path (caller holds the access lock)

    /**
     * Host to guest: copies the packets of {@code batch} into the guest's receive buffers, in order, and
     * publishes them. Stops at the first packet that finds no room. The packets stay the caller's.
     *
     * @return number of leading packets of the batch delivered (the rest were not)
     */
    public int enqueue(PacketBatch batch) {
        int sent = enqueueCopies(batch);
        flushUsed();
        return sent;
    }

    /**
     * The copy half of {@link #enqueue}: reserves guest buffers, writes headers and payloads on the CPU,
     * and collects the used elements without publishing them ({@link #flushUsed()} does). Unflushed elements
     * accumulate across calls.
     *
     * @return number of leading packets of the batch whose copies were submitted
     */
    public int enqueueCopies(PacketBatch batch) {
        return enqueueCopies(batch, cpuSink);
    }

    /**
     * Host to guest through the tracker (bound to a DMA channel or not): submits the copies of the packets
     * of {@code batch}, rings the doorbell once, then retires what has completed ({@link #completeAsync}).
     * The first {@code n} packets of the batch (n returned) now belong to the queue until their copies
     * complete; the rest stay the caller's (to free and count as dropped). n is also the growth of the
     * tracker's {@link CopyTracker#begun()}, which still holds when this method throws: a late fault of the
     * burst's guest accesses may surface as the walk or this method returns.
     */
    public int enqueueAsync(PacketBatch batch) {
        // the copy phase includes the doorbell: a CPU "DMA" channel copies there
        long t0 = copyTiming ? System.nanoTime() : 0;
        fenceDue = true;
        int sent = packed ? penq.run(batch, asyncSink) : enq.run(batch, asyncSink);
        try {
            tracker.submit();
        } catch (RuntimeException | InternalError e) { // the channel failed; the packets stay the tracker's
            markBroken("unexpected " + e + " from the DMA channel's doorbell");
        }
        if (t0 != 0) {
            add(C_COPY_NS, System.nanoTime() - t0);
        }
        try {
            completeAsync();
        } catch (RuntimeException | InternalError e) { // the sent packets are the tracker's all the same
            markBroken("unexpected " + e + " retiring copies");
        }
        return sent;
    }

    /**
     * Retires, in order, the packets whose copies have completed: publishes their used elements (one
     * release store of used->idx, a call if the guest wants one) and frees (enqueue) or stashes (dequeue)
     * their packets. Cheap when nothing is in flight. Lock holder only; works on a stopped or broken ring
     * as long as its used ring is mapped.
     *
     * @return packets still in flight
     */
    public int completeAsync() {
        if (tracker.inFlight() == 0) {
            return 0;
        }
        if (fenceDue) {
            // a late fault of the burst's guest accesses (enqueueAsync's walk) surfaces here: retiring frees
            // packets, and a fault raised inside the pool's bookkeeping or between the tracker and the pool
            // would lose them (issue 15)
            fenceNow();
        }
        fenceDue = true; // retiring may redo failed copies on the CPU
        if (tracker.complete(retire) > 0) {
            retire.flush();
            flushUsed();
        }
        return tracker.inFlight();
    }

    private int enqueueCopies(PacketBatch batch, CopySink sink) {
        fenceDue = true;
        if (!copyTiming) {
            return packed ? penq.run(batch, sink) : enq.run(batch, sink);
        }
        long t0 = System.nanoTime();
        int sent = packed ? penq.run(batch, sink) : enq.run(batch, sink);
        add(C_COPY_NS, System.nanoTime() - t0);
        return sent;
    }

    /**
     * Guest to host: takes up to {@code batch.room()} packets from the guest's transmit ring into packets
     * of {@code pool} (chained when larger than one buffer), without the virtio-net header.
     *
     * @return packets added to the batch (now the caller's)
     */
    public int dequeue(PacketPool pool, PacketBatch batch) {
        int got = dequeueCopies(pool, batch);
        flushUsed();
        return got;
    }

    /**
     * The copy half of {@link #dequeue}: the used elements are collected but not published until
     * {@link #flushUsed()}.
     */
    public int dequeueCopies(PacketPool pool, PacketBatch batch) {
        if (!ready) {
            return 0;
        }
        int before = batch.size();
        long t0 = copyTiming ? System.nanoTime() : 0;
        if (packed) {
            pdeq.run(pool, batch.room(), cpuSink, batch);
        } else {
            deq.run(pool, batch.room(), cpuSink, batch);
        }
        int got = batch.size() - before;
        if (t0 != 0 && got > 0) {
            add(C_COPY_NS, System.nanoTime() - t0); // empty polls are idle time, not copies
        }
        return got;
    }

    /**
     * Guest to host through the tracker: hands over (into {@code batch}, in ring order) the packets whose
     * copies have completed, then submits the copies of further packets (one doorbell) and hands over those
     * done already (CPU copies). The used elements of a packet are published only once its copy is
     * complete: the guest may reuse its buffer then. Completed packets that do not fit into the batch wait
     * in the queue for the next call (also when the ring has stopped meanwhile).
     *
     * @return packets added to the batch (now the caller's)
     */
    public int dequeueAsync(PacketPool pool, PacketBatch batch) {
        int got = takeStash(batch);
        if (tracker.inFlight() > 0) {
            fenceDue = true; // retiring may redo failed copies on the CPU
        }
        if (tracker.inFlight() > 0 && tracker.complete(retire) > 0) {
            got += takeStash(batch);
        }
        if (ready && batch.room() > 0) {
            int stashed = (int) (stashHead - stashTail);
            int room = Math.min(tracker.packetCapacity(), stash.length - stashed) - tracker.inFlight();
            long t0 = room > 0 && copyTiming ? System.nanoTime() : 0;
            int max = Math.min(room, PacketBatch.MAX);
            if (room > 0 && (packed ? pdeq.runAsync(pool, max, asyncSink, stagedAsync)
                    : deq.runAsync(pool, max, asyncSink, stagedAsync)) > 0) {
                tracker.submit(); // part of the copy phase: a CPU "DMA" channel copies here
                if (t0 != 0) {
                    add(C_COPY_NS, System.nanoTime() - t0);
                }
                if (tracker.complete(retire) > 0) {
                    got += takeStash(batch);
                }
            }
        }
        if (nUsed > 0) {
            flushUsed();
        }
        return got;
    }

    /** Completed dequeued packets waiting for rxqRecv (racy read for the control path). */
    public int stashed() {
        return (int) (stashHead - stashTail);
    }

    /** Frees the completed packets nobody took (port closing). Lock holder only. */
    public void freeStash() {
        while (stashTail != stashHead) {
            int i = (int) (stashTail++ & (stash.length - 1));
            Packet p = stash[i];
            stash[i] = null;
            p.free();
        }
    }

    private int takeStash(PacketBatch batch) {
        int n = 0;
        while (stashTail != stashHead && batch.room() > 0) {
            int i = (int) (stashTail++ & (stash.length - 1));
            batch.add(stash[i]);
            stash[i] = null;
            n++;
        }
        return n;
    }

    /** avail->idx (acquire), or -1 (queue marked broken) when it ran more than a ring ahead. */
    int availIndex() {
        int idx;
        if (mem.sealed()) {
            idx = (short) Le.U16.getAcquire(avail, availOff + SplitRing.AVAIL_IDX) & 0xffff;
        } else {
            // a plain load that faults would leave a fault pending and an undefined value: read over a value
            // the index cannot have (more than any ring ahead of lastAvail). That value back: the read faulted
            // (the fence raises the fault here) or the index is out of range (the queue breaks below)
            int impossible = (lastAvail + 0x8001) & 0xffff;
            idx = GuestMemory.readU16(avail, availOff + SplitRing.AVAIL_IDX, idxProbe, impossible);
            if (idx == impossible) {
                fenceNow();
            }
        }
        shownAvail = idx;
        if (((idx - lastAvail) & 0xffff) > size) {
            markBroken("avail index " + idx + " is more than " + size + " entries ahead of " + lastAvail);
            return -1;
        }
        return idx;
    }

    /** Counts a guest packet dropped for its header; logs the first of the queue (later ones at debug level). */
    void badHeader(String why) {
        add(C_BAD_HEADERS, 1);
        String msg = String.format("vHost device '%s' queue %d: dropped a packet with a bad virtio-net header: %s",
                device, index, why);
        if (counter(C_BAD_HEADERS) == 1) {
            LOG.warning(msg + " (further ones are counted, logged at debug level)");
        } else {
            LOG.fine(msg);
        }
    }


    /**
     * Publishes the collected used elements: writes them, release-stores used->idx, then signals the
     * call eventfd if the guest asked for it (VRING_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX).
     * Asynchronous copies reach it only once retired, in order ({@link #completeAsync}).
     */
    public void flushUsed() {
        if (nUsed == 0 || used == null) {
            nUsed = 0;
            return;
        }
        fenceDue = true;
        if (packed) {
            flushUsedPacked();
            return;
        }
        for (int i = 0; i < nUsed; i++) {
            GuestWrites.usedElem(used, usedOff + SplitRing.usedElem((lastUsed + i) & mask), usedId[i], usedLen[i]);
        }
        int old = lastUsed;
        lastUsed = (lastUsed + nUsed) & 0xffff;
        nUsed = 0;
        GuestWrites.usedIdx(used, usedOff + SplitRing.USED_IDX, lastUsed); // release: after the elements
        if (log != null && logUsed >= 0) {
            logUsedElements(old, (lastUsed - old) & 0xffff);
        }
        add(C_USED_UPDATES, 1);
        EventFd c = call;
        if (c == null) {
            return;
        }
        VarHandle.fullFence(); // used->idx store before the flags/used_event load
        boolean want;
        if (eventIdx) {
            int ev = Le.getShort(avail, availOff + SplitRing.usedEvent(size)) & 0xffff;
            want = ((lastUsed - ev - 1) & 0xffff) < ((lastUsed - old) & 0xffff);
        } else {
            want = (Le.getShort(avail, availOff + SplitRing.AVAIL_FLAGS) & AVAIL_F_NO_INTERRUPT) == 0;
        }
        if (want) {
            if (c.signal()) {
                add(C_NOTIFICATIONS, 1);
            } else {
                callFailed(c);
            }
        }
    }

    /**
     * Packed: marks the descriptors written back at positions [from, to) (wrapping when {@code wrapped}) at the
     * descriptor ring's guest physical address: packed rings have no used ring, and QEMU's log_guest_addr
     * names the device event area, so the mark goes where the bytes are.
     */
    private void logPackedUsed(int from, int to, boolean wrapped) {
        if (!wrapped) {
            GuestWrites.ringWritten(log, descGpa + PackedRing.desc(from), (to - from) * PackedRing.DESC_SIZE);
            return;
        }
        GuestWrites.ringWritten(log, descGpa + PackedRing.desc(from), (size - from) * PackedRing.DESC_SIZE);
        GuestWrites.ringWritten(log, descGpa, to * PackedRing.DESC_SIZE);
    }

    /** Marks used elements [from, from+n) (ring positions, wrapping) and used->idx, once they are written. */
    private void logUsedElements(int from, int n) {
        int first = from & mask;
        int k = Math.min(n, size - first);
        GuestWrites.ringWritten(log, logUsed + SplitRing.usedElem(first), k * SplitRing.USED_ELEM_SIZE);
        if (n > k) {
            GuestWrites.ringWritten(log, logUsed + SplitRing.usedElem(0), (n - k) * SplitRing.USED_ELEM_SIZE);
        }
        GuestWrites.ringWritten(log, logUsed + SplitRing.USED_IDX, 2);
    }

    /**
     * Packed {@link #flushUsed}: one used descriptor per element at the used position (id, len, then flags
     * AVAIL = USED = the used wrap counter, WRITE when the device wrote into it), moving on by the element's
     * positions; the first descriptor's flags last, with release, so the guest sees the elements together
     * (DPDK's vhost_flush_enqueue_shadow_packed). Then a call if the driver event suppression asks for one.
     */
    private void flushUsedPacked() {
        ByteBuffer d = desc;
        int first = descOff + PackedRing.desc(lastUsed);
        int old = lastUsed;
        int pos = lastUsed;
        boolean w = usedWrap;
        int write = (index & 1) == 0 ? PackedRing.DESC_F_WRITE : 0;
        int firstFlags = 0;
        for (int i = 0; i < nUsed; i++) {
            int o = descOff + PackedRing.desc(pos);
            GuestWrites.packedUsed(d, o, usedId[i], usedLen[i]);
            int f = PackedRing.usedFlags(w) | write;
            if (i == 0) {
                firstFlags = f;
            } else {
                GuestWrites.descFlags(d, o + PackedRing.DESC_FLAGS, f);
            }
            pos += usedCount[i];
            inFlightDescs -= usedCount[i];
            if (pos >= size) {
                pos -= size;
                w = !w;
            }
        }
        GuestWrites.descFlagsRelease(d, first + PackedRing.DESC_FLAGS, firstFlags);
        if (log != null) {
            logPackedUsed(old, pos, pos < old || (pos == old && w != usedWrap));
        }
        lastUsed = pos;
        usedWrap = w;
        nUsed = 0;
        add(C_USED_UPDATES, 1);
        EventFd c = call;
        if (c == null) {
            return;
        }
        VarHandle.fullFence(); // the flags store before the driver event suppression load
        int flags = Le.getShort(avail, availOff + PackedRing.EVENT_FLAGS) & 0xffff;
        boolean want;
        if (eventIdx) {
            int offWrap = Le.getShort(avail, availOff + PackedRing.EVENT_OFF_WRAP) & 0xffff;
            want = PackedRing.needEvent(flags, offWrap, old, lastUsed, usedWrap, size);
        } else {
            want = (flags & PackedRing.EVENT_FLAGS_MASK) != PackedRing.EVENT_FLAG_DISABLE;
        }
        if (want) {
            if (c.signal()) {
                add(C_NOTIFICATIONS, 1);
            } else {
                callFailed(c);
            }
        }
    }

    /**
     * The flags of packed ring position {@code pos} (acquire), by a plain load: only inside a burst that
     * fences before anything it did is published or handed over (a load that faults leaves an undefined value
     * and its fault pending, raised by that fence). Costs a load, where {@link #descFlagsAcquire} costs a
     * copy through a scratch buffer.
     */
    int descFlagsInBurst(int pos) {
        return (short) Le.U16.getAcquire(desc, descOff + PackedRing.desc(pos) + PackedRing.DESC_FLAGS) & 0xffff;
    }

    /**
     * Packed: the flags of ring position {@code pos} (acquire: the buffer's descriptors are read after). On
     * unsealed memory read as {@link #availIndex} reads avail->idx, over {@code mark} (flags that say "not
     * available"): only that value back needs a fence to tell a fault, so an idle poll owes none.
     */
    int descFlagsAcquire(int pos, int mark) {
        int off = descOff + PackedRing.desc(pos) + PackedRing.DESC_FLAGS;
        if (mem.sealed()) {
            return (short) Le.U16.getAcquire(desc, off) & 0xffff;
        }
        int f = GuestMemory.readU16(desc, off, idxProbe, mark);
        if (f == mark) {
            fenceNow();
        }
        return f;
    }

    /** Packed: the next used element handed to a sink spans {@code n} ring positions. */
    void pushUsedCount(int n) {
        countFifo[countHead++ & countMask] = n;
    }

    /** Packed: the state of the position FIFO, for {@link #resetUsedCounts}. */
    long usedCountMark() {
        return (long) countHead << 32 | (countTail & 0xffffffffL);
    }

    /** Packed: back to a {@link #usedCountMark} (elements pushed since are forgotten). */
    void resetUsedCounts(long mark) {
        countHead = (int) (mark >>> 32);
        countTail = (int) mark;
    }

    private long callLogAt;
    private long callFailedLogged;

    /** Counts a call that could not be signalled; logs at most once per {@link #CALL_LOG_INTERVAL_NS}. */
    private void callFailed(EventFd c) {
        add(C_CALL_FAILED, 1);
        long now = System.nanoTime();
        if (callFailedLogged == 0 || now - callLogAt >= CALL_LOG_INTERVAL_NS) {
            long n = counter(C_CALL_FAILED);
            LOG.warning(String.format("vHost device '%s' queue %d: cannot signal the call fd %d (%s); %d call(s)"
                    + " failed so far, the guest may miss interrupts", device, index, c.fd(),
                    c.lastError() == 11 ? "counter full" : "errno " + c.lastError(), n));
            callLogAt = now;
            callFailedLogged = n;
        }
    }
}
