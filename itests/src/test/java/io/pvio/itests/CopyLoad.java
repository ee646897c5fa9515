package io.pvio.itests;

import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaDevice;
import io.pvio.memory.NativeMemory;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A user of one {@link DmaDevice}, as a vhost queue would be: its own thread is the channel's only submitter
 * while it runs. It copies {@code size}-byte blocks from a direct source buffer into slots of a direct
 * destination buffer. Every copy has a sequence number; each 8-byte word of a copy is
 * {@code 1<<63 | seq<<20 | word}, so a copy that is missing, half-written, mixed up with another or done twice
 * is seen. Destination slots are zeroed before each copy and verified when the completion is read.
 *
 * <p>Hand-over ({@link #quiesce}): the thread stops submitting and either drains (submit/completedStatus
 * until inFlight()==0, what a DS user does in its unbind) or leaves copies queued, some without a doorbell,
 * for the provider's stop() to complete. After the thread has ended, the caller (the test thread) may read
 * the remaining completions with {@link #collect}.
 */
final class CopyLoad implements Runnable {
    private static final int BURST = 32;

    private final DmaDevice dev;
    private final int slots;
    private final int size;
    private final ByteBuffer src;
    private final ByteBuffer dst;
    private final long srcAddr;
    private final long dstAddr;
    private final long[] slotSeq;
    private final int[] free;
    private int freeTop;
    private final DmaCompletions comps = new DmaCompletions(256);
    /** Per ring index: the slot and sequence of the copy (the user's context, as dmadev users keep it). */
    private final int[] idxSlot = new int[65536];
    private final long[] idxSeq = new long[65536];
    private final Thread thread;
    private final CountDownLatch quiesced = new CountDownLatch(1);

    private volatile boolean stopRequested;
    private volatile boolean drainOnStop;
    private volatile long maxCopies = Long.MAX_VALUE;
    /** Wait for completions once this many copies are outstanding (0 = up to the ring and the slots). */
    private final int window;

    // owned by the submitter thread while it runs, then by the caller (after join)
    private long nextSeq;
    volatile long submitted;
    volatile long completedOk;
    volatile long completedError;
    long corrupt;
    long handleMismatch;
    long errorButWritten;
    long leftWithoutDoorbell;
    int inFlightAtHandover = -1;
    volatile Throwable failure;

    CopyLoad(DmaDevice dev, String name, int slots, int size, int window) {
        if (size % 8 != 0) {
            throw new IllegalArgumentException("size must be a multiple of 8");
        }
        this.dev = dev;
        this.slots = slots;
        this.size = size;
        this.window = window;
        this.src = NativeMemory.allocateAligned(slots * size, 64);
        this.dst = NativeMemory.allocateAligned(slots * size, 64);
        this.srcAddr = NativeMemory.address(src);
        this.dstAddr = NativeMemory.address(dst);
        this.slotSeq = new long[slots];
        this.free = new int[slots];
        for (int i = 0; i < slots; i++) {
            slotSeq[i] = -1;
            free[freeTop++] = slots - 1 - i;
        }
        this.thread = new Thread(this, "copy-load-" + name);
        thread.setDaemon(true);
    }

    /** Submits at most {@code n} copies in all. */
    CopyLoad limit(long n) {
        maxCopies = n;
        return this;
    }

    CopyLoad start() {
        thread.start();
        return this;
    }

    /** Runs the load on the calling thread until {@code n} copies are submitted and completed (no thread). */
    void runToCompletion(long n) throws InterruptedException {
        maxCopies = n;
        long deadline = System.nanoTime() + PvioFramework.TIMEOUT_MS * 1_000_000;
        while (completedOk + completedError < n) {
            step();
            if (System.nanoTime() > deadline) {
                throw new AssertionError(dev + ": " + (completedOk + completedError) + " of " + n
                        + " copies completed within " + PvioFramework.TIMEOUT_MS + " ms; " + summary());
            }
        }
    }

    @Override
    public void run() {
        try {
            while (!stopRequested) {
                if (!step()) {
                    Thread.yield();
                }
            }
            if (drainOnStop) {
                dev.submit();
                long deadline = System.nanoTime() + PvioFramework.TIMEOUT_MS * 1_000_000;
                while (dev.inFlight() > 0 && System.nanoTime() < deadline) {
                    dev.submit();
                    reap();
                }
            } else {
                // queue a few more without ringing the doorbell: stop() must ring it
                long deadline = System.nanoTime() + PvioFramework.TIMEOUT_MS * 1_000_000;
                while (dev.burstCapacity() == 0 && System.nanoTime() < deadline) {
                    reap();
                }
                for (int i = 0; i < BURST && freeTop > 0; i++) {
                    if (!submitOne()) {
                        break;
                    }
                    leftWithoutDoorbell++;
                }
            }
            inFlightAtHandover = dev.inFlight();
        } catch (Throwable t) {
            failure = t;
        } finally {
            quiesced.countDown();
        }
    }

    /** Submits a burst, rings, reaps; returns false when nothing happened. */
    boolean step() {
        int n = 0;
        while (n < BURST && freeTop > 0 && nextSeq < maxCopies && (window == 0 || nextSeq - done() < window)) {
            if (!submitOne()) {
                break;
            }
            n++;
        }
        if (n > 0) {
            dev.submit();
        }
        return reap() > 0 || n > 0;
    }

    private long done() {
        return completedOk + completedError;
    }

    private boolean submitOne() {
        int slot = free[freeTop - 1];
        long seq = nextSeq;
        int base = slot * size;
        for (int w = 0; w < size / 8; w++) {
            src.putLong(base + w * 8, word(seq, w));
            dst.putLong(base + w * 8, 0L);
        }
        int idx = dev.copy(srcAddr + base, dstAddr + base, size, 0);
        if (idx < 0) {
            return false;
        }
        idxSlot[idx] = slot;
        idxSeq[idx] = seq;
        freeTop--;
        slotSeq[slot] = seq;
        nextSeq++;
        submitted = submitted + 1;
        return true;
    }

    private static long word(long seq, int w) {
        return 1L << 63 | seq << 20 | w;
    }

    private int reap() {
        int n = dev.completedStatus(comps.capacity(), comps);
        int first = comps.lastIdx() - n + 1;
        for (int i = 0; i < n; i++) {
            int idx = (first + i) & 0xffff;
            int slot = idxSlot[idx];
            long seq = idxSeq[idx];
            if (slot < 0 || slot >= slots || slotSeq[slot] != seq) {
                handleMismatch++;
                continue;
            }
            int base = slot * size;
            if (comps.status(i) == DmaDevice.STATUS_SUCCESSFUL) {
                for (int w = 0; w < size / 8; w++) {
                    if (dst.getLong(base + w * 8) != word(seq, w)) {
                        corrupt++;
                        break;
                    }
                }
                completedOk = completedOk + 1;
            } else {
                for (int w = 0; w < size / 8; w++) {
                    if (dst.getLong(base + w * 8) != 0) {
                        errorButWritten++;
                        break;
                    }
                }
                completedError = completedError + 1;
            }
            slotSeq[slot] = -1;
            free[freeTop++] = slot;
        }
        return n;
    }

    /**
     * Asks the thread to stop submitting and waits (bounded) until it has handed the channel over; with
     * {@code drain} it first drains the channel as a DS user does in its unbind.
     */
    void quiesce(boolean drain) throws InterruptedException {
        drainOnStop = drain;
        stopRequested = true;
        if (!quiesced.await(PvioFramework.TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
            throw new AssertionError(dev + ": load did not hand over within " + PvioFramework.TIMEOUT_MS + " ms");
        }
    }

    /** After {@link #quiesce} (or without a thread): reads every remaining completion; returns how many. */
    int collect() throws InterruptedException {
        thread.join(PvioFramework.TIMEOUT_MS);
        int got = 0;
        long deadline = System.nanoTime() + PvioFramework.TIMEOUT_MS * 1_000_000;
        while (dev.inFlight() > 0 && System.nanoTime() < deadline) {
            int n = reap();
            got += n;
            if (n == 0) {
                Thread.sleep(1);
            }
        }
        return got;
    }

    /** Copies submitted whose completion has not been read. */
    long outstanding() {
        return submitted - completedOk - completedError - handleMismatch;
    }

    String summary() {
        return dev + ": submitted=" + submitted + " ok=" + completedOk + " error=" + completedError + " corrupt="
                + corrupt + " handleMismatch=" + handleMismatch + " errorButWritten=" + errorButWritten
                + " leftWithoutDoorbell=" + leftWithoutDoorbell + " inFlightAtHandover=" + inFlightAtHandover
                + " devInFlight=" + dev.inFlight() + (failure == null ? "" : " failure=" + failure);
    }
}
