package io.pvio.control.ovsdb;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pvio.control.apply.BridgeAddress;
import io.pvio.control.apply.DpifApplier;
import io.pvio.control.apply.OfportRules;
import io.pvio.control.apply.OtherConfig;
import io.pvio.control.vsctl.Vsctl;
import io.pvio.dpif.Dpif;
import io.pvio.dpif.DpifException;
import io.pvio.dpif.PortInfo;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Brings the datapath to what the database says, row by row, as ovs-vswitchd's bridge_reconfigure: a row
 * the datapath refuses is remembered with its reason (written to its Interface {@code error} column) and
 * the others still apply. Then computes what ovs-vswitchd writes back. Not thread-safe: one caller thread.
 */
final class Reconciler {
    private static final Logger LOG = Logger.getLogger("bridge");

    /** A refused configuration of one interface, not tried again until the row changes. */
    private record Attempt(String bridge, String type, Map<String, String> options, int ofportRequest) {
    }

    private record Refusal(Attempt attempt, String reason) {
    }

    private final Map<String, Refusal> refused = new HashMap<>();
    /** Per interface: the QoS ("type {details}") the datapath last refused, logged once. */
    private final Map<String, String> qosRefused = new HashMap<>();
    private final Map<String, Desired.Vlans> vlansRefused = new HashMap<>();
    private final Map<String, String> errors = new HashMap<>();
    /** The other_config last applied with keys refused (not tried again until it changes), or null. */
    private Map<String, String> refusedOtherConfig;
    /** Interface or Bridge uuid -> the columns last written (so that only changes are sent). */
    private final Map<String, ObjectNode> written = new HashMap<>();
    private long writtenCurCfg = Long.MIN_VALUE;
    private java.util.SortedSet<String> writtenTypes;

    /** Forgets refusals and what was written: the next round retries and rewrites everything. */
    void reset() {
        refused.clear();
        errors.clear();
        refusedOtherConfig = null;
        written.clear();
        writtenCurCfg = Long.MIN_VALUE;
        writtenTypes = null;
    }

    /** The error of interface {@code name} after the last {@link #apply}, or null. */
    String error(String name) {
        return errors.get(name);
    }

    /** Applies {@code want} to {@code dpif}; never throws for a refused row. */
    void apply(Dpif dpif, Desired want) {
        errors.clear();
        if (!want.otherConfig().equals(dpif.otherConfig()) && !want.otherConfig().equals(refusedOtherConfig)) {
            // key by key: a refused value is logged, the other keys apply (as ovs-vswitchd)
            refusedOtherConfig = OtherConfig.apply(dpif, want.otherConfig()).isEmpty() ? null : want.otherConfig();
        }
        // 1. bridges that go away (with their ports)
        for (String b : dpif.bridges()) {
            if (!want.bridges().contains(b)) {
                call(() -> dpif.delBridge(b), "cannot delete bridge " + b);
            }
        }
        // 2. ports that go away, move, or give their number to a port that asks for it (OfportRules)
        Map<String, OfportRules.Port> plan = plan(dpif, want);
        Map<String, List<OfportRules.Port>> byBridge = new HashMap<>();
        plan.forEach((name, p) -> byBridge.computeIfAbsent(want.interfaces().get(name).bridge(), k -> new ArrayList<>())
                .add(p));
        Set<String> displaced = new HashSet<>();
        byBridge.values().forEach(l -> displaced.addAll(OfportRules.displaced(l)));
        for (PortInfo p : dpif.ports(null)) {
            Desired.Iface d = want.interfaces().get(p.name());
            boolean keep;
            if (d == null) {
                keep = p.name().equals(p.bridge()); // the datapath's own local port, when it makes one
            } else {
                keep = d.error() == null && d.bridge().equals(p.bridge()) && !displaced.contains(p.name());
            }
            if (!keep) {
                call(() -> dpif.delPort(p.name()), "cannot delete port " + p.name());
            }
        }
        // 3. new bridges
        Map<String, String> bridgeErrors = new HashMap<>();
        for (String b : want.bridges()) {
            if (!dpif.bridges().contains(b)) {
                try {
                    dpif.addBridge(b);
                    LOG.info("bridge " + b + ": added");
                } catch (DpifException | RuntimeException e) {
                    bridgeErrors.put(b, "bridge " + b + " could not be created: " + e.getMessage());
                    LOG.severe(bridgeErrors.get(b));
                }
            }
        }
        // 4. interfaces, in OfportRules' order
        List<Desired.Iface> order = new ArrayList<>(want.interfaces().values());
        order.sort(java.util.Comparator.comparing((Desired.Iface i) -> plan.getOrDefault(i.name(), UNPLANNED),
                OfportRules.ADD_ORDER));
        Map<String, Set<Integer>> taken = new HashMap<>();
        Map<String, Set<Integer>> requested = new HashMap<>();
        for (Desired.Iface d : order) {
            if (d.error() != null) {
                errors.put(d.name(), d.error());
                continue;
            }
            if (bridgeErrors.containsKey(d.bridge())) {
                errors.put(d.name(), bridgeErrors.get(d.bridge()));
                continue;
            }
            Attempt a = new Attempt(d.bridge(), d.type(), d.options(), d.ofportRequest());
            Refusal r = refused.get(d.name());
            if (r != null && r.attempt().equals(a)) {
                errors.put(d.name(), r.reason());
                continue;
            }
            PortInfo live = dpif.port(d.name());
            try {
                if (live == null) {
                    OfportRules.addPort(dpif, d.bridge(), plan.get(d.name()), d.type(), d.options(),
                            taken.computeIfAbsent(d.bridge(), b -> OfportRules.taken(dpif, b)),
                            requested.computeIfAbsent(d.bridge(),
                                    b -> OfportRules.requested(byBridge.getOrDefault(b, List.of()))));
                    LOG.info("bridge " + d.bridge() + ": added interface " + d.name() + " (type " + d.type() + ")");
                } else if (!live.type().equals(d.type()) || !Objects.equals(live.options(), d.options())) {
                    dpif.setInterface(d.name(), d.type(), d.options());
                    LOG.info("bridge " + d.bridge() + ": interface " + d.name() + " set to type " + d.type()
                            + " options " + d.options());
                }
                refused.remove(d.name());
            } catch (DpifException | RuntimeException e) {
                String why = e.getMessage() == null ? e.toString() : e.getMessage();
                refused.put(d.name(), new Refusal(a, why));
                errors.put(d.name(), why);
                LOG.warning("bridge " + d.bridge() + ": interface " + d.name() + " refused: " + why);
                continue;
            }
            setAffinity(dpif, d);
            call(() -> dpif.setIngressPolicing(d.name(), d.policingRate(), d.policingBurst()),
                    "interface " + d.name() + ": cannot set its ingress policing"); // iface_configure_qos
            setQos(dpif, d);
            setVlans(dpif, d);
        }
        // 5. each bridge's MAC and datapath ID, as bridge_configure_datapath_id, and its MAC learning table
        Set<String> made = dpif.bridges();
        want.bridgeUuids().forEach((b, uuid) -> {
            if (made.contains(b)) {
                Map<String, String> oc = want.bridgeOtherConfig().getOrDefault(b, Map.of());
                call(() -> dpif.setBridgeAddress(b, BridgeAddress.pick(uuid, b, dpif.ports(b), oc)),
                        "bridge " + b + ": cannot set its Ethernet address");
                call(() -> dpif.setDatapathId(b, BridgeAddress.datapathId(oc)),
                        "bridge " + b + ": cannot set its datapath ID");
                int[] macs = DpifApplier.macTable(oc);
                call(() -> dpif.setMacTableConfig(b, macs[0], macs[1]), "bridge " + b + ": cannot set its MAC table");
                Desired.Control c = want.controllers().getOrDefault(b, new Desired.Control(List.of(), false));
                call(() -> dpif.setControllers(b, c.targets(), c.secure(), c.probeSeconds()),
                        "bridge " + b + ": cannot set its controllers");
            }
        });
    }

    /**
     * As bridge_reconfigure's ofproto_port_set_config, every round: the datapath ignores an unchanged value.
     * A malformed one is refused and the one in force kept; as OVS, that is logged and the Interface's
     * {@code error} column is not written.
     */
    private static void setAffinity(Dpif dpif, Desired.Iface d) {
        try {
            dpif.setRxqAffinity(d.name(), d.rxqAffinity());
        } catch (DpifException | RuntimeException e) {
            String why = e instanceof DpifException ? "Invalid argument" : e.toString();
            PortInfo live = dpif.port(d.name());
            Logger.getLogger("dpif").warning("netdev@ovs-netdev: port_set_config failed (" + why + ")");
            Logger.getLogger("ofproto").warning(d.bridge() + ": datapath configuration on port "
                    + (live == null ? -1 : live.ofport()) + " (" + d.name() + ") failed (" + why + ")");
            LOG.fine(() -> d.name() + ": " + e.getMessage());
        }
    }

    /**
     * The Port's QoS, as iface_configure_qos, every round (the datapath ignores an unchanged one); one it
     * refuses is logged once per change, and the QoS in force is kept.
     */
    private void setQos(Dpif dpif, Desired.Iface d) {
        String key = d.qosType() + " " + d.qosConfig();
        try {
            dpif.setQos(d.name(), d.qosType(), d.qosConfig());
            qosRefused.remove(d.name());
        } catch (DpifException | RuntimeException e) {
            if (!key.equals(qosRefused.put(d.name(), key))) {
                LOG.warning("interface " + d.name() + ": could not set QoS: " + e.getMessage());
            }
        }
    }

    /**
     * The Port's VLANs, as port_configure, every round (the datapath ignores unchanged ones); ones it refuses
     * are logged once per change, and the VLANs in force are kept.
     */
    private void setVlans(Dpif dpif, Desired.Iface d) {
        Desired.Vlans v = d.vlans();
        try {
            dpif.setPortVlans(d.name(), v.mode(), v.tag(), v.trunkArray());
            vlansRefused.remove(d.name());
        } catch (DpifException | RuntimeException e) {
            if (!v.equals(vlansRefused.put(d.name(), v))) {
                LOG.warning(e.getMessage());
            }
        }
    }

    /**
     * A Controller row's is_connected, role and status for connection state {@code s} (null: none, as a
     * passive or unsupported target), as OVS's refresh_controller_status and connmgr_get_controller_info.
     */
    static ObjectNode controllerRow(io.pvio.dpif.ControllerStatus s, long now) {
        ObjectNode row = JsonRpc.MAPPER.createObjectNode();
        row.put("is_connected", s != null && s.connected());
        if (s != null && s.connected()) {
            row.put("role", "other"); // OFPCR12_ROLE_EQUAL: pvio takes no role requests
        } else {
            row.set("role", Replica.emptySet());
        }
        Map<String, String> status = new java.util.TreeMap<>();
        if (s != null) {
            if (s.lastError() != null) {
                status.put("last_error", s.lastError());
            }
            status.put("state", s.state());
            if (s.lastConnectMillis() >= 0) {
                status.put("sec_since_connect", Long.toString((now - s.lastConnectMillis()) / 1000));
            }
            if (s.lastDisconnectMillis() >= 0) {
                status.put("sec_since_disconnect", Long.toString((now - s.lastDisconnectMillis()) / 1000));
            }
        }
        row.set("status", Replica.encodeMap(status));
        return row;
    }

    /** {@code value}, or OVSDB's empty set when null. */
    private static void setOrEmpty(ObjectNode row, String column, com.fasterxml.jackson.databind.JsonNode value) {
        row.set(column, value == null ? Replica.emptySet() : value);
    }

    /** Adds an update of the columns of {@code row} that differ from what was last written for {@code uuid}. */
    private void changes(ArrayNode ops, String table, String uuid, ObjectNode row) {
        ObjectNode old = written.get(uuid);
        ObjectNode changed = JsonRpc.MAPPER.createObjectNode();
        row.fields().forEachRemaining(f -> {
            if (old == null || !f.getValue().equals(old.get(f.getKey()))) {
                changed.set(f.getKey(), f.getValue());
            }
        });
        if (!changed.isEmpty()) {
            ops.add(Replica.update(table, uuid, changed));
            written.put(uuid, row);
        }
    }

    private static final OfportRules.Port UNPLANNED = new OfportRules.Port("", -1, -1, -1, false);

    /** Each interface that can be opened, as OfportRules sees it. */
    private static Map<String, OfportRules.Port> plan(Dpif dpif, Desired want) {
        Map<String, OfportRules.Port> plan = new HashMap<>();
        for (Desired.Iface d : want.interfaces().values()) {
            if (d.error() == null) {
                PortInfo live = dpif.port(d.name());
                int now = live != null && live.bridge().equals(d.bridge()) ? live.ofport() : -1;
                plan.put(d.name(), new OfportRules.Port(d.name(), now, d.ofportRequest(), d.ofport(),
                        d.name().equals(d.bridge())));
            }
        }
        return plan;
    }

    private interface Call {
        void run() throws DpifException;
    }

    private static void call(Call c, String what) {
        try {
            c.run();
        } catch (DpifException | RuntimeException e) {
            LOG.severe(what + ": " + e.getMessage());
        }
    }

    /**
     * The operations writing back what changed since the last call: each Interface's ofport, error,
     * link_state, admin_state, mtu, mac_in_use, ifindex, link_resets, link_speed, duplex, statistics and
     * status, each Bridge's datapath_id and datapath_version, and cur_cfg when {@code curCfg} is not null.
     * Empty when nothing changed. The caller must {@link #reset} when the transaction fails.
     */
    ArrayNode writeBack(Dpif dpif, Desired want, Long curCfg) {
        return writeBack(dpif, want, curCfg, null);
    }

    /**
     * Also writes the {@code Open_vSwitch} row's {@code iface_types} (the netdev classes present, as
     * ovs-vswitchd lists its port types: what OpenStack checks for dpdkvhostuser) and {@code datapath_types}
     * when {@code ifaceTypes} is not null and changed.
     */
    ArrayNode writeBack(Dpif dpif, Desired want, Long curCfg, java.util.Collection<String> ifaceTypes) {
        ArrayNode ops = JsonRpc.MAPPER.createArrayNode();
        ops.add("Open_vSwitch");
        for (Desired.Iface d : want.interfaces().values()) {
            PortInfo live = d.error() == null ? dpif.port(d.name()) : null;
            if (live != null && !live.bridge().equals(d.bridge())) {
                live = null;
            }
            String err = errors.get(d.name());
            if (err == null && live != null && live.error() != null && !live.error().isEmpty()) {
                err = live.error();
            }
            ObjectNode row = JsonRpc.MAPPER.createObjectNode();
            row.put("ofport", Vsctl.ofportColumn(live));
            if (err == null) {
                row.set("error", Replica.emptySet());
            } else {
                row.put("error", err);
            }
            boolean open = Vsctl.open(live);
            row.put("admin_state", open && live.adminUp() ? "up" : "down");
            row.put("link_state", live != null && live.carrier() ? "up" : "down");
            // as iface_refresh_netdev_status: what the netdev cannot tell is left empty; ifindex 0 for none
            var nf = JsonRpc.MAPPER.getNodeFactory();
            setOrEmpty(row, "mtu", open && live.mtu() > 0 ? nf.numberNode(live.mtu()) : null);
            setOrEmpty(row, "mac_in_use", open && live.mac() != null ? nf.textNode(live.mac()) : null);
            setOrEmpty(row, "ifindex", open ? nf.numberNode(live.ifindex()) : null);
            // link_resets always (0 when the class does not count); duplex and link_speed only with a speed
            boolean speed = open && live.linkSpeed() > 0;
            setOrEmpty(row, "link_resets", open ? nf.numberNode(live.linkResets()) : null);
            setOrEmpty(row, "link_speed", speed ? nf.numberNode(live.linkSpeed()) : null);
            setOrEmpty(row, "duplex", speed ? nf.textNode(live.fullDuplex() ? "full" : "half") : null);
            row.set("statistics", Replica.encodeMap(live == null ? Map.of() : live.statistics()));
            Map<String, String> status = new HashMap<>(live == null ? Map.of() : live.status());
            if (live != null && live.state() != null) {
                status.putIfAbsent("state", live.state());
            }
            row.set("status", Replica.encodeMap(status));
            changes(ops, "Interface", d.uuid(), row);
        }
        // each Bridge's datapath_id and datapath_version, as bridge_configure_datapath_id and
        // br_refresh_datapath_info write them
        Set<String> made = dpif.bridges();
        want.bridgeUuids().forEach((name, uuid) -> {
            if (made.contains(name)) {
                ObjectNode row = JsonRpc.MAPPER.createObjectNode();
                row.put("datapath_id", String.format("%016x", dpif.datapathId(name)));
                row.put("datapath_version", dpif.datapathVersion());
                changes(ops, "Bridge", uuid, row);
            }
        });
        // each Controller's is_connected, role and status, as refresh_controller_status writes them
        long now = System.currentTimeMillis();
        Set<String> keep = new HashSet<>(want.bridgeUuids().values());
        want.controllers().forEach((br, c) -> {
            Map<String, io.pvio.dpif.ControllerStatus> states = made.contains(br) ? dpif.controllerStatus(br) : Map.of();
            c.uuids().forEach((target, uuid) -> {
                changes(ops, "Controller", uuid, controllerRow(states.get(target), now));
                keep.add(uuid);
            });
        });
        want.interfaces().values().forEach(d -> keep.add(d.uuid()));
        written.keySet().retainAll(keep);
        ObjectNode root = JsonRpc.MAPPER.createObjectNode();
        if (curCfg != null && curCfg != writtenCurCfg) {
            root.put("cur_cfg", curCfg);
        }
        java.util.SortedSet<String> types = ifaceTypes == null ? null : new java.util.TreeSet<>(ifaceTypes);
        if (types != null && !types.equals(writtenTypes)) {
            root.set("iface_types", Replica.encodeSet(types));
            root.set("datapath_types", Replica.encodeSet(List.of("netdev")));
        }
        if (want.rootUuid() != null && !root.isEmpty()) {
            ops.add(Replica.update("Open_vSwitch", want.rootUuid(), root));
            if (root.has("cur_cfg")) {
                writtenCurCfg = curCfg;
            }
            if (root.has("iface_types")) {
                writtenTypes = types;
            }
        }
        return ops;
    }
}
