package io.pvio.dma.ioat.engine;

import io.pvio.dma.DmaCompletions;

/**
 * The copy hardware behind one IOAT channel: its descriptor ring, doorbell and completions. The model
 * ({@link ModelEngine}) executes copies on a Java thread; an engine driving real hardware (DPDK dmadev
 * over JNA: rte_dma_copy, rte_dma_submit, rte_dma_completed_status) can implement this beside it.
 *
 * <p>Threads: one submitter calls {@link #enqueue}, {@link #fence}, {@link #doorbell}, {@link #completed},
 * {@link #inFlight}, {@link #freeSlots}; the control thread calls {@link #open}, {@link #start},
 * {@link #stop} and {@link #close} while no submitter is active; {@link #setFaults} and the counters may
 * be called from any thread at any time.
 */
public interface Engine {
    /** Allocates an empty ring of {@code ringSize} descriptors (a validated power of two); engine stopped. */
    void open(int ringSize);

    /** Starts executing doorbell'd descriptors. */
    void start();

    /**
     * Rings the doorbell for anything queued, clears a stall fault, waits until every queued copy has
     * completed, then stops. The completions stay available to {@link #completed}.
     */
    void stop();

    /** Frees the ring (stopped engine only). */
    void close();

    /** Writes one copy descriptor; false when the ring is full. Not executed before {@link #doorbell}. */
    boolean enqueue(long src, long dst, int length, long srcHandle, long dstHandle);

    /** The next descriptor enqueued starts only once every descriptor before it has completed. */
    void fence();

    /** Hands every descriptor enqueued so far to the engine. */
    void doorbell();

    /** Appends up to {@code max} completed copies, in order, to {@code out}; frees their slots. */
    int completed(int max, DmaCompletions out);

    /** Enqueued and not yet reported by {@link #completed}. */
    int inFlight();

    /** Rung and not yet executed by the engine (the part of {@link #inFlight} that waits on the engine). */
    int queued();

    int freeSlots();

    int ringSize();

    /**
     * Fault injection: {@code errorRate} (0..1) of copies complete with an error status and are not
     * performed; {@code stall} stops all progress until cleared.
     */
    void setFaults(double errorRate, boolean stall);

    /** Parts per million of the engine's running time spent executing copies (since start). */
    long busyPpm();

    /** Doorbells rung with new descriptors. */
    long doorbells();

    /** Doorbells that had to wake a parked engine thread (a system call on the submitter's core). */
    long wakeups();

    /** Copies that faulted on a mapping (a truncated memory file); the engine went on after each. */
    long faults();

    /** Short engine name for statistics and logs, e.g. {@code model}. */
    String kind();
}
