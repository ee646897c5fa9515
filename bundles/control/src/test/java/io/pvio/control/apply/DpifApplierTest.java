package io.pvio.control.apply;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.control.db.Db;
import io.pvio.control.vsctl.Vsctl;
import io.pvio.control.vsctl.VsctlException;
import io.pvio.dpif.DpifException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.Test;

public class DpifApplierTest {
    private final FakeDpif dpif = new FakeDpif();
    private Db db = new Db();

    private void vsctl(String... argv) throws VsctlException, DpifException {
        Db next = Vsctl.run(db, Arrays.asList(argv), null).db();
        DpifApplier.apply(dpif, db, next);
        next.recordOfports(n -> dpif.port(n) == null ? -1 : dpif.port(n).ofport()); // as ControlComponent
        db = next;
    }

    @Test
    public void appliesAChainAsOneAddPort() throws Exception {
        vsctl("add-br", "br0", "--", "add-port", "br0", "p1", "--", "set", "Interface", "p1", "type=pktgen",
                "options:size=64");
        assertEquals(List.of("addBridge br0", "addPort br0", "addPort p1"), dpif.calls);
        assertEquals("br0 internal {}", dpif.ports.get("br0")); // the bridge's local port
        assertEquals("br0 pktgen {size=64}", dpif.ports.get("p1"));
    }

    /** ingress_policing_rate/_burst: given to the datapath with the port, then when they change, and only then. */
    @Test
    public void ingressPolicingReachesTheDatapath() throws Exception {
        vsctl("add-br", "br0", "--", "add-port", "br0", "p1", "--", "set", "Interface", "p1", "type=pktgen",
                "ingress_policing_rate=1000");
        assertTrue(dpif.calls.toString(), dpif.calls.contains("setIngressPolicing p1 1000 0"));
        dpif.calls.clear();
        vsctl("set", "Interface", "p1", "options:size=64");
        assertFalse(dpif.calls.toString(), dpif.calls.stream().anyMatch(c -> c.startsWith("setIngressPolicing")));
        vsctl("set", "Interface", "p1", "ingress_policing_burst=100");
        assertTrue(dpif.calls.toString(), dpif.calls.contains("setIngressPolicing p1 1000 100"));
        dpif.calls.clear();
        vsctl("set", "Interface", "p1", "ingress_policing_rate=0");
        assertEquals(List.of("setIngressPolicing p1 0 100"), dpif.calls);
    }

    @Test
    public void refusedStepUndoesEarlierSteps() throws Exception {
        vsctl("add-br", "br0", "--", "add-port", "br0", "p1", "--", "set", "Interface", "p1", "type=pktgen");
        TreeMap<String, String> before = new TreeMap<>(dpif.ports);
        try {
            vsctl("add-br", "br1", "--", "del-port", "p1", "--", "add-port", "br1", "p2", "--", "set", "Interface",
                    "p2", "options:bad=1");
            fail();
        } catch (DpifException e) {
            assertEquals("p2: unknown option 'bad'", e.getMessage());
        }
        assertEquals(before, dpif.ports);
        assertEquals(List.of("br0"), List.copyOf(dpif.bridges));
    }

    @Test
    public void changedOptionsGoToSetInterfaceAndRecreatedBridgeIsReopened() throws Exception {
        vsctl("add-br", "br0", "--", "add-port", "br0", "p1");
        dpif.calls.clear();
        vsctl("set", "Interface", "p1", "options:size=128");
        assertEquals(List.of("setInterface p1"), dpif.calls);
        dpif.calls.clear();
        vsctl("del-br", "br0", "--", "add-br", "br0");
        assertEquals(List.of("delBridge br0", "addBridge br0", "addPort br0"), dpif.calls);
        assertEquals(List.of("br0"), List.copyOf(dpif.ports.keySet()));
    }

    /** Controllers and fail mode: set when they change (with the bridge when it has them), restored by a replay. */
    @Test
    public void controllersReachTheDatapathWhenTheyChange() throws Exception {
        vsctl("add-br", "br0", "--", "set-controller", "br0", "tcp:127.0.0.1:6653", "unix:/tmp/c.sock");
        assertEquals("[tcp:127.0.0.1:6653, unix:/tmp/c.sock] standalone", dpif.control.get("br0"));
        dpif.calls.clear();
        vsctl("add-port", "br0", "p1");
        assertFalse(dpif.calls.toString(), dpif.calls.stream().anyMatch(c -> c.startsWith("setControllers")));
        vsctl("set-fail-mode", "br0", "secure", "--", "del-controller", "br0");
        assertEquals("[] secure", dpif.control.get("br0"));
        vsctl("add-br", "br1"); // none and standalone: nothing to set
        assertNull(dpif.control.get("br1"));
        FakeDpif fresh = new FakeDpif();
        DpifApplier.replay(fresh, db);
        assertEquals("[] secure", fresh.control.get("br0"));
        assertNull(fresh.control.get("br1"));
    }

    @Test
    public void replayRestoresEverythingAndSkipsWhatIsRefused() throws Exception {
        vsctl("set", "Open_vSwitch", ".", "other_config:x=1", "--", "add-br", "br0", "--", "add-port", "br0", "p1",
                "--", "add-port", "br0", "p2");
        db.bridges.get("br0").flows.add("in_port=1,actions=output:2");
        db.port("p2").options.put("bad", "1"); // e.g. an option a newer class no longer accepts
        FakeDpif fresh = new FakeDpif();
        DpifApplier.replay(fresh, db);
        assertEquals(Map.of("x", "1"), fresh.otherConfig);
        assertEquals(List.of("br0", "p1"), List.copyOf(fresh.ports.keySet()));
        assertEquals(List.of("priority=0,actions=normal", "in_port=1,actions=output:2"), fresh.flows.get("br0"));
    }

    /** A port keeps its number across a restore, whatever order the ports were added in (as OVS's ofport). */
    @Test
    public void portsKeepTheirNumbersAcrossARestore() throws Exception {
        vsctl("add-br", "br0", "--", "add-port", "br0", "b");
        vsctl("add-port", "br0", "a");
        vsctl("add-port", "br0", "z", "--", "set", "Interface", "z", "ofport_request=7");
        db.recordOfports(n -> dpif.port(n) == null ? -1 : dpif.port(n).ofport());
        assertEquals(Map.of("a", 2, "b", 1, "br0", 65534, "z", 7), dpif.ofports);
        Db stored = Db.fromJson(db.toJson()); // as written to conf.db and read back
        FakeDpif fresh = new FakeDpif();
        DpifApplier.replay(fresh, stored);
        assertEquals(Map.of("a", 2, "b", 1, "br0", 65534, "z", 7), fresh.ofports);
    }

    /** A port the datapath refused at startup can still be deleted (or fixed) with vsctl. */
    @Test
    public void aPortRefusedAtRestoreCanBeDeletedOrFixed() throws Exception {
        vsctl("add-br", "br0", "--", "add-port", "br0", "p1", "--", "add-port", "br0", "p2");
        db.port("p2").options.put("bad", "1");
        db.port("p1").options.put("bad", "1");
        FakeDpif fresh = new FakeDpif();
        DpifApplier.replay(fresh, db);
        assertEquals(List.of("br0"), List.copyOf(fresh.ports.keySet()));
        Db next = Vsctl.run(db, List.of("del-port", "p2"), null).db();
        DpifApplier.apply(fresh, db, next);
        db = next;
        assertEquals(List.of("br0", "p1"), List.copyOf(db.bridges.get("br0").ports.keySet()));
        next = Vsctl.run(db, List.of("remove", "Interface", "p1", "options", "bad"), null).db();
        DpifApplier.apply(fresh, db, next);
        assertEquals(List.of("br0", "p1"), List.copyOf(fresh.ports.keySet()));
    }

    /** Clearing ofport_request, or asking for the number the port has, does not re-add the port. */
    @Test
    public void ofportRequestForTheCurrentNumberKeepsThePort() throws Exception {
        vsctl("add-br", "br0", "--", "add-port", "br0", "p1");
        dpif.calls.clear();
        vsctl("set", "Interface", "p1", "ofport_request=1");
        vsctl("clear", "Interface", "p1", "ofport_request");
        assertEquals(List.of(), dpif.calls);
        vsctl("set", "Interface", "p1", "ofport_request=5");
        assertEquals(List.of("delPort p1", "addPort p1"), dpif.calls);
        assertEquals(Integer.valueOf(5), dpif.ofports.get("p1"));
    }

    private Map<String, Integer> numbers(String... ports) {
        Map<String, Integer> m = new TreeMap<>();
        for (String p : ports) {
            m.put(p, dpif.ofports.get(p));
        }
        return m;
    }

    /** ofport_request conflicts resolved as OVS's bridge does (bridge_delete_or_reconfigure_ports), never refused. */
    @Test
    public void ofportRequestSwapsAndConflictsAreResolvedAsOvsDoes() throws Exception {
        vsctl("add-br", "br0", "--", "add-port", "br0", "a", "--", "set", "Interface", "a", "ofport_request=1",
                "--", "add-port", "br0", "b", "--", "set", "Interface", "b", "ofport_request=2",
                "--", "add-port", "br0", "c");
        assertEquals(Map.of("a", 1, "b", 2, "c", 3), numbers("a", "b", "c"));
        // a swap in one transaction
        vsctl("set", "Interface", "a", "ofport_request=2", "--", "set", "Interface", "b", "ofport_request=1");
        assertEquals(Map.of("a", 2, "b", 1, "c", 3), numbers("a", "b", "c"));
        // a free number
        vsctl("set", "Interface", "c", "ofport_request=5");
        assertEquals(Integer.valueOf(5), dpif.ofports.get("c"));
        // a number held by a port that did not request it: both go, the requester gets it, the holder another
        vsctl("add-port", "br0", "e");
        assertEquals(Integer.valueOf(3), dpif.ofports.get("e"));
        vsctl("set", "Interface", "c", "ofport_request=3");
        assertEquals(Integer.valueOf(3), dpif.ofports.get("c"));
        assertTrue(dpif.ofports.toString(), !List.of(1, 2, 3).contains(dpif.ofports.get("e")));
        // a new port asking for a number in use gets another one (OVS's alloc_ofp_port), not a refusal
        vsctl("add-port", "br0", "f", "--", "set", "Interface", "f", "ofport_request=3");
        assertEquals(Integer.valueOf(3), dpif.ofports.get("c"));
        assertTrue(dpif.ofports.toString(), dpif.ofports.get("f") > 0 && dpif.ofports.get("f") != 3);
        // a number held by a port that requested it too: nothing moves, nothing is refused
        Map<String, Integer> before = new TreeMap<>(dpif.ofports);
        vsctl("set", "Interface", "e", "ofport_request=1");
        assertEquals(before, dpif.ofports);
        // two ports ask for the same free number: one gets it, the other some other number
        vsctl("set", "Interface", "a", "ofport_request=9", "--", "set", "Interface", "e", "ofport_request=9");
        assertEquals(9, Math.max(dpif.ofports.get("a"), dpif.ofports.get("e")));
        assertTrue(dpif.ofports.get("a") != 9 || dpif.ofports.get("e") != 9);
        assertEquals(6, new java.util.HashSet<>(dpif.ofports.values()).size()); // and br0's LOCAL
    }

    /**
     * As OVS and as the OVSDB path: a port that has the number it asks for keeps it, also across a restore;
     * a new port asking for a number held by a port that does not ask for it gets it, and that port moves.
     */
    @Test
    public void aHeldRequestedNumberStaysWithItsHolderAcrossARestore() throws Exception {
        vsctl("add-br", "br0", "--", "add-port", "br0", "d1", "--", "set", "Interface", "d1", "ofport_request=7");
        vsctl("add-port", "br0", "c", "--", "set", "Interface", "c", "ofport_request=7");
        assertEquals(Map.of("c", 1, "d1", 7), numbers("c", "d1"));
        FakeDpif fresh = new FakeDpif();
        DpifApplier.replay(fresh, Db.fromJson(db.toJson()));
        assertEquals(Map.of("br0", 65534, "c", 1, "d1", 7), fresh.ofports);

        vsctl("add-port", "br0", "e");
        assertEquals(Integer.valueOf(2), dpif.ofports.get("e"));
        vsctl("add-port", "br0", "f", "--", "set", "Interface", "f", "ofport_request=2");
        assertEquals(Map.of("c", 1, "d1", 7, "e", 3, "f", 2), numbers("c", "d1", "e", "f"));
    }

    /** pvio vsctl: other_config with a value the datapath refuses is refused whole, nothing changes. */
    @Test
    public void aRefusedOtherConfigKeyRefusesTheCommand() throws Exception {
        vsctl("set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0x1");
        Db before = db;
        try {
            vsctl("set", "Open_vSwitch", ".", "other_config:bad=zz", "other_config:pmd-perf-metrics=true");
            fail();
        } catch (DpifException e) {
            assertEquals("bad other_config", e.getMessage());
        }
        assertEquals(Map.of("pmd-cpu-mask", "0x1"), dpif.otherConfig);
        assertEquals(before, db);
    }

    @Test
    public void aRefusedLaterStepPutsRenumberedPortsBack() throws Exception {
        vsctl("add-br", "br0", "--", "add-port", "br0", "a", "--", "add-port", "br0", "b");
        Map<String, Integer> before = numbers("a", "b");
        try {
            vsctl("set", "Interface", "a", "ofport_request=2", "--", "add-port", "br0", "x", "--", "set", "Interface",
                    "x", "options:bad=1");
            fail();
        } catch (DpifException e) {
            assertEquals("x: unknown option 'bad'", e.getMessage());
        }
        assertEquals(before, numbers("a", "b"));
        assertEquals(List.of("a", "b", "br0"), List.copyOf(dpif.ports.keySet()));
    }

    /** A Bridge's other_config:hwaddr and datapath-id reach the datapath, and leave it when removed. */
    @Test
    public void bridgeHwaddrAndDatapathIdFromOtherConfig() throws Exception {
        vsctl("add-br", "br0");
        String picked = dpif.bridgeMacs.get("br0");
        vsctl("set", "Bridge", "br0", "other_config:hwaddr=00:11:22:33:44:55", "other_config:datapath-id=0x1234");
        assertEquals("00:11:22:33:44:55", dpif.bridgeMacs.get("br0"));
        assertEquals(0x1234L, dpif.datapathId("br0"));
        vsctl("remove", "Bridge", "br0", "other_config", "datapath-id");
        assertEquals(0x001122334455L, dpif.datapathId("br0"));
        vsctl("remove", "Bridge", "br0", "other_config", "hwaddr");
        assertEquals(picked, dpif.bridgeMacs.get("br0"));
        // a refused step puts the previous ID and address back
        vsctl("set", "Bridge", "br0", "other_config:datapath-id=0000000000000007");
        try {
            vsctl("set", "Bridge", "br0", "other_config:datapath-id=0000000000000008", "other_config:hwaddr=00:00:00:00:00:01",
                    "--", "add-port", "br0", "p2", "--", "set", "Interface", "p2", "options:bad=1");
            fail();
        } catch (DpifException e) {
            assertEquals("p2: unknown option 'bad'", e.getMessage());
        }
        assertEquals(7L, dpif.datapathId("br0"));
        assertEquals(picked, dpif.bridgeMacs.get("br0"));
    }

    /**
     * Interface other_config:pmd-rxq-affinity reaches the datapath: on add-port, when changed, when removed,
     * and at a restore; a malformed one is refused whole (pvio vsctl) and the one in force kept.
     */
    @Test
    public void interfaceRxqAffinityReachesTheDatapath() throws Exception {
        vsctl("add-br", "br0", "--", "add-port", "br0", "p1", "--", "set", "Interface", "p1",
                "other_config:pmd-rxq-affinity=0:1,1:0");
        assertEquals(Map.of("p1", "0:1,1:0"), dpif.affinities);
        dpif.calls.clear();
        vsctl("set", "Interface", "p1", "other_config:pmd-rxq-affinity=0:0", "other_config:other=1");
        assertEquals(List.of("setRxqAffinity p1 0:0"), dpif.calls);
        dpif.calls.clear();
        vsctl("set", "Interface", "p1", "other_config:other=2", "options:size=128"); // affinity unchanged
        assertEquals(List.of("setInterface p1"), dpif.calls);
        Db before = db;
        try {
            vsctl("set", "Interface", "p1", "other_config:pmd-rxq-affinity=0:x", "--", "add-port", "br0", "p2", "--",
                    "set", "Interface", "p2", "other_config:pmd-rxq-affinity=0:1");
            fail();
        } catch (DpifException e) {
            assertEquals("p1: pmd-rxq-affinity '0:x' is not a list of <rxq>:<core> pairs (Invalid argument)",
                    e.getMessage());
        }
        assertEquals(before, db);
        assertEquals(Map.of("p1", "0:0"), dpif.affinities);
        assertEquals(List.of("br0", "p1"), List.copyOf(dpif.ports.keySet()));
        FakeDpif fresh = new FakeDpif();
        DpifApplier.replay(fresh, db);
        assertEquals(Map.of("p1", "0:0"), fresh.affinities);
        vsctl("remove", "Interface", "p1", "other_config", "pmd-rxq-affinity");
        assertEquals(Map.of(), dpif.affinities);
        // a port moved to another bridge is added again with its affinity
        vsctl("set", "Interface", "p1", "other_config:pmd-rxq-affinity=0:3");
        vsctl("add-br", "br1", "--", "del-port", "p1", "--", "add-port", "br1", "p1", "--", "set", "Interface", "p1",
                "other_config:pmd-rxq-affinity=0:3");
        assertEquals(Map.of("p1", "0:3"), dpif.affinities);
    }

    /** other_config:mac-aging-time and mac-table-size read as OVS's smap_get_int (bad: the default; negative: the largest). */
    @Test
    public void macTableSettingsAsOvsReadsThem() {
        assertArrayEquals(new int[] {0, 0}, DpifApplier.macTable(Map.of()));
        assertArrayEquals(new int[] {600, 50000},
                DpifApplier.macTable(Map.of("mac-aging-time", "600", "mac-table-size", "50000")));
        assertArrayEquals(new int[] {0, Integer.MAX_VALUE},
                DpifApplier.macTable(Map.of("mac-aging-time", "10m", "mac-table-size", "-1")));
    }
}
