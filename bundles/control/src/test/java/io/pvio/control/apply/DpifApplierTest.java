package io.pvio.control.apply;

import static org.junit.Assert.assertEquals;
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
}
