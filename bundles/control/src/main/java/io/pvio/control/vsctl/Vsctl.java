package io.pvio.control.vsctl;

import io.pvio.control.db.Db;
import io.pvio.control.db.Db.Bridge;
import io.pvio.control.db.Db.Port;
import io.pvio.control.vsctl.VsctlParser.Cmd;
import io.pvio.dpif.PortInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Runs parsed vsctl commands against a working copy of the database. Reads see the effects of the
 * earlier commands of the same line. Applying the result to the datapath and committing it is the
 * caller's business (see {@code DpifApplier}).
 */
public final class Vsctl {
    public static final String VERSION = "pvio 0.1.0";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.:-]{1,64}");

    /** The schema version of OVS's vswitch.ovsschema whose columns pvio shows (Open vSwitch 3.1). */
    public static final String DB_VERSION = "8.3.1";
    /** The datapath types there are: dpif-netdev's only, as ovs-vswitchd's userspace datapath calls it. */
    public static final List<String> DATAPATH_TYPES = List.of("netdev");

    /** What the running switch reports: a port (statistics, status; may return null), the interface types. */
    @FunctionalInterface
    public interface Live {
        PortInfo port(String name);

        /** The Interface types that can be opened now (the netdev classes bound), as iface_types. */
        default java.util.SortedSet<String> ifaceTypes() {
            return new java.util.TreeSet<>();
        }

        /** The bridge's datapath_id, 16 hex digits, or null while the datapath has no such bridge. */
        default String datapathId(String bridge) {
            return null;
        }

        /** The datapath's datapath_version, or null without a datapath. */
        default String datapathVersion() {
            return null;
        }
    }

    /** The outcome of a command line. */
    /** The database after the commands, whether they changed it, their output, and --dry-run (apply nothing). */
    public record Outcome(Db db, boolean mutated, String output, boolean dryRun) {
    }

    enum Table {
        OPEN_VSWITCH("Open_vSwitch"), BRIDGE("Bridge"), PORT("Port"), INTERFACE("Interface");

        final String title;

        Table(String title) {
            this.title = title;
        }

        /** The table {@code name} designates as ovs-vsctl reads it (see {@link OvsColumns#match}). */
        static Table of(String name) throws VsctlException {
            List<String> best = OvsColumns.match(OvsColumns.TABLES, name);
            if (best.isEmpty()) {
                throw new VsctlException("unknown table \"" + name + "\"");
            }
            if (best.size() > 1) {
                throw new VsctlException("\"" + name + "\" matches multiple table names: " + String.join(", ", best));
            }
            for (Table t : values()) {
                if (t.title.equals(best.get(0))) {
                    return t;
                }
            }
            throw new VsctlException("table " + best.get(0) + " is not supported by pvio (it has Open_vSwitch, Bridge,"
                    + " Port, Interface)");
        }

        /** Every column of OVS's schema for this table, _uuid first, as ovs-vsctl list shows them. */
        List<String> columns() {
            return OvsColumns.columns(title);
        }

        List<String> writable() {
            return switch (this) {
                case OPEN_VSWITCH -> List.of("external_ids", "other_config");
                case PORT -> List.of("external_ids", "other_config", "tag", "trunks", "vlan_mode");
                case BRIDGE -> List.of("datapath_type", "external_ids", "other_config");
                case INTERFACE -> List.of("external_ids", "ingress_policing_burst", "ingress_policing_rate",
                        "ofport_request", "options", "other_config", "type");
            };
        }
    }

    /** Columns that hold one atom (the others pvio writes are maps). */
    private static final java.util.Set<String> SCALARS = java.util.Set.of("type", "ofport_request", "datapath_type",
            "ingress_policing_rate", "ingress_policing_burst", "tag", "vlan_mode", "trunks");
    /** vlan_mode's values in OVS's schema. */
    private static final List<String> VLAN_MODES = List.of("access", "dot1q-tunnel", "native-tagged",
            "native-untagged", "trunk");
    private static final String NETDEV_ONLY = "pvio's datapath is the userspace one (datapath_type netdev): ";

    private final Db db;
    private final Live live;
    private final StringBuilder out = new StringBuilder();
    private boolean mutated;

    private Vsctl(Db db, Live live) {
        this.db = db;
        this.live = live;
    }

    /**
     * Runs a command line on a copy of {@code current}; {@code current} is never modified.
     *
     * @throws VsctlException for the first command that fails (the copy is dropped)
     */
    public static Outcome run(Db current, List<String> argv, Live live) throws VsctlException {
        if (argv.size() == 1 && (argv.get(0).equals("--help") || argv.get(0).equals("-h"))) {
            return new Outcome(current, false, VsctlParser.help(), false);
        }
        VsctlParser.Line line = VsctlParser.parse(argv);
        Vsctl v = new Vsctl(current.copy(), live == null ? n -> null : live);
        for (Cmd c : line.commands()) {
            v.exec(c);
        }
        return new Outcome(v.db, v.mutated, v.out.toString(), line.globals().contains("--dry-run"));
    }

    private void exec(Cmd c) throws VsctlException {
        List<String> a = c.args();
        switch (c.name()) {
            case "init" -> { }
            case "show" -> show();
            case "add-br" -> addBr(a.get(0), c.has("--may-exist"));
            case "del-br" -> delBr(a.get(0), c.has("--if-exists"));
            case "list-br" -> db.bridges.keySet().forEach(b -> out.append(b).append('\n'));
            case "br-exists" -> {
                if (!db.bridges.containsKey(a.get(0))) {
                    throw new VsctlException("", 2); // as ovs-vsctl: exit status 2, nothing printed
                }
            }
            case "set-controller" -> {
                Bridge b = bridge(a.get(0));
                List<String> targets = a.subList(1, a.size());
                for (String t : targets) {
                    if (!t.matches("(tcp|ssl|unix|ptcp|pssl|punix):.*")) {
                        java.util.logging.Logger.getLogger("vsctl").warning("target type \"" + t
                                + "\" is possibly erroneous");
                    }
                }
                b.controllers.clear();
                b.controllers.addAll(targets);
                mutated = true;
            }
            case "del-controller" -> {
                bridge(a.get(0)).controllers.clear();
                mutated = true;
            }
            case "get-controller" -> bridge(a.get(0)).controllers.forEach(t -> out.append(t).append('\n'));
            case "set-fail-mode" -> {
                Bridge b = bridge(a.get(0));
                if (!a.get(1).equals("standalone") && !a.get(1).equals("secure")) {
                    throw new VsctlException("fail-mode must be \"standalone\" or \"secure\"");
                }
                b.failMode = a.get(1);
                mutated = true;
            }
            case "del-fail-mode" -> {
                bridge(a.get(0)).failMode = "";
                mutated = true;
            }
            case "get-fail-mode" -> {
                String m = bridge(a.get(0)).failMode;
                if (!m.isEmpty()) {
                    out.append(m).append('\n');
                }
            }
            case "add-port" -> addPort(a.get(0), a.get(1), c.has("--may-exist"), a.subList(2, a.size()));
            case "del-port" -> delPort(a.size() == 2 ? a.get(0) : null, a.get(a.size() - 1), c.has("--if-exists"));
            case "list-ports", "list-ifaces" -> bridge(a.get(0)).ports.keySet().stream()
                    .filter(p -> !p.equals(a.get(0))) // as ovs-vsctl: not the local port
                    .forEach(p -> out.append(p).append('\n'));
            case "port-to-br", "iface-to-br" -> {
                Bridge b = db.bridgeOf(a.get(0));
                if (b == null) {
                    throw new VsctlException("no " + (c.name().startsWith("port") ? "port" : "interface")
                            + " named " + a.get(0));
                }
                out.append(b.name).append('\n');
            }
            case "list" -> list(c);
            case "get" -> get(c);
            case "set", "add", "remove", "clear" -> modify(c);
            default -> throw new VsctlException("unknown command '" + c.name() + "'");
        }
    }

    // ---- bridges and ports ----

    private static void checkName(String what, String name) throws VsctlException {
        if (!NAME.matcher(name).matches()) {
            throw new VsctlException("invalid " + what + " name \"" + name
                    + "\" (1 to 64 of letters, digits, '_', '.', ':' and '-')");
        }
    }

    private Bridge bridge(String name) throws VsctlException {
        Bridge b = db.bridges.get(name);
        if (b == null) {
            throw new VsctlException("no bridge named " + name);
        }
        return b;
    }

    private void addBr(String name, boolean mayExist) throws VsctlException {
        checkName("bridge", name);
        if (db.bridges.containsKey(name)) {
            if (mayExist) {
                return;
            }
            throw new VsctlException("cannot create a bridge named " + name
                    + " because a bridge named " + name + " already exists");
        }
        Bridge owner = db.bridgeOf(name);
        if (owner != null) {
            throw new VsctlException("cannot create a bridge named " + name
                    + " because a port named " + name + " already exists on bridge " + owner.name);
        }
        Bridge nb = new Bridge(name);
        Port local = new Port(name); // as OVS: the bridge's local port, an internal port named after it
        local.type = "internal";
        nb.ports.put(name, local);
        db.bridges.put(name, nb);
        mutated = true;
    }

    private void delBr(String name, boolean ifExists) throws VsctlException {
        if (!db.bridges.containsKey(name)) {
            if (ifExists) {
                return;
            }
            throw new VsctlException("no bridge named " + name);
        }
        db.bridges.remove(name);
        mutated = true;
    }

    /** add-port BRIDGE PORT [COLUMN[:KEY]=VALUE]...: the settings go to the new Port row, as ovs-vsctl's. */
    private void addPort(String br, String port, boolean mayExist, List<String> settings) throws VsctlException {
        checkName("port", port);
        List<ColumnRef> refs = new ArrayList<>();
        for (String st : settings) {
            refs.add(writable(Table.PORT, columnRef(Table.PORT, st, true)));
        }
        Bridge b = bridge(br);
        Bridge owner = db.bridgeOf(port);
        if (owner != null && mayExist && owner == b) {
            return;
        }
        // bridges first, as ovs-vsctl's check_conflicts (a bridge's local port has its name)
        if (db.bridges.containsKey(port)) {
            throw new VsctlException("cannot create a port named " + port + " because a bridge named "
                    + port + " already exists");
        }
        if (owner != null) {
            throw new VsctlException("cannot create a port named " + port
                    + " because a port named " + port + " already exists on bridge " + owner.name);
        }
        Port np = new Port(port);
        b.ports.put(port, np);
        for (ColumnRef ref : refs) {
            set(new Row(Table.PORT, np), ref);
        }
        mutated = true;
    }

    /** As ovs-vsctl's cmd_del_port: the port is looked for first, then the bridge it must be on. */
    private void delPort(String br, String port, boolean ifExists) throws VsctlException {
        Bridge owner = db.bridgeOf(port);
        if (owner == null) {
            if (ifExists) {
                return;
            }
            throw new VsctlException("no port named " + port);
        }
        if (br != null && owner != bridge(br)) {
            throw new VsctlException("bridge " + br + " does not have a port " + port);
        }
        if (port.equals(owner.name)) {
            throw new VsctlException("cannot delete port " + port + " because it is the local port for bridge "
                    + owner.name + " (deleting this port requires deleting the entire bridge)");
        }
        owner.ports.remove(port);
        mutated = true;
    }

    /**
     * The Interface's ofport column: -1 while the port waits for its netdev class, as OVS shows a port it
     * could not open (the datapath keeps its number for it).
     */
    public static int ofportColumn(PortInfo pi) {
        return pi == null || "waiting".equals(pi.state()) ? -1 : pi.ofport();
    }

    /**
     * Whether the port's netdev is open, so that its mtu, mac_in_use, ifindex, admin_state, link_resets,
     * link_speed and duplex are known.
     */
    public static boolean open(PortInfo pi) {
        return pi != null && !"waiting".equals(pi.state()) && !"error".equals(pi.state());
    }

    // ---- show ----

    private void show() {
        out.append(db.uuid).append('\n');
        for (Bridge b : db.bridges.values()) {
            out.append("    Bridge ").append(b.name).append('\n');
            for (String t : b.controllers) {
                out.append("        Controller ").append(Ovsdb.atom(t)).append('\n');
            }
            if (!b.failMode.isEmpty()) {
                out.append("        fail_mode: ").append(b.failMode).append('\n');
            }
            out.append("        datapath_type: netdev\n");
            for (Port p : b.ports.values()) {
                out.append("        Port ").append(p.name).append('\n');
                if (p.tag >= 0) {
                    out.append("            tag: ").append(p.tag).append('\n');
                }
                if (!p.trunks.isEmpty()) {
                    out.append("            trunks: ").append(Ovsdb.format(new ArrayList<>(p.trunks))).append('\n');
                }
                out.append("            Interface ").append(p.name).append('\n');
                if (!p.type.isEmpty()) {
                    out.append("                type: ").append(p.type).append('\n');
                }
                if (!p.options.isEmpty()) {
                    out.append("                options: ").append(Ovsdb.format(p.options)).append('\n');
                }
                PortInfo pi = live.port(p.name);
                if (pi != null && pi.error() != null) {
                    out.append("                error: ").append(Ovsdb.atom(pi.error())).append('\n');
                }
            }
        }
        out.append("    ovs_version: ").append(Ovsdb.atom(VERSION)).append('\n');
    }

    // ---- generic table access ----

    /** A row: the table and the object (Db, Bridge or Port). */
    private record Row(Table table, Object obj) {
        String name() {
            return switch (table) {
                case OPEN_VSWITCH -> ".";
                case BRIDGE -> ((Bridge) obj).name;
                case PORT, INTERFACE -> ((Port) obj).name;
            };
        }
    }

    private List<Row> rows(Table t) {
        List<Row> rows = new ArrayList<>();
        switch (t) {
            case OPEN_VSWITCH -> rows.add(new Row(t, db));
            case BRIDGE -> db.bridges.values().forEach(b -> rows.add(new Row(t, b)));
            case PORT, INTERFACE -> {
                TreeMap<String, Port> all = new TreeMap<>();
                db.bridges.values().forEach(b -> all.putAll(b.ports));
                all.values().forEach(p -> rows.add(new Row(t, p)));
            }
        }
        return rows;
    }

    /** The row named {@code id} (name, uuid, or "." for Open_vSwitch), or null. */
    private Row find(Table t, String id) {
        for (Row r : rows(t)) {
            String uuid = switch (t) {
                case OPEN_VSWITCH -> db.uuid;
                case BRIDGE -> ((Bridge) r.obj).uuid;
                case PORT -> ((Port) r.obj).uuid;
                case INTERFACE -> ((Port) r.obj).ifaceUuid;
            };
            if (r.name().equals(id) || uuid.equals(id)) {
                return r;
            }
        }
        return null;
    }

    private Row row(Table t, String id, boolean ifExists) throws VsctlException {
        Row r = find(t, id);
        if (r == null && !ifExists) {
            throw new VsctlException("no row \"" + id + "\" in table " + t.title);
        }
        return r;
    }

    private static String column(Table t, String name) throws VsctlException {
        List<String> best = OvsColumns.match(t.columns(), name);
        if (best.isEmpty()) {
            throw new VsctlException(t.title + " does not contain a column whose name matches \"" + name + "\"");
        }
        if (best.size() > 1) {
            throw new VsctlException(t.title + " contains more than one column whose name matches \"" + name
                    + "\": " + String.join(", ", best));
        }
        return best.get(0);
    }

    /** A column's value: String, Long, null (empty), Map or List (of uuids). */
    private Object value(Row r, String col) {
        switch (r.table) {
            case OPEN_VSWITCH -> {
                return switch (col) {
                    case "_uuid" -> new Ovsdb.Uuid(db.uuid);
                    case "bridges" -> db.bridges.values().stream().map(b -> b.uuid).toList();
                    case "other_config" -> db.otherConfig;
                    case "external_ids" -> db.externalIds;
                    case "ovs_version" -> VERSION;
                    case "db_version" -> DB_VERSION;
                    case "datapath_types" -> DATAPATH_TYPES.stream().map(Ovsdb::atom).toList();
                    case "iface_types" -> live.ifaceTypes().stream().map(Ovsdb::atom).toList();
                    default -> OvsColumns.empty(r.table.title, col);
                };
            }
            case BRIDGE -> {
                Bridge b = (Bridge) r.obj;
                return switch (col) {
                    case "_uuid" -> new Ovsdb.Uuid(b.uuid);
                    case "datapath_type" -> "netdev";
                    case "datapath_id" -> live.datapathId(b.name);
                    case "datapath_version" -> live.datapathVersion() == null ? OvsColumns.empty(r.table.title, col)
                            : live.datapathVersion();
                    case "name" -> b.name;
                    case "other_config" -> b.otherConfig;
                    case "external_ids" -> b.externalIds;
                    case "ports" -> b.ports.values().stream().map(p -> p.uuid).toList();
                    default -> OvsColumns.empty(r.table.title, col);
                };
            }
            case PORT -> {
                Port p = (Port) r.obj;
                return switch (col) {
                    case "_uuid" -> new Ovsdb.Uuid(p.uuid);
                    case "interfaces" -> List.of(p.ifaceUuid);
                    case "name" -> p.name;
                    case "other_config" -> p.otherConfig;
                    case "external_ids" -> p.externalIds;
                    case "tag" -> p.tag < 0 ? null : (Object) (long) p.tag;
                    case "trunks" -> new ArrayList<>(p.trunks);
                    case "vlan_mode" -> p.vlanMode.isEmpty() ? null : p.vlanMode;
                    default -> OvsColumns.empty(r.table.title, col);
                };
            }
            default -> {
                Port p = (Port) r.obj;
                PortInfo pi = live.port(p.name);
                return switch (col) {
                    case "_uuid" -> new Ovsdb.Uuid(p.ifaceUuid);
                    case "admin_state" -> pi == null ? null : open(pi) && pi.adminUp() ? "up" : "down";
                    case "error" -> pi == null ? null : pi.error();
                    case "ifindex" -> open(pi) ? (Object) (long) pi.ifindex() : null;
                    case "mac_in_use" -> open(pi) ? pi.mac() : null;
                    case "mtu" -> open(pi) && pi.mtu() > 0 ? (Object) (long) pi.mtu() : null;
                    case "link_resets" -> open(pi) ? (Object) pi.linkResets() : null;
                    case "link_speed" -> open(pi) && pi.linkSpeed() > 0 ? (Object) pi.linkSpeed() : null;
                    case "duplex" -> open(pi) && pi.linkSpeed() > 0 ? (pi.fullDuplex() ? "full" : "half") : null;
                    case "link_state" -> pi == null ? null : (pi.carrier() ? "up" : "down");
                    case "name" -> p.name;
                    case "ofport" -> pi == null ? null : (Object) (long) ofportColumn(pi);
                    case "ofport_request" -> p.ofportRequest < 0 ? null : (Object) (long) p.ofportRequest;
                    case "ingress_policing_rate" -> (Object) p.policingRate;
                    case "ingress_policing_burst" -> (Object) p.policingBurst;
                    case "options" -> p.options;
                    case "other_config" -> p.ifaceOtherConfig;
                    case "statistics" -> pi == null || pi.statistics() == null ? Map.of()
                            : new TreeMap<>(pi.statistics());
                    case "status" -> pi == null || pi.status() == null ? Map.of() : new TreeMap<>(pi.status());
                    case "external_ids" -> p.ifaceExternalIds;
                    case "type" -> p.type;
                    default -> OvsColumns.empty(r.table.title, col);
                };
            }
        }
    }

    private void list(Cmd c) throws VsctlException {
        Table t = Table.of(c.args().get(0));
        List<String> cols = t.columns();
        String sel = c.option("--columns");
        if (sel != null) {
            List<String> chosen = new ArrayList<>();
            for (String s : sel.split(",")) {
                chosen.add(column(t, s.trim()));
            }
            cols = chosen;
        }
        List<Row> rows = new ArrayList<>();
        if (c.args().size() == 1) {
            rows.addAll(rows(t));
        } else {
            for (String id : c.args().subList(1, c.args().size())) {
                rows.add(row(t, id, false));
            }
        }
        boolean first = true;
        for (Row r : rows) {
            if (!first) {
                out.append('\n');
            }
            first = false;
            for (String col : cols) {
                out.append(String.format("%-20s: %s%n", col, Ovsdb.format(value(r, col))));
            }
        }
    }

    /** COLUMN or COLUMN:KEY (KEY may be quoted); for set also =VALUE. */
    private record ColumnRef(String column, String key, String value) {
    }

    private static ColumnRef columnRef(Table t, String text, boolean withValue) throws VsctlException {
        int i = 0;
        while (i < text.length() && text.charAt(i) != ':' && text.charAt(i) != '=') {
            i++;
        }
        String col = column(t, text.substring(0, i));
        String key = null;
        if (i < text.length() && text.charAt(i) == ':') {
            i++;
            if (i < text.length() && text.charAt(i) == '"') {
                int[] end = new int[1];
                key = Ovsdb.quoted(text, i, end);
                i = end[0];
            } else {
                int k = i;
                while (i < text.length() && text.charAt(i) != '=') {
                    i++;
                }
                key = text.substring(k, i);
            }
            if (key.isEmpty()) {
                throw new VsctlException("\"" + text + "\": empty key after ':'");
            }
        }
        String value = null;
        if (i < text.length()) {
            if (text.charAt(i) != '=' || !withValue) {
                throw new VsctlException("\"" + text + "\": " + (withValue ? "expected '=' after the column"
                        : "unexpected '" + text.charAt(i) + "' (write COLUMN or COLUMN:KEY)"));
            }
            value = text.substring(i + 1);
        } else if (withValue) {
            throw new VsctlException("\"" + text + "\": missing '=VALUE' (write COLUMN[:KEY]=VALUE)");
        }
        return new ColumnRef(col, key, value);
    }

    private void get(Cmd c) throws VsctlException {
        Table t = Table.of(c.args().get(0));
        boolean ifExists = c.has("--if-exists");
        Row r = row(t, c.args().get(1), ifExists);
        List<ColumnRef> refs = new ArrayList<>();
        for (String s : c.args().subList(2, c.args().size())) {
            refs.add(columnRef(t, s, false));
        }
        if (r == null) {
            return;
        }
        for (ColumnRef ref : refs) {
            Object v = value(r, ref.column());
            if (ref.key() == null) {
                out.append(Ovsdb.format(v)).append('\n');
                continue;
            }
            if (!(v instanceof Map<?, ?> m)) {
                throw new VsctlException("cannot specify key to get for non-map column " + ref.column());
            }
            Object kv = m.get(ref.key());
            if (kv == null) {
                if (ifExists) {
                    continue;
                }
                throw new VsctlException("no key \"" + ref.key() + "\" in " + t.title + " record \"" + r.name()
                        + "\" column " + ref.column());
            }
            out.append(Ovsdb.format(kv)).append('\n');
        }
    }

    @SuppressWarnings("unchecked")
    private static TreeMap<String, String> map(Row r, String col) {
        boolean ids = col.equals("external_ids");
        return switch (r.table) {
            case OPEN_VSWITCH -> ids ? ((Db) r.obj).externalIds : ((Db) r.obj).otherConfig;
            case BRIDGE -> ids ? ((Bridge) r.obj).externalIds : ((Bridge) r.obj).otherConfig;
            case PORT -> ids ? ((Port) r.obj).externalIds : ((Port) r.obj).otherConfig;
            case INTERFACE -> ids ? ((Port) r.obj).ifaceExternalIds
                    : col.equals("options") ? ((Port) r.obj).options : ((Port) r.obj).ifaceOtherConfig;
        };
    }

    private void modify(Cmd c) throws VsctlException {
        Table t = Table.of(c.args().get(0));
        Row r = row(t, c.args().get(1), c.has("--if-exists"));
        List<String> rest = c.args().subList(2, c.args().size());
        if (c.name().equals("set")) {
            List<ColumnRef> refs = new ArrayList<>();
            for (String s : rest) {
                refs.add(writable(t, columnRef(t, s, true)));
            }
            if (r != null) {
                for (ColumnRef ref : refs) {
                    set(r, ref);
                }
            }
            return;
        }
        String col = writable(t, new ColumnRef(column(t, rest.get(0)), null, null)).column();
        List<String> items = rest.subList(1, rest.size());
        boolean isMap = !SCALARS.contains(col);
        switch (c.name()) {
            case "clear" -> {
                List<String> cols = new ArrayList<>();
                for (String s : rest) {
                    String cc = writable(t, new ColumnRef(column(t, s), null, null)).column();
                    if (cc.equals("datapath_type")) {
                        throw new VsctlException(NETDEV_ONLY + "\"\" is not supported");
                    }
                    if (cc.equals("type") || cc.startsWith("ingress_policing_")) { // not optional in the schema
                        throw new VsctlException("\"clear\" operation cannot be applied to column " + cc + " of table "
                                + t.title + ", which is not allowed to be empty");
                    }
                    cols.add(cc);
                }
                if (r != null) {
                    for (String cc : cols) {
                        if (cc.equals("ofport_request")) {
                            ((Port) r.obj).ofportRequest = -1;
                        } else if (cc.equals("tag")) {
                            ((Port) r.obj).tag = -1;
                        } else if (cc.equals("trunks")) {
                            ((Port) r.obj).trunks.clear();
                        } else if (cc.equals("vlan_mode")) {
                            ((Port) r.obj).vlanMode = "";
                        } else {
                            map(r, cc).clear();
                        }
                    }
                    mutated = true;
                }
            }
            case "add" -> {
                if (col.equals("trunks")) {
                    changeTrunks(r, items, true);
                    return;
                }
                if (!isMap) {
                    throw new VsctlException("\"add\" applies to map columns only, not " + col);
                }
                TreeMap<String, String> add = new TreeMap<>();
                for (String kv : items) {
                    add.putAll(Ovsdb.parseMap("{" + kv + "}"));
                }
                if (r != null) {
                    add.forEach(map(r, col)::putIfAbsent); // OVSDB "add" keeps an existing key's value
                    mutated = true;
                }
            }
            default -> { // remove
                if (col.equals("trunks")) {
                    changeTrunks(r, items, false);
                    return;
                }
                if (!isMap) {
                    throw new VsctlException("\"remove\" applies to map columns only, not " + col);
                }
                if (r != null) {
                    TreeMap<String, String> m = map(r, col);
                    for (String kv : items) {
                        if (kv.contains("=") && !kv.startsWith("\"")) {
                            Ovsdb.parseMap("{" + kv + "}").forEach(m::remove);
                        } else {
                            m.remove(Ovsdb.parseAtom(kv));
                        }
                    }
                    mutated = true;
                }
            }
        }
    }

    /** add/remove Port ROW trunks VLAN...: every VLAN checked before the row (null: --if-exists, none) changes. */
    private void changeTrunks(Row r, List<String> items, boolean add) throws VsctlException {
        List<Integer> vs = new ArrayList<>();
        for (String v : items) {
            vs.addAll(vlans(v));
        }
        if (r != null) {
            if (add) {
                ((Port) r.obj).trunks.addAll(vs);
            } else {
                ((Port) r.obj).trunks.removeAll(vs);
            }
            mutated = true;
        }
    }

    /** VLAN ids as ovs-vsctl reads an integer set: "10", "10,20", "[10, 20]" or "[]"; each within 0..4095. */
    private static List<Integer> vlans(String text) throws VsctlException {
        String v = Ovsdb.parseAtom(text).trim();
        if (v.startsWith("[") && v.endsWith("]")) {
            v = v.substring(1, v.length() - 1).trim();
        }
        List<Integer> out = new ArrayList<>();
        if (v.isEmpty()) {
            return out;
        }
        for (String part : v.split(",")) {
            String x = part.trim();
            long n;
            try {
                n = Long.parseLong(x);
            } catch (NumberFormatException e) {
                throw new VsctlException("\"" + x + "\" is not a valid integer");
            }
            if (n < 0 || n > 4095) {
                throw new VsctlException("constraint violation: " + n + " is not in the valid range 0 to 4095 (inclusive)");
            }
            out.add((int) n);
        }
        return out;
    }

    private static ColumnRef writable(Table t, ColumnRef ref) throws VsctlException {
        if (!t.writable().contains(ref.column())) {
            if (OvsColumns.readOnly(t.title, ref.column())) {
                throw new VsctlException("cannot modify read-only column " + ref.column() + " in table " + t.title);
            }
            throw new VsctlException("column " + ref.column() + " of table " + t.title + " is not supported by pvio"
                    + " (it sets " + String.join(", ", t.writable()) + ")");
        }
        if (ref.key() != null && SCALARS.contains(ref.column())) {
            throw new VsctlException("cannot specify key to set for non-map column " + ref.column());
        }
        return ref;
    }

    private void set(Row r, ColumnRef ref) throws VsctlException {
        mutated = true;
        switch (ref.column()) {
            case "type" -> ((Port) r.obj).type = Ovsdb.parseAtom(ref.value());
            case "datapath_type" -> {
                String v = Ovsdb.parseAtom(ref.value());
                if (!v.equals("netdev")) {
                    throw new VsctlException(NETDEV_ONLY + Ovsdb.atom(v) + " is not supported");
                }
            }
            case "ofport_request" -> {
                String v = Ovsdb.parseAtom(ref.value()).trim();
                int n;
                if (v.equals("[]")) {
                    n = -1;
                } else {
                    try {
                        n = Integer.parseInt(v);
                    } catch (NumberFormatException e) {
                        throw new VsctlException("ofport_request: \"" + v + "\" is not an integer");
                    }
                    if (n < 1 || n > 65279) {
                        throw new VsctlException("ofport_request: " + n + " is not in range 1..65279");
                    }
                }
                ((Port) r.obj).ofportRequest = n;
            }
            case "tag" -> {
                String v = Ovsdb.parseAtom(ref.value()).trim();
                List<Integer> t = v.equals("[]") ? List.of() : vlans(v);
                if (t.size() > 1) {
                    throw new VsctlException("\"" + v + "\": tag takes one VLAN (0..4095) or []");
                }
                ((Port) r.obj).tag = t.isEmpty() ? -1 : t.get(0);
            }
            case "trunks" -> {
                List<Integer> t = vlans(ref.value());
                ((Port) r.obj).trunks.clear();
                ((Port) r.obj).trunks.addAll(t);
            }
            case "vlan_mode" -> {
                String v = Ovsdb.parseAtom(ref.value()).trim();
                if (v.equals("[]")) {
                    v = "";
                } else if (!VLAN_MODES.contains(v)) {
                    throw new VsctlException("constraint violation: " + v + " is not one of the allowed values ("
                            + String.join(", ", VLAN_MODES) + ")");
                }
                ((Port) r.obj).vlanMode = v;
            }
            case "ingress_policing_rate", "ingress_policing_burst" -> {
                String v = Ovsdb.parseAtom(ref.value()).trim();
                long n;
                try {
                    n = Long.parseLong(v);
                } catch (NumberFormatException e) {
                    throw new VsctlException(ref.column() + ": \"" + v + "\" is not an integer");
                }
                if (n < 0) {
                    throw new VsctlException("constraint violation: " + n + " is not in the valid range 0 to "
                            + Long.MAX_VALUE + " (inclusive)");
                }
                if (ref.column().equals("ingress_policing_rate")) {
                    ((Port) r.obj).policingRate = n;
                } else {
                    ((Port) r.obj).policingBurst = n;
                }
            }
            default -> {
                TreeMap<String, String> m = map(r, ref.column());
                if (ref.key() != null) {
                    m.put(ref.key(), Ovsdb.parseAtom(ref.value()));
                } else {
                    TreeMap<String, String> nm = Ovsdb.parseMap(ref.value());
                    m.clear();
                    m.putAll(nm);
                }
            }
        }
    }
}
