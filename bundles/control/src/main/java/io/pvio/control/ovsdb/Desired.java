package io.pvio.control.ovsdb;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the database asks of the datapath, read from a {@link Replica} as ovs-vswitchd's bridge layer reads
 * it: the bridges the {@code Open_vSwitch} row references, their ports and each port's interface.
 *
 * @param nextCfg     the {@code Open_vSwitch} row's next_cfg, or -1 without a row
 * @param rootUuid    the {@code Open_vSwitch} row's uuid, or null
 * @param interfaces  by interface name, in bridge then port order
 * @param bridgeUuids each bridge's row uuid, by name
 * @param bridgeOtherConfig each bridge's other_config (hwaddr, datapath-id), by name
 * @param controllers each bridge's Controller rows' targets and fail_mode, by name
 */
record Desired(String rootUuid, long nextCfg, Map<String, String> otherConfig, List<String> bridges,
        Map<String, Iface> interfaces, Map<String, String> bridgeUuids, Map<String, Map<String, String>> bridgeOtherConfig,
        Map<String, Control> controllers) {

    /**
     * A bridge's controller targets (sorted), whether its fail_mode is secure, and its Controller rows' uuids
     * by target (for the status written back).
     */
    record Control(List<String> targets, boolean secure, Map<String, String> uuids, int probeSeconds) {
        Control(List<String> targets, boolean secure) {
            this(targets, secure, Map.of(), 5);
        }
    }

    /**
     * One Interface row to open as a datapath port of the same name.
     *
     * @param ofport the number the datapath last gave it (its {@code ofport} column), asked for again when
     *               it is added without an ofport_request, as ovs-vswitchd does; -1 when none
     * @param error  why it cannot be opened as the database stands (e.g. a bond), or null
     * @param rxqAffinity its other_config:pmd-rxq-affinity, or null
     * @param policingRate its ingress_policing_rate (kbit/s; 0: none), {@code policingBurst} its burst (kbit)
     * @param qosType    its Port's QoS row's type, or "" when the Port has none; {@code qosConfig} its other_config
     * @param vlans      its Port's VLANs
     */
    record Iface(String uuid, String name, String bridge, String type, Map<String, String> options,
            int ofportRequest, int ofport, String error, String rxqAffinity, long policingRate, long policingBurst,
            String qosType, Map<String, String> qosConfig, Vlans vlans) {
    }

    /** A Port's vlan_mode ("" when empty), tag (-1 when empty) and trunks, for Dpif.setPortVlans. */
    record Vlans(String mode, int tag, List<Integer> trunks) {
        static final Vlans NONE = new Vlans("", -1, List.of());

        int[] trunkArray() {
            return trunks.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    static Desired of(Replica r) {
        Map<String, JsonNode> roots = r.rows("Open_vSwitch");
        if (roots.isEmpty()) {
            return new Desired(null, -1, Map.of(), List.of(), Map.of(), Map.of(), Map.of(), Map.of());
        }
        Map.Entry<String, JsonNode> root = roots.entrySet().iterator().next();
        JsonNode ovs = root.getValue();
        List<String> bridges = new ArrayList<>();
        Map<String, Iface> ifaces = new LinkedHashMap<>();
        Map<String, String> bridgeUuids = new LinkedHashMap<>();
        Map<String, Map<String, String>> bridgeOtherConfig = new LinkedHashMap<>();
        Map<String, Control> controllers = new LinkedHashMap<>();
        for (String bu : Replica.uuids(ovs.get("bridges"))) {
            JsonNode b = r.row("Bridge", bu);
            if (b == null) {
                continue;
            }
            String br = Replica.string(b.get("name"), "");
            if (br.isEmpty() || bridges.contains(br)) {
                continue;
            }
            bridges.add(br);
            bridgeUuids.put(br, bu);
            bridgeOtherConfig.put(br, Replica.map(b.get("other_config")));
            List<String> targets = new ArrayList<>();
            Map<String, String> uuids = new LinkedHashMap<>();
            int probe = -1; // the largest probe interval, as connmgr_get_max_probe_interval
            for (String cu : Replica.uuids(b.get("controller"))) {
                JsonNode c = r.row("Controller", cu);
                String t = c == null ? "" : Replica.string(c.get("target"), "");
                if (!t.isEmpty() && !targets.contains(t)) {
                    targets.add(t);
                    uuids.put(t, cu);
                    long ms = Replica.integer(c.get("inactivity_probe"), 5000); // bridge_configure_remotes
                    probe = Math.max(probe, ms <= 0 ? 0 : (int) Math.max(5, Math.min(ms / 1000, Integer.MAX_VALUE)));
                }
            }
            targets.sort(null);
            controllers.put(br, new Control(List.copyOf(targets),
                    "secure".equals(Replica.string(b.get("fail_mode"), "")), Map.copyOf(uuids), Math.max(probe, 0)));
            for (String pu : Replica.uuids(b.get("ports"))) {
                JsonNode p = r.row("Port", pu);
                if (p == null) {
                    continue;
                }
                String port = Replica.string(p.get("name"), "");
                String qosType = "";
                Map<String, String> qosConfig = Map.of();
                for (String qu : Replica.uuids(p.get("qos"))) {
                    JsonNode q = r.row("QoS", qu);
                    if (q != null) {
                        qosType = Replica.string(q.get("type"), "");
                        qosConfig = Replica.map(q.get("other_config"));
                    }
                }
                List<Integer> trunks = new ArrayList<>();
                for (JsonNode t : Replica.set(p.get("trunks"))) {
                    if (t.canConvertToLong()) {
                        trunks.add((int) Math.max(-1, Math.min(4096, t.asLong())));
                    }
                }
                long tag = Replica.integer(p.get("tag"), -1);
                Vlans vlans = new Vlans(Replica.string(p.get("vlan_mode"), ""), tag >= 0 && tag <= 4095 ? (int) tag : -1,
                        List.copyOf(trunks));
                List<String> ius = Replica.uuids(p.get("interfaces"));
                for (String iu : ius) {
                    JsonNode i = r.row("Interface", iu);
                    if (i == null) {
                        continue;
                    }
                    String name = Replica.string(i.get("name"), "");
                    String type = Replica.string(i.get("type"), "");
                    long req = Replica.integer(i.get("ofport_request"), -1);
                    long last = Replica.integer(i.get("ofport"), -1);
                    String error = null;
                    if (ius.size() > 1) {
                        error = "port " + port + " has " + ius.size() + " interfaces: bonds are not supported by pvio";
                    } else if (ifaces.containsKey(name)) {
                        error = "interface " + name + " is already on bridge " + ifaces.get(name).bridge();
                        name = name + "\0" + iu; // kept apart from the first one: only its error is written
                    }
                    ifaces.put(name, new Iface(iu, name, br, type.isEmpty() ? "system" : type,
                            Replica.map(i.get("options")), req > 0 && req < 65280 ? (int) req : -1, last > 0 && last < 65280 ? (int) last : -1, error,
                            Replica.map(i.get("other_config")).get("pmd-rxq-affinity"),
                            Math.max(0, Replica.integer(i.get("ingress_policing_rate"), 0)),
                            Math.max(0, Replica.integer(i.get("ingress_policing_burst"), 0)), qosType, qosConfig, vlans));
                }
            }
        }
        return new Desired(root.getKey(), Replica.integer(ovs.get("next_cfg"), 0),
                Replica.map(ovs.get("other_config")), bridges, ifaces, bridgeUuids, bridgeOtherConfig, controllers);
    }

    /** OVS's stats-update-interval (ms, at least 5000, default 5000). */
    long statsInterval() {
        try {
            return Math.max(5000, Long.parseLong(otherConfig.getOrDefault("stats-update-interval", "5000")));
        } catch (NumberFormatException e) {
            return 5000;
        }
    }
}
