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
        assertEquals(List.of("addBridge br0", "addPort p1"), dpif.calls);
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
        assertEquals(List.of("delBridge br0", "addBridge br0"), dpif.calls);
        assertTrue(dpif.ports.isEmpty());
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
        assertEquals(List.of("p1"), List.copyOf(fresh.ports.keySet()));
        assertEquals(List.of("priority=0,actions=normal", "in_port=1,actions=output:2"), fresh.flows.get("br0"));
    }
}
