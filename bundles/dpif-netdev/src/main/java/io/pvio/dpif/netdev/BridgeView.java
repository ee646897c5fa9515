package io.pvio.dpif.netdev;

/**
 * One PMD's view of a bridge: its output ports by ofport, the flood list and every output port. Ports that are
 * down or have NO_FWD are in none of them; NO_FLOOD ones are not in the flood list. Immutable.
 */
final class BridgeView {
    final Bridge bridge;
    final TxPort[] byOfport;
    /** FLOOD's and NORMAL's flood list. */
    final TxPort[] all;
    /** Every port that may be sent to (OFPP_ALL, packet-out only). */
    final TxPort[] every;

    BridgeView(Bridge bridge, TxPort[] byOfport, TxPort[] all, TxPort[] every) {
        this.bridge = bridge;
        this.byOfport = byOfport;
        this.all = all;
        this.every = every;
    }

    TxPort port(int ofport) {
        return ofport < byOfport.length ? byOfport[ofport] : null;
    }
}
