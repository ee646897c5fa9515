package io.pvio.dma;

/** A DMA channel's description (rte_rawdev_info_get with its IOAT private part). */
public final class DmaInfo {
    private final String address;
    private final String driver;
    private final int ringSize;
    private final int minRingSize;
    private final int maxRingSize;
    private final int numaNode;

    public DmaInfo(String address, String driver, int ringSize, int minRingSize, int maxRingSize, int numaNode) {
        this.address = address;
        this.driver = driver;
        this.ringSize = ringSize;
        this.minRingSize = minRingSize;
        this.maxRingSize = maxRingSize;
        this.numaNode = numaNode;
    }

    /** Full PCI address, {@code DDDD:BB:DD.F}. */
    public String address() {
        return address;
    }

    public String driver() {
        return driver;
    }

    public int ringSize() {
        return ringSize;
    }

    public int minRingSize() {
        return minRingSize;
    }

    public int maxRingSize() {
        return maxRingSize;
    }

    public int numaNode() {
        return numaNode;
    }

    @Override
    public String toString() {
        return driver + "@" + address + " ring=" + ringSize;
    }
}
