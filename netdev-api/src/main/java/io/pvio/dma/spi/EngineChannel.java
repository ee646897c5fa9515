package io.pvio.dma.spi;

import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaDevice;
import io.pvio.dma.DmaException;
import io.pvio.dma.DmaInfo;
import io.pvio.netdev.CustomStats;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.logging.Logger;

/**
 * One channel: the dmadev control state (configure, start, stop), argument checks, fault settings and the
 * per-channel counters in front of a {@link DmaEngine}. The data-path methods follow the {@link DmaDevice}
 * thread rules (one user); {@link #stats}, {@link #info} and {@link #inFlight} may be called from any thread.
 */
public class EngineChannel implements DmaDevice {
    private static final VarHandle COUNTER = MethodHandles.arrayElementVarHandle(long[].class);
    private static final int SUBMITTED = 0;
    private static final int COMPLETED = 1;
    private static final int FAILED = 2;
    private static final int RING_FULL = 3;
    private static final int FENCES = 4;

    private final String address;
    private final String driver;
    private final DmaEngine engine;
    private final Logger log;
    private final long[] counters = new long[5];
    private volatile int ringSize;
    private volatile boolean started;
    private volatile boolean stalled;
    private volatile double errorRate;

    /**
     * A stopped channel with a ring of {@code ringSize} descriptors.
     *
     * @param logName OVS-style module name of the provider, e.g. {@code dma_ioat}
     */
    public EngineChannel(String address, String driver, DmaEngine engine, int ringSize, String logName)
            throws DmaException {
        this.address = address;
        this.driver = driver;
        this.engine = engine;
        this.log = Logger.getLogger(logName);
        checkRingSize(ringSize);
        engine.open(ringSize);
        this.ringSize = ringSize;
    }

    public String address() {
        return address;
    }

    public DmaEngine engine() {
        return engine;
    }

    /** Checks a ring size the way {@link #configure} does. */
    public void checkRingSize(int size) throws DmaException {
        int min = engine.minRingSize();
        int max = engine.maxRingSize();
        if (size < min || size > max || Integer.bitCount(size) != 1) {
            throw new DmaException("ring size " + size + " is not a power of two from " + min + " to " + max
                    + " (" + engine.kind() + " engine)");
        }
    }

    @Override
    public DmaInfo info() {
        return new DmaInfo(address, driver, engine.kind(), engine.device(), engine.capabilities(), ringSize,
                engine.minRingSize(), engine.maxRingSize(), 0);
    }

    @Override
    public synchronized void configure(int size) throws DmaException {
        if (started) {
            throw new DmaException(address + ": channel is started (EBUSY): stop it before configuring");
        }
        checkRingSize(size);
        int pending = engine.inFlight();
        if (pending != 0) {
            throw new DmaException(address + ": " + pending + " completed copies not yet read by completed()");
        }
        engine.close();
        engine.open(size);
        ringSize = size;
        log.fine(address + ": configured ring size " + size);
    }

    @Override
    public synchronized void start() throws DmaException {
        if (started) {
            return;
        }
        int pending = engine.inFlight();
        if (pending != 0) {
            throw new DmaException(address + ": " + pending + " completed copies not yet read by completed()"
                    + " (ring indexes restart at 0)");
        }
        engine.setFaults(errorRate, stalled);
        engine.start();
        started = true;
        log.info(address + ": started (" + engine.kind() + " engine"
                + (engine.device().equals("-") ? "" : " on " + engine.device()) + ", ring " + ringSize + ")");
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
        log.info(address + ": stopped; " + inFlight + " copies were in flight, all completed");
    }

    @Override
    public boolean isStarted() {
        return started;
    }

    /** Fault injection (see {@link DmaEngine#setFaults}); takes effect at once, started or not. */
    public void setFaults(double rate, boolean stall) {
        if (!(rate >= 0 && rate <= 1)) {
            throw new IllegalArgumentException("error rate " + rate + " is not in 0..1");
        }
        engine.setFaults(rate, stall);
        this.errorRate = rate;
        this.stalled = stall;
    }

    @Override
    public int copy(long src, long dst, int length, int flags) {
        if (length < 0) {
            throw new IllegalArgumentException("negative length " + length);
        }
        if (!started) {
            return ESTOPPED;
        }
        int idx = engine.copy(src, dst, length, flags);
        if (idx < 0) {
            bump(RING_FULL, 1);
            return idx;
        }
        bump(SUBMITTED, 1);
        if ((flags & FLAG_FENCE) != 0) {
            bump(FENCES, 1);
        }
        return idx;
    }

    @Override
    public void submit() {
        engine.submit();
    }

    @Override
    public int completed(int max, DmaCompletions out) {
        out.reset();
        int n = engine.completed(max, out);
        if (n > 0) {
            bump(COMPLETED, n);
        }
        return n;
    }

    @Override
    public int completedStatus(int max, DmaCompletions out) {
        out.reset();
        int n = engine.completedStatus(Math.min(max, out.capacity()), out);
        if (n > 0) {
            int failed = 0;
            for (int i = 0; i < n; i++) {
                if (out.status(i) != STATUS_SUCCESSFUL) {
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
    public int burstCapacity() {
        return started ? engine.burstCapacity() : 0;
    }

    @Override
    public int inFlight() {
        return engine.inFlight();
    }

    /**
     * submitted, completed (reported, any status), failed (reported with an error status), ring_full
     * (refused copies), fences, in_flight, stalled, then the engine's own counters.
     */
    @Override
    public void stats(CustomStats sink) {
        sink.put("submitted", get(SUBMITTED));
        sink.put("completed", get(COMPLETED));
        sink.put("failed", get(FAILED));
        sink.put("ring_full", get(RING_FULL));
        sink.put("fences", get(FENCES));
        sink.put("in_flight", engine.inFlight());
        sink.put("stalled", stalled ? 1 : 0);
        engine.stats(sink);
    }

    @Override
    public String toString() {
        return driver + "@" + address;
    }

    private void bump(int i, long by) {
        COUNTER.setOpaque(counters, i, counters[i] + by);
    }

    private long get(int i) {
        return (long) COUNTER.getOpaque(counters, i);
    }
}
