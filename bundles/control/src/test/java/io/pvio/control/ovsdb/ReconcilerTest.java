package io.pvio.control.ovsdb;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pvio.control.apply.FakeDpif;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/** The database → datapath rules of the OVSDB mode, on monitor updates shaped as ovsdb-server sends them. */
public class ReconcilerTest {
    /** Bridge br0's row: a real OVS 3.1 gave a bridge of this uuid datapath_id 000096aec7544c42. */
    private static final String B0 = "54c7ae95-2a13-424c-a5bb-ce44aae02222";
    private final Replica replica = new Replica();
    private final Reconciler rec = new Reconciler();
    private final FakeDpif dp = new FakeDpif();

    private static JsonNode json(String s) throws Exception {
        return JsonRpc.MAPPER.readTree(s.replace('\'', '"'));
    }

    /** A monitor reply / update: the root row with bridge br0 holding the given ports (name:iface-json). */
    /** The Bridge row's other_config pairs in {@link #load}, e.g. {@code ['hwaddr','00:11:22:33:44:55']}. */
    private String bridgeOtherConfig = "";
    /** Per port: more Port row columns in {@link #load}, e.g. {@code ,'tag':10}. */
    private final Map<String, String> portColumns = new java.util.HashMap<>();

    private void load(long nextCfg, String otherConfig, String... ifaces) throws Exception {
        StringBuilder ports = new StringBuilder();
        StringBuilder portRows = new StringBuilder();
        StringBuilder ifaceRows = new StringBuilder();
        for (int i = 0; i < ifaces.length; i++) {
            String name = ifaces[i].substring(0, ifaces[i].indexOf(':'));
            String cols = ifaces[i].substring(ifaces[i].indexOf(':') + 1);
            ports.append(i == 0 ? "" : ",").append("['uuid','p-").append(name).append("']");
            portRows.append(i == 0 ? "" : ",").append("'p-").append(name).append("':{'new':{'name':'").append(name)
                    .append("','interfaces':['uuid','i-").append(name).append("']").append(portColumns.getOrDefault(name, ""))
                    .append("}}");
            ifaceRows.append(i == 0 ? "" : ",").append("'i-").append(name).append("':{'new':{'name':'").append(name)
                    .append("'").append(cols.isEmpty() ? "" : "," + cols).append("}}");
        }
        replica.clear();
        replica.apply(json("{'Open_vSwitch':{'root':{'new':{'bridges':['uuid','" + B0 + "'],'next_cfg':" + nextCfg
                + ",'other_config':['map',[" + otherConfig + "]]}}},"
                + "'Bridge':{'" + B0 + "':{'new':{'name':'br0','ports':['set',[" + ports + "]],'other_config':['map',["
                + bridgeOtherConfig + "]]}}},"
                + "'Port':{" + portRows + "},'Interface':{" + ifaceRows + "}}"));
    }

    private ArrayNode apply(long cfg) {
        Desired want = Desired.of(replica);
        rec.apply(dp, want);
        return rec.writeBack(dp, want, cfg);
    }

    private static ObjectNode rowFor(ArrayNode ops, String table, String uuid) {
        for (JsonNode op : ops) {
            if (op.isObject() && op.get("table").asText().equals(table)
                    && op.get("where").get(0).get(2).get(1).asText().equals(uuid)) {
                return (ObjectNode) op.get("row");
            }
        }
        return null;
    }

    /**
     * A type no bundle provides (yet): the port is added and waits, and its row shows it as OVS shows a port
     * it cannot open (error, ofport -1, so that ovs-vsctl reports it); when the class comes, the number.
     */
    @Test
    public void portOfAnAbsentTypeShowsTheErrorUntilItsClassComes() throws Exception {
        dp.absentTypes.add("nosuchtype");
        load(4, "", "nt:'type':'nosuchtype'", "p1:'type':'dummy'");
        ArrayNode ops = apply(4);
        assertEquals("br0 nosuchtype {}", dp.ports.get("nt")); // waits in the datapath
        ObjectNode nt = rowFor(ops, "Interface", "i-nt");
        assertEquals(-1, nt.get("ofport").asInt());
        assertEquals("could not open network device nt (no netdev class 'nosuchtype' is registered; waiting for"
                + " a bundle that provides it)", nt.get("error").asText());
        assertEquals("down", nt.get("link_state").asText());
        assertEquals("waiting", nt.get("status").get(1).get(0).get(1).asText());
        assertTrue(rowFor(ops, "Interface", "i-p1").get("ofport").asInt() > 0);
        dp.absentTypes.clear(); // a bundle provides the class: the port opens
        ArrayNode later = rec.writeBack(dp, Desired.of(replica), null);
        nt = rowFor(later, "Interface", "i-nt");
        assertEquals(dp.ofports.get("nt").intValue(), nt.get("ofport").asInt());
        assertTrue(nt.get("ofport").asInt() > 0);
        assertEquals(json("['set',[]]"), nt.get("error"));
        assertEquals("up", nt.get("link_state").asText());
    }

    /**
     * The Port's tag, trunks and vlan_mode reach the datapath as ovs-vsctl sets them, unchanged ones are not
     * set again, and a mode the datapath refuses is logged once and leaves the port's VLANs as they were.
     */
    @Test
    public void portVlansAreSetAsTheRowsSay() throws Exception {
        portColumns.put("p1", ",'tag':10");
        portColumns.put("p2", ",'trunks':['set',[20,10]],'vlan_mode':'native-untagged','tag':30");
        load(1, "", "p1:'type':'dummy'", "p2:'type':'dummy'", "p3:'type':'dummy'");
        apply(1);
        assertEquals(" 10 []", dp.vlans.get("p1"));
        assertEquals("native-untagged 30 [20, 10]", dp.vlans.get("p2"));
        assertNull("p3 keeps the default", dp.vlans.get("p3"));
        int calls = dp.calls.size();
        apply(1);
        assertEquals(calls, dp.calls.size());
        portColumns.put("p1", ",'tag':['set',[]]");
        portColumns.put("p3", ",'vlan_mode':'dot1q-tunnel','tag':5");
        load(2, "", "p1:'type':'dummy'", "p2:'type':'dummy'", "p3:'type':'dummy'");
        apply(2);
        assertEquals(" -1 []", dp.vlans.get("p1"));
        assertNull(dp.vlans.get("p3"));
        assertTrue(dp.ports.containsKey("p3")); // the port stays, with the VLANs it had
    }

    /**
     * Each Controller row's is_connected, role and status, as ovs-vswitchd writes them for a connected
     * controller and one that refuses: only what changed is written again.
     */
    @Test
    public void controllerStatusIsWrittenAsOvsVswitchd() throws Exception {
        replica.clear();
        replica.apply(json("{'Open_vSwitch':{'root':{'new':{'bridges':['uuid','" + B0 + "'],'next_cfg':1}}},"
                + "'Bridge':{'" + B0 + "':{'new':{'name':'br0','controller':['set',[['uuid','c1'],['uuid','c2']]]}}},"
                + "'Controller':{'c1':{'new':{'target':'tcp:127.0.0.1:6653'}},'c2':{'new':{'target':'unix:/x'}}}}"));
        long now = System.currentTimeMillis();
        dp.controllerStates.put("tcp:127.0.0.1:6653", new io.pvio.dpif.ControllerStatus(true, "ACTIVE", null,
                now - 8_500, -1));
        dp.controllerStates.put("unix:/x", new io.pvio.dpif.ControllerStatus(false, "BACKOFF", "Connection refused",
                -1, -1));
        ArrayNode ops = apply(1);
        ObjectNode c1 = rowFor(ops, "Controller", "c1");
        assertTrue(c1.get("is_connected").asBoolean());
        assertEquals("other", c1.get("role").asText());
        assertEquals(json("['map',[['sec_since_connect','8'],['state','ACTIVE']]]"), c1.get("status"));
        ObjectNode c2 = rowFor(ops, "Controller", "c2");
        assertFalse(c2.get("is_connected").asBoolean());
        assertEquals(json("['set',[]]"), c2.get("role"));
        assertEquals(json("['map',[['last_error','Connection refused'],['state','BACKOFF']]]"), c2.get("status"));
        // nothing changed for c2; c1 went down
        dp.controllerStates.put("tcp:127.0.0.1:6653", new io.pvio.dpif.ControllerStatus(false, "BACKOFF", "End of file",
                now - 8_500, now));
        ops = apply(1);
        assertNull(rowFor(ops, "Controller", "c2"));
        c1 = rowFor(ops, "Controller", "c1");
        assertFalse(c1.get("is_connected").asBoolean());
        assertEquals(json("['set',[]]"), c1.get("role"));
        assertEquals("End of file", Replica.map(c1.get("status")).get("last_error"));
        assertEquals("0", Replica.map(c1.get("status")).get("sec_since_disconnect"));
    }

    @Test
    public void bridgesPortsAndWriteBack() throws Exception {
        load(3, "['pmd-cpu-mask','0x1']", "p1:'type':'dummy','ofport_request':5",
                "p2:'type':'dummy','options':['map',[['bad','1']]]", "p3:");
        ArrayNode ops = apply(3);
        assertEquals(Map.of("pmd-cpu-mask", "0x1"), dp.otherConfig);
        assertEquals("br0 dummy {}", dp.ports.get("p1"));
        assertEquals(5, (int) dp.ofports.get("p1"));
        assertEquals("br0 system {}", dp.ports.get("p3")); // no type: OVS's system type
        assertFalse("refused, the rest applied", dp.ports.containsKey("p2"));
        assertEquals("Open_vSwitch", ops.get(0).asText());
        ObjectNode p1 = rowFor(ops, "Interface", "i-p1");
        assertEquals(5, p1.get("ofport").asInt());
        assertEquals(json("['set',[]]"), p1.get("error"));
        assertEquals("up", p1.get("link_state").asText());
        assertEquals("[\"map\",[[\"rx_packets\",7]]]", p1.get("statistics").toString());
        ObjectNode p2 = rowFor(ops, "Interface", "i-p2");
        assertEquals(-1, p2.get("ofport").asInt());
        assertEquals("p2: unknown option 'bad'", p2.get("error").asText());
        assertEquals(3, rowFor(ops, "Open_vSwitch", "root").get("cur_cfg").asInt());

        // nothing changed: nothing written, the refused row not tried again
        int calls = dp.calls.size();
        assertEquals(1, apply(3).size());
        assertEquals(calls, dp.calls.size());
        assertEquals("p2: unknown option 'bad'", rec.error("p2"));

        // the row is fixed and p3 deleted: both reach the datapath, only what changed is written
        load(4, "['pmd-cpu-mask','0x1']", "p1:'type':'dummy','ofport_request':5", "p2:'type':'dummy'");
        ops = apply(4);
        assertTrue(dp.ports.containsKey("p2"));
        assertFalse(dp.ports.containsKey("p3"));
        assertNull(rec.error("p2"));
        assertNull("p1 unchanged", rowFor(ops, "Interface", "i-p1"));
        assertEquals(json("['set',[]]"), rowFor(ops, "Interface", "i-p2").get("error"));
        assertEquals(4, rowFor(ops, "Open_vSwitch", "root").get("cur_cfg").asInt());
    }

    @Test
    public void ofportRequestsAreSwappedAndOptionsSetInPlace() throws Exception {
        load(1, "", "a:'type':'dummy','ofport_request':1", "b:'type':'dummy','ofport_request':2");
        apply(1);
        load(2, "", "a:'type':'dummy','ofport_request':2",
                "b:'type':'dummy','ofport_request':1,'options':['map',[['k','v']]]");
        apply(2);
        assertEquals(2, (int) dp.ofports.get("a"));
        assertEquals(1, (int) dp.ofports.get("b"));
        assertEquals(Map.of("k", "v"), dp.options.get("b"));
        dp.calls.clear();
        load(3, "", "a:'type':'dummy','ofport_request':2",
                "b:'type':'dummy','ofport_request':1,'options':['map',[['k','w']]]");
        apply(3);
        assertEquals("an option change keeps the port", java.util.List.of("setInterface b"), dp.calls);
    }

    @Test
    public void aPortNumberTakenByAnUnrequestingPortIsFreed() throws Exception {
        load(1, "", "a:'type':'dummy'");
        apply(1);
        assertEquals(1, (int) dp.ofports.get("a"));
        load(2, "", "a:'type':'dummy'", "b:'type':'dummy','ofport_request':1");
        apply(2);
        assertEquals(1, (int) dp.ofports.get("b"));
        assertEquals(2, (int) dp.ofports.get("a"));
    }

    /** OVS's rule: a port that has the number it asks for keeps it; another asking for it gets a free one. */
    private void aHeldRequestedNumberStaysWithItsHolder(boolean newcomerListedFirst) throws Exception {
        load(1, "", "d1:'type':'dummy','ofport_request':7");
        apply(1);
        String d1 = "d1:'type':'dummy','ofport_request':7,'ofport':7";
        String d2 = "d2:'type':'dummy','ofport_request':7";
        if (newcomerListedFirst) {
            load(2, "", d2, d1);
        } else {
            load(2, "", d1, d2);
        }
        ArrayNode ops = apply(2);
        assertEquals(7, (int) dp.ofports.get("d1"));
        assertEquals("the lowest free number", 1, (int) dp.ofports.get("d2"));
        assertNull(rec.error("d1"));
        assertNull(rec.error("d2"));
        assertNull("d1 untouched", rowFor(ops, "Interface", "i-d1"));
        assertEquals(json("['set',[]]"), rowFor(ops, "Interface", "i-d2").get("error"));
        // nothing moves on the next round
        dp.calls.clear();
        load(3, "", d2 + ",'ofport':1", d1);
        apply(3);
        assertEquals(java.util.List.of(), dp.calls);
        // pvio restarted (a fresh datapath): each gets the number the database recorded, whatever the order
        FakeDpif fresh = new FakeDpif();
        Reconciler again = new Reconciler();
        again.apply(fresh, Desired.of(replica));
        assertEquals(Map.of("d1", 7, "d2", 1), fresh.ofports);
        assertNull(again.error("d1"));
        assertNull(again.error("d2"));
    }

    @Test
    public void aHeldRequestedNumberStaysWithItsHolderWhenTheNewcomerIsListedFirst() throws Exception {
        aHeldRequestedNumberStaysWithItsHolder(true);
    }

    @Test
    public void aHeldRequestedNumberStaysWithItsHolderWhenTheNewcomerIsListedLast() throws Exception {
        aHeldRequestedNumberStaysWithItsHolder(false);
    }

    /** Two new ports asking for the same number: the one that recorded it gets it, else the first by name. */
    @Test
    public void twoPortsAskingForOneNumberAreResolvedByRecordThenName() throws Exception {
        load(1, "", "b:'type':'dummy','ofport_request':4", "a:'type':'dummy','ofport_request':4");
        apply(1);
        assertEquals(Map.of("a", 4, "b", 1), dp.ofports);
        FakeDpif fresh = new FakeDpif();
        load(2, "", "b:'type':'dummy','ofport_request':4,'ofport':4", "a:'type':'dummy','ofport_request':4,'ofport':1");
        new Reconciler().apply(fresh, Desired.of(replica));
        assertEquals(Map.of("a", 1, "b", 4), fresh.ofports);
    }

    @Test
    public void aFreshDatapathGivesPortsTheNumbersTheDatabaseRecorded() throws Exception {
        load(1, "", "a:'type':'dummy','ofport':7", "b:'type':'dummy','ofport':['set',[]]",
                "c:'type':'dummy','ofport':7");
        apply(1);
        assertEquals(7, (int) dp.ofports.get("a"));
        assertEquals("7 is taken: the lowest free ones", java.util.Set.of(1, 2),
                java.util.Set.of(dp.ofports.get("b"), dp.ofports.get("c")));
    }

    @Test
    public void bondsAndMissingRootAreHandled() throws Exception {
        replica.apply(json("{'Open_vSwitch':{'root':{'new':{'bridges':['uuid','b0'],'next_cfg':1}}},"
                + "'Bridge':{'b0':{'new':{'name':'br0','ports':['uuid','p']}}},"
                + "'Port':{'p':{'new':{'name':'bond0','interfaces':['set',[['uuid','i1'],['uuid','i2']]]}}},"
                + "'Interface':{'i1':{'new':{'name':'e1','type':'dummy'}},'i2':{'new':{'name':'e2','type':'dummy'}}}}"));
        ArrayNode ops = apply(1);
        assertTrue(dp.bridges.contains("br0"));
        assertTrue(dp.ports.isEmpty());
        assertTrue(rowFor(ops, "Interface", "i1").get("error").asText().contains("bonds are not supported"));
        // the root row deleted: every bridge goes, as in ovs-vswitchd
        replica.apply(json("{'Open_vSwitch':{'root':{'old':{}}}}"));
        Desired want = Desired.of(replica);
        rec.apply(dp, want);
        assertTrue(dp.bridges.isEmpty());
        assertEquals(1, rec.writeBack(dp, want, null).size());
    }

    /**
     * The columns ovs-vswitchd fills: an open port's mtu, mac_in_use, ifindex and admin_state (empty while
     * it cannot be opened), the Bridge's datapath_id (its MAC) and datapath_version.
     */
    @Test
    public void netdevColumnsAndDatapathIdAreWrittenAsOvsVswitchd() throws Exception {
        dp.absentTypes.add("nosuchtype");
        load(2, "", "br0:'type':'internal'", "p1:'type':'dummy'", "nt:'type':'nosuchtype'");
        ArrayNode ops = apply(2);
        ObjectNode p1 = rowFor(ops, "Interface", "i-p1");
        assertEquals(1500, p1.get("mtu").asInt());
        assertEquals(dp.port("p1").mac(), p1.get("mac_in_use").asText());
        assertEquals(0, p1.get("ifindex").asInt());
        assertEquals("up", p1.get("admin_state").asText());
        ObjectNode nt = rowFor(ops, "Interface", "i-nt");
        for (String col : new String[] {"mtu", "mac_in_use", "ifindex"}) {
            assertEquals(col, json("['set',[]]"), nt.get(col));
        }
        assertEquals("down", nt.get("admin_state").asText());
        // no port with a NIC's MAC: the bridge's MAC and dpid come from its uuid, as OVS's default_ea
        assertEquals("96:ae:c7:54:4c:42", dp.bridgeMacs.get("br0"));
        ObjectNode b0 = rowFor(ops, "Bridge", B0);
        assertEquals("000096aec7544c42", b0.get("datapath_id").asText());
        assertEquals("<built-in>", b0.get("datapath_version").asText());
        assertEquals("nothing changed: nothing written", 1, rec.writeBack(dp, Desired.of(replica), 2L).size());
    }

    /**
     * link_resets, link_speed and duplex as iface_refresh_netdev_status writes them: link_resets for every open
     * port (0 when its class does not count), link_speed and duplex only with a known speed, all three empty
     * while the port cannot be opened. A change is written again.
     */
    @Test
    public void linkResetsSpeedAndDuplexAreWrittenAsOvsVswitchd() throws Exception {
        dp.absentTypes.add("nosuchtype");
        dp.links.put("s1", new long[] {10_000_000_000L, 1, 2});
        dp.links.put("s2", new long[] {10_000_000L, 0, 0});
        load(2, "", "p1:'type':'dummy'", "s1:'type':'system'", "s2:'type':'system'", "nt:'type':'nosuchtype'");
        ArrayNode ops = apply(2);
        String empty = "[\"set\",[]]";
        assertEquals(List.of("0", empty, empty), link(rowFor(ops, "Interface", "i-p1")));
        assertEquals(List.of("2", "10000000000", "\"full\""), link(rowFor(ops, "Interface", "i-s1")));
        assertEquals(List.of("0", "10000000", "\"half\""), link(rowFor(ops, "Interface", "i-s2")));
        assertEquals(List.of(empty, empty, empty), link(rowFor(ops, "Interface", "i-nt")));
        dp.links.put("s1", new long[] {10_000_000_000L, 1, 3}); // a carrier change
        ObjectNode s1 = rowFor(rec.writeBack(dp, Desired.of(replica), 2L), "Interface", "i-s1");
        assertEquals("3", s1.get("link_resets").toString());
        assertFalse(s1.toString(), s1.has("link_speed") || s1.has("duplex"));
    }

    /** The row's link_resets, link_speed and duplex as JSON. */
    private static List<String> link(ObjectNode row) {
        return List.of(row.get("link_resets").toString(), row.get("link_speed").toString(),
                row.get("duplex").toString());
    }

    @Test
    public void ifaceTypesAreWrittenWhenTheyChange() throws Exception {
        load(1, "", "a:'type':'dummy'");
        Desired want = Desired.of(replica);
        rec.apply(dp, want);
        ObjectNode root = rowFor(rec.writeBack(dp, want, 1L, java.util.List.of("dummy", "dpdkvhostuser")),
                "Open_vSwitch", "root");
        assertEquals("[\"set\",[\"dpdkvhostuser\",\"dummy\"]]", root.get("iface_types").toString());
        assertEquals("[\"set\",[\"netdev\"]]", root.get("datapath_types").toString());
        assertEquals(1, rec.writeBack(dp, want, 1L, java.util.List.of("dpdkvhostuser", "dummy")).size());
        root = rowFor(rec.writeBack(dp, want, 1L, java.util.List.of("dummy")), "Open_vSwitch", "root");
        assertEquals("[\"set\",[\"dummy\"]]", root.get("iface_types").toString());
        assertFalse(root.has("cur_cfg"));
    }

    @Test
    public void refusedOtherConfigIsLoggedNotFatal() throws Exception {
        load(1, "['bad','1']", "a:'type':'dummy'");
        apply(1);
        assertTrue(dp.otherConfig.isEmpty());
        assertTrue(dp.ports.containsKey("a"));
    }

    /** As ovs-vswitchd: a refused other_config key is logged and keeps its value; the other keys apply. */
    @Test
    public void aRefusedOtherConfigKeyDoesNotHoldBackTheOthers() throws Exception {
        java.util.List<String> warnings = new java.util.ArrayList<>();
        java.util.logging.Handler h = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                if (r.getLevel() == java.util.logging.Level.WARNING) {
                    warnings.add(r.getMessage());
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        java.util.logging.Logger bridge = java.util.logging.Logger.getLogger("bridge");
        bridge.addHandler(h);
        try {
            load(1, "['pmd-cpu-mask','0x1']", "a:'type':'dummy'");
            apply(1);
            load(2, "['bad','zz'],['pmd-cpu-mask','0x3'],['pmd-perf-metrics','true']", "a:'type':'dummy'");
            apply(2);
            assertEquals(Map.of("pmd-cpu-mask", "0x3", "pmd-perf-metrics", "true"), dp.otherConfig);
            assertEquals(java.util.List.of(
                    "Open_vSwitch other_config:bad=zz refused, keeping it unset: bad other_config"), warnings);
            // not tried again until the column changes; then the good keys still apply
            int calls = dp.calls.size();
            apply(2);
            assertEquals(calls, dp.calls.size());
            load(3, "['bad','zz'],['pmd-cpu-mask','0x3']", "a:'type':'dummy'");
            apply(3);
            assertEquals(Map.of("pmd-cpu-mask", "0x3"), dp.otherConfig);
            load(4, "['pmd-cpu-mask','0x3'],['pmd-perf-metrics','false']", "a:'type':'dummy'");
            apply(4);
            assertEquals(Map.of("pmd-cpu-mask", "0x3", "pmd-perf-metrics", "false"), dp.otherConfig);
            assertEquals(2, warnings.size());
        } finally {
            bridge.removeHandler(h);
        }
    }

    @Test
    public void valuesAndTargets() throws Exception {
        assertEquals(Map.of("a", "1", "b", "x"), Replica.map(json("['map',[['a',1],['b','x']]]")));
        assertEquals(-1, Replica.integer(json("['set',[]]"), -1));
        assertEquals(7, Replica.integer(json("7"), -1));
        assertEquals(java.util.List.of("u1", "u2"), Replica.uuids(json("['set',[['uuid','u1'],['uuid','u2']]]")));
        assertEquals(java.util.List.of("u1"), Replica.uuids(json("['uuid','u1']")));
        assertEquals("/run/db.sock", JsonRpc.address("unix:/run/db.sock").toString());
        assertEquals(6640, ((java.net.InetSocketAddress) JsonRpc.address("tcp:127.0.0.1:6640")).getPort());
        for (String bad : new String[] {"ssl:1.2.3.4:6640", "tcp:127.0.0.1", "tcp:h:0", "unix:", "db.sock"}) {
            try {
                JsonRpc.address(bad);
                throw new AssertionError(bad + " accepted");
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("unix:PATH or tcp:HOST:PORT"));
            }
        }
    }

    /** The Bridge's other_config:hwaddr and datapath-id, as bridge_configure_datapath_id: datapath_id follows. */
    @Test
    public void bridgeHwaddrAndDatapathIdFromOtherConfig() throws Exception {
        bridgeOtherConfig = "['hwaddr','00:11:22:33:44:55']";
        load(2, "", "br0:'type':'internal'");
        ArrayNode ops = apply(2);
        assertEquals("00:11:22:33:44:55", dp.bridgeMacs.get("br0"));
        assertEquals("001122334455", rowFor(ops, "Bridge", B0).get("datapath_id").asText().substring(4));
        bridgeOtherConfig = "['hwaddr','00:11:22:33:44:55'],['datapath-id','0x00000000000000ab']";
        load(3, "", "br0:'type':'internal'");
        assertEquals("00000000000000ab", rowFor(apply(3), "Bridge", B0).get("datapath_id").asText());
        bridgeOtherConfig = "";
        load(4, "", "br0:'type':'internal'");
        assertEquals("000096aec7544c42", rowFor(apply(4), "Bridge", B0).get("datapath_id").asText());
        assertEquals("96:ae:c7:54:4c:42", dp.bridgeMacs.get("br0"));
    }

    /**
     * Interface other_config:pmd-rxq-affinity reaches the datapath; a malformed one is logged as OVS logs a
     * failed port_set_config, the one in force is kept and, as OVS, the Interface's error column stays empty.
     */
    @Test
    public void interfaceRxqAffinityReachesTheDatapathAndAMalformedOneIsOnlyLogged() throws Exception {
        load(1, "", "p1:'type':'dummy','ofport_request':1,'other_config':['map',[['pmd-rxq-affinity','0:1,1:0']]]");
        apply(1);
        assertEquals(Map.of("p1", "0:1,1:0"), dp.affinities);
        java.util.List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler h = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                logged.add(r.getLoggerName() + "|" + r.getLevel() + "|" + r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        java.util.logging.Logger.getLogger("dpif").addHandler(h);
        java.util.logging.Logger.getLogger("ofproto").addHandler(h);
        try {
            load(2, "", "p1:'type':'dummy','ofport_request':1,'other_config':['map',[['pmd-rxq-affinity','0:x']]]");
            ArrayNode ops = apply(2);
            assertEquals(java.util.List.of("dpif|WARNING|netdev@ovs-netdev: port_set_config failed (Invalid argument)",
                    "ofproto|WARNING|br0: datapath configuration on port 1 (p1) failed (Invalid argument)"), logged);
            assertEquals(Map.of("p1", "0:1,1:0"), dp.affinities);
            assertNull(rec.error("p1"));
            ObjectNode p1 = rowFor(ops, "Interface", "i-p1");
            assertTrue(p1 == null || json("['set',[]]").equals(p1.get("error")));
        } finally {
            java.util.logging.Logger.getLogger("dpif").removeHandler(h);
            java.util.logging.Logger.getLogger("ofproto").removeHandler(h);
        }
        load(3, "", "p1:'type':'dummy','ofport_request':1,'other_config':['map',[['pmd-rxq-affinity','1:1']]]");
        apply(3);
        assertEquals(Map.of("p1", "1:1"), dp.affinities);
        load(4, "", "p1:'type':'dummy','ofport_request':1");
        apply(4);
        assertEquals(Map.of(), dp.affinities);
    }
}
