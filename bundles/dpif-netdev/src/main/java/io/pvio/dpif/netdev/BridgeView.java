package io.pvio.dpif.netdev;

/** One PMD's view of a bridge: its output ports by ofport and the flood list. Immutable. */
final class BridgeView {
    final Bridge bridge;
    final TxPort[] byOfport;
    final TxPort[] all;

    BridgeView(Bridge bridge, TxPort[] byOfport, TxPort[] all) {
        this.bridge = bridge;
        this.byOfport = byOfport;
        this.all = all;
    }

    TxPort port(int ofport) {
        return ofport < byOfport.length ? byOfport[ofport] : null;
    }
}
