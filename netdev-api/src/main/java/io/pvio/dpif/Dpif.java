package io.pvio.dpif;

import io.pvio.packet.PacketPool;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The userspace datapath as the control plane drives it: what {@code ovs-vswitchd}'s bridge layer asks of
 * dpif-netdev, for the rows of the {@code Open_vSwitch}, {@code Bridge}, {@code Port}/{@code Interface}
 * tables and for OpenFlow flows. Registered as an OSGi service by the datapath bundle.
 *
 * <p>Control path only; thread-safe. Every mutating call is all-or-nothing: when it throws, the datapath
 * and every port in it are exactly as before, and the message says what was wrong in the user's terms.
 * The datapath keeps no configuration across its own restart: the control plane owns the database and
 * replays it into a freshly bound Dpif.
 */
@org.osgi.annotation.versioning.ProviderType
public interface Dpif {

    /**
     * The pool that ports receive into, for its counters ({@link PacketPool#inUse()} proves that nothing
     * leaked). Do not allocate from it.
     */
    PacketPool pool();

    /** The {@code Open_vSwitch} table's {@code other_config} in force. */
    Map<String, String> otherConfig();

    /**
     * Replaces {@code other_config} (e.g. {@code pmd-cpu-mask=0x3}, {@code vhost-async-copy-support=true}):
     * validated, then applied live (PMD threads are added or removed, netdev classes are told).
     */
    void setOtherConfig(Map<String, String> otherConfig) throws DpifException;

    /** Names of the bridges. */
    Set<String> bridges();

    /** add-br: a new bridge with no port and a single NORMAL flow (a MAC-learning switch). */
    void addBridge(String name) throws DpifException;

    /** del-br: closes the bridge's ports and deletes it. */
    void delBridge(String name) throws DpifException;

    /**
     * add-port with its Interface: opens port {@code port} of netdev class {@code type} with {@code options}.
     * When no class of that type is present, the port is added and waits for one (its state says so, its
     * error why).
     *
     * @param ofport the requested OpenFlow port number, or -1 to let the bridge choose the lowest free one
     */
    void addPort(String bridge, String port, String type, Map<String, String> options, int ofport)
            throws DpifException;

    /** del-port: closes the port (draining its in-flight packets) and removes it. */
    void delPort(String port) throws DpifException;

    /**
     * Sets an Interface's type ({@code null}: keep it; blank is refused) and options. Changed options go to
     * the open port's {@code setConfig}, which may refuse them (then nothing changes). A changed type closes
     * the port and opens it with the new class, as OVS does; when the new class refuses, the port is opened
     * again with its old type and options (a fresh netdev: its queues and counters start anew) and the call
     * throws. This is the one exception to the all-or-nothing rule above.
     */
    void setInterface(String port, String type, Map<String, String> options) throws DpifException;

    /**
     * Sets an Interface's {@code other_config:pmd-rxq-affinity} ({@code null}: none), as dpif-netdev's
     * port_set_config reads it: {@code queue:core} pairs ({@code "0:3,1:7"}); those rx queues are polled by
     * those cores' PMD threads. A malformed list is refused and the one in force is kept. The same value
     * again changes nothing. Default: ignored (a datapath without PMD threads).
     *
     * @since 1.5
     */
    default void setRxqAffinity(String port, String affinity) throws DpifException {
    }

    /** The ports of {@code bridge} (every bridge when null), by ofport. */
    List<PortInfo> ports(String bridge);

    /** One port, or null. */
    PortInfo port(String name);

    /**
     * ovs-ofctl add-flow: {@code flow} is in ovs-ofctl's syntax, e.g.
     * {@code priority=10,in_port=1,dl_dst=52:54:00:00:00:01,actions=output:2}. Matches: in_port, dl_src,
     * dl_dst, dl_type; actions: output:N (or a bare N), drop, normal (also the empty action list = drop).
     * A flow with the same match and priority replaces the old one.
     */
    void addFlow(String bridge, String flow) throws DpifException;

    /**
     * ovs-ofctl add-flows: adds {@code flows} in order, each as {@link #addFlow} would. This default adds them
     * one at a time and stops at the first that fails; a datapath may instead parse them all first and apply
     * them as one table change, all or none (dpif-netdev does).
     *
     * @since 1.3
     */
    default void addFlows(String bridge, java.util.List<String> flows) throws DpifException {
        for (String f : flows) {
            addFlow(bridge, f);
        }
    }

    /**
     * ovs-ofctl del-flows: deletes the flows whose match contains {@code match} (all when null or empty).
     *
     * @return the number deleted
     */
    int delFlows(String bridge, String match) throws DpifException;

    /**
     * ovs-ofctl del-flows, strict ({@code --strict}) or not: strict deletes only the flow whose match and
     * priority (32768 when {@code match} names none) are exactly those of {@code match}.
     *
     * @return the number deleted
     * @since 1.2
     */
    default int delFlows(String bridge, String match, boolean strict) throws DpifException {
        if (strict) {
            throw new DpifException("this datapath has no strict del-flows");
        }
        return delFlows(bridge, match);
    }

    /** ovs-ofctl dump-flows: one line per flow with its counters, highest priority first. */
    List<String> dumpFlows(String bridge) throws DpifException;

    /**
     * ovs-ofctl dump-flows BRIDGE MATCH: the lines of the flows whose match contains {@code match} (as
     * non-strict del-flows selects them; priority is ignored), all when null or empty.
     *
     * @since 1.2
     */
    default List<String> dumpFlows(String bridge, String match) throws DpifException {
        if (match != null && !match.isBlank()) {
            throw new DpifException("this datapath cannot filter dump-flows");
        }
        return dumpFlows(bridge);
    }

    /**
     * The flows the bridge keeps, in {@link #addFlow} syntax without counters (cookie included when not 0):
     * adding each line to an empty table recreates it. What the control plane stores. Flows with an idle or a
     * hard timeout are left out: they are not meant to outlive it (a restart does not bring them back).
     *
     * @since 1.1
     */
    List<String> flows(String bridge) throws DpifException;

    /**
     * The bridge's flows with their counters, highest priority first (ties: oldest first).
     *
     * @since 1.2
     */
    default List<FlowEntry> flowEntries(String bridge) throws DpifException {
        throw new DpifException("this datapath has no structured flow entries");
    }

    /**
     * OpenFlow flow-mod ADD: adds {@code flow} (its counters are ignored), replacing a flow with the same
     * match and priority, whose counters (and last hit) the new flow takes over unless it has
     * {@link FlowEntry#FF_RESET_COUNTS} (OpenFlow 1.0's adds always do; since 1.7, as OVS).
     *
     * @since 1.2
     */
    default void putFlow(String bridge, FlowEntry flow) throws DpifException {
        throw new DpifException("this datapath has no structured flow entries");
    }

    /**
     * OpenFlow flow-mod MODIFY / MODIFY_STRICT: gives the flows that {@code criteria} selects (strict: same
     * match and priority; else {@link FlowEntry#coveredBy}) the criteria's actions, keeping their cookies,
     * counters and durations. Adds nothing.
     *
     * @return the number of flows modified
     * @since 1.2
     */
    default int modifyFlows(String bridge, FlowEntry criteria, boolean strict) throws DpifException {
        throw new DpifException("this datapath has no structured flow entries");
    }

    /**
     * OpenFlow flow-mod DELETE / DELETE_STRICT: deletes the flows that {@code criteria} selects (as for
     * {@link #modifyFlows}) and, unless {@code outPort} is {@link FlowEntry#ANY}, that output to it.
     *
     * @return the flows deleted, with their final counters
     * @since 1.2
     */
    default List<FlowEntry> deleteFlows(String bridge, FlowEntry criteria, boolean strict, int outPort)
            throws DpifException {
        throw new DpifException("this datapath has no structured flow entries");
    }

    /**
     * The flows with {@link FlowEntry#FF_SEND_FLOW_REM} that left a bridge's table, after the removal numbered
     * {@code afterSeq} (0: all the datapath still keeps), oldest first: what OpenFlow's FLOW_REMOVED reports
     * to controllers. The datapath keeps the most recent removals only (at least 1024); a consumer polls with
     * the {@link FlowRemoval#seq} of the last one it took, or {@link #flowRemovalSeq} to start from now.
     *
     * @since 1.7
     */
    default List<FlowRemoval> flowRemovals(String bridge, long afterSeq) throws DpifException {
        return List.of();
    }

    /**
     * The number of the latest flow removal (of any bridge), 0 before the first.
     *
     * @since 1.7
     */
    default long flowRemovalSeq() {
        return 0;
    }

    /** Table 0's OpenFlow table statistics: packets looked up in it, and those that matched a flow. */
    record TableStats(long lookups, long matched) {
    }

    /**
     * The bridge's table statistics since it was made (or the datapath started), as ovs-ofctl dump-tables
     * shows them.
     *
     * @since 1.4
     */
    default TableStats tableStats(String bridge) throws DpifException {
        throw new DpifException("this datapath counts no table lookups");
    }

    /**
     * The bridge's datapath ID, as ovs-vswitchd's bridge_pick_datapath_id sets it without other_config: the
     * bridge's Ethernet address (see {@link #setBridgeAddress}), which is its local port's (the port named as
     * the bridge), as a number. This default takes the local port's; when that port has no address (not
     * open, no tap device), one derived from the bridge's name, locally administered as OVS's default_ea.
     * The Bridge's {@code datapath_id} and OpenFlow's dpid.
     *
     * @since 1.5
     */
    default long datapathId(String bridge) {
        PortInfo local = port(bridge);
        long mac = local == null ? -1 : PortInfo.macBits(local.mac());
        if (mac > 0) {
            return mac;
        }
        long h = 1125899906842597L;
        for (int i = 0; i < bridge.length(); i++) {
            h = 31 * h + bridge.charAt(i);
        }
        return h & 0xfeff_ffff_ffffL | 0x0200_0000_0000L; // eth_addr_mark_random
    }

    /**
     * Sets the bridge's Ethernet address ({@code xx:xx:xx:xx:xx:xx}), as bridge_configure_datapath_id: its
     * local port gets it, now and whenever that port is opened again, and it is the datapath ID. A local
     * port that refuses it is logged, as by ovs-vswitchd. Default: ignored (the ID follows the local port).
     *
     * @since 1.5
     */
    default void setBridgeAddress(String bridge, String mac) throws DpifException {
    }

    /** OpenFlow port config bit (OFPPC_*, OpenFlow 1.0's values): administratively down. */
    int PC_PORT_DOWN = 1;
    /** OpenFlow port config bit: no 802.1D spanning tree on the port. */
    int PC_NO_STP = 2;
    /** OpenFlow port config bit: drop everything received on the port. */
    int PC_NO_RECV = 4;
    /** OpenFlow port config bit: drop received 802.1D spanning tree packets. */
    int PC_NO_RECV_STP = 8;
    /** OpenFlow port config bit: FLOOD and NORMAL's floods leave the port out. */
    int PC_NO_FLOOD = 16;
    /** OpenFlow port config bit: drop what is output to the port. */
    int PC_NO_FWD = 32;
    /** OpenFlow port config bit: no packet-in messages for the port. */
    int PC_NO_PACKET_IN = 64;

    /**
     * The OpenFlow config bits ({@code PC_*}) set on port {@code port} by {@link #setPortConfig}; 0 for an
     * unknown port. {@link PortInfo#adminUp()} is false while {@link #PC_PORT_DOWN} is set.
     *
     * @since 1.5
     */
    default int portConfig(String port) {
        return 0;
    }

    /**
     * OpenFlow port-mod: sets the {@code PC_*} bits of {@code mask} to their values in {@code config}. The
     * datapath honours every bit it accepts (a port down or with NO_RECV receives nothing, one down or with
     * NO_FWD is sent nothing, ...) and refuses, changing nothing, a bit it cannot honour.
     *
     * @since 1.5
     */
    default void setPortConfig(String port, int config, int mask) throws DpifException {
        throw new DpifException("this datapath cannot change a port's OpenFlow config");
    }

    /**
     * The next packet a flow of {@code bridge} sent to the controller, waiting at most {@code timeoutMillis} for
     * one; null when none came. Packet-ins are queued per bridge (at least 1024, then dropped and counted) for
     * one consumer, which hands each to the OpenFlow connections that want it.
     *
     * @since 1.7
     */
    default PacketIn takePacketIn(String bridge, long timeoutMillis) throws DpifException, InterruptedException {
        Thread.sleep(timeoutMillis);
        return null;
    }

    /**
     * The bridge's OpenFlow controllers (ovs-vsctl set-controller: {@code tcp:IP[:PORT]}, {@code unix:PATH}) and
     * fail mode ({@code secure}: no NORMAL flow without a controller). As OVS's connmgr: when the bridge gains
     * its first controller or loses its last, or its fail mode changes while it has none, its flow table is
     * flushed, and a bridge without controllers in standalone mode gets the one NORMAL flow back. An unchanged
     * setting changes nothing.
     *
     * @since 1.7
     */
    default void setControllers(String bridge, List<String> targets, boolean secure) throws DpifException {
        throw new DpifException("this datapath has no controllers");
    }

    /**
     * {@link #setControllers} with the largest inactivity probe interval of the controllers, in seconds (OVS's
     * rconn: 0 for none, else at least 5; 5 by default): a standalone bridge fails open (every packet to
     * NORMAL, as OVS's fail-open) once no controller has been connected for three such intervals (one second
     * at least), and recovers when one connects. Default: {@link #setControllers}, without fail-open.
     *
     * @since 1.8
     */
    default void setControllers(String bridge, List<String> targets, boolean secure, int probeSeconds)
            throws DpifException {
        setControllers(bridge, targets, secure);
    }

    /**
     * Records the state of the bridge's connection to {@code target} (the OpenFlow side, which makes the
     * connections, writes it; the database side reads it back with {@link #controllerStatus}); null forgets
     * it. Default: ignored.
     *
     * @since 1.8
     */
    default void setControllerStatus(String bridge, String target, ControllerStatus status) {
    }

    /**
     * The states last recorded with {@link #setControllerStatus} for the bridge's controllers, by target.
     * Default: none.
     *
     * @since 1.8
     */
    default java.util.Map<String, ControllerStatus> controllerStatus(String bridge) {
        return java.util.Map.of();
    }

    /**
     * The bridge's controller targets ({@link #setControllers}), for the OpenFlow side to connect to.
     *
     * @since 1.7
     */
    default List<String> controllers(String bridge) throws DpifException {
        return List.of();
    }

    /**
     * Whether a packet that no flow of {@code bridge} matches goes to the controller (an implicit table-miss
     * packet-in, {@link PacketIn#IMPLICIT_MISS}) instead of being dropped: as OVS, when a connection below
     * OpenFlow 1.3 is open on the bridge (1.3's table miss drops). The OpenFlow side keeps it up to date.
     *
     * @since 1.7
     */
    default void setPacketInOnMiss(String bridge, boolean want) throws DpifException {
    }

    /** Packet-out action: every port of the bridge but the input port, NO_FLOOD ones too (OFPP_ALL). */
    int OUT_ALL = -3;
    /** Packet-out action: the input port (OFPP_IN_PORT). */
    int OUT_IN_PORT = -4;
    /** Packet-out action: the bridge's flow table, as if the packet was received on the input port (OFPP_TABLE). */
    int OUT_TABLE = -5;

    /**
     * OpenFlow packet-out: runs {@code frame} through {@code actions} (ports, {@link FlowEntry#LOCAL},
     * {@link FlowEntry#NORMAL}, {@link FlowEntry#FLOOD}, {@link #OUT_ALL}, {@link #OUT_IN_PORT},
     * {@link #OUT_TABLE}) as if received on {@code inPort} (a port number, {@link FlowEntry#LOCAL}, or 0 for
     * none), and transmits it on the ports they select, as the data path transmits. Returns once the packet
     * was handed to those ports. Outputs to ports that do not exist are skipped, as OVS skips them.
     *
     * @since 1.5
     */
    default void packetOut(String bridge, int inPort, List<Integer> actions, byte[] frame) throws DpifException {
        throw new DpifException("this datapath cannot send packets from the control path");
    }

    /**
     * The bridge's Ethernet address ({@code xx:xx:xx:xx:xx:xx}): the one {@link #setBridgeAddress} set, else the
     * default of {@link #datapathId}. Default: {@link #datapathId} as an address.
     *
     * @since 1.5
     */
    default String bridgeAddress(String bridge) {
        return PortInfo.formatMac(datapathId(bridge));
    }

    /**
     * Sets the port's ingress policing as its Interface's {@code ingress_policing_rate} (kbit/s) and
     * {@code ingress_policing_burst} (kbit) ask: what the port receives beyond the rate, once the burst is
     * spent, is dropped and counted in its {@code rx_dropped}. A rate of 0 polices nothing; the datapath picks
     * the burst for 0 (OVS-DPDK: 8000 kbit). Default: refused.
     *
     * @throws DpifException for an unknown port or a value the datapath cannot take
     * @since 1.6
     */
    default void setIngressPolicing(String port, long rateKbps, long burstKb) throws DpifException {
        if (rateKbps != 0) {
            throw new DpifException("this datapath cannot police what a port receives");
        }
    }

    /**
     * Sets the port's QoS as its Port row's {@code qos} names it (a QoS row's {@code type} and
     * {@code other_config}); null or empty {@code type}: none. Default: refused for any type.
     *
     * @throws DpifException for an unknown port, a type the datapath does not have, or bad details
     * @since 1.6
     */
    default void setQos(String port, String type, Map<String, String> details) throws DpifException {
        if (type != null && !type.isEmpty()) {
            throw new DpifException(port + ": QoS type '" + type + "' is not supported");
        }
    }

    /**
     * Sets the VLANs of port {@code port} for NORMAL as its Port row's {@code vlan_mode}, {@code tag} and
     * {@code trunks} ask (OVS's bridge port_configure and ofproto-dpif bundle_set): {@code mode} is "access",
     * "trunk", "native-tagged", "native-untagged" or null/empty (then access with a tag, else trunk);
     * {@code tag} the access or native VLAN (0..4095, or -1 for none); {@code trunks} the trunked VLANs
     * (empty: every VLAN; values outside 0..4095 are ignored, as OVS's vlan_bitmap_from_array). A port
     * starts as a trunk of every VLAN. Default: only that default is accepted.
     *
     * @throws DpifException for an unknown port or a mode the datapath does not have (the port keeps its VLANs)
     * @since 1.8
     */
    default void setPortVlans(String port, String mode, int tag, int[] trunks) throws DpifException {
        if ((mode != null && !mode.isEmpty() && !mode.equals("trunk")) || tag >= 0 || trunks.length > 0) {
            throw new DpifException(port + ": this datapath has no VLANs");
        }
    }

    /**
     * Sets the bridge's MAC learning table (NORMAL) as the Bridge's {@code other_config:mac-aging-time} and
     * {@code mac-table-size} ask (bridge_configure_mac_table): learned stations age out {@code agingSeconds}
     * after they were last seen, at most {@code maxEntries} are kept; 0 is the datapath's default for
     * either. The datapath may bring each into its range (OVS: 15..3600 s, 10..1,000,000). Default: ignored.
     *
     * @since 1.6
     */
    default void setMacTableConfig(String bridge, int agingSeconds, int maxEntries) throws DpifException {
    }

    /**
     * Sets the bridge's datapath ID as the Bridge's {@code other_config:datapath-id} asks (bridge_pick_datapath_id):
     * {@code dpid} instead of the bridge's address, or 0 for the address again. Default: ignored.
     *
     * @since 1.5
     */
    default void setDatapathId(String bridge, long dpid) throws DpifException {
    }

    /**
     * The Bridge's {@code datapath_version}: {@code <built-in>}, as OVS's userspace datapath reports it.
     *
     * @since 1.5
     */
    default String datapathVersion() {
        return "<built-in>";
    }
}
