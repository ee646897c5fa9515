package io.pvio.dma.ioat.engine;

import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaDevice;
import io.pvio.dma.spi.DmaEngine;
import io.pvio.memory.NativeMemory;
import io.pvio.netdev.CustomStats;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Logger;

/**
 * A software model of a QuickData channel. A dedicated thread plays the hardware and executes doorbell'd
 * descriptors strictly in order with {@link NativeMemory#copy}.
 *
 * <h2>Descriptors: three off-heap columns (native byte order)</h2>
 * Slot {@code i} is {@code src[i]} (address), {@code dst[i]} (address) and {@code lenFlags[i]} (length in the
 * low 32 bits, flags in the high 32 bits; bit 0 = fence), 8 bytes each. The hardware's descriptor
 * is one 64-byte line; here eight descriptors share three lines, because every line the submitter writes
 * after the engine has read it costs a transfer between the cores (one line per descriptor measured as
 * the largest part of the submission). A copy's ring index is its sequence number modulo 65536 (the
 * sequence restarts at 0 on every start, as dmadev's ring_idx does).
 *
 * <h2>Completion</h2>
 * Like the hardware's channel completion address, the engine publishes how far it got ({@code DONE},
 * release, every {@value #PUBLISH_EVERY} descriptors and at the end of each batch) and how many descriptors
 * failed so far ({@code FAILED}, on the same line). Only a failed descriptor gets a status word, {@code
 * ((sequence + 1) << 16) | status}, written (release) before {@code FAILED} and {@code DONE} move past it.
 * The submitter reads the status words only when {@code FAILED} has moved since it last looked; a word
 * that does not name {@code sequence + 1} is left from an earlier lap and means success, so no slot is ever
 * cleared. In the common case a completion poll reads one line.
 *
 * <h2>Ordering</h2>
 * The submitter writes descriptors with plain stores and publishes them with a volatile store of
 * {@code RUNG} (the doorbell); the engine reads {@code RUNG} with acquire. The engine reads a descriptor
 * before its release store of {@code DONE} past it, and the submitter reuses a slot only after reading
 * {@code DONE} with acquire, so the engine is done with the slot. No lock is taken on either side.
 *
 * <h2>Cache lines</h2>
 * The words both threads touch live in {@code ctl}, a padded array: {@code RUNG} (submitter-written) on one
 * line, {@code DONE}, {@code FAILED}, {@code SLEEPING}, {@code BUSY} (engine-written) and the fault settings
 * (rarely written) on another. The submitter's own indices are plain fields of this object, which the
 * engine never reads.
 *
 * <h2>Idling</h2>
 * With nothing to do the engine spins {@value #SPINS} times, then naps ({@value #NAP_NANOS} ns parks that
 * its timer ends) until {@value #NAPPING_NANOS} ns (by default) have passed since it last started work,
 * then sets {@code SLEEPING} and parks; the doorbell unparks it only when it sees {@code SLEEPING} (both
 * sides use volatile accesses, so one of the two always sees the other). Unparking is a system call, and
 * in a VM an inter-processor interrupt, on the submitter's core: a busy channel pays at most a nap's
 * latency instead, an idle one costs nothing.
 */
public final class ModelEngine implements DmaEngine {
    static final int FLAG_FENCE = 1;

    private static final int SPINS = 200;
    /** The engine announces its progress ({@code DONE}) after each batch and every this many descriptors. */
    private static final int PUBLISH_EVERY = 16;
    /** After spinning, the engine naps this long at a time (the timer wakes it, not the doorbell)... */
    private static final long NAP_NANOS = 20_000L;
    /** ...for this long after its last work, then sleeps until a doorbell unparks it. */
    private static final long NAPPING_NANOS = 10_000_000L;
    private static final long PARK_NANOS = 1_000_000_000L;
    private static final Logger LOG = Logger.getLogger("dma_ioat");

    private static final VarHandle STATUS = MethodHandles.byteBufferViewVarHandle(long[].class,
            ByteOrder.nativeOrder());
    private static final VarHandle CTL = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle SUB = MethodHandles.arrayElementVarHandle(long[].class);
    // ctl indices: 16 longs (128 bytes) apart so that adjacent-line prefetch does not pair them
    private static final int RUNG = 16;
    private static final int DONE = 32;
    private static final int FAILED = 33;
    private static final int SLEEPING = 34;
    private static final int BUSY = 35;
    private static final int STALLED = 36;
    private static final int ERROR_RATE = 37;
    private static final int FAULTS = 38;
    private static final int CTL_LENGTH = 48;
    // sub indices (submitter-written; read by other threads only for statistics)
    private static final int ENQ_TAIL = 0;
    private static final int REPORT_HEAD = 1;
    private static final int DOORBELLS = 2;
    private static final int WAKEUPS = 3;
    private static final int FAILED_SEEN = 4;

    private final String name;
    private final int cpu;
    private final long nappingNanos;
    private final long[] ctl = new long[CTL_LENGTH];
    private final long[] sub = new long[5];

    // ring: written by open/close only (engine stopped)
    private ByteBuffer src;
    private ByteBuffer dst;
    private ByteBuffer lenFlags;
    private ByteBuffer status; // per slot ((seq + 1) << 16) | status of a failed descriptor; engine-written
    private int mask;
    private int size;

    private volatile boolean running;
    private volatile Thread thread;
    private volatile long startNanos;
    private long random; // engine only
    private long head; // engine only: next descriptor to execute
    private long executing; // engine only: the descriptor being executed, or -1

    /**
     * @param name channel name for the thread and logs (its PCI address)
     * @param cpu core to pin the engine thread to, or -1
     */
    public ModelEngine(String name, int cpu) {
        this(name, cpu, NAPPING_NANOS);
    }

    /**
     * @param nappingNanos how long the idle engine naps before it sleeps until a doorbell (0: at once)
     */
    public ModelEngine(String name, int cpu, long nappingNanos) {
        this.name = name;
        this.cpu = cpu;
        this.nappingNanos = nappingNanos;
        this.random = 0x9E3779B97F4A7C15L ^ name.hashCode();
    }

    @Override
    public String kind() {
        return "model";
    }

    @Override
    public synchronized void open(int ringSize) {
        if (thread != null) {
            throw new IllegalStateException(name + ": open while started");
        }
        src = column(ringSize);
        dst = column(ringSize);
        lenFlags = column(ringSize);
        status = column(ringSize);
        size = ringSize;
        mask = ringSize - 1;
        SUB.setRelease(sub, ENQ_TAIL, 0L);
        SUB.setRelease(sub, REPORT_HEAD, 0L);
        SUB.setRelease(sub, FAILED_SEEN, 0L);
        CTL.setRelease(ctl, RUNG, 0L);
        CTL.setRelease(ctl, DONE, 0L);
        CTL.setRelease(ctl, FAILED, 0L);
    }

    @Override
    public synchronized void close() {
        if (thread != null) {
            throw new IllegalStateException(name + ": close while started");
        }
        src = null;
        dst = null;
        lenFlags = null;
        status = null;
    }

    private static ByteBuffer column(int ringSize) {
        return NativeMemory.allocateAligned(ringSize * 8, 64).order(ByteOrder.nativeOrder());
    }

    public int ringSize() {
        return size;
    }

    @Override
    public String device() {
        return "-";
    }

    @Override
    public long capabilities() {
        return DmaDevice.CAPA_MEM_TO_MEM | DmaDevice.CAPA_OPS_COPY | DmaDevice.CAPA_HANDLES_ERRORS
                | DmaDevice.CAPA_SVA;
    }

    @Override
    public int minRingSize() {
        return 64;
    }

    @Override
    public int maxRingSize() {
        return 4096;
    }

    @Override
    public synchronized void start() {
        if (thread != null) {
            return;
        }
        // ring indexes restart at 0 (nothing is in flight: the channel checked); old status words would name
        // the new sequences, so they are cleared
        for (int i = 0; i < size; i++) {
            status.putLong(i * 8, 0L);
        }
        SUB.setRelease(sub, ENQ_TAIL, 0L);
        SUB.setRelease(sub, REPORT_HEAD, 0L);
        SUB.setRelease(sub, FAILED_SEEN, 0L);
        CTL.setRelease(ctl, RUNG, 0L);
        CTL.setRelease(ctl, DONE, 0L);
        CTL.setRelease(ctl, FAILED, 0L);
        running = true;
        CTL.setRelease(ctl, BUSY, 0L);
        startNanos = System.nanoTime();
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
        submit();
        if ((long) CTL.getVolatile(ctl, STALLED) != 0) {
            LOG.warning(name + ": stop clears the stall fault so that the submitted copies complete");
            CTL.setVolatile(ctl, STALLED, 0L);
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
    public int copy(long src, long dst, int length, int flags) {
        long tail = sub[ENQ_TAIL];
        if (tail - sub[REPORT_HEAD] == size) {
            return DmaDevice.ENOSPC;
        }
        int slot = (int) (tail & mask);
        int off = slot * 8;
        this.src.putLong(off, src);
        this.dst.putLong(off, dst);
        lenFlags.putLong(off, lenAndFlags(length, (flags & DmaDevice.FLAG_FENCE) != 0 ? FLAG_FENCE : 0));
        SUB.setRelease(sub, ENQ_TAIL, tail + 1);
        if ((flags & DmaDevice.FLAG_SUBMIT) != 0) {
            submit();
        }
        return (int) (tail & 0xffff);
    }

    @Override
    public void submit() {
        long tail = (long) SUB.getAcquire(sub, ENQ_TAIL);
        if (tail == (long) CTL.getOpaque(ctl, RUNG)) {
            return;
        }
        CTL.setVolatile(ctl, RUNG, tail);
        SUB.setOpaque(sub, DOORBELLS, sub[DOORBELLS] + 1);
        if ((long) CTL.getVolatile(ctl, SLEEPING) != 0) {
            Thread t = thread;
            if (t != null) {
                LockSupport.unpark(t);
                SUB.setOpaque(sub, WAKEUPS, sub[WAKEUPS] + 1);
            }
        }
    }

    @Override
    public int completed(int max, DmaCompletions out) {
        return report(max, out, false);
    }

    @Override
    public int completedStatus(int max, DmaCompletions out) {
        return report(max, out, true);
    }

    /** Reports in order; without {@code withStatus} stops before the first failed copy. */
    private int report(int max, DmaCompletions out, boolean withStatus) {
        long head = sub[REPORT_HEAD];
        long done = (long) CTL.getAcquire(ctl, DONE);
        long failedSeen = sub[FAILED_SEEN];
        boolean failures = (long) CTL.getAcquire(ctl, FAILED) != failedSeen;
        boolean error = false;
        int n = 0;
        while (n < max && head != done) {
            int slot = (int) (head & mask);
            int st = DmaDevice.STATUS_SUCCESSFUL;
            if (failures) {
                long word = (long) STATUS.getAcquire(status, slot * 8);
                if ((word >>> 16) == head + 1) {
                    st = (int) (word & 0xffff);
                }
            }
            if (!withStatus) {
                if (st != DmaDevice.STATUS_SUCCESSFUL) {
                    error = true;
                    break;
                }
            } else if (!out.add(st)) {
                break;
            }
            if (st != DmaDevice.STATUS_SUCCESSFUL) {
                failedSeen++;
            }
            head++;
            n++;
        }
        if (n > 0) {
            SUB.setRelease(sub, REPORT_HEAD, head);
            sub[FAILED_SEEN] = failedSeen;
        }
        out.finish((int) (head - 1), error);
        return n;
    }

    /** Length in the low 32 bits, flags in the high 32 bits. */
    private static long lenAndFlags(int length, int flags) {
        return (length & 0xffffffffL) | (long) flags << 32;
    }

    @Override
    public int inFlight() {
        return (int) ((long) SUB.getOpaque(sub, ENQ_TAIL) - (long) SUB.getOpaque(sub, REPORT_HEAD));
    }

    public int queued() {
        return (int) Math.max(0, (long) CTL.getOpaque(ctl, RUNG) - (long) CTL.getOpaque(ctl, DONE));
    }

    @Override
    public int burstCapacity() {
        return size - inFlight();
    }

    /** queued, doorbells, wakeups, faults, engine_busy_ppm. */
    @Override
    public void stats(CustomStats sink) {
        sink.put("queued", queued());
        sink.put("doorbells", doorbells());
        sink.put("wakeups", wakeups());
        sink.put("faults", faults());
        sink.put("engine_busy_ppm", busyPpm());
    }

    @Override
    public void setFaults(double errorRate, boolean stall) {
        CTL.setVolatile(ctl, ERROR_RATE, Double.doubleToRawLongBits(errorRate));
        boolean was = (long) CTL.getVolatile(ctl, STALLED) != 0;
        CTL.setVolatile(ctl, STALLED, stall ? 1L : 0L);
        if (was && !stall) {
            Thread t = thread;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    public long busyPpm() {
        long start = startNanos;
        if (thread == null || start == 0) {
            return 0;
        }
        long up = System.nanoTime() - start;
        return up <= 0 ? 0 : (long) ((double) (long) CTL.getOpaque(ctl, BUSY) * 1_000_000.0 / up);
    }

    public long doorbells() {
        return (long) SUB.getOpaque(sub, DOORBELLS);
    }

    public long faults() {
        return (long) CTL.getOpaque(ctl, FAULTS);
    }

    public long wakeups() {
        return (long) SUB.getOpaque(sub, WAKEUPS);
    }

    private boolean stalled() {
        return (long) CTL.getOpaque(ctl, STALLED) != 0;
    }

    /** The "hardware": executes rung descriptors in order until stopped with nothing left to do. */
    private void run() {
        if (cpu >= 0) {
            ThreadAffinity.pin(cpu, name);
        }
        LOG.fine(name + ": engine started, ring " + size);
        head = (long) CTL.getAcquire(ctl, DONE);
        executing = -1;
        while (true) {
            try {
                loop();
                break;
            } catch (InternalError | RuntimeException e) {
                recover(e);
            }
        }
        LOG.fine(name + ": engine stopped after " + head + " descriptors");
    }

    private void loop() {
        int idle = 0;
        long lastWork = System.nanoTime() - nappingNanos; // no naps before the first work
        while (true) {
            long tail = (long) CTL.getAcquire(ctl, RUNG);
            if (head == tail || stalled()) {
                if (!running && head == (long) CTL.getAcquire(ctl, RUNG)) {
                    return;
                }
                if (++idle < SPINS) {
                    Thread.onSpinWait();
                    continue;
                }
                if (System.nanoTime() - lastWork < nappingNanos) {
                    // a nap: the doorbell does not wake it (no system call on the submitter's core)
                    LockSupport.parkNanos(this, NAP_NANOS);
                    continue;
                }
                CTL.setVolatile(ctl, SLEEPING, 1L);
                if (running && (stalled() || head == (long) CTL.getVolatile(ctl, RUNG))) {
                    LockSupport.parkNanos(this, PARK_NANOS);
                }
                CTL.setOpaque(ctl, SLEEPING, 0L);
                idle = SPINS / 2;
                continue;
            }
            idle = 0;
            long t0 = System.nanoTime();
            lastWork = t0;
            double rate = Double.longBitsToDouble((long) CTL.getOpaque(ctl, ERROR_RATE));
            long h = head;
            while (h != tail && !stalled()) {
                executing = h;
                execute(h, rate);
                head = ++h;
                executing = -1;
                if ((h & (PUBLISH_EVERY - 1)) == 0) {
                    CTL.setRelease(ctl, DONE, h);
                }
            }
            CTL.setRelease(ctl, DONE, h);
            CTL.setOpaque(ctl, BUSY, ctl[BUSY] + (System.nanoTime() - t0));
        }
    }

    /**
     * A copy faulted on a mapping (a front end truncated its memory file: SIGBUS, which Java reports as an
     * InternalError, possibly a little after the faulting copy). Like a hardware channel after an IOMMU fault,
     * the engine goes on: when the error is raised inside a descriptor's copy, that descriptor completes with
     * an error status; raised later, the faulting descriptor has already completed (its bytes did not land).
     */
    private void recover(Throwable e) {
        long x = executing;
        executing = -1;
        if (x >= 0) {
            if (head == x) {
                markFailed(x, DmaDevice.STATUS_PAGE_FAULT);
            }
            head = x + 1;
        }
        CTL.setRelease(ctl, DONE, head);
        long n = ctl[FAULTS] + 1;
        CTL.setOpaque(ctl, FAULTS, n);
        if ((n & (n - 1)) == 0) { // the 1st, 2nd, 4th, 8th...
            LOG.warning(name + ": a copy faulted (" + e + "); " + n + " such faults so far");
        }
    }

    private void execute(long seq, double rate) {
        int off = (int) (seq & mask) * 8;
        // FLAG_FENCE needs no action: this engine runs one descriptor at a time, so every earlier one has
        // completed (bytes written) before this one starts.
        long from = src.getLong(off);
        long to = dst.getLong(off);
        int length = (int) lenFlags.getLong(off);
        if (rate > 0 && nextDouble() < rate) {
            markFailed(seq, DmaDevice.STATUS_ERROR_UNKNOWN);
        } else if (length > 0) {
            NativeMemory.copy(from, to, length);
        }
    }

    private void markFailed(long seq, int st) {
        STATUS.setRelease(status, (int) (seq & mask) * 8, ((seq + 1) << 16) | st);
        CTL.setRelease(ctl, FAILED, ctl[FAILED] + 1);
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
