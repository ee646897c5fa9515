package io.pvio.dpif.netdev;

import io.pvio.netdev.Netdev;

/**
 * An rx queue assigned to a PMD, with the PMD's view of the port's bridge. Its identity is immutable; the
 * poll state below belongs to the one PMD whose snapshot holds it.
 */
final class RxqRef {
    final Port port;
    final Netdev netdev;
    final int qid;
    final int ofport;
    final BridgeView view;
    /** The port is down or has NO_RECV: what it receives is dropped. */
    final boolean noRecv;

    /** PMD-owned: consecutive polls that received nothing (saturates at {@link PmdThread#IDLE_AFTER}). */
    int emptyPolls;
    /** The queue's processing time (its port's, kept across reassignments). */
    final RxqLoad load;
    /** The port's ingress policer, or null. */
    final Policer policer;
    /** The port's VLANs, as NORMAL takes what it receives. */
    final io.pvio.dpif.netdev.flow.PortVlans vlans;

    RxqRef(Port port, Netdev netdev, int qid, BridgeView view, boolean noRecv, RxqLoad load) {
        this.noRecv = noRecv;
        this.port = port;
        this.netdev = netdev;
        this.qid = qid;
        this.ofport = port.ofport;
        this.view = view;
        this.load = load;
        this.policer = port.policer;
        this.vlans = port.vlans;
    }
}
