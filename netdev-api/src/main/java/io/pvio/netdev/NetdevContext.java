package io.pvio.netdev;

import io.pvio.packet.PacketPool;
import java.nio.file.Path;
import java.util.Map;

/** What the datapath lends a port for its life. */
public interface NetdevContext {
    /** Pool that received packets are allocated from (the port must not close it). */
    PacketPool pool();

    /** The daemon's run directory (sockets of server-mode ports live here). */
    Path runDir();

    /** The {@code Open_vSwitch} table's {@code other_config} column, as it is now. */
    Map<String, String> otherConfig();

    /** Number of PMD threads that may call the port concurrently (sizes txqs, as OVS's requested_n_txq). */
    int pmdCount();

    /**
     * Tells the datapath that the port's queue layout, carrier or pending state changed
     * (OVS's netdev_change_seq_changed): the datapath re-reads {@link Netdev#nRxq()} and
     * {@link Netdev#nTxq()} soon after. Callable from any thread.
     */
    void changed();

    /**
     * netdev_request_reconfigure: the port has a change it applies only in {@link Netdev#reconfigure()}, with
     * the data path paused (its {@link Netdev#reconfigureRequired()} now returns true). The datapath calls
     * reconfigure soon after, on its control thread. Callable from any thread. Default: {@link #changed()},
     * for datapaths whose every reconfiguration pauses the PMDs and asks each port.
     */
    default void requestReconfigure() {
        changed();
    }
}
