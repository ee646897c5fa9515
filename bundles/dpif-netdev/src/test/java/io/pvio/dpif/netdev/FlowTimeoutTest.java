package io.pvio.dpif.netdev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.pvio.dpif.DpifException;
import io.pvio.dpif.FlowEntry;
import io.pvio.dpif.FlowRemoval;
import io.pvio.dummy.DummyPort;
import io.pvio.dummy.DummyPorts;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/**
 * Flow timeouts as OVS's rule_expire: a hard timeout counts from the flow's addition or last modification,
 * an idle timeout from its last hit; the removal of a flow with send_flow_rem is reported (FLOW_REMOVED's
 * source) with its final counters, also when a delete removes it.
 */
public class FlowTimeoutTest extends DpTest {
    private static final int ANY = FlowEntry.ANY;
    private static final String A = "52:54:00:00:00:01";
    private static final String B = "52:54:00:00:00:02";

    private DummyPort n1;
    private DummyPort n2;

    private void twoPorts() throws Exception {
        dp.addBridge("br0");
        dp.addPort("br0", "n1", "dummy", Map.of(), 1);
        dp.addPort("br0", "n2", "dummy", Map.of(), 2);
        n1 = DummyPorts.dummy("n1");
        n2 = DummyPorts.dummy("n2");
    }

    private boolean has(int priority) {
        try {
            return dp.flowEntries("br0").stream().anyMatch(f -> f.priority() == priority);
        } catch (DpifException e) {
            throw new AssertionError(e);
        }
    }

    private FlowEntry entry(int priority) throws DpifException {
        return dp.flowEntries("br0").stream().filter(f -> f.priority() == priority).findFirst().orElseThrow();
    }

    @Test
    public void aHardTimeoutRemovesTheFlowAndReportsItWithItsCounters() throws Exception {
        twoPorts();
        long seq0 = dp.flowRemovalSeq();
        long t0 = System.nanoTime();
        dp.addFlow("br0", "priority=5,in_port=1,hard_timeout=1,send_flow_rem,actions=output:2");
        dp.addFlow("br0", "priority=4,in_port=2,hard_timeout=1,actions=drop"); // expires unreported
        List<String> dump = dp.dumpFlows("br0");
        assertTrue(dump.toString(), dump.get(0).matches(" cookie=0x0, duration=\\d+\\.\\d{3}s, table=0, n_packets=0,"
                + " n_bytes=0, hard_timeout=1, idle_age=0, priority=5,in_port=1 actions=output:2")); // NXST: no flags
        assertTrue(dump.toString(), dump.get(1).contains(" n_bytes=0, hard_timeout=1, idle_age=0, priority=4,"));
        assertEquals("flows with a timeout are not stored", List.of("priority=0,actions=NORMAL"), dp.flows("br0"));
        FlowEntry e = entry(5);
        assertEquals(1, e.hardTimeout());
        assertEquals(0, e.idleTimeout());
        assertTrue(e.sendFlowRem());
        assertEquals("as OVS decodes ovs-ofctl's 1.0 add", FlowEntry.FF_SEND_FLOW_REM | FlowEntry.FF_RESET_COUNTS, e.flags());

        assertTrue(n1.receive(eth(B, A, 0x0800, 100)));
        await("forwarded", () -> n2.sentPackets() == 1);
        await("expired", () -> !has(5) && !has(4));
        assertTrue("lived its timeout", System.nanoTime() - t0 > 1_000_000_000L);
        assertTrue("the table's NORMAL flow has no timeout", has(0));

        List<FlowRemoval> rs = dp.flowRemovals("br0", seq0);
        assertEquals(rs.toString(), 1, rs.size());
        FlowRemoval r = rs.get(0);
        assertEquals(FlowRemoval.HARD_TIMEOUT, r.reason());
        assertEquals("br0", r.bridge());
        assertEquals(5, r.flow().priority());
        assertEquals(1, r.flow().inPort());
        assertEquals(1, r.flow().packets());
        assertEquals(100, r.flow().bytes());
        assertEquals(1, r.flow().hardTimeout());
        assertTrue(r.flow().durationNanos() > 1_000_000_000L);
        assertEquals(r.seq(), dp.flowRemovalSeq());
        assertEquals(List.of(), dp.flowRemovals("br0", r.seq()));
    }

    @Test
    public void anIdleTimeoutCountsFromTheLastHit() throws Exception {
        twoPorts();
        long seq0 = dp.flowRemovalSeq();
        dp.addFlow("br0", "priority=5,in_port=1,idle_timeout=1,send_flow_rem,cookie=0x7,actions=output:2");
        dp.addFlow("br0", "priority=6,in_port=2,idle_timeout=1,send_flow_rem,actions=drop"); // never hit
        long end = System.nanoTime() + 2_600_000_000L;
        int sent = 0;
        while (System.nanoTime() < end) { // a hit every 300 ms: never a whole idle second
            assertTrue(n1.receive(eth(B, A, 0x0800, 60)));
            sent++;
            Thread.sleep(300);
        }
        int total = sent;
        await("forwarded", () -> n2.sentPackets() == total);
        assertTrue("hit within its idle timeout: kept", has(5));
        assertFalse("not hit: expired", has(6));
        await("expired once idle", () -> !has(5));

        List<FlowRemoval> rs = dp.flowRemovals("br0", seq0);
        assertEquals(rs.toString(), 2, rs.size());
        assertEquals(6, rs.get(0).flow().priority());
        assertEquals(0, rs.get(0).flow().packets());
        assertEquals(FlowRemoval.IDLE_TIMEOUT, rs.get(1).reason());
        assertEquals(0x7, rs.get(1).flow().cookie());
        assertEquals(total, rs.get(1).flow().packets());
        assertEquals(60L * total, rs.get(1).flow().bytes());
        assertEquals(1, rs.get(1).flow().idleTimeout());
        assertTrue(rs.get(1).flow().durationNanos() > 2_600_000_000L);
    }

    @Test
    public void aModifyKeepsTheTimeoutsAndRestartsTheHardTimer() throws Exception {
        twoPorts();
        long seq0 = dp.flowRemovalSeq();
        dp.putFlow("br0", FlowEntry.of(0, 5, 1, ANY, ANY, ANY, List.of(2)).withTimeouts(0, 2, FlowEntry.FF_SEND_FLOW_REM));
        Thread.sleep(1200);
        long modified = System.nanoTime();
        assertEquals(1, dp.modifyFlows("br0", FlowEntry.of(0, 5, 1, ANY, ANY, ANY, List.of()), true));
        FlowEntry m = entry(5);
        assertEquals(List.of(), m.actions());
        assertEquals("timeouts kept", 2, m.hardTimeout());
        assertTrue("flags kept", m.sendFlowRem());
        assertEquals("hard age restarts", 0, m.hardAgeSeconds());
        assertTrue("duration kept", m.durationNanos() >= 1_200_000_000L);
        assertTrue(dp.dumpFlows("br0").get(0), dp.dumpFlows("br0").get(0).contains(", hard_timeout=2, idle_age=1, hard_age=0, priority=5,"));
        await("expired", () -> !has(5));
        List<FlowRemoval> rs = dp.flowRemovals("br0", seq0);
        assertEquals(1, rs.size());
        assertEquals(FlowRemoval.HARD_TIMEOUT, rs.get(0).reason());
        assertTrue("two seconds after the modify", System.nanoTime() - modified > 2_000_000_000L);
        assertTrue(rs.get(0).flow().durationNanos() > 3_200_000_000L);
    }

    @Test
    public void deletesReportFlowsWithSendFlowRemOnly() throws Exception {
        twoPorts();
        long seq0 = dp.flowRemovalSeq();
        dp.addFlow("br0", "priority=5,in_port=1,send_flow_rem,actions=output:2");
        dp.addFlow("br0", "priority=6,in_port=1,actions=output:2");
        dp.putFlow("br0", FlowEntry.of(0x9, 7, 2, ANY, ANY, ANY, List.of(1)).withTimeouts(0, 0, FlowEntry.FF_SEND_FLOW_REM | FlowEntry.FF_NO_PKT_COUNTS));
        assertEquals("permanent flows are stored, with their flag", List.of(
                "cookie=0x9,send_flow_rem,no_packet_counts,priority=7,in_port=2,actions=output:1",
                "priority=6,in_port=1,actions=output:2", "send_flow_rem,priority=5,in_port=1,actions=output:2",
                "priority=0,actions=NORMAL"), dp.flows("br0"));
        assertEquals(2, dp.delFlows("br0", "in_port=1"));
        assertEquals(1, dp.deleteFlows("br0", FlowEntry.of(0, 7, 2, ANY, ANY, ANY, List.of()), true, ANY).size());
        List<FlowRemoval> rs = dp.flowRemovals("br0", seq0);
        assertEquals(rs.toString(), 2, rs.size());
        assertEquals(FlowRemoval.DELETE, rs.get(0).reason());
        assertEquals(5, rs.get(0).flow().priority());
        assertEquals(FlowRemoval.DELETE, rs.get(1).reason());
        assertEquals(0x9, rs.get(1).flow().cookie());
        // an add that replaces a flow is no removal
        dp.addFlow("br0", "priority=8,send_flow_rem,actions=drop");
        dp.addFlow("br0", "priority=8,send_flow_rem,actions=output:1");
        assertEquals(2, dp.flowRemovals("br0", seq0).size());
        dp.addFlow("br0", "priority=9,no_byte_counts,actions=drop");
        assertEquals(FlowEntry.FF_NO_BYT_COUNTS | FlowEntry.FF_RESET_COUNTS, entry(9).flags());
        assertTrue(dp.flows("br0").contains("no_byte_counts,priority=9,actions=drop"));
    }

    @Test
    public void badTimeoutsAreRefused() throws Exception {
        twoPorts();
        List<String> before = dp.flows("br0");
        assertRefused("br0", new String[][] {{"idle_timeout=65536,actions=drop", "idle_timeout 65536 is out of range 0..65535"},
                {"hard_timeout=-1,actions=drop", "hard_timeout -1 is out of range 0..65535"},
                {"hard_timeout=x,actions=drop", "hard_timeout 'x' is not a number"}});
        try {
            dp.delFlows("br0", "idle_timeout=5");
            throw new AssertionError("a timeout in a match accepted");
        } catch (DpifException e) {
            assertEquals("unknown keyword idle_timeout", e.getMessage()); // as ovs-ofctl del-flows
        }
        try {
            dp.putFlow("br0", FlowEntry.of(0, 5, 1, ANY, ANY, ANY, List.of()).withTimeouts(70000, 0, 0));
            throw new AssertionError("an idle timeout of 70000 accepted");
        } catch (DpifException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("idle_timeout 70000 is out of range"));
        }
        assertEquals(before, dp.flows("br0"));
    }
}
