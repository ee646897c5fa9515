package io.pvio.dma.ioat.channel;

import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaDevice;
import io.pvio.dma.DmaException;
import io.pvio.dma.DmaInfo;
import io.pvio.dma.ioat.engine.Engine;
import io.pvio.netdev.CustomStats;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.logging.Logger;

/**
 * One IOAT channel: the rawdev control state (configure, start, stop) and the per-channel counters in
 * front of an {@link Engine}. The data-path methods follow the {@link DmaDevice} thread rules (one
 * submitter); {@link #stats} and {@link #info} may be called from any thread.
 */
public final class IoatChannel implements DmaDevice {
    public static final String DRIVER = "ioat";
    public static final int MIN_RING = 64;
    public static final int MAX_RING = 4096;

    private static final Logger LOG = Logger.getLogger("dma_ioat");
    private static final VarHandle COUNTER = MethodHandles.arrayElementVarHandle(long[].class);
    private static final int SUBMITTED = 0;
    private static final int COMPLETED = 1;
    private static final int FAILED = 2;
    private static final int RING_FULL = 3;
    private static final int FENCES = 4;

    private final String address;
    private final Engine engine;
    private final long[] counters = new long[5];
    private volatile boolean started;
    private volatile boolean stalled;
    private volatile double errorRate;

    /** A stopped channel with a ring of {@code ringSize} descriptors. */
    public IoatChannel(String address, Engine engine, int ringSize) throws DmaException {
        this.address = address;
        this.engine = engine;
        checkRingSize(ringSize);
        engine.open(ringSize);
    }

    public String address() {
        return address;
    }

    /** Checks a ring size the way {@link #configure} does. */
    public static void checkRingSize(int ringSize) throws DmaException {
        if (ringSize < MIN_RING || ringSize > MAX_RING || Integer.bitCount(ringSize) != 1) {
            throw new DmaException("ring size " + ringSize + " is not a power of two from " + MIN_RING + " to "
                    + MAX_RING);
        }
    }

    @Override
    public DmaInfo info() {
        return new DmaInfo(address, DRIVER, engine.ringSize(), MIN_RING, MAX_RING, 0);
    }

    @Override
    public synchronized void configure(int ringSize) throws DmaException {
        if (started) {
            throw new DmaException(address + ": channel is started (EBUSY): stop it before configuring");
        }
        checkRingSize(ringSize);
        int pending = engine.inFlight();
        if (pending != 0) {
            throw new DmaException(address + ": " + pending + " completed copies not yet read by completedOps");
        }
        engine.close();
        engine.open(ringSize);
        LOG.fine(address + ": configured ring size " + ringSize);
    }

    @Override
    public synchronized void start() {
        if (started) {
            return;
        }
        engine.setFaults(errorRate, stalled);
        engine.start();
        started = true;
        LOG.info(address + ": started (" + engine.kind() + " engine, ring " + engine.ringSize() + ")");
    }

    @Override
    public synchronized void stop() {
        if (!started) {
            return;
        }
        started = false;
        stalled = false;
        int inFlight = engine.inFlight();
        engine.stop();
        LOG.info(address + ": stopped; " + inFlight + " copies were in flight, all completed");
    }

    @Override
    public boolean isStarted() {
        return started;
    }

    /** Fault injection (see {@link Engine#setFaults}); takes effect at once, started or not. */
    public void setFaults(double errorRate, boolean stall) {
        if (!(errorRate >= 0 && errorRate <= 1)) {
            throw new IllegalArgumentException("error rate " + errorRate + " is not in 0..1");
        }
        this.errorRate = errorRate;
        this.stalled = stall;
        engine.setFaults(errorRate, stall);
    }

    @Override
    public boolean enqueueCopy(long src, long dst, int length, long srcHandle, long dstHandle) {
        if (length < 0) {
            throw new IllegalArgumentException("negative length " + length);
        }
        if (!started) {
            return false;
        }
        if (!engine.enqueue(src, dst, length, srcHandle, dstHandle)) {
            bump(RING_FULL, 1);
            return false;
        }
        bump(SUBMITTED, 1);
        return true;
    }

    @Override
    public void fence() {
        engine.fence();
        bump(FENCES, 1);
    }

    @Override
    public void performOps() {
        engine.doorbell();
    }

    @Override
    public int completedOps(int max, DmaCompletions out) {
        out.clear();
        int n = engine.completed(Math.min(max, out.capacity()), out);
        if (n > 0) {
            int failed = 0;
            for (int i = 0; i < n; i++) {
                if (out.status(i) != STATUS_OK) {
                    failed++;
                }
            }
            bump(COMPLETED, n);
            if (failed > 0) {
                bump(FAILED, failed);
            }
        }
        return n;
    }

    @Override
    public int inFlight() {
        return engine.inFlight();
    }

    @Override
    public int freeSlots() {
        return engine.freeSlots();
    }

    /**
     * submitted, completed (reported by completedOps, any status), failed (reported with an error status),
     * ring_full (refused enqueues), in_flight, queued (rung, not yet executed), fences, doorbells, wakeups
     * (doorbells that woke a parked engine), faults (copies that faulted on a mapping), engine_busy_ppm, stalled.
     */
    @Override
    public void stats(CustomStats sink) {
        sink.put("submitted", get(SUBMITTED));
        sink.put("completed", get(COMPLETED));
        sink.put("failed", get(FAILED));
        sink.put("ring_full", get(RING_FULL));
        sink.put("in_flight", engine.inFlight());
        sink.put("queued", engine.queued());
        sink.put("fences", get(FENCES));
        sink.put("doorbells", engine.doorbells());
        sink.put("wakeups", engine.wakeups());
        sink.put("faults", engine.faults());
        sink.put("engine_busy_ppm", engine.busyPpm());
        sink.put("stalled", stalled ? 1 : 0);
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
