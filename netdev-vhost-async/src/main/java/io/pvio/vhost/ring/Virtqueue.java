package io.pvio.vhost.ring;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import io.pvio.posix.EventFd;
import io.pvio.vhost.async.CopyTracker;
import io.pvio.vhostuser.SplitRing;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Logger;

/**
 * One virtio 1.x split virtqueue of a vhost-user device, as the back end sees it.
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
 * <h2>Copies and the used ring</h2>
 * Payload copies go through the queue's {@link Copier}, one (src, dst, length) step each; used elements
 * are collected in a shadow array and published by {@link #flushUsed()} (release store of used->idx,
 * then a call if the guest wants one), a step separate from the copies.
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
 * memory is marked in the {@link DirtyLog} right after it: headers and payloads written by the CPU where
 * they are written, DMA copies when the tracker collects their completion ({@link CopyTracker.Written}),
 * used-ring elements, index and flags at the ring's log address (SET_VRING_ADDR with VHOST_VRING_F_LOG).
 */
public final class Virtqueue {
    /** Largest ring size accepted (virtio's limit). */
    public static final int MAX_SIZE = 32768;
    /** Most buffers one packet may span (descriptors of all chains it uses). */
    static final int VEC_MAX = 2048;
    /** Largest indirect table accepted, in descriptors. */
    static final int MAX_INDIRECT = 1024;
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
    private static final VarHandle U16 = MethodHandles.byteBufferViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle COUNTER = MethodHandles.arrayElementVarHandle(long[].class);
    /** Eight bytes as they are (one order for both sides), for the first store of a deferred copy. */
    private static final VarHandle BYTES8 = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

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

    // virtio-net header (struct virtio_net_hdr)
    static final int HDR_F_NEEDS_CSUM = 1;
    static final int HDR_F_DATA_VALID = 2;
    static final int HDR_F_RSC_INFO = 4;
    static final int HDR_GSO_NONE = 0;
    static final int HDR_GSO_TCPV4 = 1;
    static final int HDR_GSO_TCPV6 = 4;
    static final int HDR_GSO_ECN = 0x80;

    /** other_config:pmd-perf-metrics: time each burst's copy phase (two clock reads per burst). */
    private static volatile boolean copyTiming;

    private final String device;
    private final int index;
    private final ReentrantLock access = new ReentrantLock();
    private final long[] counters = new long[N_COUNTERS];

    // ---- configuration: written by the control thread with the access lock held
    private int size;
    private int mask;
    private boolean addrSet;
    private long descUva;
    private long availUva;
    private long usedUva;
    private boolean started;
    private boolean enabled;
    private EventFd kick;
    private EventFd call;
    private GuestMemory mem;
    private Copier copier = CpuCopier.INSTANCE;
    private boolean mrg;
    private boolean eventIdx;
    private boolean indirect;
    private int hdrLen = 12;
    /** Offloads the guest negotiated: it sends them (CSUM, HOST_TSO4/6), it takes them (GUEST_*). */
    private boolean hostCsum;
    private boolean hostTso4;
    private boolean hostTso6;
    private boolean guestCsum;
    private boolean guestTso4;
    private boolean guestTso6;
    /** VHOST_F_LOG_ALL negotiated. */
    private boolean logAll;
    /** The device's dirty page log (SET_LOG_BASE), or null. */
    private DirtyLog dirtyLog;
    /** Guest physical address of the used ring for the log (VHOST_VRING_F_LOG), or -1: not logged. */
    private long logUsed = -1;
    /** Where writes are marked: {@link #dirtyLog} while {@link #logAll}, else null (the data path's test). */
    private DirtyLog log;
    /** Marks the tracker's copies into guest memory (enqueue queues only). */
    private final CopyTracker.Written logCopy = this::loggedAddress;

    // ---- ring state: owned by the lock holder
    private boolean ready;
    private ByteBuffer desc;
    private int descOff;
    private ByteBuffer avail;
    private int availOff;
    private ByteBuffer used;
    private int usedOff;
    private int lastAvail;
    private int lastUsed;
    private volatile String broken;
    /** Copy of used->idx as last published and avail->idx as last seen, for appctl (racy reads). */
    private volatile int shownAvail;

    private int[] usedId = new int[0];
    private int[] usedLen = new int[0];
    private long[] headLen = new long[0];
    private int nUsed;

    private final long[] vecAddr = new long[VEC_MAX];
    private final int[] vecLen = new int[VEC_MAX];
    /** Slice holding the whole buffer and its offset in that slice's view, or -1 when it spans slices. */
    private final int[] vecSlice = new int[VEC_MAX];
    private final int[] vecOff = new int[VEC_MAX];
    private int vecN;
    private int curVec;
    private int curOff;
    private final ByteBuffer hdr = ByteBuffer.allocateDirect(12).order(ByteOrder.LITTLE_ENDIAN);
    /** Slice of the last guest address looked up: buffers of one burst are mostly in one (lock holder only). */
    private int lastRegion;
    /** Slice and view offset of the last {@link #piece} (lock holder only). */
    private int pieceSlice;
    private int pieceOff;

    /** Payload copies of the burst being enqueued, recorded by {@link #deferVec} (lock holder only). */
    private static final int CP_MAX = 128;
    /** Largest payload whose copy is deferred (DPDK's MAX_BATCH_LEN): larger ones are copied in place. */
    static final int MAX_BATCH_COPY = 256;
    private final int[] cpPkt = new int[CP_MAX];
    private final int[] cpSrcOff = new int[CP_MAX];
    private final int[] cpSlice = new int[CP_MAX];
    private final int[] cpDstOff = new int[CP_MAX];
    private final int[] cpLen = new int[CP_MAX];
    private int nCp;

    // ---- asynchronous copies (lock holder only)
    private final CopyTracker tracker;
    private final Retire retire = new Retire();
    private boolean asyncCopy;
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
    }

    /**
     * Receives retired work of the tracker: used elements to the shadow array, packets freed (a batch at a
     * time: {@link #flush} after each collection) or stashed.
     */
    private final class Retire implements CopyTracker.Sink {
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

    /** SET_VRING_NUM; {@code num} is a power of two in 1..{@link #MAX_SIZE} (checked by the caller). */
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
        headLen = new long[num];
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

    /** SET_VRING_BASE. */
    public void setBase(int base) {
        held();
        drainAsync();
        lastAvail = base & 0xffff;
        lastUsed = base & 0xffff;
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

    /** GET_VRING_BASE: stops the ring and returns the next avail index to process. */
    public int stop() {
        held();
        drainAsync();
        flushUsed();
        started = false;
        if (kick != null) {
            kick.close();
            kick = null;
        }
        broken = null;
        refresh();
        return lastAvail;
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
        lastRegion = 0;
        refresh();
    }

    /** The negotiated features. */
    public void setFeatures(long features) {
        held();
        drainAsync();
        mrg = VirtioFeatures.has(features, VirtioFeatures.NET_F_MRG_RXBUF);
        eventIdx = VirtioFeatures.has(features, VirtioFeatures.RING_F_EVENT_IDX);
        indirect = VirtioFeatures.has(features, VirtioFeatures.RING_F_INDIRECT_DESC);
        hdrLen = VirtioFeatures.has(features, VirtioFeatures.F_VERSION_1) || mrg ? 12 : 10;
        hostCsum = VirtioFeatures.has(features, VirtioFeatures.NET_F_CSUM);
        hostTso4 = hostCsum && VirtioFeatures.has(features, VirtioFeatures.NET_F_HOST_TSO4);
        hostTso6 = hostCsum && VirtioFeatures.has(features, VirtioFeatures.NET_F_HOST_TSO6);
        guestCsum = VirtioFeatures.has(features, VirtioFeatures.NET_F_GUEST_CSUM);
        guestTso4 = guestCsum && VirtioFeatures.has(features, VirtioFeatures.NET_F_GUEST_TSO4);
        guestTso6 = guestCsum && VirtioFeatures.has(features, VirtioFeatures.NET_F_GUEST_TSO6);
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
        tracker.setWritten(log != null && (index & 1) == 0 ? logCopy : null);
    }

    /** Marks {@code len} bytes written at {@code off} of slice {@code r}'s view, when logging. */
    private void logged(int r, int off, int len) {
        DirtyLog l = log;
        if (l != null) {
            l.mark(mem.gpaAt(r, off), len);
        }
    }

    /** A tracker's copy into guest memory is in place (native address: mapped in {@link #mem}). */
    private void loggedAddress(long dst, int len) {
        DirtyLog l = log;
        if (l != null) {
            l.mark(mem.gpaOfAddress(dst), len); // -1 (not guest memory) is counted as outside the log
        }
    }

    /** Marks {@code len} bytes at offset {@code off} of the used ring, when logging with a log address. */
    private void loggedUsed(int off, int len) {
        DirtyLog l = log;
        if (l != null && logUsed >= 0) {
            l.mark(logUsed + off, len);
        }
    }

    /** The copier used for payloads from now on. */
    public void setCopier(Copier c) {
        held();
        copier = c;
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
        nUsed = 0;
        nCp = 0;
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
        int rd = mem.regionOfUva(descUva);
        int ra = mem.regionOfUva(availUva);
        int ru = mem.regionOfUva(usedUva);
        if (rd < 0 || ra < 0 || ru < 0 || mem.uvaRoom(rd, descUva) < SplitRing.descTableBytes(size)
                || mem.uvaRoom(ra, availUva) < SplitRing.availBytes(size)
                || mem.uvaRoom(ru, usedUva) < SplitRing.usedBytes(size)) {
            markBroken("ring addresses outside guest memory");
            return;
        }
        if ((descUva & (SplitRing.DESC_ALIGN - 1)) != 0 || (availUva & (SplitRing.AVAIL_ALIGN - 1)) != 0
                || (usedUva & (SplitRing.USED_ALIGN - 1)) != 0) {
            markBroken("misaligned ring addresses");
            return;
        }
        desc = mem.view(rd);
        descOff = mem.uvaOffset(rd, descUva);
        avail = mem.view(ra);
        availOff = mem.uvaOffset(ra, availUva);
        used = mem.view(ru);
        usedOff = mem.uvaOffset(ru, usedUva);
        int usedIdx = used.getShort(usedOff + SplitRing.USED_IDX) & 0xffff;
        if (usedIdx != lastUsed) {
            LOG.warning(String.format("vHost device '%s' queue %d: last_used_idx (%d) and used->idx (%d) mismatch;"
                    + " some packets may be resent for Tx and dropped for Rx", device, index, lastUsed, usedIdx));
            lastUsed = usedIdx;
            lastAvail = usedIdx;
        }
        if (!eventIdx) {
            used.putShort(usedOff + SplitRing.USED_FLAGS, (short) USED_F_NO_NOTIFY); // we poll: no kicks needed
            loggedUsed(SplitRing.USED_FLAGS, 2);
        }
        nUsed = 0;
        ready = true;
    }

    /**
     * Walks and checks the guest's transmit chain at {@code head} (into the vector); returns the frame's
     * length without the virtio-net header, or -1 to stop (the queue is broken when the chain is).
     */
    private long txChain(int head) {
        vecN = 0;
        long total = walkChain(head, false);
        if (total == -2) {
            markBroken("descriptor chain with more than " + VEC_MAX + " buffers");
        }
        if (total < 0) {
            return -1;
        }
        if (total < hdrLen) {
            markBroken("descriptor chain of " + total + " bytes is shorter than the virtio-net header");
            return -1;
        }
        long plen = total - hdrLen;
        if (plen > MAX_PACKET) {
            markBroken("packet of " + plen + " bytes does not fit (at most " + MAX_PACKET + ")");
            return -1;
        }
        return plen;
    }

    /** {@link GuestMemory#faultFence()} of the queue's table: a late fault of this queue surfaces here. */
    public void faultFence() {
        GuestMemory m = mem;
        if (m != null) {
            m.faultFence();
        }
    }

    /** Marks the queue broken after an unexpected error in its data path (lock holder). */
    public void markBrokenBy(Throwable e) {
        markBroken("unexpected " + e);
    }

    /** Marks the queue broken: logged once per incident and counted. Returns -1 for convenience. */
    private long markBroken(String reason) {
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
        return (long) COUNTER.getOpaque(counters, c);
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

    private void add(int c, long d) {
        COUNTER.setOpaque(counters, c, (long) COUNTER.getOpaque(counters, c) + d);
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
        sb.append(", avail_idx ").append(shownAvail).append(", last_avail_idx ").append(lastAvail);
        sb.append(", used_idx ").append(lastUsed);
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
     * The copy half of {@link #enqueue}: reserves guest buffers, writes headers and submits every payload
     * copy to the copier, and collects the used elements without publishing them (an asynchronous copier
     * calls {@link #flushUsed()} once its copies have completed, in order). Unflushed elements accumulate
     * across calls.
     *
     * @return number of leading packets of the batch whose copies were submitted
     */
    public int enqueueCopies(PacketBatch batch) {
        return enqueueCopies(batch, false);
    }

    /**
     * Host to guest through the tracker (bound to a DMA channel or not): submits the copies of the packets
     * of {@code batch}, rings the doorbell once, then retires what has completed ({@link #completeAsync}).
     * The first {@code n} packets of the batch (n returned) now belong to the queue until their copies
     * complete; the rest stay the caller's (to free and count as dropped).
     */
    public int enqueueAsync(PacketBatch batch) {
        // the copy phase includes the doorbell: a CPU "DMA" channel copies there
        long t0 = copyTiming ? System.nanoTime() : 0;
        int sent = enqueueCopies0(batch, true);
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
        if (tracker.complete(retire) > 0) {
            retire.flush();
            flushUsed();
        }
        return tracker.inFlight();
    }

    private int enqueueCopies(PacketBatch batch, boolean async) {
        if (!copyTiming) {
            return enqueueCopies0(batch, async);
        }
        long t0 = System.nanoTime();
        int sent = enqueueCopies0(batch, async);
        add(C_COPY_NS, System.nanoTime() - t0);
        return sent;
    }

    private int enqueueCopies0(PacketBatch batch, boolean async) {
        if (!ready) {
            return 0;
        }
        asyncCopy = async;
        int usedAtEntry = nUsed;
        int sent = 0;
        int consumed = 0;
        try {
            int availIdx = availIndex();
            if (availIdx < 0) {
                return 0;
            }
            int n = batch.size();
            long bytes = 0;
            boolean fast = hdrLen == 12;
            for (int i = 0; i < n; i++) {
                Packet p = batch.get(i);
                if (p.offloads() != 0 && !takes(p.offloads())) {
                    add(C_ERRORS, 1);
                    continue; // offloads the guest did not negotiate (its features changed): dropped
                }
                long need = hdrLen + (long) p.length();
                if (fast && p.next() == null) {
                    int slot = (lastAvail + consumed) & 0xffff;
                    if (slot == availIdx) {
                        break; // the guest has no more buffers: the rest is dropped
                    }
                    int head = avail.getShort(availOff + SplitRing.availRing(slot & mask)) & 0xffff;
                    if ((!async || tracker.hasRoom(1, 1)) && fitsOne(batch, p, i, sent, need, head)) {
                        if (async) {
                            consumed++; // counted first: the descriptor is the tracker's even if the copy throws
                            sent++;
                            submitOne(p, head, (int) need);
                        } else {
                            enqueueOne(batch, p, sent, (int) need, head);
                            consumed++;
                            sent++;
                        }
                        bytes += p.length();
                        continue;
                    }
                }
                vecN = 0;
                int heads = 0;
                long got = 0;
                boolean overflow = false;
                while (got < need) {
                    int slot = (lastAvail + consumed + heads) & 0xffff;
                    if (slot == availIdx) {
                        break;
                    }
                    int head = avail.getShort(availOff + SplitRing.availRing(slot & mask)) & 0xffff;
                    long len = walkChain(head, true);
                    if (len == -1) {
                        return abandonBurst(async, usedAtEntry, consumed, sent); // the ring is broken now
                    }
                    if (len == -2) {
                        overflow = true;
                        break;
                    }
                    usedId[nUsed + heads] = head;
                    headLen[heads] = len;
                    heads++;
                    got += len;
                    if (!mrg) {
                        break;
                    }
                }
                if (got < need) {
                    if (overflow || (!mrg && heads == 1)) {
                        continue; // this packet does not fit (dropped by the caller); try the next one
                    }
                    break; // the guest has no more buffers: the rest is dropped
                }
                long left = need;
                for (int h = 0; h < heads; h++) {
                    long l = Math.min(headLen[h], left);
                    usedLen[nUsed + h] = (int) l;
                    left -= l;
                }
                if (async && !tracker.hasRoom(1, heads)) {
                    break; // cannot happen while the tracker is as large as the ring
                }
                if (sent != i) {
                    // a packet before this one was skipped: keep delivered packets first in the batch
                    Packet t = batch.get(sent);
                    batch.set(sent, p);
                    batch.set(i, t);
                }
                // header (CPU), then the payload through the copier or the tracker
                curVec = 0;
                curOff = 0;
                if (async) {
                    tracker.begin(p); // the packet is the queue's from here on, even if a copy below throws
                    for (int h = 0; h < heads; h++) {
                        tracker.used(usedId[nUsed + h], usedLen[nUsed + h]);
                    }
                    sent++;
                    consumed += heads;
                    try {
                        Packet s = p;
                        if (headerIntoHeadroom(p, hdrLen, heads)) {
                            int at = p.dataOffset() - hdrLen;
                            writeVec(p.buffer(), at, p.address() + at, hdrLen + p.dataLength());
                            s = p.next();
                        } else {
                            writeHeader(p, hdrLen, heads);
                        }
                        for (; s != null; s = s.next()) {
                            int off = s.dataOffset();
                            writeVec(s.buffer(), off, s.address() + off, s.dataLength());
                        }
                    } finally {
                        tracker.end();
                    }
                } else {
                    writeHeader(p, hdrLen, heads);
                    if (p.next() == null && p.dataLength() <= MAX_BATCH_COPY) {
                        deferVec(batch, sent, p.dataOffset(), p.dataLength());
                    } else {
                        for (Packet s = p; s != null; s = s.next()) {
                            int off = s.dataOffset();
                            writeVec(s.buffer(), off, s.address() + off, s.dataLength());
                        }
                    }
                    nUsed += heads;
                    consumed += heads;
                    sent++;
                }
                bytes += p.length();
            }
            runCopies(batch);
            lastAvail = (lastAvail + consumed) & 0xffff;
            add(C_PACKETS, sent);
            add(C_BYTES, bytes);
            return sent;
        } catch (RuntimeException | InternalError e) { // InternalError: a fault on a guest mapping
            markBroken("unexpected " + e);
            return abandonBurst(async, usedAtEntry, consumed, sent);
        }
    }

    /**
     * Ends a burst the ring broke in the middle of: nothing of it is published and the copies deferred for
     * its first packets are forgotten (the caller keeps and frees those packets). In async mode the packets
     * already begun are the tracker's: their descriptors stay consumed and are used when their copies are
     * done, so they count as sent.
     */
    private int abandonBurst(boolean async, int usedAtEntry, int consumed, int sent) {
        nUsed = usedAtEntry;
        nCp = 0;
        if (async) {
            lastAvail = (lastAvail + consumed) & 0xffff;
            return sent;
        }
        return 0;
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
     * {@link #flushUsed()} (with an asynchronous copier: once the copies into the packets completed).
     */
    public int dequeueCopies(PacketPool pool, PacketBatch batch) {
        if (!copyTiming) {
            return dequeueCopies0(pool, batch);
        }
        long t0 = System.nanoTime();
        int got = dequeueCopies0(pool, batch);
        if (got > 0) {
            add(C_COPY_NS, System.nanoTime() - t0); // empty polls are idle time, not copies
        }
        return got;
    }

    private int dequeueCopies0(PacketPool pool, PacketBatch batch) {
        if (!ready) {
            asyncCopy = false;
            return 0;
        }
        asyncCopy = false;
        int got = 0;
        long bytes = 0;
        try {
            int availIdx = availIndex();
            if (availIdx < 0) {
                return 0;
            }
            int pending = (availIdx - lastAvail) & 0xffff;
            int max = Math.min(pending, batch.room());
            for (int k = 0; k < max; k++) {
                int head = avail.getShort(availOff + SplitRing.availRing(lastAvail & mask)) & 0xffff;
                long plen = txChain(head);
                if (plen < 0) {
                    break;
                }
                if (plen == 0) {
                    add(C_ERRORS, 1); // a header without a frame
                } else {
                    Packet p = pool.allocChain((int) plen);
                    if (p == null) {
                        break; // pool empty: leave the rest in the ring
                    }
                    String bad;
                    try {
                        bad = hostCsum ? readOffloads(p, plen) : null;
                        if (bad == null) {
                            readFrame(p);
                        }
                    } catch (RuntimeException | InternalError e) {
                        p.free(); // not the caller's yet
                        throw e;
                    }
                    if (bad != null) {
                        p.free();
                        badHeader(bad);
                    } else {
                        batch.add(p);
                        got++;
                        bytes += plen;
                    }
                }
                usedId[nUsed] = head;
                usedLen[nUsed] = 0;
                nUsed++;
                lastAvail = (lastAvail + 1) & 0xffff;
            }
        } catch (RuntimeException | InternalError e) { // InternalError: a fault on a guest mapping
            markBroken("unexpected " + e);
        }
        add(C_PACKETS, got);
        add(C_BYTES, bytes);
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
        if (tracker.inFlight() > 0 && tracker.complete(retire) > 0) {
            got += takeStash(batch);
        }
        if (ready && batch.room() > 0) {
            int stashed = (int) (stashHead - stashTail);
            int room = Math.min(tracker.packetCapacity(), stash.length - stashed) - tracker.inFlight();
            long t0 = room > 0 && copyTiming ? System.nanoTime() : 0;
            if (room > 0 && dequeueSubmit0(pool, Math.min(room, PacketBatch.MAX)) > 0) {
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

    /**
     * Submits the copies of up to {@code max} packets of the guest's transmit ring to the tracker; returns
     * the number of ring entries taken.
     */
    private int dequeueSubmit0(PacketPool pool, int max) {
        asyncCopy = true;
        int got = 0;
        int begun = 0;
        long bytes = 0;
        try {
            int availIdx = availIndex();
            if (availIdx < 0) {
                return 0;
            }
            int pending = (availIdx - lastAvail) & 0xffff;
            max = Math.min(pending, max);
            for (int k = 0; k < max; k++) {
                int head = avail.getShort(availOff + SplitRing.availRing(lastAvail & mask)) & 0xffff;
                long plen = txChain(head);
                if (plen < 0) {
                    break;
                }
                Packet p = null;
                if (plen == 0) {
                    add(C_ERRORS, 1); // a header without a frame
                } else {
                    p = pool.allocChain((int) plen);
                    if (p == null) {
                        break; // pool empty: leave the rest in the ring
                    }
                    String bad;
                    try {
                        bad = hostCsum ? readOffloads(p, plen) : null;
                    } catch (RuntimeException | InternalError e) {
                        p.free(); // not the tracker's yet
                        throw e;
                    }
                    if (bad != null) {
                        p.free();
                        p = null; // the descriptor is used, nothing is delivered
                        badHeader(bad);
                    }
                }
                lastAvail = (lastAvail + 1) & 0xffff;
                begun++;
                tracker.begin(p); // p (null: nothing to deliver) is the tracker's until its copies complete
                tracker.used(head, 0);
                try {
                    if (p != null) {
                        readFrame(p);
                        got++;
                        bytes += plen;
                    }
                } finally {
                    tracker.end();
                }
            }
        } catch (RuntimeException | InternalError e) { // InternalError: a fault on a guest mapping
            markBroken("unexpected " + e);
        }
        add(C_PACKETS, got);
        add(C_BYTES, bytes);
        return begun;
    }

    /** Copies the frame of the chain walked last (after its virtio-net header) into the segments of {@code p}. */
    private void readFrame(Packet p) {
        curVec = 0;
        curOff = 0;
        skipVec(hdrLen);
        for (Packet s = p; s != null; s = s.next()) {
            int off = s.dataOffset();
            readVec(s.buffer(), off, s.address() + off, s.dataLength());
        }
    }

    // fitsOne's result: the guest buffer's memory slice and offset in that slice's view
    private int oneRegion;
    private int oneAt;

    /**
     * The common case of an enqueue, without the general chain walk: true when the avail entry {@code head}
     * is one write-only descriptor (no next, not indirect) large enough for header and frame ({@code need}),
     * in the guest memory slice of the previous lookup ({@link #oneRegion}, {@link #oneAt}); then {@code p}
     * (batch[i]) is moved to batch[sent]. False: nothing was touched (the general path decides, and checks
     * everything).
     */
    private boolean fitsOne(PacketBatch batch, Packet p, int i, int sent, long need, int head) {
        if (head >= size) {
            return false;
        }
        ByteBuffer d = desc;
        int o = descOff + SplitRing.desc(head);
        long addr = d.getLong(o + SplitRing.DESC_ADDR);
        long len = d.getInt(o + SplitRing.DESC_LEN) & 0xffffffffL;
        if ((d.getShort(o + SplitRing.DESC_FLAGS) & 0xffff) != DESC_F_WRITE || len < need) {
            return false;
        }
        GuestMemory m = mem;
        int r = lastRegion;
        if (r >= m.slices() || !m.inSlice(r, addr) || m.gpaRoom(r, addr) < len) {
            return false;
        }
        if (sent != i) {
            // a packet before this one was skipped: keep delivered packets first in the batch
            batch.set(i, batch.get(sent));
            batch.set(sent, p);
        }
        oneRegion = r;
        oneAt = m.gpaOffset(r, addr);
        return true;
    }

    /**
     * CPU enqueue of single-segment {@code p} (now batch[sent]) into the buffer {@link #fitsOne} found: the
     * header, the frame copied (or deferred), the used element recorded.
     */
    private void enqueueOne(PacketBatch batch, Packet p, int sent, int need, int head) {
        GuestMemory m = mem;
        int r = oneRegion;
        int at = oneAt;
        ByteBuffer v = m.view(r);
        putHeader(v, at, p, 1);
        int plen = p.dataLength();
        int src = p.dataOffset();
        int dst = at + 12;
        if (plen > MAX_BATCH_COPY) {
            copier.copy(p.buffer(), src, p.address() + src, v, dst, m.address(r) + dst, plen);
            logged(r, at, need);
        } else {
            logged(r, at, 12); // the payload is logged by runCopies
            if (plen > 0) {
                deferCopy(batch, sent, src, r, dst, plen);
            }
        }
        usedId[nUsed] = head;
        usedLen[nUsed] = need;
        nUsed++;
    }

    /**
     * Second half: hands {@code p} to the tracker with its used element and one copy. The header goes into
     * the packet's headroom when the packet is ours alone, so that header and frame are a single copy.
     */
    private void submitOne(Packet p, int head, int need) {
        GuestMemory m = mem;
        long dst = m.address(oneRegion) + oneAt;
        int plen = p.dataLength();
        int off = p.dataOffset();
        tracker.begin(p); // the packet is the queue's from here on, even if a copy below throws
        tracker.used(head, need);
        try {
            if (headerIntoHeadroom(p, 12, 1)) {
                tracker.copy(p.address() + off - 12, dst, plen + 12);
            } else {
                putHeader(m.view(oneRegion), oneAt, p, 1);
                logged(oneRegion, oneAt, 12);
                if (plen > 0) {
                    tracker.copy(p.address() + off, dst + 12, plen);
                }
            }
        } finally {
            tracker.end();
        }
    }

    /** avail->idx (acquire), or -1 (queue marked broken) when it ran more than a ring ahead. */
    private int availIndex() {
        int idx = (short) U16.getAcquire(avail, availOff + SplitRing.AVAIL_IDX) & 0xffff;
        shownAvail = idx;
        if (((idx - lastAvail) & 0xffff) > size) {
            markBroken("avail index " + idx + " is more than " + size + " entries ahead of " + lastAvail);
            return -1;
        }
        return idx;
    }

    /**
     * Appends the buffers of the chain at {@code head} to the buffer vector, checking every descriptor.
     *
     * @return total bytes, -1 when the queue was marked broken, -2 when the vector is full
     */
    private long walkChain(int head, boolean write) {
        ByteBuffer tbl = desc;
        int tblOff = descOff;
        int tblSize = size;
        int idx = head;
        int hops = 0;
        boolean inIndirect = false;
        long total = 0;
        for (;;) {
            if (idx >= tblSize) {
                return markBroken("descriptor index " + idx + " out of range (table of " + tblSize + ")");
            }
            if (++hops > tblSize) {
                return markBroken("descriptor chain loops or is longer than its table (" + tblSize + ")");
            }
            int o = tblOff + SplitRing.desc(idx);
            long addr = tbl.getLong(o + SplitRing.DESC_ADDR);
            long len = tbl.getInt(o + SplitRing.DESC_LEN) & 0xffffffffL;
            int flags = tbl.getShort(o + SplitRing.DESC_FLAGS) & 0xffff;
            int next = tbl.getShort(o + SplitRing.DESC_NEXT) & 0xffff;
            if ((flags & DESC_F_INDIRECT) != 0) {
                if (!indirect) {
                    return markBroken("indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC");
                }
                if (inIndirect || hops != 1 || (flags & DESC_F_NEXT) != 0) {
                    return markBroken("indirect descriptor inside a chain");
                }
                if (len == 0 || len % SplitRing.DESC_SIZE != 0 || len / SplitRing.DESC_SIZE > MAX_INDIRECT) {
                    return markBroken("indirect table of bad size " + len);
                }
                int r = mem.regionOfGpa(addr);
                if (r < 0 || mem.gpaRoom(r, addr) < len) {
                    return markBroken(String.format("indirect table at 0x%x+%d outside guest memory", addr, len));
                }
                tbl = mem.view(r);
                tblOff = mem.gpaOffset(r, addr);
                tblSize = (int) (len / SplitRing.DESC_SIZE);
                idx = 0;
                hops = 0;
                inIndirect = true;
                continue;
            }
            if (write != ((flags & DESC_F_WRITE) != 0)) {
                return markBroken(write ? "read-only descriptor in a receive chain"
                        : "write-only descriptor in a transmit chain");
            }
            if (len > 0) {
                int r = region(addr);
                boolean inOne = r >= 0 && mem.gpaRoom(r, addr) >= len;
                if (!inOne && !mem.containsGpa(addr, len)) {
                    return markBroken(String.format("descriptor 0x%x+%d points outside guest memory", addr, len));
                }
                total += len;
                if (total > Integer.MAX_VALUE) {
                    return markBroken("descriptor chain of more than 2 GiB");
                }
                if (vecN == VEC_MAX) {
                    return -2;
                }
                vecAddr[vecN] = addr;
                vecLen[vecN] = (int) len;
                vecSlice[vecN] = inOne ? r : -1;
                vecOff[vecN] = inOne ? mem.gpaOffset(r, addr) : 0;
                vecN++;
            }
            if ((flags & DESC_F_NEXT) == 0) {
                return total;
            }
            idx = next;
        }
    }

    /** {@link GuestMemory#regionOfGpa}, trying the slice of the previous lookup first. */
    private int region(long a) {
        GuestMemory m = mem;
        int r = lastRegion;
        if (r < m.slices() && m.inSlice(r, a)) {
            return r;
        }
        r = m.regionOfGpa(a);
        if (r >= 0) {
            lastRegion = r;
        }
        return r;
    }

    /**
     * The next piece of the buffer vector at the cursor that lies in one buffer and one mapped slice, at
     * most {@code len} bytes: sets {@link #pieceSlice} and {@link #pieceOff} (offset in that slice's view)
     * and returns the piece's length. Does not move the cursor.
     */
    private int piece(int len) {
        int c = curVec;
        int s = vecSlice[c];
        if (s >= 0) {
            // the whole buffer lies in one slice (checked by walkChain)
            pieceSlice = s;
            pieceOff = vecOff[c] + curOff;
            return Math.min(vecLen[c] - curOff, len);
        }
        long a = vecAddr[c] + curOff;
        int r = region(a);
        pieceSlice = r;
        pieceOff = mem.gpaOffset(r, a);
        return (int) Math.min(Math.min(vecLen[c] - curOff, len), mem.gpaRoom(r, a));
    }

    /**
     * Writes the virtio-net header (hdr[0..len)) at the vector cursor, on the CPU. In the common case (whole
     * header in one piece) a word is stored only if the guest's differs, as DPDK's ASSIGN_UNLESS_EQUAL: a
     * recycled receive buffer usually holds the same header already, and not writing keeps its cache line
     * shared with the guest's core instead of bouncing it on every packet.
     */
    private void writeHeader(Packet p, int len, int heads) {
        if (len == 12 && piece(12) == 12) {
            putHeader(mem.view(pieceSlice), pieceOff, p, heads);
            logged(pieceSlice, pieceOff, 12);
            advance(12);
            return;
        }
        hdr.putLong(0, p.offloads() == 0 ? 0 : hdrWord(p));
        hdr.putShort(8, (short) (p.offloads() == 0 ? 0 : p.csumOffset()));
        hdr.putShort(10, (short) heads);
        int at = 0;
        while (len > 0) {
            int chunk = piece(len);
            mem.view(pieceSlice).put(pieceOff, hdr, at, chunk);
            logged(pieceSlice, pieceOff, chunk);
            at += chunk;
            len -= chunk;
            advance(chunk);
        }
    }

    /**
     * Asynchronous enqueue: writes the first {@code len} bytes of the header {@link #writeHeader} would write
     * into the {@code len} bytes before {@code p}'s data, when {@code p} is ours alone (one reference) and has
     * that much headroom, so that header and first segment are one copy with no CPU store into the guest's
     * lines. False (nothing written) otherwise.
     */
    private static boolean headerIntoHeadroom(Packet p, int len, int heads) {
        if (p.refcnt() != 1 || p.dataOffset() < len) {
            return false;
        }
        ByteBuffer b = p.buffer();
        int at = p.dataOffset() - len;
        if (p.offloads() == 0) {
            b.putLong(at, 0);
            b.putShort(at + 8, (short) 0);
        } else {
            BYTES8.set(b, at, hdrWord(p));
            int co = p.csumOffset();
            b.put(at + 8, (byte) co);
            b.put(at + 9, (byte) (co >>> 8));
        }
        if (len == 12) {
            b.put(at + 10, (byte) heads); // num_buffers, little-endian whatever b's order
            b.put(at + 11, (byte) (heads >>> 8));
        }
        return true;
    }

    /**
     * The 12-byte header ({@code p}'s offloads, {@code heads} in num_buffers) at {@code v[at]}, each word
     * stored only where the guest's differs.
     */
    private static void putHeader(ByteBuffer v, int at, Packet p, int heads) {
        long h0 = 0; // flags, gso_type, hdr_len, gso_size, csum_start
        int h1 = heads << 16; // csum_offset, num_buffers (little-endian)
        if (p.offloads() != 0) {
            h0 = hdrWord(p);
            h1 |= p.csumOffset() & 0xffff;
        }
        if (v.getLong(at) != h0) {
            v.putLong(at, h0);
        }
        if (v.getInt(at + 8) != h1) {
            v.putInt(at + 8, h1);
        }
    }

    /** True when the guest negotiated every offload of {@code ol} (packet flags). */
    private boolean takes(int ol) {
        if ((ol & Packet.OL_CSUM_PARTIAL) != 0 && !guestCsum) {
            return false;
        }
        if ((ol & Packet.OL_TSO_TCPV4) != 0 && !guestTso4) {
            return false;
        }
        return (ol & Packet.OL_TSO_TCPV6) == 0 || guestTso6;
    }

    /**
     * The first 8 bytes of the virtio-net header for {@code p}'s offloads (as a little-endian long): flags,
     * gso_type, hdr_len, gso_size, csum_start (DPDK's virtio_enqueue_offload). Only for packets the guest
     * {@link #takes}; hdr_len is the headers' length through TCP for TSO, where the guest reads it as a hint.
     */
    private static long hdrWord(Packet p) {
        int ol = p.offloads();
        long flags = (ol & Packet.OL_CSUM_PARTIAL) != 0 ? HDR_F_NEEDS_CSUM : 0;
        long w = flags | (long) (p.csumStart() & 0xffff) << 48;
        if ((ol & Packet.OL_TSO) != 0) {
            int type = (ol & Packet.OL_TSO_TCPV4) != 0 ? HDR_GSO_TCPV4 : HDR_GSO_TCPV6;
            if ((ol & Packet.OL_TSO_ECN) != 0) {
                type |= HDR_GSO_ECN;
            }
            int l4 = p.csumStart();
            int hdrLen = l4 + 20;
            if (l4 + 12 < p.dataLength()) {
                hdrLen = l4 + ((p.buffer().get(p.dataOffset() + l4 + 12) & 0xf0) >> 2);
            }
            w |= (long) type << 8 | (long) (hdrLen & 0xffff) << 16 | (long) (p.gsoSize() & 0xffff) << 32;
        }
        return w;
    }

    /**
     * Reads the virtio-net header of the chain walked last into {@code p}'s offload metadata (DPDK's
     * vhost_dequeue_offload), checking it against what the guest negotiated and the frame's length
     * {@code plen}. Returns null when it is valid, else why not (the packet is then dropped and counted).
     * Moves the vector cursor.
     */
    private String readOffloads(Packet p, long plen) {
        curVec = 0;
        curOff = 0;
        ByteBuffer h;
        int at;
        if (piece(10) == 10) {
            h = mem.view(pieceSlice);
            at = pieceOff;
        } else {
            for (int k = 0; k < 10;) { // the header spans buffers
                int chunk = piece(10 - k);
                hdr.put(k, mem.view(pieceSlice), pieceOff, chunk);
                k += chunk;
                advance(chunk);
            }
            h = hdr;
            at = 0;
        }
        int flags = h.get(at) & 0xff;
        int gso = h.get(at + 1) & 0xff;
        int gsoSize = h.getShort(at + 4) & 0xffff;
        int start = h.getShort(at + 6) & 0xffff;
        int off = h.getShort(at + 8) & 0xffff;
        if ((flags & ~(HDR_F_NEEDS_CSUM | HDR_F_DATA_VALID | HDR_F_RSC_INFO)) != 0) {
            return "unknown flags 0x" + Integer.toHexString(flags);
        }
        int ol = 0;
        if ((flags & HDR_F_NEEDS_CSUM) != 0) {
            if (!hostCsum) {
                return "NEEDS_CSUM without VIRTIO_NET_F_CSUM";
            }
            if (start + off + 2L > plen) {
                return "checksum at " + start + "+" + off + " outside the " + plen + "-byte frame";
            }
            ol = Packet.OL_CSUM_PARTIAL;
            p.setCsum(start, off);
            p.setLayerOffsets(-1, start);
        }
        switch (gso & ~HDR_GSO_ECN) {
            case HDR_GSO_NONE:
                if (gso != HDR_GSO_NONE) {
                    return "GSO_ECN without a GSO type";
                }
                break;
            case HDR_GSO_TCPV4:
            case HDR_GSO_TCPV6: {
                boolean v4 = (gso & ~HDR_GSO_ECN) == HDR_GSO_TCPV4;
                if (v4 ? !hostTso4 : !hostTso6) {
                    return "TSO" + (v4 ? "4" : "6") + " without VIRTIO_NET_F_HOST_TSO" + (v4 ? "4" : "6");
                }
                if (ol == 0 || off != 16 || gsoSize == 0) {
                    return "TSO without a TCP checksum to complete or with segment size 0";
                }
                ol |= v4 ? Packet.OL_TSO_TCPV4 : Packet.OL_TSO_TCPV6;
                if ((gso & HDR_GSO_ECN) != 0) {
                    ol |= Packet.OL_TSO_ECN;
                }
                p.setGsoSize(gsoSize);
                break;
            }
            default:
                return "GSO type " + gso + " not offered";
        }
        p.setOffloads(ol);
        return null;
    }

    /** Counts a guest packet dropped for its header; logs the first of the queue (later ones at debug level). */
    private void badHeader(String why) {
        add(C_BAD_HEADERS, 1);
        String msg = String.format("vHost device '%s' queue %d: dropped a packet with a bad virtio-net header: %s",
                device, index, why);
        if (counter(C_BAD_HEADERS) == 1) {
            LOG.warning(msg + " (further ones are counted, logged at debug level)");
        } else {
            LOG.fine(msg);
        }
    }

    /** Copies {@code len} bytes from a packet buffer to the guest buffers at the cursor. */
    private void writeVec(ByteBuffer src, int srcOff, long srcAddr, int len) {
        while (len > 0) {
            int chunk = piece(len);
            long dstAddr = mem.address(pieceSlice) + pieceOff;
            if (asyncCopy) {
                tracker.copy(srcAddr, dstAddr, chunk);
            } else {
                copier.copy(src, srcOff, srcAddr, mem.view(pieceSlice), pieceOff, dstAddr, chunk);
                logged(pieceSlice, pieceOff, chunk);
            }
            srcOff += chunk;
            srcAddr += chunk;
            len -= chunk;
            advance(chunk);
        }
    }

    /**
     * Records the copy of a small single-segment packet's bytes (batch[pkt], from offset srcOff) to the guest
     * buffers at the cursor, to be done by {@link #runCopies} with the rest of the burst (running when the
     * list is full). As DPDK's batch copies: the burst's payload stores then follow each other with no ring
     * bookkeeping between them, so the CPU overlaps the cache misses of the guest's lines (a guest reads the
     * first line of every packet it receives, so that line is on its core when this one writes it).
     */
    private void deferVec(PacketBatch batch, int pkt, int srcOff, int len) {
        while (len > 0) {
            int chunk = piece(len);
            deferCopy(batch, pkt, srcOff, pieceSlice, pieceOff, chunk);
            srcOff += chunk;
            len -= chunk;
            advance(chunk);
        }
    }

    /** Records one copy: batch[pkt] from srcOff to slice's view at dstOff, len bytes. */
    private void deferCopy(PacketBatch batch, int pkt, int srcOff, int slice, int dstOff, int len) {
        if (nCp == CP_MAX) {
            runCopies(batch);
        }
        int k = nCp++;
        cpPkt[k] = pkt;
        cpSrcOff[k] = srcOff;
        cpSlice[k] = slice;
        cpDstOff[k] = dstOff;
        cpLen[k] = len;
    }

    /**
     * Does the copies {@link #deferVec} recorded, in order. First it stores each copy's first 8 bytes, back to
     * back: the front end has read these lines since we last wrote them, so each store must take its line back
     * from the front end's core; one store per line lets the store queue hold the whole burst's line transfers
     * at once, where the copies' own stores (several per line) would leave only a few in flight.
     */
    private void runCopies(PacketBatch batch) {
        GuestMemory m = mem;
        Copier c = copier;
        int n = nCp;
        for (int k = 0; k < n; k++) {
            if (cpLen[k] >= 8) {
                BYTES8.set(m.view(cpSlice[k]), cpDstOff[k], (long) BYTES8.get(batch.get(cpPkt[k]).buffer(), cpSrcOff[k]));
            }
        }
        for (int k = 0; k < n; k++) {
            Packet p = batch.get(cpPkt[k]);
            int so = cpSrcOff[k];
            int r = cpSlice[k];
            int d = cpDstOff[k];
            c.copy(p.buffer(), so, p.address() + so, m.view(r), d, m.address(r) + d, cpLen[k]);
        }
        if (log != null) {
            for (int k = 0; k < n; k++) {
                logged(cpSlice[k], cpDstOff[k], cpLen[k]);
            }
        }
        nCp = 0;
    }

    /** Copies {@code len} bytes from the guest buffers at the cursor into a packet buffer. */
    private void readVec(ByteBuffer dst, int dstOff, long dstAddr, int len) {
        while (len > 0) {
            int chunk = piece(len);
            long srcAddr = mem.address(pieceSlice) + pieceOff;
            if (asyncCopy) {
                tracker.copy(srcAddr, dstAddr, chunk);
            } else {
                copier.copy(mem.view(pieceSlice), pieceOff, srcAddr, dst, dstOff, dstAddr, chunk);
            }
            dstOff += chunk;
            dstAddr += chunk;
            len -= chunk;
            advance(chunk);
        }
    }

    private void skipVec(int len) {
        while (len > 0) {
            int chunk = Math.min(vecLen[curVec] - curOff, len);
            len -= chunk;
            advance(chunk);
        }
    }

    private void advance(int chunk) {
        curOff += chunk;
        if (curOff == vecLen[curVec]) {
            curVec++;
            curOff = 0;
        }
    }

    /**
     * Publishes the collected used elements: writes them, release-stores used->idx, then signals the
     * call eventfd if the guest asked for it (VRING_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX).
     * An asynchronous copier defers this until its copies have completed, in order.
     */
    public void flushUsed() {
        if (nUsed == 0 || used == null) {
            nUsed = 0;
            return;
        }
        for (int i = 0; i < nUsed; i++) {
            int o = usedOff + SplitRing.usedElem((lastUsed + i) & mask);
            used.putLong(o, (long) usedLen[i] << 32 | (usedId[i] & 0xffffffffL)); // {le32 id; le32 len}
        }
        int old = lastUsed;
        lastUsed = (lastUsed + nUsed) & 0xffff;
        nUsed = 0;
        // release: the used elements before used->idx. A fence and a plain store, not setRelease: HotSpot 17
        // aborts the JVM (assembler_x86.cpp ShouldNotReachHere) on a SIGBUS in a release/volatile store
        // outside C2-compiled code, which a truncated memory file causes; a faulting plain store is survivable
        VarHandle.releaseFence();
        U16.set(used, usedOff + SplitRing.USED_IDX, (short) lastUsed);
        if (log != null) {
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
            int ev = avail.getShort(availOff + SplitRing.usedEvent(size)) & 0xffff;
            want = ((lastUsed - ev - 1) & 0xffff) < ((lastUsed - old) & 0xffff);
        } else {
            want = (avail.getShort(availOff + SplitRing.AVAIL_FLAGS) & AVAIL_F_NO_INTERRUPT) == 0;
        }
        if (want) {
            if (c.signal()) {
                add(C_NOTIFICATIONS, 1);
            } else {
                callFailed(c);
            }
        }
    }

    /** Marks used elements [from, from+n) (ring positions, wrapping) and used->idx, once they are written. */
    private void logUsedElements(int from, int n) {
        int first = from & mask;
        int k = Math.min(n, size - first);
        loggedUsed(SplitRing.usedElem(first), k * SplitRing.USED_ELEM_SIZE);
        if (n > k) {
            loggedUsed(SplitRing.usedElem(0), (n - k) * SplitRing.USED_ELEM_SIZE);
        }
        loggedUsed(SplitRing.USED_IDX, 2);
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
