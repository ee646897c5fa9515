package io.pvio.dpif.netdev;

import io.pvio.netdev.Netdev;
import io.pvio.packet.PacketBatch;

/**
 * One PMD's view of one open port as an output: its tx queue, its output batch and which of its queues have
 * packets in flight. Created by the control path for one snapshot, then touched only by its PMD.
 */
final class TxPort {
    final Port port;
    final Netdev netdev;
    final int ofport;
    final int txqid;
    final boolean concurrent;
    /** The port's egress policer, or null. */
    final Policer egress;
    /** The port's VLANs, as NORMAL sends to it. */
    final io.pvio.dpif.netdev.flow.PortVlans vlans;
    final PacketBatch batch = new PacketBatch();
    /** Bit q set: the last send/freePkts on queue q returned a positive count: freePkts must be called. */
    long pendingMask;
    /** Packets in flight on txqid after the last send/freePkts (owner PMD only). */
    int inFlight;
    boolean touched;
    boolean inPendingList;

    TxPort(Port port, Netdev netdev, int txqid, boolean concurrent) {
        this.port = port;
        this.netdev = netdev;
        this.ofport = port.ofport;
        this.txqid = txqid;
        this.concurrent = concurrent;
        this.egress = port.egress;
        this.vlans = port.vlans;
    }
}
