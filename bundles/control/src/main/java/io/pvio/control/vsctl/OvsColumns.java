package io.pvio.control.vsctl;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The columns of OVS's schema (vswitch.ovsschema, Open vSwitch 3.1) for the tables pvio keeps, with the
 * value ovs-vsctl shows for a column nobody set, and ovs-vsctl's way of reading table and column names.
 */
final class OvsColumns {
    /** Every table of OVS's schema, sorted as ovs-vsctl lists them when a name matches several. */
    static final List<String> TABLES = List.of("AutoAttach", "Bridge", "CT_Timeout_Policy", "CT_Zone", "Controller",
            "Datapath", "Flow_Sample_Collector_Set", "Flow_Table", "IPFIX", "Interface", "Manager", "Mirror",
            "NetFlow", "Open_vSwitch", "Port", "QoS", "Queue", "SSL", "sFlow");
    /** table to (column to empty value as ovs-vsctl prints it), _uuid first then by name. */
    private static final Map<String, Map<String, String>> COLUMNS = new LinkedHashMap<>();
    /** Columns ovs-vsctl cannot set (immutable) or that only ovs-vswitchd writes (ephemeral). */
    private static final Map<String, Set<String>> READ_ONLY = new LinkedHashMap<>();

    static {
        table("Open_vSwitch", "bridges=[] cur_cfg=0 datapath_types=[] datapaths={} db_version=[] "
                + "dpdk_initialized=false dpdk_version=[] external_ids={} iface_types=[] "
                + "manager_options=[] next_cfg=0 other_config={} ovs_version=[] ssl=[] statistics={} "
                + "system_type=[] system_version=[]",
                "statistics");
        table("Bridge", "auto_attach=[] controller=[] datapath_id=[] datapath_type=\"\" datapath_version=\"\" "
                + "external_ids={} fail_mode=[] flood_vlans=[] flow_tables={} ipfix=[] "
                + "mcast_snooping_enable=false mirrors=[] name=\"\" netflow=[] other_config={} ports=[] "
                + "protocols=[] rstp_enable=false rstp_status={} sflow=[] status={} stp_enable=false",
                "datapath_id", "name", "rstp_status", "status");
        table("Port", "bond_active_slave=[] bond_downdelay=0 bond_fake_iface=false bond_mode=[] bond_updelay=0 "
                + "cvlans=[] external_ids={} fake_bridge=false interfaces=[] lacp=[] mac=[] name=\"\" "
                + "other_config={} protected=false qos=[] rstp_statistics={} rstp_status={} statistics={} "
                + "status={} tag=[] trunks=[] vlan_mode=[]",
                "name", "rstp_statistics", "rstp_status", "statistics", "status");
        table("Interface", "admin_state=[] bfd={} bfd_status={} cfm_fault=[] cfm_fault_status=[] cfm_flap_count=[] "
                + "cfm_health=[] cfm_mpid=[] cfm_remote_mpids=[] cfm_remote_opstate=[] duplex=[] error=[] "
                + "external_ids={} ifindex=[] ingress_policing_burst=0 ingress_policing_kpkts_burst=0 "
                + "ingress_policing_kpkts_rate=0 ingress_policing_rate=0 lacp_current=[] link_resets=[] "
                + "link_speed=[] link_state=[] lldp={} mac=[] mac_in_use=[] mtu=[] mtu_request=[] name=\"\" "
                + "ofport=[] ofport_request=[] options={} other_config={} statistics={} status={} type=\"\"",
                "admin_state", "bfd_status", "cfm_fault", "cfm_fault_status", "cfm_health", "cfm_remote_mpids",
                "cfm_remote_opstate", "duplex", "ifindex", "lacp_current", "link_resets", "link_speed", "link_state",
                "mac_in_use", "mtu", "name", "statistics", "status", "ofport", "error");
    }

    private OvsColumns() {
    }

    private static void table(String name, String columns, String... readOnly) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("_uuid", "[]");
        for (String c : columns.trim().split(" ")) {
            int eq = c.indexOf('=');
            m.put(c.substring(0, eq), c.substring(eq + 1));
        }
        COLUMNS.put(name, m);
        READ_ONLY.put(name, Set.of(readOnly));
    }

    static List<String> columns(String table) {
        return List.copyOf(COLUMNS.get(table).keySet());
    }

    /**
     * A column pvio does not keep: its empty value, an empty map (so that get COLUMN:KEY says "no key"), null
     * for an empty set, else the atom as ovs-vsctl prints it.
     */
    static Object empty(String table, String column) {
        String v = COLUMNS.get(table).getOrDefault(column, "[]");
        return switch (v) {
            case "{}" -> Map.of();
            case "[]" -> null;
            default -> new Ovsdb.Literal(v);
        };
    }

    static boolean readOnly(String table, String column) {
        return column.equals("_uuid") || READ_ONLY.get(table).contains(column);
    }

    /**
     * The names among {@code names} that {@code input} designates best, as ovs-vsctl's score_partial_match:
     * the exact name; else the same name ignoring case with '-' and '_' alike; else the names it is a prefix
     * of, read the same way, longest common prefix first. Empty: none; more than one: ambiguous.
     */
    static List<String> match(List<String> names, String input) {
        List<String> best = new ArrayList<>();
        long bestScore = 0;
        for (String n : names) {
            long score = score(n, input);
            if (score > 0 && score >= bestScore) {
                if (score > bestScore) {
                    best.clear();
                }
                best.add(n);
                bestScore = score;
            }
        }
        return best;
    }

    private static long score(String name, String s) {
        if (name.equals(s)) {
            return Long.MAX_VALUE;
        }
        int i = 0;
        while (i < name.length() && i < s.length() && fold(name.charAt(i)) == fold(s.charAt(i))) {
            i++;
        }
        if (i == name.length() && i == s.length()) {
            return Long.MAX_VALUE - 1;
        }
        return i == s.length() ? i : 0;
    }

    private static char fold(char c) {
        return c == '-' ? '_' : Character.toLowerCase(c);
    }
}
