package io.pvio.dma;

import io.pvio.netdev.CustomStats;

/**
 * One DMA copy channel (a QuickData/IOAT channel, or a software stand-in), after DPDK's IOAT rawdev API
 * ({@code rte_ioat_rawdev.h}). Each channel is an OSGi service registered under this interface with the
 * properties {@value #ADDRESS_PROPERTY} (full PCI address, e.g. {@code 0000:00:04.0}),
 * {@value #DRIVER_PROPERTY} and {@value #RING_SIZE_PROPERTY}.
 *
 * <h2>Life cycle</h2>
 * The providing bundle configures and starts a channel before registering it, and unregisters it before
 * stopping it. A user that is told the service is going away (a DS unbind) must drain first: keep calling
 * {@link #performOps()} and {@link #completedOps} until {@link #inFlight()} is 0, then return. The provider
 * completes every copy submitted before its {@link #stop()} returns, so nothing submitted is lost.
 *
 * <h2>Threads</h2>
 * Like a rawdev queue, a channel has one submitter at a time: {@link #enqueueCopy}, {@link #fence},
 * {@link #performOps} and {@link #completedOps} must not be called concurrently. Users that share a
 * channel serialise their calls. The copies themselves run on the engine, concurrently with the caller.
 * {@link #inFlight()}, {@link #freeSlots()}, {@link #isStarted()}, {@link #stats} and {@link #info()} may be
 * called from any thread and return snapshots.
 *
 * <h2>Memory</h2>
 * Addresses are native addresses (the model has no IOMMU): both ranges must stay mapped until the copy
 * is reported by {@link #completedOps}. Callers validate them; the channel does not.
 */
public interface DmaDevice {
    /** Service property: the channel's PCI address in full form, {@code DDDD:BB:DD.F}. */
    String ADDRESS_PROPERTY = "dma.address";
    /** Service property: the driver, e.g. {@code ioat} or {@code cpu}. */
    String DRIVER_PROPERTY = "dma.driver";
    /** Service property: the descriptor ring size. */
    String RING_SIZE_PROPERTY = "dma.ring.size";

    /** Status of a copy that completed correctly. */
    int STATUS_OK = 0;
    /** Status of a copy that the engine reported as failed: the destination is undefined. */
    int STATUS_ERROR = 1;

    /** rte_rawdev_info_get. */
    DmaInfo info();

    /**
     * rte_rawdev_configure: sets the ring size (a power of two from {@link DmaInfo#minRingSize()} to
     * {@link DmaInfo#maxRingSize()}).
     *
     * @throws DmaException when the channel is started (DPDK's -EBUSY), completions are still unread, or the
     *         size is not allowed
     */
    void configure(int ringSize) throws DmaException;

    /** rte_rawdev_start. */
    void start() throws DmaException;

    /**
     * rte_rawdev_stop: refuses new copies, then waits until every copy already submitted has completed
     * (they stay available to {@link #completedOps}).
     */
    void stop();

    boolean isStarted();

    /**
     * rte_ioat_enqueue_copy: queues a copy of {@code length} bytes from {@code src} to {@code dst}. The
     * handles come back with its completion. Nothing runs before {@link #performOps()}.
     *
     * @return false when the ring is full or the channel is stopped (the copy was not queued)
     */
    boolean enqueueCopy(long src, long dst, int length, long srcHandle, long dstHandle);

    /** rte_ioat_fence: copies queued after the fence start only once those before it have completed. */
    void fence();

    /** rte_ioat_perform_ops: rings the doorbell for every copy queued since the last call. */
    void performOps();

    /**
     * rte_ioat_completed_ops: reports up to {@code max} (and at most {@code out.capacity()}) completed
     * copies, in submission order, into {@code out} (which it clears first); frees their ring slots.
     *
     * @return the number reported
     */
    int completedOps(int max, DmaCompletions out);

    /** Copies queued (doorbell rung or not) and not yet reported by {@link #completedOps}. */
    int inFlight();

    /** Free ring slots now. */
    int freeSlots();

    /** The channel's counters (submitted, completed, failed, ring_full, ...). */
    void stats(CustomStats sink);
}
