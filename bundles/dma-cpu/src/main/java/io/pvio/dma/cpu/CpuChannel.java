package io.pvio.dma.cpu;

import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaDevice;
import io.pvio.dma.DmaException;
import io.pvio.dma.DmaInfo;
import io.pvio.memory.NativeMemory;
import io.pvio.netdev.CustomStats;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A DMA channel without hardware: {@link #performOps()} copies every queued descriptor on the calling
 * thread, in order, with {@link NativeMemory#copy}; {@link #completedOps} then reports them with
 * {@link #STATUS_OK}. Same contract and thread rules as any {@link DmaDevice}; {@link #stats} may be called
 * from any thread.
 */
public final class CpuChannel implements DmaDevice {
    public static final String DRIVER = "cpu";
    public static final int MIN_RING = 64;
    public static final int MAX_RING = 4096;

    private static final VarHandle COUNTER = MethodHandles.arrayElementVarHandle(long[].class);
    private static final int SUBMITTED = 0;
    private static final int COMPLETED = 1;
    private static final int RING_FULL = 2;
    private static final int FENCES = 3;
    private static final int DOORBELLS = 4;
    private static final int IN_FLIGHT = 5;

    private final String address;
    private final long[] counters = new long[6];
    private volatile boolean started;

    // the ring: per slot src, dst, length and the two handles; single submitter
    private long[] src;
    private long[] dst;
    private int[] len;
    private long[] srcHandle;
    private long[] dstHandle;
    private int mask;
    private long tail;      // enqueued
    private long performed; // copied
    private long head;      // reported

    public CpuChannel(String address, int ringSize) throws DmaException {
        this.address = address;
        configure(ringSize);
    }

    @Override
    public DmaInfo info() {
        return new DmaInfo(address, DRIVER, mask + 1, MIN_RING, MAX_RING, 0);
    }

    @Override
    public synchronized void configure(int ringSize) throws DmaException {
        if (started) {
            throw new DmaException(address + ": channel is started (EBUSY): stop it before configuring");
        }
        if (ringSize < MIN_RING || ringSize > MAX_RING || Integer.bitCount(ringSize) != 1) {
            throw new DmaException("ring size " + ringSize + " is not a power of two from " + MIN_RING + " to "
                    + MAX_RING);
        }
        if (tail != head) {
            throw new DmaException(address + ": " + (tail - head) + " completed copies not yet read by completedOps");
        }
        src = new long[ringSize];
        dst = new long[ringSize];
        len = new int[ringSize];
        srcHandle = new long[ringSize];
        dstHandle = new long[ringSize];
        mask = ringSize - 1;
    }

    @Override
    public synchronized void start() {
        started = true;
    }

    /** Performs anything still queued, so every copy submitted is complete when this returns. */
    @Override
    public synchronized void stop() {
        if (started) {
            started = false;
            performOps();
        }
    }

    @Override
    public boolean isStarted() {
        return started;
    }

    @Override
    public boolean enqueueCopy(long srcAddr, long dstAddr, int length, long srcHdl, long dstHdl) {
        if (length < 0) {
            throw new IllegalArgumentException("negative length " + length);
        }
        if (!started) {
            return false;
        }
        if (tail - head > mask) {
            bump(RING_FULL, 1);
            return false;
        }
        int i = (int) tail & mask;
        src[i] = srcAddr;
        dst[i] = dstAddr;
        len[i] = length;
        srcHandle[i] = srcHdl;
        dstHandle[i] = dstHdl;
        tail++;
        bump(SUBMITTED, 1);
        bump(IN_FLIGHT, 1);
        return true;
    }

    /** Copies run one after another on one thread: every fence is already honoured. */
    @Override
    public void fence() {
        bump(FENCES, 1);
    }

    @Override
    public void performOps() {
        if (performed == tail) {
            return;
        }
        for (long s = performed; s != tail; s++) {
            int i = (int) s & mask;
            if (len[i] > 0) {
                NativeMemory.copy(src[i], dst[i], len[i]);
            }
        }
        performed = tail;
        bump(DOORBELLS, 1);
    }

    @Override
    public int completedOps(int max, DmaCompletions out) {
        out.clear();
        int n = 0;
        while (n < max && head != performed && out.add(srcHandle[(int) head & mask], dstHandle[(int) head & mask],
                STATUS_OK)) {
            head++;
            n++;
        }
        if (n > 0) {
            bump(COMPLETED, n);
            bump(IN_FLIGHT, -n);
        }
        return n;
    }

    @Override
    public int inFlight() {
        return (int) (tail - head);
    }

    @Override
    public int freeSlots() {
        return mask + 1 - inFlight();
    }

    /** submitted, completed, failed (always 0), ring_full, in_flight, fences, doorbells. */
    @Override
    public void stats(CustomStats sink) {
        sink.put("submitted", get(SUBMITTED));
        sink.put("completed", get(COMPLETED));
        sink.put("failed", 0);
        sink.put("ring_full", get(RING_FULL));
        sink.put("in_flight", get(IN_FLIGHT));
        sink.put("fences", get(FENCES));
        sink.put("doorbells", get(DOORBELLS));
    }

    @Override
    public String toString() {
        return DRIVER + "@" + address;
    }

    private void bump(int i, long by) {
        COUNTER.setOpaque(counters, i, counters[i] + by);
    }

    private long get(int i) {
        return (long) COUNTER.getOpaque(counters, i);
    }
}
