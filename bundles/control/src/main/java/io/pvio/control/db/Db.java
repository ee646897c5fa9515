package io.pvio.control.db;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/**
 * The configuration database: OVS's {@code Open_vSwitch} row, {@code Bridge} rows and their
 * {@code Port}/{@code Interface} rows (one Interface per Port, as every pvio port has), plus the OpenFlow
 * flows added with ofctl (OVS keeps those in ovs-vswitchd; pvio persists them so that a restarted datapath
 * gets them back).
 *
 * <p>Not thread-safe: the control component works on a {@link #copy()} and swaps it in when committed.
 */
public final class Db {
    /** The flow table of a new bridge: what the datapath installs on add-br. */
    public static final List<String> DEFAULT_FLOWS = List.of("priority=0,actions=normal");

    public String uuid = newUuid();
    public final TreeMap<String, String> otherConfig = new TreeMap<>();
    /** external_ids of every row: stored and shown for the systems that manage OVS, never acted on. */
    public final TreeMap<String, String> externalIds = new TreeMap<>();
    /** Bridges by name. */
    public final TreeMap<String, Bridge> bridges = new TreeMap<>();

    public static String newUuid() {
        return UUID.randomUUID().toString();
    }

    /** A Bridge row. */
    public static final class Bridge {
        public String uuid = newUuid();
        public String name;
        public final TreeMap<String, String> otherConfig = new TreeMap<>();
        public final TreeMap<String, String> externalIds = new TreeMap<>();
        /** Ports by name. */
        public final TreeMap<String, Port> ports = new TreeMap<>();
        /** OpenFlow flows in ovs-ofctl syntax, in the order they were added. */
        public final List<String> flows = new ArrayList<>(DEFAULT_FLOWS);
        /** OpenFlow controller targets (ovs-vsctl set-controller), sorted; fail_mode ("" standalone, "secure"). */
        public final java.util.TreeSet<String> controllers = new java.util.TreeSet<>();
        public String failMode = "";

        public Bridge(String name) {
            this.name = name;
        }

        Bridge copy() {
            Bridge b = new Bridge(name);
            b.uuid = uuid;
            b.otherConfig.putAll(otherConfig);
            b.externalIds.putAll(externalIds);
            ports.forEach((k, p) -> b.ports.put(k, p.copy()));
            b.flows.clear();
            b.flows.addAll(flows);
            b.controllers.addAll(controllers);
            b.failMode = failMode;
            return b;
        }
    }

    /** A Port row and its single Interface row (same name). */
    public static final class Port {
        public String uuid = newUuid();
        public String ifaceUuid = newUuid();
        public String name;
        /** Interface type; "" is OVS's default (system) type. */
        public String type = "";
        public final TreeMap<String, String> options = new TreeMap<>();
        /** Interface ofport_request, or -1 when not set. */
        public int ofportRequest = -1;
        /** Interface ofport: the number the datapath gave the port last (asked for again on restore), or -1. */
        public int ofport = -1;
        /** Interface ingress_policing_rate (kbit/s) and ingress_policing_burst (kbit); 0: none, OVS's default. */
        public long policingRate;
        public long policingBurst;
        /** Port tag (0..4095, -1: empty), trunks and vlan_mode ("": empty), OVS's VLAN columns. */
        public int tag = -1;
        public final java.util.TreeSet<Integer> trunks = new java.util.TreeSet<>();
        public String vlanMode = "";
        public final TreeMap<String, String> otherConfig = new TreeMap<>();
        public final TreeMap<String, String> ifaceOtherConfig = new TreeMap<>();
        public final TreeMap<String, String> externalIds = new TreeMap<>();
        public final TreeMap<String, String> ifaceExternalIds = new TreeMap<>();

        public Port(String name) {
            this.name = name;
        }

        Port copy() {
            Port p = new Port(name);
            p.uuid = uuid;
            p.ifaceUuid = ifaceUuid;
            p.type = type;
            p.options.putAll(options);
            p.ofportRequest = ofportRequest;
            p.ofport = ofport;
            p.policingRate = policingRate;
            p.policingBurst = policingBurst;
            p.tag = tag;
            p.trunks.addAll(trunks);
            p.vlanMode = vlanMode;
            p.otherConfig.putAll(otherConfig);
            p.ifaceOtherConfig.putAll(ifaceOtherConfig);
            p.externalIds.putAll(externalIds);
            p.ifaceExternalIds.putAll(ifaceExternalIds);
            return p;
        }
    }

    /**
     * Records the port numbers the datapath gave ({@code ofportOf}: name to number, or -1 for a port it does
     * not have). Returns true when one changed.
     */
    public boolean recordOfports(java.util.function.ToIntFunction<String> ofportOf) {
        boolean changed = false;
        for (Bridge b : bridges.values()) {
            for (Port p : b.ports.values()) {
                int n = ofportOf.applyAsInt(p.name);
                if (n > 0 && n != p.ofport) {
                    p.ofport = n;
                    changed = true;
                }
            }
        }
        return changed;
    }

    public Db copy() {
        Db d = new Db();
        d.uuid = uuid;
        d.otherConfig.putAll(otherConfig);
        d.externalIds.putAll(externalIds);
        bridges.forEach((k, b) -> d.bridges.put(k, b.copy()));
        return d;
    }

    /** The bridge holding port {@code name}, or null. */
    public Bridge bridgeOf(String port) {
        for (Bridge b : bridges.values()) {
            if (b.ports.containsKey(port)) {
                return b;
            }
        }
        return null;
    }

    /** Port {@code name} in any bridge, or null. */
    public Port port(String name) {
        Bridge b = bridgeOf(name);
        return b == null ? null : b.ports.get(name);
    }

    // ---- JSON form (conf.db) ----

    static final String FORMAT = "pvio-conf-1";

    public Map<String, Object> toJson() {
        Map<String, Object> root = new java.util.LinkedHashMap<>();
        root.put("format", FORMAT);
        root.put("_uuid", uuid);
        root.put("other_config", new TreeMap<>(otherConfig));
        root.put("external_ids", new TreeMap<>(externalIds));
        List<Object> brs = new ArrayList<>();
        for (Bridge b : bridges.values()) {
            Map<String, Object> jb = new java.util.LinkedHashMap<>();
            jb.put("_uuid", b.uuid);
            jb.put("name", b.name);
            jb.put("other_config", new TreeMap<>(b.otherConfig));
            jb.put("external_ids", new TreeMap<>(b.externalIds));
            jb.put("flows", new ArrayList<>(b.flows));
            if (!b.controllers.isEmpty()) {
                jb.put("controllers", new ArrayList<>(b.controllers));
            }
            if (!b.failMode.isEmpty()) {
                jb.put("fail_mode", b.failMode);
            }
            List<Object> ps = new ArrayList<>();
            for (Port p : b.ports.values()) {
                Map<String, Object> jp = new java.util.LinkedHashMap<>();
                jp.put("_uuid", p.uuid);
                jp.put("interface_uuid", p.ifaceUuid);
                jp.put("name", p.name);
                jp.put("type", p.type);
                jp.put("options", new TreeMap<>(p.options));
                jp.put("ofport_request", (long) p.ofportRequest);
                jp.put("ofport", (long) p.ofport);
                jp.put("ingress_policing_rate", p.policingRate);
                jp.put("ingress_policing_burst", p.policingBurst);
                if (p.tag >= 0) {
                    jp.put("tag", (long) p.tag);
                }
                if (!p.trunks.isEmpty()) {
                    jp.put("trunks", p.trunks.stream().map(Integer::longValue).toList());
                }
                if (!p.vlanMode.isEmpty()) {
                    jp.put("vlan_mode", p.vlanMode);
                }
                jp.put("other_config", new TreeMap<>(p.otherConfig));
                jp.put("interface_other_config", new TreeMap<>(p.ifaceOtherConfig));
                jp.put("external_ids", new TreeMap<>(p.externalIds));
                jp.put("interface_external_ids", new TreeMap<>(p.ifaceExternalIds));
                ps.add(jp);
            }
            jb.put("ports", ps);
            brs.add(jb);
        }
        root.put("bridges", brs);
        return root;
    }

    /** Reads the JSON form; throws IllegalArgumentException naming what is wrong. */
    public static Db fromJson(Object json) {
        Map<String, Object> root = obj(json, "database");
        if (!FORMAT.equals(root.get("format"))) {
            throw new IllegalArgumentException("not a pvio database (format is " + root.get("format") + ")");
        }
        Db d = new Db();
        d.uuid = str(root, "_uuid", d.uuid);
        strMap(root.get("other_config"), d.otherConfig);
        strMap(root.get("external_ids"), d.externalIds);
        for (Object ob : list(root.get("bridges"))) {
            Map<String, Object> jb = obj(ob, "bridge");
            Bridge b = new Bridge(str(jb, "name", null));
            b.uuid = str(jb, "_uuid", b.uuid);
            strMap(jb.get("other_config"), b.otherConfig);
            strMap(jb.get("external_ids"), b.externalIds);
            for (Object t : list(jb.get("controllers"))) {
                if (!(t instanceof String ts)) {
                    throw new IllegalArgumentException("bridge " + b.name + ": a controller is not a string");
                }
                b.controllers.add(ts);
            }
            b.failMode = str(jb, "fail_mode", "");
            if (jb.containsKey("flows")) {
                b.flows.clear();
                for (Object f : list(jb.get("flows"))) {
                    if (!(f instanceof String fs)) {
                        throw new IllegalArgumentException("bridge " + b.name + ": a flow is not a string");
                    }
                    b.flows.add(fs);
                }
            }
            for (Object op : list(jb.get("ports"))) {
                Map<String, Object> jp = obj(op, "port");
                Port p = new Port(str(jp, "name", null));
                p.uuid = str(jp, "_uuid", p.uuid);
                p.ifaceUuid = str(jp, "interface_uuid", p.ifaceUuid);
                p.type = str(jp, "type", "");
                strMap(jp.get("options"), p.options);
                Object ofp = jp.get("ofport_request");
                p.ofportRequest = ofp instanceof Long l ? (int) (long) l : -1;
                Object assigned = jp.get("ofport");
                p.ofport = assigned instanceof Long l ? (int) (long) l : -1;
                p.policingRate = jp.get("ingress_policing_rate") instanceof Long l && l > 0 ? l : 0;
                p.policingBurst = jp.get("ingress_policing_burst") instanceof Long l && l > 0 ? l : 0;
                p.tag = jp.get("tag") instanceof Long l && l >= 0 && l <= 4095 ? (int) (long) l : -1;
                for (Object t : list(jp.get("trunks"))) {
                    if (!(t instanceof Long l) || l < 0 || l > 4095) {
                        throw new IllegalArgumentException("port " + p.name + ": a trunk is not a VLAN (0..4095)");
                    }
                    p.trunks.add((int) (long) l);
                }
                p.vlanMode = str(jp, "vlan_mode", "");
                strMap(jp.get("other_config"), p.otherConfig);
                strMap(jp.get("interface_other_config"), p.ifaceOtherConfig);
                strMap(jp.get("external_ids"), p.externalIds);
                strMap(jp.get("interface_external_ids"), p.ifaceExternalIds);
                if (d.port(p.name) != null || b.ports.containsKey(p.name)) {
                    throw new IllegalArgumentException("port " + p.name + " is in the database twice");
                }
                b.ports.put(p.name, p);
            }
            if (d.bridges.put(b.name, b) != null) {
                throw new IllegalArgumentException("bridge " + b.name + " is in the database twice");
            }
        }
        return d;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> obj(Object o, String what) {
        if (!(o instanceof Map)) {
            throw new IllegalArgumentException(what + " is not an object");
        }
        return (Map<String, Object>) o;
    }

    private static List<?> list(Object o) {
        if (o == null) {
            return List.of();
        }
        if (!(o instanceof List<?> l)) {
            throw new IllegalArgumentException("expected an array");
        }
        return l;
    }

    private static String str(Map<String, Object> m, String key, String dflt) {
        Object v = m.get(key);
        if (v == null) {
            if (dflt == null) {
                throw new IllegalArgumentException("missing \"" + key + "\"");
            }
            return dflt;
        }
        if (!(v instanceof String s)) {
            throw new IllegalArgumentException("\"" + key + "\" is not a string");
        }
        return s;
    }

    private static void strMap(Object o, Map<String, String> into) {
        if (o == null) {
            return;
        }
        for (Map.Entry<String, Object> e : obj(o, "map").entrySet()) {
            if (!(e.getValue() instanceof String v)) {
                throw new IllegalArgumentException("value of \"" + e.getKey() + "\" is not a string");
            }
            into.put(e.getKey(), v);
        }
    }
}
