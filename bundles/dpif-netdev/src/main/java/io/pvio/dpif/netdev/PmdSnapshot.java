package io.pvio.dpif.netdev;

/**
 * What one PMD polls and where it may send, published by the control path (release) and adopted by the PMD
 * between iterations (acquire), which then acknowledges its generation. Immutable.
 */
final class PmdSnapshot {
    final long gen;
    final int pmdIndex;
    final RxqRef[] rxqs;
    final TxPort[] txPorts;
    /** This PMD's view of every bridge (packet-out). */
    final BridgeView[] views;
    /** Largest flood list of any bridge (sizes the PMD's destination scratch array). */
    final int maxBridgePorts;
    /** The datapath is being reconfigured: the PMD touches no port until the next snapshot. */
    final boolean paused;

    PmdSnapshot(long gen, int pmdIndex, RxqRef[] rxqs, TxPort[] txPorts, BridgeView[] views, int maxBridgePorts) {
        this(gen, pmdIndex, rxqs, txPorts, views, maxBridgePorts, false);
    }

    private PmdSnapshot(long gen, int pmdIndex, RxqRef[] rxqs, TxPort[] txPorts, BridgeView[] views,
            int maxBridgePorts, boolean paused) {
        this.paused = paused;
        this.views = views;
        this.gen = gen;
        this.pmdIndex = pmdIndex;
        this.rxqs = rxqs;
        this.txPorts = txPorts;
        this.maxBridgePorts = maxBridgePorts;
    }

    /** A snapshot that polls nothing: adopting it drains the PMD's in-flight queues. */
    static PmdSnapshot paused(long gen, int pmdIndex) {
        return new PmdSnapshot(gen, pmdIndex, new RxqRef[0], new TxPort[0], new BridgeView[0], 0, true);
    }
}
