package io.pvio.dpif.netdev;

import io.pvio.netdev.Netdev;

/** An rx queue assigned to a PMD, with the PMD's view of the port's bridge. Immutable. */
final class RxqRef {
    final Port port;
    final Netdev netdev;
    final int qid;
    final int ofport;
    final BridgeView view;

    RxqRef(Port port, Netdev netdev, int qid, BridgeView view) {
        this.port = port;
        this.netdev = netdev;
        this.qid = qid;
        this.ofport = port.ofport;
        this.view = view;
    }
}
