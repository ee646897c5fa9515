/**
 * The DMA copy channel contract that DMA providers ({@code dma-ioat}, {@code dma-cpu}, {@code dma-dmadev})
 * offer and asynchronous netdev classes use, in the shape of DPDK's dmadev library ({@code rte_dmadev.h}).
 *
 * <p>2.0: {@link io.pvio.dma.DmaDevice} moved from the IOAT rawdev calls (enqueueCopy with handles,
 * performOps, completedOps) to dmadev's: {@code copy} returns a ring index, {@code submit},
 * {@code completed}/{@code completedStatus} report how far the ring got.
 *
 * <p>2.1: {@link io.pvio.dma.DmaRegions}, the memory an owner registered for DMA, kept for every
 * {@link io.pvio.dma.DmaMemory} service whenever it comes.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("2.1.0")
package io.pvio.dma;
