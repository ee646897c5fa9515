package io.pvio.dma.ioat.engine;

import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaDevice;
import io.pvio.memory.NativeMemory;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Logger;

/**
 * A software model of a QuickData channel. The descriptor ring is off-heap (64-byte descriptors, like
 * the hardware's); a dedicated thread plays the hardware and executes doorbell'd descriptors strictly in
 * order with {@link NativeMemory#copy}, writing each descriptor's completion word with release ordering.
 *
 * <h2>Descriptor ({@value #DESC_SIZE} bytes, native byte order)</h2>
 * <pre>
 *  0 src address   8 dst address   16 length (int)   20 flags (int, bit 0 = fence)
 * 24 src handle   32 dst handle    40 completion word: ((sequence + 1) &lt;&lt; 8) | status
 * </pre>
 * The completion word carries the descriptor's sequence number, so a slot never has to be cleared: the
 * submitter knows descriptor {@code seq} is done when the word (read with acquire) names {@code seq + 1}.
 *
 * <h2>Ordering</h2>
 * The submitter writes descriptors with plain stores and publishes them with a release store of
 * {@code rung} (the doorbell); the engine reads {@code rung} with acquire. The engine reads a descriptor
 * before its release store of the completion word, and the submitter reuses a slot only after reading that
 * word with acquire, so the engine is done with the slot. No lock is taken on either side.
 *
 * <h2>Idling</h2>
 * With nothing to do the engine spins {@value #SPINS} times, then sets {@code sleeping} and parks; the
 * doorbell unparks it when it sees {@code sleeping} (both volatile, so one of the two sides always sees
 * the other).
 */
public final class ModelEngine implements Engine {
    static final int DESC_SIZE = 64;
    static final int OFF_SRC = 0;
    static final int OFF_DST = 8;
    static final int OFF_LEN = 16;
    static final int OFF_FLAGS = 20;
    static final int OFF_SRC_HANDLE = 24;
    static final int OFF_DST_HANDLE = 32;
    static final int OFF_COMPLETION = 40;
    static final int FLAG_FENCE = 1;

    private static final int SPINS = 2_000;
    private static final long PARK_NANOS = 1_000_000_000L;
    private static final Logger LOG = Logger.getLogger("dma_ioat");

    private static final VarHandle RING_LONG = MethodHandles.byteBufferViewVarHandle(long[].class,
            ByteOrder.nativeOrder());
    private static final VarHandle RUNG;
    private static final VarHandle DONE;
    private static final VarHandle ENQ_TAIL;
    private static final VarHandle REPORT_HEAD;
    private static final VarHandle BUSY_NANOS;
    private static final VarHandle DOORBELLS;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            RUNG = l.findVarHandle(ModelEngine.class, "rung", long.class);
            DONE = l.findVarHandle(ModelEngine.class, "done", long.class);
            ENQ_TAIL = l.findVarHandle(ModelEngine.class, "enqTail", long.class);
            REPORT_HEAD = l.findVarHandle(ModelEngine.class, "reportHead", long.class);
            BUSY_NANOS = l.findVarHandle(ModelEngine.class, "busyNanos", long.class);
            DOORBELLS = l.findVarHandle(ModelEngine.class, "doorbells", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    private final int cpu;

    // ring: written by open/close only (engine stopped)
    private ByteBuffer ring;
    private int mask;
    private int size;

    // submitter side (single writer; opaque/release where other threads read them)
    private long enqTail;
    private long reportHead;
    private boolean fenceNext;
    private long doorbells;

    // shared with the engine thread
    private long rung;
    private long done;
    private volatile boolean sleeping;
    private volatile boolean running;
    private volatile boolean stalled;
    private volatile double errorRate;
    private volatile Thread thread;

    // engine side
    private long busyNanos;
    private volatile long startNanos;
    private long random;

    /**
     * @param name channel name for the thread and logs (its PCI address)
     * @param cpu core to pin the engine thread to, or -1
     */
    public ModelEngine(String name, int cpu) {
        this.name = name;
        this.cpu = cpu;
        this.random = 0x9E3779B97F4A7C15L ^ name.hashCode();
    }

    @Override
    public String kind() {
        return "model";
    }

    @Override
    public void open(int ringSize) {
        if (thread != null) {
            throw new IllegalStateException(name + ": open while started");
        }
        ring = NativeMemory.allocateAligned(ringSize * DESC_SIZE, 64).order(ByteOrder.nativeOrder());
        size = ringSize;
        mask = ringSize - 1;
        enqTail = 0;
        reportHead = 0;
        rung = 0;
        done = 0;
        fenceNext = false;
    }

    @Override
    public void close() {
        if (thread != null) {
            throw new IllegalStateException(name + ": close while started");
        }
        ring = null;
    }

    @Override
    public int ringSize() {
        return size;
    }

    @Override
    public synchronized void start() {
        if (thread != null) {
            return;
        }
        running = true;
        startNanos = System.nanoTime();
        BUSY_NANOS.setOpaque(this, 0L);
        Thread t = new Thread(this::run, "dma-ioat-" + name);
        t.setDaemon(true);
        thread = t;
        t.start();
    }

    @Override
    public synchronized void stop() {
        Thread t = thread;
        if (t == null) {
            return;
        }
        doorbell();
        if (stalled) {
            LOG.warning(name + ": stop clears the stall fault so that the submitted copies complete");
            stalled = false;
        }
        running = false;
        LockSupport.unpark(t);
        boolean interrupted = false;
        while (t.isAlive()) {
            try {
                t.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        thread = null;
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public boolean enqueue(long src, long dst, int length, long srcHandle, long dstHandle) {
        long tail = enqTail;
        if (tail - reportHead == size) {
            return false;
        }
        ByteBuffer r = ring;
        int off = (int) (tail & mask) * DESC_SIZE;
        r.putLong(off + OFF_SRC, src);
        r.putLong(off + OFF_DST, dst);
        r.putInt(off + OFF_LEN, length);
        r.putInt(off + OFF_FLAGS, fenceNext ? FLAG_FENCE : 0);
        r.putLong(off + OFF_SRC_HANDLE, srcHandle);
        r.putLong(off + OFF_DST_HANDLE, dstHandle);
        fenceNext = false;
        ENQ_TAIL.setRelease(this, tail + 1);
        return true;
    }

    @Override
    public void fence() {
        if ((long) ENQ_TAIL.getAcquire(this) != reportHead) {
            fenceNext = true;
        }
    }

    @Override
    public void doorbell() {
        long tail = (long) ENQ_TAIL.getAcquire(this);
        if (tail == (long) RUNG.getOpaque(this)) {
            return;
        }
        RUNG.setVolatile(this, tail);
        DOORBELLS.setOpaque(this, doorbells + 1);
        if (sleeping) {
            Thread t = thread;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    @Override
    public int completed(int max, DmaCompletions out) {
        ByteBuffer r = ring;
        long head = reportHead;
        long tail = enqTail;
        int n = 0;
        while (n < max && head != tail) {
            int off = (int) (head & mask) * DESC_SIZE;
            long word = (long) RING_LONG.getAcquire(r, off + OFF_COMPLETION);
            if ((word >>> 8) != head + 1) {
                break;
            }
            if (!out.add(r.getLong(off + OFF_SRC_HANDLE), r.getLong(off + OFF_DST_HANDLE), (int) (word & 0xff))) {
                break;
            }
            head++;
            n++;
        }
        if (n > 0) {
            REPORT_HEAD.setRelease(this, head);
        }
        return n;
    }

    @Override
    public int inFlight() {
        return (int) ((long) ENQ_TAIL.getOpaque(this) - (long) REPORT_HEAD.getOpaque(this));
    }

    @Override
    public int freeSlots() {
        return size - inFlight();
    }

    @Override
    public void setFaults(double errorRate, boolean stall) {
        this.errorRate = errorRate;
        boolean was = stalled;
        stalled = stall;
        if (was && !stall) {
            Thread t = thread;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    @Override
    public long busyPpm() {
        long start = startNanos;
        if (thread == null || start == 0) {
            return 0;
        }
        long up = System.nanoTime() - start;
        return up <= 0 ? 0 : (long) ((double) (long) BUSY_NANOS.getOpaque(this) * 1_000_000.0 / up);
    }

    @Override
    public long doorbells() {
        return (long) DOORBELLS.getOpaque(this);
    }

    /** The "hardware": executes rung descriptors in order until stopped with nothing left to do. */
    private void run() {
        if (cpu >= 0) {
            ThreadAffinity.pin(cpu, name);
        }
        LOG.fine(name + ": engine started, ring " + size);
        long head = done;
        int idle = 0;
        while (true) {
            long tail = (long) RUNG.getAcquire(this);
            if (head == tail || stalled) {
                if (!running && head == (long) RUNG.getAcquire(this)) {
                    break;
                }
                if (++idle < SPINS) {
                    Thread.onSpinWait();
                    continue;
                }
                sleeping = true;
                if (running && (stalled || head == (long) RUNG.getVolatile(this))) {
                    LockSupport.parkNanos(this, PARK_NANOS);
                }
                sleeping = false;
                idle = SPINS / 2;
                continue;
            }
            idle = 0;
            long t0 = System.nanoTime();
            while (head != tail && !stalled) {
                execute(head);
                head++;
            }
            DONE.setRelease(this, head);
            BUSY_NANOS.setOpaque(this, busyNanos + (System.nanoTime() - t0));
        }
        LOG.fine(name + ": engine stopped after " + head + " descriptors");
    }

    private void execute(long seq) {
        ByteBuffer r = ring;
        int off = (int) (seq & mask) * DESC_SIZE;
        // FLAG_FENCE: this engine runs one descriptor at a time, so every earlier one has completed already.
        long src = r.getLong(off + OFF_SRC);
        long dst = r.getLong(off + OFF_DST);
        int length = r.getInt(off + OFF_LEN);
        int status = DmaDevice.STATUS_OK;
        double rate = errorRate;
        if (rate > 0 && nextDouble() < rate) {
            status = DmaDevice.STATUS_ERROR;
        } else if (length > 0) {
            NativeMemory.copy(src, dst, length);
        }
        RING_LONG.setRelease(r, off + OFF_COMPLETION, ((seq + 1) << 8) | status);
    }

    private double nextDouble() {
        long x = random;
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        random = x;
        return (x >>> 11) * 0x1.0p-53;
    }
}
