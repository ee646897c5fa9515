package io.pvio.dpif.netdev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pvio.dpif.netdev.appctl.PmdRxqShowCommand;
import io.pvio.dummy.DummyPort;
import io.pvio.dummy.DummyPorts;
import io.pvio.dummy.PktgenPort;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/** Idle rx queues beside a busy one: polled less often while the PMD is busy, never forgotten. */
public class IdleQueuesTest extends DpTest {

    @Test
    public void aQueueIdleForLongStillForwardsWhileAnotherKeepsThePmdBusy() throws Exception {
        dp.setOtherConfig(Map.of("pmd-perf-metrics", "true"));
        dp.addBridge("br0");
        dp.delFlows("br0", null);
        dp.addPort("br0", "gen", "pktgen", Map.of("enabled", "false"), 1);
        dp.addPort("br0", "sink", "pktgen", Map.of("enabled", "false"), 2);
        for (int i = 0; i < 8; i++) {
            dp.addPort("br0", "idle" + i, "dummy", Map.of(), 10 + i);
        }
        dp.addFlow("br0", "in_port=1,actions=output:2");
        dp.addFlow("br0", "in_port=13,actions=output:14");
        dp.setInterface("gen", null, Map.of("enabled", "true")); // as fast as the PMD takes them
        PktgenPort sink = DummyPorts.pktgen("sink");
        long[] start = dp.pmdIterations();
        // long enough for every dummy queue to have turned idle (IDLE_AFTER empty polls)
        await("iterations", () -> dp.pmdIterations()[0] > start[0] + 4 * PmdThread.IDLE_AFTER && sink.received() > 0);
        DummyPort in = DummyPorts.dummy("idle3");
        DummyPort out = DummyPorts.dummy("idle4");
        for (int i = 0; i < 5; i++) {
            assertTrue(in.receive(eth("52:54:00:00:00:0b", "52:54:00:00:00:0a", 0x0800, 64 + i)));
        }
        await(() -> "forwarded from the idle queue: " + out.sentPackets(), () -> out.sentPackets() == 5);
        assertEquals(0, in.rxBacklog());
        assertTrue("the generator kept the PMD busy", sink.received() > 0);
        String rxq = new PmdRxqShowCommand(dp).run(List.of());
        assertTrue(rxq, rxq.matches("(?s).*  port: gen +queue-id:  0 \\(enabled\\)   pmd usage: +\\d+ %\n.*"));
        assertTrue(rxq, rxq.matches("(?s).*  port: idle0 +queue-id:  0 \\(enabled\\)   pmd usage: +\\d+ %\n.*"));
        dp.setOtherConfig(Map.of());
        rxq = new PmdRxqShowCommand(dp).run(List.of());
        assertTrue(rxq, rxq.contains("pmd usage: NOT AVAIL"));
        dp.setInterface("gen", null, Map.of("enabled", "false"));
        for (int i = 0; i < 8; i++) {
            dp.delPort("idle" + i);
        }
        dp.delPort("gen");
        dp.delPort("sink");
    }
}
