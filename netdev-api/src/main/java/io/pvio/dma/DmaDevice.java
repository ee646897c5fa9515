package io.pvio.dma;

import io.pvio.netdev.CustomStats;

/**
 * One DMA copy channel (a dmadev device with one virtual channel), after DPDK's dmadev API
 * ({@code rte_dmadev.h}). Each channel is an OSGi service registered under this interface with the
 * properties {@value #ADDRESS_PROPERTY} (the channel's name for users: a full PCI address, e.g.
 * {@code 0000:00:04.0}), {@value #DRIVER_PROPERTY}, {@value #ENGINE_PROPERTY}, {@value #DEVICE_PROPERTY}
 * and {@value #RING_SIZE_PROPERTY}.
 *
 * <h2>Ring indexes</h2>
 * Every copy accepted by {@link #copy} gets the next ring index, an unsigned 16-bit number that starts at
 * 0 when the channel is started and wraps from 65535 to 0. Copies complete in index order: {@link #completed}
 * reports how many more completed and the index of the last one ({@link DmaCompletions#lastIdx()}). A user
 * that needs per-copy context keeps it in its own table indexed by {@code idx & (ringSize - 1)} (at most
 * {@link DmaInfo#ringSize()} copies are outstanding, and every ring size divides 65536).
 *
 * <h2>Life cycle</h2>
 * The provider configures and starts a channel before registering it, and unregisters it before stopping
 * it. A user that is told the service is going away (a DS unbind) must drain first: {@link #submit()}, then
 * poll {@link #completed} until {@link #inFlight()} is 0. {@link #stop()} lets every copy already
 * submitted complete before it returns (they stay available to {@link #completed}); a {@link #start()}
 * after a stop begins again at index 0, so completions must be read before it.
 *
 * <h2>Threads</h2>
 * Like a dmadev virtual channel, a channel has one user thread at a time: {@link #copy}, {@link #submit},
 * {@link #completed}, {@link #completedStatus} and {@link #burstCapacity} must not be called concurrently
 * (users that share a channel serialise their calls). The copies run on the engine, concurrently with the
 * caller. {@link #inFlight()}, {@link #isStarted()}, {@link #stats} and {@link #info()} may be called from
 * any thread and return snapshots. Control calls ({@link #configure}, {@link #start}, {@link #stop}) are
 * made by the provider while no user is submitting.
 *
 * <h2>Visibility</h2>
 * When {@link #completed} or {@link #completedStatus} reports a copy as successful, its destination bytes
 * are visible to the calling thread, and to any thread that the caller then publishes to with a release
 * store (or any stronger synchronisation): providers read the engine's progress with acquire semantics
 * after the engine wrote the bytes. Nothing is promised about a copy before it is reported.
 *
 * <h2>Errors</h2>
 * An engine with {@link #CAPA_HANDLES_ERRORS} reports a failed copy (its destination undefined) through
 * {@link #completed}'s {@link DmaCompletions#hasError()} and then {@link #completedStatus}; one without it
 * may lose the error (the user must then not rely on status). A ring index is never reported twice.
 *
 * <h2>Memory</h2>
 * Addresses are IOVAs; pvio uses IOVA = VA (the process's virtual addresses), so an engine behind an
 * IOMMU needs the memory registered first (see {@link DmaMemory}). Both ranges must stay mapped until the
 * copy is reported. Callers validate them; the channel does not (a strict engine may fail the copy).
 */
public interface DmaDevice {
    /** Service property: the channel's name, a PCI address in full form {@code DDDD:BB:DD.F}. */
    String ADDRESS_PROPERTY = "dma.address";
    /** Service property: the provider, e.g. {@code ioat}, {@code cpu}, {@code dmadev}. */
    String DRIVER_PROPERTY = "dma.driver";
    /** Service property: the engine that copies, e.g. {@code model}, {@code cpu}, {@code dmadev}. */
    String ENGINE_PROPERTY = "dma.engine";
    /** Service property: the engine's device, e.g. {@code dma_skeleton0} or {@code 0000:00:04.0}; "-" for none. */
    String DEVICE_PROPERTY = "dma.device";
    /** Service property: the descriptor ring size. */
    String RING_SIZE_PROPERTY = "dma.ring.size";

    /** RTE_DMA_CAPA_MEM_TO_MEM: memory to memory copies. */
    long CAPA_MEM_TO_MEM = 1L;
    /** RTE_DMA_CAPA_SVA: the engine reaches process virtual addresses without registration (DSA with PASID). */
    long CAPA_SVA = 1L << 4;
    /** RTE_DMA_CAPA_HANDLES_ERRORS: failed copies are reported with a status, the channel goes on. */
    long CAPA_HANDLES_ERRORS = 1L << 6;
    /** RTE_DMA_CAPA_OPS_COPY. */
    long CAPA_OPS_COPY = 1L << 32;

    /** RTE_DMA_OP_FLAG_FENCE: this copy starts only once every earlier copy has completed. */
    int FLAG_FENCE = 1;
    /** RTE_DMA_OP_FLAG_SUBMIT: submit this copy and every earlier one (as {@link #submit()}). */
    int FLAG_SUBMIT = 2;

    /** {@link #copy} result: no room in the ring (-ENOSPC); the copy was not queued. */
    int ENOSPC = -28;
    /** {@link #copy} result: the channel is stopped (-EBUSY in pvio; DPDK does not check); not queued. */
    int ESTOPPED = -16;

    /** RTE_DMA_STATUS_SUCCESSFUL. */
    int STATUS_SUCCESSFUL = 0;
    /** RTE_DMA_STATUS_NOT_ATTEMPTED: the engine gave up before this copy (after an earlier error). */
    int STATUS_NOT_ATTEMPTED = 2;
    /** RTE_DMA_STATUS_INVALID_ADDR: an address outside the registered memory (an IOMMU fault). */
    int STATUS_INVALID_ADDR = 5;
    /** RTE_DMA_STATUS_PAGE_FAULT: the memory was gone while the engine copied (a truncated file). */
    int STATUS_PAGE_FAULT = 14;
    /** RTE_DMA_STATUS_ERROR_UNKNOWN. */
    int STATUS_ERROR_UNKNOWN = 0x100;

    /** rte_dma_info_get. */
    DmaInfo info();

    /**
     * rte_dma_configure + rte_dma_vchan_setup: sets the ring size (a power of two from
     * {@link DmaInfo#minRingSize()} to {@link DmaInfo#maxRingSize()}).
     *
     * @throws DmaException when the channel is started (DPDK's -EBUSY), completions are still unread, or the
     *         size is not allowed
     */
    void configure(int ringSize) throws DmaException;

    /** rte_dma_start: ring indexes start again at 0. */
    void start() throws DmaException;

    /**
     * rte_dma_stop: refuses new copies, submits what was enqueued, then waits until every copy has
     * completed (they stay available to {@link #completed}).
     */
    void stop();

    boolean isStarted();

    /**
     * rte_dma_copy: enqueues a copy of {@code length} bytes from {@code src} to {@code dst}. The engine
     * does not see it before {@link #submit()} (or {@link #FLAG_SUBMIT}).
     *
     * @param flags {@link #FLAG_FENCE}, {@link #FLAG_SUBMIT} or 0
     * @return the copy's ring index (0..65535), or {@link #ENOSPC} / {@link #ESTOPPED} (not queued)
     * @throws IllegalArgumentException for a negative length
     */
    int copy(long src, long dst, int length, int flags);

    /** rte_dma_submit: hands every copy enqueued so far to the engine (the doorbell). */
    void submit();

    /**
     * rte_dma_completed: reports up to {@code max} copies that completed successfully, in index order,
     * stopping before the first failed one (then {@link DmaCompletions#hasError()} is set and
     * {@link #completedStatus} tells the statuses). Sets {@link DmaCompletions#lastIdx()} (unchanged when
     * nothing completed). Statuses are not written.
     *
     * @return how many completed
     */
    int completed(int max, DmaCompletions out);

    /**
     * rte_dma_completed_status: reports up to {@code max} (and at most {@code out.capacity()}) completed
     * copies, successful or not, in index order, with their status in {@code out}.
     *
     * @return how many completed
     */
    int completedStatus(int max, DmaCompletions out);

    /** rte_dma_burst_capacity: how many more copies {@link #copy} accepts now. */
    int burstCapacity();

    /** Copies enqueued (submitted or not) and not yet reported by {@link #completed}. */
    int inFlight();

    /**
     * The channel's counters (rte_dma_stats_get's submitted, completed, errors as {@code failed}, plus
     * ring_full, in_flight and the engine's own).
     */
    void stats(CustomStats sink);
}
