package io.pvio.dma.spi;

import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaException;
import io.pvio.netdev.CustomStats;

/**
 * The copy hardware behind one channel (a dmadev driver's ops): its ring, doorbell and completions.
 * {@link EngineChannel} keeps the channel state and counters in front of it.
 *
 * <p>Threads: one user calls {@link #copy}, {@link #submit}, {@link #completed}, {@link #completedStatus},
 * {@link #burstCapacity}; the control thread calls {@link #open}, {@link #start}, {@link #stop} and
 * {@link #close} while no user is active; {@link #inFlight}, {@link #setFaults} and {@link #stats} may be
 * called from any thread at any time.
 */
public interface DmaEngine {
    /** Short engine name for properties, statistics and logs: {@code model}, {@code cpu}, {@code dmadev}. */
    String kind();

    /** The device the engine drives (e.g. {@code dma_skeleton0}), or "-". */
    String device();

    /** {@code DmaDevice.CAPA_*} bits. */
    long capabilities();

    int minRingSize();

    int maxRingSize();

    /** Sets up an empty ring of {@code ringSize} descriptors (a validated power of two); engine stopped. */
    void open(int ringSize) throws DmaException;

    /** Starts executing submitted copies; ring indexes start at 0. */
    void start() throws DmaException;

    /**
     * Submits anything enqueued, clears a stall fault, waits until every copy has completed, then stops.
     * The completions stay available to {@link #completed}.
     */
    void stop();

    /** Frees the ring (stopped engine only). */
    void close();

    /** One copy descriptor (flags: {@code DmaDevice.FLAG_*}); its ring index, or {@code DmaDevice.ENOSPC}. */
    int copy(long src, long dst, int length, int flags);

    /** Hands every descriptor enqueued so far to the engine. */
    void submit();

    /**
     * rte_dma_completed on {@code out} (already {@link DmaCompletions#reset()}): must end with
     * {@link DmaCompletions#finish}.
     */
    int completed(int max, DmaCompletions out);

    /** rte_dma_completed_status on {@code out} (already reset): must end with {@link DmaCompletions#finish}. */
    int completedStatus(int max, DmaCompletions out);

    int burstCapacity();

    /** Enqueued and not yet reported. */
    int inFlight();

    /**
     * Fault injection: {@code errorRate} (0..1) of copies complete with an error status and are not
     * performed; {@code stall} stops all progress until cleared. An engine that cannot inject faults throws
     * {@link UnsupportedOperationException} for anything but (0, false).
     */
    void setFaults(double errorRate, boolean stall);

    /** The engine's own counters (e.g. doorbells, engine_busy_ppm, queued). */
    void stats(CustomStats sink);
}
