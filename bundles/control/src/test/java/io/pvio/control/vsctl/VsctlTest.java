package io.pvio.control.vsctl;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.control.db.Db;
import io.pvio.dpif.PortInfo;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.Test;

public class VsctlTest {

    private static Vsctl.Outcome run(Db db, String... argv) throws VsctlException {
        return Vsctl.run(db, Arrays.asList(argv), null);
    }

    private static String error(Db db, String... argv) {
        try {
            run(db, argv);
        } catch (VsctlException e) {
            return e.getMessage();
        }
        fail("expected an error for " + Arrays.toString(argv));
        return null;
    }

    private static Db withPort() throws VsctlException {
        return run(new Db(), "add-br", "br0", "--", "add-port", "br0", "p1", "--", "set", "Interface", "p1",
                "type=pktgen", "options:size=64", "options:rate=0").db();
    }

    /** Interface ingress_policing_rate and _burst: integers from 0 (the default), never empty, kept in the db. */
    @Test
    public void ingressPolicingColumns() throws VsctlException {
        Db db = withPort();
        assertEquals("0\n", run(db, "get", "Interface", "p1", "ingress_policing_rate").output());
        db = run(db, "set", "Interface", "p1", "ingress_policing_rate=10000", "ingress_policing_burst=1000").db();
        assertEquals(10000, db.port("p1").policingRate);
        assertEquals(1000, db.port("p1").policingBurst);
        assertEquals("1000\n", run(db, "get", "Interface", "p1", "ingress_policing_burst").output());
        assertEquals(10000, Db.fromJson(db.toJson()).port("p1").policingRate);
        assertTrue(error(db, "set", "Interface", "p1", "ingress_policing_rate=x").contains("not an integer"));
        assertEquals("constraint violation: -1 is not in the valid range 0 to 9223372036854775807 (inclusive)",
                error(db, "set", "Interface", "p1", "ingress_policing_burst=-1"));
        assertTrue(error(db, "clear", "Interface", "p1", "ingress_policing_rate").contains("not allowed to be empty"));
    }

    /** ovs-vsctl's controller and fail-mode commands, with its outputs and errors, kept in the database. */
    @Test
    public void controllersAndFailMode() throws VsctlException {
        Db db = withPort();
        assertEquals("", run(db, "get-controller", "br0").output());
        db = run(db, "set-controller", "br0", "unix:/tmp/c.sock", "tcp:127.0.0.1:6653", "--", "set-fail-mode", "br0",
                "secure").db();
        assertEquals("tcp:127.0.0.1:6653\nunix:/tmp/c.sock\n", run(db, "get-controller", "br0").output());
        assertEquals("secure\n", run(db, "get-fail-mode", "br0").output());
        assertTrue(run(db, "show").output().contains("    Bridge br0\n        Controller \"tcp:127.0.0.1:6653\"\n"
                + "        Controller \"unix:/tmp/c.sock\"\n        fail_mode: secure\n"));
        Db back = Db.fromJson(db.toJson());
        assertEquals(List.of("tcp:127.0.0.1:6653", "unix:/tmp/c.sock"), List.copyOf(back.bridges.get("br0").controllers));
        assertEquals("secure", back.bridges.get("br0").failMode);
        assertEquals("fail-mode must be \"standalone\" or \"secure\"", error(db, "set-fail-mode", "br0", "open"));
        assertEquals("no bridge named nobr", error(db, "set-controller", "nobr", "tcp:1.2.3.4"));
        db = run(db, "del-controller", "br0", "--", "del-fail-mode", "br0").db();
        assertEquals("", run(db, "get-controller", "br0").output() + run(db, "get-fail-mode", "br0").output());
    }

    @Test
    public void vlanColumns() throws VsctlException {
        Db db = withPort();
        assertEquals("[]\n[]\n[]\n", run(db, "get", "Port", "p1", "tag", "trunks", "vlan_mode").output());
        db = run(db, "add-port", "br0", "p2", "tag=10", "--", "set", "Port", "p1", "trunks=20,10",
                "vlan_mode=native-untagged").db();
        assertEquals(10, db.port("p2").tag);
        assertEquals("[10, 20]\nnative-untagged\n", run(db, "get", "Port", "p1", "trunks", "vlan_mode").output());
        db = run(db, "add", "Port", "p1", "trunks", "30", "--", "remove", "Port", "p1", "trunks", "10").db();
        assertEquals(List.of(20, 30), List.copyOf(db.port("p1").trunks));
        Db back = Db.fromJson(db.toJson());
        assertEquals(List.of(20, 30), List.copyOf(back.port("p1").trunks));
        assertEquals("native-untagged", back.port("p1").vlanMode);
        assertEquals(10, back.port("p2").tag);
        assertTrue(run(db, "show").output().contains("        Port p2\n            tag: 10\n            Interface p2\n"));
        assertEquals("constraint violation: 4096 is not in the valid range 0 to 4095 (inclusive)",
                error(db, "set", "Port", "p1", "tag=4096"));
        assertEquals("constraint violation: 5000 is not in the valid range 0 to 4095 (inclusive)",
                error(db, "set", "Port", "p1", "trunks=[1,5000]"));
        assertTrue(error(db, "set", "Port", "p1", "vlan_mode=tagged").startsWith(
                "constraint violation: tagged is not one of the allowed values (access, dot1q-tunnel,"));
        assertTrue(error(db, "add-port", "br0", "p3", "tag=x").contains("\"x\" is not a valid integer"));
        db = run(db, "clear", "Port", "p1", "trunks", "vlan_mode", "--", "set", "Port", "p2", "tag=[]").db();
        assertTrue(db.port("p1").trunks.isEmpty());
        assertEquals("", db.port("p1").vlanMode);
        assertEquals(-1, db.port("p2").tag);
    }

    @Test
    public void chainedAddPortSetsTypeAndOptions() throws VsctlException {
        Db db = withPort();
        Db.Port p = db.port("p1");
        assertEquals("pktgen", p.type);
        assertEquals(Map.of("size", "64", "rate", "0"), p.options);
        assertEquals(List.of("br0"), List.copyOf(db.bridges.keySet()));
    }

    @Test
    public void theInputDatabaseIsNeverModified() throws VsctlException {
        Db db = withPort();
        Vsctl.Outcome o = run(db, "del-br", "br0");
        assertTrue(o.mutated());
        assertTrue(o.db().bridges.isEmpty());
        assertNotNull(db.port("p1"));
    }

    @Test
    public void quotedValueKeepsCommasAndParentheses() throws VsctlException {
        Db db = withPort();
        // as typed in Gogo or with single quotes in a shell: the quotes reach vsctl
        db = run(db, "set", "Interface", "p1",
                "options:vhost-async-attr=\"(txq0,00:04.0,256),(txq1,00:04.1,256)\"").db();
        assertEquals("(txq0,00:04.0,256),(txq1,00:04.1,256)", db.port("p1").options.get("vhost-async-attr"));
        // as a shell passes it after stripping the quotes
        db = run(db, "set", "Interface", "p1", "options:vhost-async-attr=(txq0,00:04.0,128)").db();
        assertEquals("(txq0,00:04.0,128)", db.port("p1").options.get("vhost-async-attr"));
        assertEquals("\"(txq0,00:04.0,128)\"\n",
                run(db, "get", "Interface", "p1", "options:vhost-async-attr").output());
    }

    @Test
    public void getPrintsAtomsLikeOvsVsctl() throws VsctlException {
        Db db = withPort();
        assertEquals("pktgen\n", run(db, "get", "Interface", "p1", "type").output());
        assertEquals("\"64\"\n", run(db, "get", "Interface", "p1", "options:size").output());
        assertEquals("{rate=\"0\", size=\"64\"}\n", run(db, "get", "Interface", "p1", "options").output());
        assertEquals("[]\n", run(db, "get", "Interface", "p1", "ofport_request").output());
    }

    @Test
    public void wholeMapSetAndClearAndRemove() throws VsctlException {
        Db db = withPort();
        db = run(db, "set", "Interface", "p1", "options={size=128, count=\"10\"}").db();
        assertEquals(Map.of("size", "128", "count", "10"), db.port("p1").options);
        db = run(db, "remove", "Interface", "p1", "options", "size").db();
        assertEquals(Map.of("count", "10"), db.port("p1").options);
        db = run(db, "remove", "Interface", "p1", "options", "count=11").db();
        assertEquals("a pair with another value stays", Map.of("count", "10"), db.port("p1").options);
        db = run(db, "clear", "Interface", "p1", "options").db();
        assertTrue(db.port("p1").options.isEmpty());
    }

    @Test
    public void openVswitchOtherConfig() throws VsctlException {
        Db db = run(new Db(), "--no-wait", "set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0x3").db();
        assertEquals("0x3", db.otherConfig.get("pmd-cpu-mask"));
        assertEquals("\"0x3\"\n", run(db, "get", "Open_vSwitch", ".", "other_config:pmd-cpu-mask").output());
    }

    @Test
    public void ofportRequestIsValidated() throws VsctlException {
        Db db = withPort();
        assertEquals(5, run(db, "set", "Interface", "p1", "ofport_request=5").db().port("p1").ofportRequest);
        assertTrue(error(db, "set", "Interface", "p1", "ofport_request=x").contains("not an integer"));
        assertTrue(error(db, "set", "Interface", "p1", "ofport_request=0").contains("range"));
    }

    @Test
    public void mayExistAndIfExists() throws VsctlException {
        Db db = withPort();
        assertFalse(run(db, "--may-exist", "add-br", "br0").mutated());
        assertFalse(run(db, "--may-exist", "add-port", "br0", "p1").mutated());
        assertFalse(run(db, "--if-exists", "del-port", "p9").mutated());
        assertFalse(run(db, "--if-exists", "del-br", "br9").mutated());
        assertEquals("", run(db, "--if-exists", "get", "Interface", "p1", "options:nope").output());
        assertEquals("cannot create a bridge named br0 because a bridge named br0 already exists",
                error(db, "add-br", "br0"));
        assertEquals("cannot create a port named p1 because a port named p1 already exists on bridge br0",
                error(db, "add-port", "br0", "p1"));
    }

    @Test
    public void badInputGivesClearMessages() throws VsctlException {
        Db db = withPort();
        assertEquals("unknown command 'frob'; use --help for help", error(db, "frob"));
        assertTrue(error(db, "set-fail-mode", "br0").startsWith("'set-fail-mode' command requires exactly 2 arguments"));
        assertTrue(error(db, "list", "Nope").startsWith("unknown table \"Nope\""));
        assertEquals("Interface does not contain a column whose name matches \"colour\"",
                error(db, "get", "Interface", "p1", "colour"));
        assertEquals("no row \"p9\" in table Interface", error(db, "set", "Interface", "p9", "type=dummy"));
        assertEquals("no key \"foo\" in Interface record \"p1\" column options",
                error(db, "get", "Interface", "p1", "options:foo"));
        assertTrue(error(db, "set", "Interface", "p1", "ofport=3").startsWith("cannot modify read-only column"));
        assertTrue(error(db, "add-br").contains("requires exactly 1 argument"));
        assertTrue(error(db, "set", "Interface", "p1", "options:x").contains("missing '=VALUE'"));
        assertTrue(error(db, "set", "Interface", "p1", "options:x=\"abc").contains("missing closing quote"));
        assertTrue(error(db, "set", "Interface", "p1", "options=nomap").contains("is not a map"));
        assertEquals("no bridge named br9", error(db, "add-port", "br9", "p2"));
        assertEquals("no port named p9", error(db, "del-port", "p9"));
        assertTrue(error(db, "add-br", "bad name").startsWith("invalid bridge name"));
        assertEquals("missing command name (use --help for help)", error(db));
        assertEquals("'add-br' command has no '--if-exists' option", error(db, "--if-exists", "add-br", "x"));
    }

    @Test
    public void aFailingCommandDropsTheWholeLine() throws VsctlException {
        Db db = new Db();
        try {
            run(db, "add-br", "br0", "--", "add-port", "br0", "p1", "--", "set", "Interface", "p2", "type=x");
            fail();
        } catch (VsctlException e) {
            assertEquals("no row \"p2\" in table Interface", e.getMessage());
        }
        assertTrue(db.bridges.isEmpty());
    }

    @Test
    public void readsSeeEarlierCommandsOfTheLine() throws VsctlException {
        Vsctl.Outcome o = run(new Db(), "add-br", "br1", "--", "add-br", "br0", "--", "list-br", "--",
                "add-port", "br0", "b", "--", "add-port", "br0", "a", "--", "list-ports", "br0", "--",
                "port-to-br", "a");
        assertEquals("br0\nbr1\na\nb\nbr0\n", o.output());
    }

    @Test
    public void showLooksLikeOvsVsctlShow() throws VsctlException {
        Db db = withPort();
        String[] lines = run(db, "show").output().split("\n");
        assertEquals(db.uuid, lines[0]);
        assertEquals("    Bridge br0", lines[1]);
        assertEquals("        datapath_type: netdev", lines[2]);
        assertEquals("        Port br0", lines[3]); // the bridge's local port, as OVS shows it
        assertEquals("            Interface br0", lines[4]);
        assertEquals("                type: internal", lines[5]);
        assertEquals("        Port p1", lines[6]);
        assertEquals("            Interface p1", lines[7]);
        assertEquals("                type: pktgen", lines[8]);
        assertEquals("                options: {rate=\"0\", size=\"64\"}", lines[9]);
        assertEquals("    ovs_version: \"pvio 0.1.0\"", lines[10]);
    }

    /** As OVS: add-br makes the bridge's local port, an internal interface named after the bridge. */
    @Test
    public void bridgeHasItsLocalInternalPort() throws VsctlException {
        Db db = run(new Db(), "add-br", "br0").db();
        assertEquals("internal\n", run(db, "get", "Interface", "br0", "type").output());
        assertEquals("", run(db, "list-ports", "br0").output());
        assertEquals("br0\n", run(db, "port-to-br", "br0").output());
        assertEquals("cannot delete port br0 because it is the local port for bridge br0 (deleting this port"
                + " requires deleting the entire bridge)", error(db, "del-port", "br0"));
        assertEquals("cannot create a port named br0 because a bridge named br0 already exists", // as ovs-vsctl
                error(db, "add-port", "br0", "br0"));
        assertEquals("\"\"\n", run(run(db, "add-port", "br0", "eth0").db(), "get", "Interface", "eth0", "type")
                .output()); // untyped: OVS's "" (a system interface)
    }

    @Test
    public void listInterfaceShowsLiveColumns() throws VsctlException {
        Db db = withPort();
        PortInfo pi = new PortInfo("p1", "br0", "pktgen", Map.of(), 1, "up", null,
                new java.util.LinkedHashMap<>(Map.of("rx_packets", 10L)), Map.of("driver", "pktgen"));
        String out = Vsctl.run(db, List.of("list", "Interface", "p1"), n -> n.equals("p1") ? pi : null).output();
        assertTrue(out, out.contains("name                : p1\n"));
        assertTrue(out, out.contains("type                : pktgen\n"));
        assertTrue(out, out.contains("ofport              : 1\n"));
        assertTrue(out, out.contains("link_state          : up\n"));
        assertTrue(out, out.contains("error               : []\n"));
        assertTrue(out, out.contains("statistics          : {rx_packets=10}\n"));
        assertTrue(out, out.contains("status              : {driver=pktgen}\n"));
        String cols = Vsctl.run(db, List.of("--columns=name,ofport", "list", "Interface"), n -> null).output();
        assertEquals("name                : br0\nofport              : []\n\n"
                + "name                : p1\nofport              : []\n", cols);
    }

    /**
     * The columns ovs-vswitchd fills, quoted as the real ovs-vsctl printed them for an OVS 3.1 netdev bridge
     * with a down internal port: mtu, mac_in_use, ifindex, admin_state; datapath_id and datapath_version.
     */
    @Test
    public void listAndGetShowTheColumnsOvsVswitchdFills() throws VsctlException {
        Db db = withPort();
        PortInfo local = new PortInfo("br0", "br0", "internal", Map.of(), 65534, "down", null, Map.of(),
                Map.of("driver_name", "tun"), "96:ae:c7:54:4c:42", 1500, 3, false);
        PortInfo p1 = new PortInfo("p1", "br0", "pktgen", Map.of(), 1, "up", null, Map.of(), Map.of(),
                "02:00:00:00:00:01", 1500, 0, true);
        Vsctl.Live live = new Vsctl.Live() {
            @Override
            public PortInfo port(String name) {
                return name.equals("br0") ? local : name.equals("p1") ? p1 : null;
            }

            @Override
            public String datapathId(String bridge) {
                return "000096aec7544c42";
            }

            @Override
            public String datapathVersion() {
                return "<built-in>";
            }
        };
        assertEquals("datapath_id         : \"000096aec7544c42\"\ndatapath_version    : \"<built-in>\"\n",
                Vsctl.run(db, List.of("--columns=datapath_id,datapath_version", "list", "Bridge", "br0"), live)
                        .output());
        assertEquals("down\n1500\n\"96:ae:c7:54:4c:42\"\n3\n{driver_name=tun}\n", Vsctl.run(db, List.of("get",
                "Interface", "br0", "admin_state", "mtu", "mac_in_use", "ifindex", "status"), live).output());
        assertEquals("up\n1500\n\"02:00:00:00:00:01\"\n0\n", Vsctl.run(db, List.of("get", "Interface", "p1",
                "admin_state", "mtu", "mac_in_use", "ifindex"), live).output());
        // no datapath: empty, as before ovs-vswitchd fills them
        assertEquals("[]\n\"\"\n[]\n[]\n", Vsctl.run(db, List.of("get", "Bridge", "br0", "datapath_id",
                "datapath_version", "--", "get", "Interface", "p1", "mtu", "mac_in_use"), null).output());
    }

    /**
     * link_resets, link_speed and duplex as ovs-vswitchd fills them: link_resets of every open port, link_speed
     * and duplex only when the speed is known; all empty for a port that waits.
     */
    @Test
    public void linkResetsSpeedAndDuplexAsOvsVswitchdFillsThem() throws VsctlException {
        Db db = withPort();
        PortInfo local = new PortInfo("br0", "br0", "internal", Map.of(), 65534, "up", null, Map.of(), Map.of(),
                "96:ae:c7:54:4c:42", 1500, 3, true, 10_000_000_000L, true, 1);
        PortInfo p1 = new PortInfo("p1", "br0", "pktgen", Map.of(), 1, "up", null, Map.of(), Map.of(),
                "02:00:00:00:00:01", 1500, 0, true);
        Vsctl.Live live = n -> n.equals("br0") ? local : n.equals("p1") ? p1 : null;
        assertEquals("1\n10000000000\nfull\n", Vsctl.run(db, List.of("get", "Interface", "br0", "link_resets",
                "link_speed", "duplex"), live).output());
        assertEquals("0\n[]\n[]\n", Vsctl.run(db, List.of("get", "Interface", "p1", "link_resets", "link_speed",
                "duplex"), live).output());
        String out = Vsctl.run(db, List.of("list", "Interface", "br0"), live).output();
        assertTrue(out, out.contains("duplex              : full\n"));
        assertTrue(out, out.contains("link_resets         : 1\n"));
        assertTrue(out, out.contains("link_speed          : 10000000000\n"));
        PortInfo waiting = new PortInfo("p1", "br0", "pktgen", Map.of(), 1, "waiting", "no class", Map.of(),
                Map.of());
        assertEquals("[]\n[]\n[]\n", Vsctl.run(db, List.of("get", "Interface", "p1", "link_resets", "link_speed",
                "duplex"), n -> waiting).output());
    }

    /** A port waiting for its netdev class: error and ofport -1, as OVS shows a port it could not open. */
    @Test
    public void waitingPortShowsItsErrorAndNoOfport() throws VsctlException {
        Db db = withPort();
        String err = "could not open network device p1 (no netdev class 'pktgen' is registered; waiting for a"
                + " bundle that provides it)";
        PortInfo pi = new PortInfo("p1", "br0", "pktgen", Map.of(), 1, "waiting", err, Map.of(), Map.of());
        Vsctl.Live live = n -> n.equals("p1") ? pi : null;
        String out = Vsctl.run(db, List.of("list", "Interface", "p1"), live).output();
        assertTrue(out, out.contains("ofport              : -1\n"));
        assertTrue(out, out.contains("error               : \"" + err + "\"\n"));
        assertEquals("-1\n", Vsctl.run(db, List.of("get", "Interface", "p1", "ofport"), live).output());
        String show = Vsctl.run(db, List.of("show"), live).output();
        assertTrue(show, show.contains("                error: \"" + err + "\"\n"));
    }

    @Test
    public void openVswitchShowsTheTypesAndVersionsAsOvsVswitchdFillsThem() throws VsctlException {
        Vsctl.Live live = new Vsctl.Live() {
            @Override
            public PortInfo port(String name) {
                return null;
            }

            @Override
            public java.util.SortedSet<String> ifaceTypes() {
                return new java.util.TreeSet<>(List.of("pktgen", "dummy", "dpdkvhostuserclient", "dummy-internal"));
            }
        };
        Db db = new Db();
        assertEquals("[netdev]\n[dpdkvhostuserclient, dummy, dummy-internal, pktgen]\n\"8.3.1\"\n\"pvio 0.1.0\"\n",
                Vsctl.run(db, List.of("get", "Open_vSwitch", ".", "datapath_types", "iface_types", "db_version",
                        "ovs_version"), live).output());
        // no netdev class bound: an empty set
        assertEquals("[]\n", Vsctl.run(db, List.of("get", "Open_vSwitch", ".", "iface_types"), null).output());
        try {
            Vsctl.run(db, List.of("set", "Open_vSwitch", ".", "iface_types=[x]"), live);
            fail("iface_types is ovs-vswitchd's to write");
        } catch (VsctlException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("iface_types"));
        }
    }

    @Test
    public void parserSplitsOnDoubleDashAndKeepsGlobals() throws VsctlException {
        VsctlParser.Line l = VsctlParser.parse(List.of("--no-wait", "--timeout=5", "--may-exist", "add-br", "b",
                "--", "--if-exists", "del-port", "x", "--", "list-br"));
        assertEquals(3, l.commands().size());
        assertTrue(l.globals().contains("--no-wait"));
        assertTrue(l.commands().get(0).has("--may-exist"));
        assertTrue(l.commands().get(1).has("--if-exists"));
        assertEquals(List.of("x"), l.commands().get(1).args());
        assertSame(0, l.commands().get(2).args().size());
    }

    @Test
    public void atomsQuoteLikeOvsdb() throws VsctlException {
        assertEquals("br_x", Ovsdb.atom("br_x"));
        assertEquals("br0", Ovsdb.atom("br0")); // digits after the first character need no quotes
        assertEquals("a.b-c_9", Ovsdb.atom("a.b-c_9"));
        assertEquals("\"0br\"", Ovsdb.atom("0br"));
        assertEquals("\"1\"", Ovsdb.atom("1"));
        assertEquals("\"a b\"", Ovsdb.atom("a b"));
        assertEquals("\"true\"", Ovsdb.atom("true"));
        assertEquals("\"a\\\"b\"", Ovsdb.atom("a\"b"));
        assertEquals("a\"b", Ovsdb.parseAtom("\"a\\\"b\""));
        assertEquals(Map.of("a", "1,2", "b", "(x,y)"), Ovsdb.parseMap("{a=\"1,2\", b=(x,y)}"));
        assertNull(Ovsdb.parseMap("{}").get("x"));
    }

    /** br-exists answers with its exit status only (2: no such bridge), as ovs-vsctl. */
    @Test
    public void brExistsAnswersWithStatusTwoAndNoMessage() throws VsctlException {
        Db db = withPort();
        assertEquals("", run(db, "br-exists", "br0").output());
        try {
            run(db, "br-exists", "nope");
            fail();
        } catch (VsctlException e) {
            assertEquals(2, e.status());
            assertEquals("", e.getMessage());
        }
    }

    /** --dry-run checks the commands and says so; --oneline (not implemented) is refused, not ignored. */
    @Test
    public void dryRunIsReportedAndOnelineRefused() throws VsctlException {
        Vsctl.Outcome o = run(new Db(), "--dry-run", "add-br", "br9");
        assertTrue(o.dryRun());
        assertFalse(run(new Db(), "add-br", "br9").dryRun());
        assertNotNull(error(new Db(), "--oneline", "list-br"));
    }
}
