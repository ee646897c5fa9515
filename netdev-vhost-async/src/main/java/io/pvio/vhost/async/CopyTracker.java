package io.pvio.vhost.async;

import io.pvio.counter.CounterArray;
import io.pvio.memory.NativeMemory;
import io.pvio.packet.Packet;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.logging.Logger;

/**
 * In-order completion of one virtqueue's copies, some done by the CPU at once and some by a DMA channel
 * later (DPDK's async vhost, without its reordering).
 *
 * <p>For each packet the queue calls {@link #begin}, then {@link #used} for each used-ring element the
 * packet will produce and {@link #copy} for each segment copy, then {@link #end}; {@link #submit} rings the
 * doorbell once per burst. A copy shorter than the threshold, or with no channel bound, or when the
 * channel's ring is full, is done by the CPU at once. {@link #complete} collects DMA completions (a copy
 * that failed is redone by the CPU) and retires packets strictly in the order they began: their used
 * elements go to the sink, in order, then the packet itself. The used ring therefore never shows a later
 * packet before an earlier one.
 *
 * <p>Threads: every method but {@link #markDone} is called by the queue's owner with the queue's lock
 * held (one thread at a time). {@link #markDone} may come from the thread polling a shared channel.
 * Packets handed to {@link #begin} stay referenced by the tracker until retired.
 */
public final class CopyTracker {
    private static final Logger LOG = Logger.getLogger("netdev_dpdk");
    private static final VarHandle STATUS = MethodHandles.arrayElementVarHandle(byte[].class);
    private static final byte PENDING = 0;
    private static final byte DONE_OK = 1;
    private static final byte DONE_ERROR = 2;

    /** Receives retired work in order. */
    public interface Sink {
        /** One used-ring element (descriptor chain head, bytes written). */
        void used(int id, int len);

        /** A packet whose copies have all completed; the sink now owns it. */
        void packet(Packet p);
    }

    /** Told of every copy once its bytes are in place (dirty page logging). */
    @FunctionalInterface
    public interface Written {
        /** {@code len} bytes at native address {@code dst} have been written. */
        void written(long dst, int len);
    }

    /** A drain gives up when nothing completed for this long. */
    public static final long STALL_NANOS = 1_000_000_000L;

    private final String name;

    // packets, in submission order: [pktTail, pktHead)
    private int pktMask;
    private Packet[] pkts;
    private int[] pending;
    private int[] usedStart;
    private int[] usedCount;
    private long pktHead;
    private long pktTail;

    // used elements, in order: [usedTail, usedHead)
    private int usedMask;
    private int[] usedIds;
    private int[] usedLens;
    private long usedHead;
    private long usedTail;

    // DMA segments, in submission order: [segTail, segHead)
    private int segMask;
    private long[] segSrc;
    private long[] segDst;
    private int[] segLen;
    private int[] segPkt;
    private byte[] segStatus;
    private long segHead;
    private long segTail;

    private DmaChannel channel;
    private int owner = -1;
    private int threshold = Integer.MAX_VALUE;
    private boolean dmaSinceDoorbell;
    /** Told of each copy when it is done: a CPU copy at once, a DMA copy when its completion is collected. */
    private Written written;

    // counters: written by the owner (the queue's lock holder) only, read by the control path
    private static final int C_SUBMITTED = 0;
    private static final int C_COMPLETED = 1;
    private static final int C_CPU_COPIES = 2;
    private static final int C_DMA_COPIES = 3;
    private static final int C_DMA_ERRORS = 4;
    private static final int C_RING_FULL = 5;
    private static final int C_FREE_PKTS_WORK = 6;
    private final CounterArray counters = new CounterArray(7);

    /**
     * @param maxPackets  packets that may be in flight at once (a power of two; the virtqueue size is right)
     * @param maxSegments DMA copies that may be in flight at once (a power of two)
     */
    public CopyTracker(String name, int maxPackets, int maxSegments) {
        this.name = name;
        allocate(maxPackets, maxSegments);
    }

    private void allocate(int maxPackets, int maxSegments) {
        int p = pow2(maxPackets);
        int s = pow2(maxSegments);
        pktMask = p - 1;
        pkts = new Packet[p];
        pending = new int[p];
        usedStart = new int[p];
        usedCount = new int[p];
        usedMask = p * 4 - 1;
        usedIds = new int[p * 4];
        usedLens = new int[p * 4];
        segMask = s - 1;
        segSrc = new long[s];
        segDst = new long[s];
        segLen = new int[s];
        segPkt = new int[s];
        segStatus = new byte[s];
    }

    /**
     * Re-sizes an empty tracker (the virtqueue's size changed); keeps its identity, channel and counters.
     * Queue lock held; nothing may be in flight.
     */
    public void resize(int maxPackets, int maxSegments) {
        if (pktHead != pktTail || segHead != segTail) {
            throw new IllegalStateException(name + ": resize with " + inFlight() + " packets in flight");
        }
        if (pow2(maxPackets) == pkts.length && pow2(maxSegments) == segStatus.length) {
            return;
        }
        allocate(maxPackets, maxSegments);
        pktHead = pktTail = 0;
        usedHead = usedTail = 0;
        segHead = segTail = 0;
    }

    /** Packets that may be in flight at once. */
    public int packetCapacity() {
        return pkts.length;
    }

    private static int pow2(int n) {
        if (n <= 1) {
            return 2;
        }
        return Integer.highestOneBit(n - 1) << 1;
    }

    public String name() {
        return name;
    }

    /** The channel bound, or null (every copy by the CPU). */
    public DmaChannel channel() {
        return channel;
    }

    public int threshold() {
        return threshold;
    }

    /** Sets the async threshold without changing the channel (queue lock held). */
    public void setThreshold(int bytes) {
        this.threshold = bytes;
    }

    /**
     * Binds a channel (or none). The previous channel must have been drained ({@link #dmaInFlight()} == 0).
     * Called by {@link AsyncBinder} with the queue lock held.
     */
    void attach(DmaChannel ch, int ownerId, int thresholdBytes) {
        if (segHead != segTail) {
            throw new IllegalStateException(name + ": rebinding with " + (segHead - segTail) + " copies in flight");
        }
        channel = ch;
        owner = ownerId;
        threshold = ch == null ? Integer.MAX_VALUE : thresholdBytes;
    }

    int owner() {
        return owner;
    }

    /**
     * Who is told of each copy once it is done ({@link Written}), or null; copies in flight are reported to
     * the one set when they complete. Queue lock held.
     */
    public void setWritten(Written w) {
        written = w;
    }

    /** True when {@code packets} more packets with {@code usedElems} used elements in all fit. */
    public boolean hasRoom(int packets, int usedElems) {
        return pktHead - pktTail + packets <= pkts.length && usedHead - usedTail + usedElems <= usedIds.length;
    }

    /** Packets begun and not yet retired. */
    public int inFlight() {
        return (int) (pktHead - pktTail);
    }

    /** Packets begun since the tracker was created or resized (a packet counts from its {@link #begin}). */
    public long begun() {
        return pktHead;
    }

    /** DMA copies submitted and not yet resolved. */
    public int dmaInFlight() {
        return (int) (segHead - segTail);
    }

    /**
     * Starts a packet, which the tracker holds from here until it is retired, even if {@link #end} never
     * comes: a late fault (SIGBUS raised at a later safepoint) can cut the walker's burst anywhere between
     * the two, and the packet must not be lost then (issue 15). No safepoint between the store and the count.
     */
    public void begin(Packet p) {
        if (pktHead - pktTail == pkts.length) {
            throw new IllegalStateException(name + ": begin without room (check hasRoom first)");
        }
        int slot = (int) (pktHead & pktMask);
        pkts[slot] = p;
        pending[slot] = 0;
        usedStart[slot] = (int) (usedHead & usedMask);
        usedCount[slot] = 0;
        pktHead++;
    }

    /** Records a used-ring element of the current packet. */
    public void used(int id, int len) {
        int u = (int) (usedHead++ & usedMask);
        usedIds[u] = id;
        usedLens[u] = len;
        usedCount[(int) ((pktHead - 1) & pktMask)]++;
    }

    /** Copies {@code len} bytes for the current packet: by DMA when worth it and possible, else now. */
    public void copy(long src, long dst, int len) {
        if (len >= threshold && channel != null && segHead - segTail < segStatus.length) {
            long seq = segHead;
            int s = (int) (seq & segMask);
            segSrc[s] = src;
            segDst[s] = dst;
            segLen[s] = len;
            segPkt[s] = (int) ((pktHead - 1) & pktMask);
            STATUS.setOpaque(segStatus, s, PENDING);
            if (channel.enqueue(owner, seq, src, dst, len)) {
                segHead++;
                pending[(int) ((pktHead - 1) & pktMask)]++;
                dmaSinceDoorbell = true;
                counters.add(C_DMA_COPIES, 1);
                return;
            }
            counters.add(C_RING_FULL, 1);
        }
        NativeMemory.copy(src, dst, len);
        counters.add(C_CPU_COPIES, 1);
        if (written != null) {
            written.written(dst, len);
        }
    }

    /** Ends the current packet (it is in flight since {@link #begin}). */
    public void end() {
        counters.add(C_SUBMITTED, 1);
    }

    /**
     * Rings the doorbell for the copies of this burst. If it throws (a late fault of this thread's own guest
     * access can surface here), the copies stay to be rung: the next submit, or {@link #drain}, rings again.
     */
    public void submit() {
        if (dmaSinceDoorbell) {
            channel.doorbell();
            dmaSinceDoorbell = false;
        }
    }

    /** A completion for segment {@code seq} (from the channel's poller). */
    void markDone(int seq, int status) {
        STATUS.setRelease(segStatus, seq & segMask, status == 0 ? DONE_OK : DONE_ERROR);
    }

    /**
     * Collects completions and retires, in order, every packet whose copies are all done.
     *
     * @return packets retired
     */
    public int complete(Sink sink) {
        if (pktHead == pktTail) {
            return 0;
        }
        if (segHead != segTail) {
            channel.poll();
            while (segTail != segHead) {
                int s = (int) (segTail & segMask);
                byte st = (byte) STATUS.getAcquire(segStatus, s);
                if (st == PENDING) {
                    break;
                }
                STATUS.setOpaque(segStatus, s, PENDING);
                pending[segPkt[s]]--;
                segTail++;
                if (st == DONE_ERROR) {
                    // redone by the CPU, after the bookkeeping: if this copy faults too (the guest truncated its
                    // memory), the error leaves the tracker consistent and the copy is not tried again
                    counters.add(C_DMA_ERRORS, 1);
                    NativeMemory.copy(segSrc[s], segDst[s], segLen[s]);
                    // a fault of that copy is raised here, not later inside the packet pool's bookkeeping
                    io.pvio.vhost.ring.GuestMemory.deliverPendingFault();
                }
                if (written != null) {
                    written.written(segDst[s], segLen[s]); // retired: the engine's write is visible (acquire above)
                }
            }
        }
        int retired = 0;
        while (pktTail != pktHead) {
            int slot = (int) (pktTail & pktMask);
            if (pending[slot] != 0) {
                break;
            }
            int u = usedStart[slot];
            for (int k = usedCount[slot]; k > 0; k--) {
                sink.used(usedIds[u], usedLens[u]);
                u = (u + 1) & usedMask;
                usedTail++;
            }
            Packet p = pkts[slot];
            pkts[slot] = null;
            pktTail++;
            retired++;
            if (p != null) {
                sink.packet(p);
            }
        }
        if (retired > 0) {
            counters.add(C_COMPLETED, retired);
        }
        return retired;
    }

    /**
     * Control path: waits until every packet is retired (used elements and packets go to {@code sink}).
     * Returns true when drained, false when {@code timeoutNanos} passed first or nothing completed for
     * {@link #STALL_NANOS} (a stalled channel: the caller, which holds the queue, gives up soon instead of
     * blocking the queue's transmitters for the whole timeout). False means copies are still in flight: the
     * memory they target must stay mapped.
     */
    public boolean drain(Sink sink, long timeoutNanos) {
        long start = System.nanoTime();
        long warnAt = start + 1_000_000_000L;
        long lastProgress = start;
        long left = pktHead - pktTail;
        submit();
        while (pktHead != pktTail) {
            complete(sink);
            if (pktHead == pktTail) {
                break;
            }
            long now = System.nanoTime();
            if (pktHead - pktTail < left) {
                left = pktHead - pktTail;
                lastProgress = now;
            }
            if (now - start > timeoutNanos || now - lastProgress > STALL_NANOS) {
                return false;
            }
            if (now > warnAt) {
                LOG.warning(name + ": still waiting for " + dmaInFlight() + " DMA copies on " + channel);
                warnAt = now + 1_000_000_000L;
            }
            Thread.onSpinWait();
        }
        return true;
    }

    /** Counters for custom stats, names without the queue prefix. */
    public void stats(io.pvio.netdev.CustomStats sink) {
        sink.put("async_submitted", counters.get(C_SUBMITTED));
        sink.put("async_completed", counters.get(C_COMPLETED));
        sink.put("async_inflight", inFlight());
        sink.put("async_cpu_copies", counters.get(C_CPU_COPIES));
        sink.put("async_dma_copies", counters.get(C_DMA_COPIES));
        sink.put("async_dma_errors", counters.get(C_DMA_ERRORS));
        sink.put("async_ring_full_fallbacks", counters.get(C_RING_FULL));
        sink.put("async_free_pkts_with_work", counters.get(C_FREE_PKTS_WORK));
    }

    /** Counts a free_pkts call that retired something (the owner calls it). */
    public void countFreePktsWork() {
        counters.add(C_FREE_PKTS_WORK, 1);
    }

    /** Packets begun since the tracker was created. */
    public long submittedTotal() {
        return counters.get(C_SUBMITTED);
    }

    public long dmaCopies() {
        return counters.get(C_DMA_COPIES);
    }

    public long cpuCopies() {
        return counters.get(C_CPU_COPIES);
    }

    public long dmaErrors() {
        return counters.get(C_DMA_ERRORS);
    }

    public long ringFullFallbacks() {
        return counters.get(C_RING_FULL);
    }
}
