package io.pvio.dpif.netdev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.junit.Test;

/**
 * A bridge's controllers and fail mode as OVS's connmgr: the table is flushed when the first controller
 * comes or the last goes (and when the fail mode changes without one); standalone without a controller has
 * the NORMAL flow, secure has none; a target pvio cannot connect to is left out with a warning.
 */
public class ControllersTest extends DpTest {
    private static final List<String> NORMAL = List.of("priority=0,actions=NORMAL");

    @Test
    public void controllersAndFailModeFlushTheTableAsOvs() throws Exception {
        dp.addBridge("br0");
        dp.addFlow("br0", "priority=5,in_port=1,actions=drop");
        dp.setControllers("br0", List.of(), false);
        assertEquals("no change: nothing flushed", 2, dp.flows("br0").size());

        dp.setControllers("br0", List.of("tcp:127.0.0.1:6653"), false);
        assertEquals("the first controller flushes", List.of(), dp.flows("br0"));
        assertEquals(List.of("tcp:127.0.0.1:6653"), dp.controllers("br0"));
        dp.addFlow("br0", "priority=0,actions=controller:128");
        dp.setControllers("br0", List.of("tcp:127.0.0.1:6653", "unix:/run/ctl.sock"), true);
        assertEquals("another controller, another mode: no flush", List.of("priority=0,actions=CONTROLLER:128"),
                dp.flows("br0"));

        dp.setControllers("br0", List.of(), true);
        assertEquals("the last gone, secure: nothing", List.of(), dp.flows("br0"));
        dp.setControllers("br0", List.of(), false);
        assertEquals("standalone without a controller: NORMAL", NORMAL, dp.flows("br0"));

        dp.setControllers("br0", List.of("ssl:10.0.0.1:6653", "ptcp:6653"), false);
        assertEquals("unsupported targets are no controllers", List.of(), dp.controllers("br0"));
        assertEquals(NORMAL, dp.flows("br0"));
        assertTrue(log.toString(), log.stream().anyMatch(l -> l.contains("ssl:10.0.0.1:6653: unsupported controller target")));
    }

    /**
     * OVS's fail-open: a standalone bridge whose controllers have all been away for three probe intervals (one
     * second with inactivity_probe=0) flushes its flows and sends everything to NORMAL, a hidden flow that
     * bridge/dump-flows shows; the first controller connected ends it, and the table rules again.
     */
    @Test
    public void aStandaloneBridgeFailsOpenAndRecovers() throws Exception {
        java.util.logging.Logger fo = java.util.logging.Logger.getLogger("fail_open");
        List<String> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler h = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                warnings.add(r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        fo.addHandler(h);
        try {
            dp.addBridge("br0");
            dp.addPort("br0", "n1", "dummy", java.util.Map.of(), 1);
            dp.addPort("br0", "n2", "dummy", java.util.Map.of(), 2);
            io.pvio.dummy.DummyPort d1 = io.pvio.dummy.DummyPorts.dummy("n1");
            io.pvio.dummy.DummyPort d2 = io.pvio.dummy.DummyPorts.dummy("n2");
            String target = "tcp:127.0.0.1:1";
            dp.setControllers("br0", List.of(target), false, 0);
            dp.addFlow("br0", "priority=5,actions=drop");
            await("failing open", () -> warnings.stream().anyMatch(w -> w.startsWith("Could not connect to controller"
                    + " (or switch failed controller's post-connection admission control policy) for ")));
            assertTrue(warnings.get(0), warnings.get(0).endsWith(" seconds, failing open"));
            assertEquals("the flows are flushed", List.of(), dp.flows("br0"));
            dp.addFlow("br0", "priority=5,actions=drop"); // added during fail-open: below the hidden flow
            assertTrue(d1.receive(eth("ff:ff:ff:ff:ff:ff", "52:54:00:00:00:01", 0x0800, 64)));
            await("flooded by NORMAL", () -> d2.sentPackets() == 1);
            String dump = dp.bridgeDumpFlows("br0", false);
            assertTrue(dump, dump.matches("duration=\\d+s, n_packets=1, n_bytes=64, priority=15790320,actions=NORMAL\n"
                    + "duration=\\d+s, n_packets=0, n_bytes=0, priority=5,actions=drop\n"));
            assertTrue(dp.ofprotoTrace("br0", "in_port=1").contains(" 0. priority 15790320\n    NORMAL\n"));

            long now = System.currentTimeMillis();
            dp.setControllerStatus("br0", target, new io.pvio.dpif.ControllerStatus(true, "ACTIVE", null, now, -1));
            await("recovered", () -> warnings.contains("No longer in fail-open mode"));
            assertTrue(d1.receive(eth("ff:ff:ff:ff:ff:ff", "52:54:00:00:00:01", 0x0800, 64)));
            await("dropped by the flow again", () -> dp.droppedPackets() == 1);
            assertEquals(1, d2.sentPackets());
            assertEquals(List.of("priority=5,actions=drop"), dp.flows("br0"));
        } finally {
            fo.removeHandler(h);
        }
    }
}
