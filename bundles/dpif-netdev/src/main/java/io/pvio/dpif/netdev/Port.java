package io.pvio.dpif.netdev;

import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevClass;
import io.pvio.netdev.NetdevContext;
import io.pvio.packet.PacketPool;
import java.nio.file.Path;
import java.util.Map;

/**
 * A port and its Interface row (control state, guarded by the datapath lock). Also the {@link NetdevContext}
 * lent to the port's netdev.
 */
final class Port implements NetdevContext {
    final DpifNetdev dp;
    final String name;
    final Bridge bridge;
    final int ofport;
    String type;
    Map<String, String> options;
    /** The open netdev, or null (waiting for its class, or failed). */
    Netdev netdev;
    /** The class {@link #netdev} was opened with. */
    NetdevClass cls;
    String error;
    /** Queue layout as last read by a reconfiguration (while the PMDs were paused). */
    int nRxq;
    int nTxq;
    /** Per rx queue: its processing time ({@link #loads(int)}). */
    private RxqLoad[] loads = new RxqLoad[0];
    /** OpenFlow config bits (Dpif.PC_*), applied to the PMDs' snapshots. */
    int config;
    /** Interface other_config:pmd-rxq-affinity as given (null: none), and its pairs: rx queue -> core. */
    String rxqAffinity;
    Map<Integer, Integer> rxqPins = Map.of();
    volatile boolean removed;
    /** Interface ingress_policing_rate and _burst in force (null: none); in the PMDs' snapshots. */
    Policer policer;
    /** Packets the policer dropped (any PMD polling the port adds; ovs_rx_qos_drops). */
    final java.util.concurrent.atomic.AtomicLong qosDrops = new java.util.concurrent.atomic.AtomicLong();
    /** Their bytes (taken out of rx_bytes, as OVS-DPDK counts only what passed). */
    final java.util.concurrent.atomic.AtomicLong qosDropBytes = new java.util.concurrent.atomic.AtomicLong();
    /** The Port's VLANs for NORMAL (tag, trunks, vlan_mode); in the PMDs' snapshots. */
    io.pvio.dpif.netdev.flow.PortVlans vlans = io.pvio.dpif.netdev.flow.PortVlans.DEFAULT;
    /** The Port's QoS of type egress-policer in force (null: none); in the PMDs' snapshots. */
    Policer egress;
    /** Packets the egress policer dropped (ovs_tx_qos_drops), and their bytes. */
    final java.util.concurrent.atomic.AtomicLong txQosDrops = new java.util.concurrent.atomic.AtomicLong();
    final java.util.concurrent.atomic.AtomicLong txQosDropBytes = new java.util.concurrent.atomic.AtomicLong();

    Port(DpifNetdev dp, String name, Bridge bridge, int ofport, String type, Map<String, String> options) {
        this.dp = dp;
        this.name = name;
        this.bridge = bridge;
        this.ofport = ofport;
        this.type = type;
        this.options = options;
    }

    /** The loads of the port's {@code n} rx queues, those of the queues it had kept. Datapath lock. */
    RxqLoad[] loads(int n) {
        if (loads.length != n) {
            RxqLoad[] l = java.util.Arrays.copyOf(loads, n);
            for (int q = loads.length; q < n; q++) {
                l[q] = new RxqLoad();
            }
            loads = l;
        }
        return loads;
    }

    String state() {
        if (netdev != null) {
            return netdev.carrier() ? "up" : "down";
        }
        return error != null ? "error" : "waiting";
    }

    @Override
    public PacketPool pool() {
        return dp.pool();
    }

    @Override
    public Path runDir() {
        return dp.runDir();
    }

    @Override
    public Map<String, String> otherConfig() {
        return dp.otherConfig();
    }

    @Override
    public int pmdCount() {
        return dp.pmdCount();
    }

    @Override
    public void changed() {
        if (!removed) {
            dp.requestReconfigure("port " + name + " changed");
        }
    }

    @Override
    public String toString() {
        return name + "@" + bridge.name + ":" + ofport;
    }
}
