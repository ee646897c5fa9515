package io.pvio.dma;

/** A DMA channel's description (rte_dma_info_get plus pvio's naming). */
public final class DmaInfo {
    private final String address;
    private final String driver;
    private final String engine;
    private final String device;
    private final long capabilities;
    private final int ringSize;
    private final int minRingSize;
    private final int maxRingSize;
    private final int numaNode;

    public DmaInfo(String address, String driver, String engine, String device, long capabilities, int ringSize,
            int minRingSize, int maxRingSize, int numaNode) {
        this.address = address;
        this.driver = driver;
        this.engine = engine;
        this.device = device;
        this.capabilities = capabilities;
        this.ringSize = ringSize;
        this.minRingSize = minRingSize;
        this.maxRingSize = maxRingSize;
        this.numaNode = numaNode;
    }

    /** The channel's name, a full PCI address {@code DDDD:BB:DD.F}. */
    public String address() {
        return address;
    }

    /** The provider, e.g. {@code ioat}. */
    public String driver() {
        return driver;
    }

    /** The engine that copies: {@code model}, {@code cpu}, {@code dmadev}. */
    public String engine() {
        return engine;
    }

    /** The engine's device (a dmadev name such as {@code dma_skeleton0}), or "-". */
    public String device() {
        return device;
    }

    /** {@code DmaDevice.CAPA_*} bits (dev_capa). */
    public long capabilities() {
        return capabilities;
    }

    public boolean has(long capa) {
        return (capabilities & capa) == capa;
    }

    /** Descriptors in the ring (nb_desc). */
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
        return driver + "@" + address + " engine=" + engine + (device.equals("-") ? "" : " device=" + device)
                + " ring=" + ringSize;
    }
}
