package io.pvio.dma;

/**
 * Registration of memory for DMA engines behind an IOMMU (DPDK's rte_vfio_container_dma_map with
 * IOVA = VA, as its vhost library does for guest memory). A provider whose engines need it registers one
 * service under this interface. Memory owners (guest memory regions, packet pool slabs) call
 * {@link #map} after they mmap a range and {@link #unmap} before they munmap it, once every DMA user of
 * the range has drained. Ranges are page aligned or not; the same range is unmapped as it was mapped.
 * Thread-safe; control path.
 */
public interface DmaMemory {
    /** Makes {@code [va, va + length)} reachable by the engines at IOVA {@code va}. */
    void map(long va, long length) throws DmaException;

    /** Withdraws a range given to {@link #map}. */
    void unmap(long va, long length) throws DmaException;
}
