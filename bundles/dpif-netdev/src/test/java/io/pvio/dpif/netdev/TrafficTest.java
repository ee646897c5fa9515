package io.pvio.dpif.netdev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import io.pvio.dpif.netdev.appctl.PmdRxqShowCommand;
import io.pvio.dpif.netdev.appctl.PmdStatsClearCommand;
import io.pvio.dpif.netdev.appctl.PmdStatsShowCommand;
import io.pvio.dummy.DummyPort;
import io.pvio.dummy.DummyPorts;
import io.pvio.dummy.PktgenPort;
import java.util.List;
import java.util.Map;
import org.junit.Test;

public class TrafficTest extends DpTest {

    private void crossConnected(String o1, String o2) throws Exception {
        dp.addBridge("br0");
        dp.delFlows("br0", null);
        dp.addFlow("br0", "in_port=1,actions=output:2");
        dp.addFlow("br0", "in_port=2,actions=output:1");
        // generators start once both ends are wired
        dp.addPort("br0", "g1", "pktgen", Map.of("count", o1, "enabled", "false"), 1);
        dp.addPort("br0", "g2", "pktgen", Map.of("count", o2, "size", "300", "flows", "8", "enabled", "false"), 2);
        dp.setInterface("g1", null, Map.of("count", o1));
        dp.setInterface("g2", null, Map.of("count", o2, "size", "300", "flows", "8"));
    }

    @Test
    public void pktgenThroughBridgeExactCountsNoLeak() throws Exception {
        crossConnected("20000", "15000");
        PktgenPort g1 = DummyPorts.pktgen("g1");
        PktgenPort g2 = DummyPorts.pktgen("g2");
        await(() -> "all received: " + DummyPorts.pktgen("g1").show() + DummyPorts.pktgen("g2").show()
                + dp.pmdStatsShow(null) + dp.dumpFlows0() + " pool " + dp.pool(), () -> g2.received() == 20000 && g1.received() == 15000);
        settle();
        assertEquals(20000, g1.generated());
        assertEquals(20000, g2.rxValid());
        assertEquals(15000, g1.rxValid());
        for (PktgenPort p : List.of(g1, g2)) {
            assertEquals(0, p.rxLost() + p.rxOutOfOrder() + p.rxDuplicate() + p.rxCorrupt() + p.rxOther());
        }
        assertEquals(0, dp.droppedPackets());
        Map<String, Long> st = dp.port("g2").statistics();
        assertEquals(Long.valueOf(20000), st.get("tx_packets"));
        assertEquals(Long.valueOf(15000), st.get("rx_packets"));
        assertEquals(Long.valueOf(20000), st.get("rx_valid"));
        // no speed, no carrier change counted: link_speed and duplex empty, link_resets 0, as OVS's dummy ports
        assertEquals(0, dp.port("g2").linkSpeed());
        assertEquals(0, dp.port("g2").linkResets());
        List<String> flows = dp.dumpFlows("br0");
        assertTrue(flows.get(0), flows.get(0).matches(".*n_packets=20000, n_bytes=1280000, idle_age=\\d+,"
                + " in_port=1 actions=output:2"));
        String stats = new PmdStatsShowCommand(dp).run(List.of());
        assertTrue(stats, stats.startsWith("pmd thread numa_id 0 core_id 0:\n  packets received: 35000\n"
                + "  packet recirculations: 0\n  avg. datapath passes per packet: 1.00\n"));
        assertTrue(stats, stats.contains("  megaflow hits: 35000\n"
                + "  avg. subtable lookups per megaflow hit: 1.00\n  miss with success upcall: 0\n"));
        assertTrue(stats, stats.matches("(?s).*  avg\\. packets per output batch: \\d+\\.\\d\\d\n"
                + "  idle cycles: \\d+ \\(\\d+\\.\\d\\d%\\)\n  processing cycles: \\d+ \\(\\d+\\.\\d\\d%\\)\n"
                + "  avg cycles per packet: \\d+\\.\\d\\d \\(\\d+/35000\\)\n"
                + "  avg processing cycles per packet: \\d+\\.\\d\\d \\(\\d+/35000\\)\n"));
        new PmdStatsClearCommand(dp).run(List.of());
        assertTrue(new PmdStatsShowCommand(dp).run(List.of("-pmd", "0")).contains("packets received: 0\n"));
        String rxq = new PmdRxqShowCommand(dp).run(List.of());
        assertTrue(rxq, rxq.contains("pmd thread numa_id 0 core_id 0:\n  isolated : false\n  port: g1 "));
        dp.delPort("g1");
        dp.delPort("g2");
        assertNull(DummyPorts.pktgen("g1"));
        assertEquals(0, dp.pool().inUse());
    }

    /** pmd-stats-show's "packets received" of the PMD of core {@code core}. */
    private long received(int core) throws Exception {
        String stats = new PmdStatsShowCommand(dp).run(List.of("-pmd", Integer.toString(core)));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("packets received: (\\d+)\n").matcher(stats);
        assertTrue(stats, m.find());
        return Long.parseLong(m.group(1));
    }

    /** pmd-stats-clear -pmd CORE clears that PMD's statistics only, as OVS's dpif_netdev_pmd_info. */
    @Test
    public void pmdStatsClearOfOnePmdLeavesTheOthers() throws Exception {
        dp.setOtherConfig(Map.of("pmd-cpu-mask", "0x3"));
        dp.addBridge("br0");
        dp.delFlows("br0", null);
        dp.addFlow("br0", "in_port=1,actions=output:2");
        dp.addFlow("br0", "in_port=2,actions=output:1");
        dp.addPort("br0", "g1", "pktgen", Map.of("count", "3000", "enabled", "false"), 1);
        dp.addPort("br0", "g2", "pktgen", Map.of("count", "2000", "enabled", "false"), 2);
        dp.setRxqAffinity("g1", "0:0");
        dp.setRxqAffinity("g2", "0:1");
        dp.setInterface("g1", null, Map.of("count", "3000"));
        dp.setInterface("g2", null, Map.of("count", "2000"));
        await("all received", () -> DummyPorts.pktgen("g2").received() == 3000
                && DummyPorts.pktgen("g1").received() == 2000);
        settle();
        assertEquals(3000, received(0));
        assertEquals(2000, received(1));
        new PmdStatsClearCommand(dp).run(List.of("-pmd", "1", "ovs-netdev"));
        assertEquals(3000, received(0));
        assertEquals(0, received(1));
        new PmdStatsClearCommand(dp).run(List.of("-pmd", "7")); // no such PMD: nothing cleared, as OVS
        assertEquals(3000, received(0));
        for (List<String> bad : List.of(List.of("-pmd"), List.of("-pmd", "x"), List.of("dp0"))) {
            try {
                new PmdStatsClearCommand(dp).run(bad);
                throw new AssertionError("took " + bad);
            } catch (io.pvio.unixctl.UnixctlException e) {
                assertEquals(3000, received(0));
            }
        }
        new PmdStatsClearCommand(dp).run(List.of());
        assertEquals(0, received(0));
    }

    /**
     * OVS 3.1's other_config:pmd-maxsleep (what the machine's ovs-vsctl documents) sets the default, with
     * OVS 3.2's warning, once; pmd-sleep-max wins where both are set; a bad value is refused as pmd-sleep-max's.
     */
    @Test
    public void pmdMaxsleepIsTheDefaultAsInOvs32() throws Exception {
        dp.setOtherConfig(Map.of("pmd-maxsleep", "120"));
        assertEquals(120_000, dp.pmdSleepNanos(0));
        assertEquals(120_000, dp.pmdSleepNanos(5));
        dp.setOtherConfig(Map.of("pmd-maxsleep", "0"));
        assertEquals(0, dp.pmdSleepNanos(0));
        assertEquals(1, log.stream().filter(l -> l.equals(
                "WARNING pmd-maxsleep is deprecated. Please use pmd-sleep-max instead.")).count());
        dp.setOtherConfig(Map.of("pmd-maxsleep", "120", "pmd-sleep-max", "7"));
        assertEquals(7_000, dp.pmdSleepNanos(0));
        try {
            dp.setOtherConfig(Map.of("pmd-maxsleep", "lots"));
            org.junit.Assert.fail("accepted pmd-maxsleep=lots");
        } catch (io.pvio.dpif.DpifException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("'lots' is not a number of microseconds"));
        }
        assertEquals(7_000, dp.pmdSleepNanos(0));
    }

    /** As in OVS, a PMD parked by pmd-sleep-max is neither idle nor processing: its cycles stop while it sleeps. */
    @Test
    public void parkedTimeIsNotIdleCycles() throws Exception {
        dp.setOtherConfig(Map.of("pmd-sleep-max", "500"));
        settle();
        new PmdStatsClearCommand(dp).run(List.of());
        long t0 = System.nanoTime();
        Thread.sleep(300);
        String stats = new PmdStatsShowCommand(dp).run(List.of());
        long elapsed = System.nanoTime() - t0;
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("idle cycles: (\\d+) .*\n  processing cycles: (\\d+) ")
                .matcher(stats);
        assertTrue(stats, m.find());
        long cycles = Long.parseLong(m.group(1)) + Long.parseLong(m.group(2));
        assertTrue("an idle PMD sleeps most of the " + elapsed / 1000 + " us\n" + stats, cycles < elapsed / 2);
    }

    private io.pvio.dpif.Dpif.TableStats table(String bridge) {
        try {
            return dp.tableStats(bridge);
        } catch (io.pvio.dpif.DpifException e) {
            throw new AssertionError(e);
        }
    }

    /** Table statistics per bridge: every packet looked up, those that hit a flow; misses are dropped. */
    @Test
    public void tableStatsCountLookupsAndMatchesPerBridge() throws Exception {
        dp.addBridge("br0");
        dp.addBridge("br1");
        dp.delFlows("br0", null);
        dp.addFlow("br0", "in_port=1,actions=output:2"); // g2's packets miss
        dp.addPort("br0", "g1", "pktgen", Map.of("count", "300", "enabled", "false"), 1);
        dp.addPort("br0", "g2", "pktgen", Map.of("count", "200", "enabled", "false"), 2);
        assertEquals(new io.pvio.dpif.Dpif.TableStats(0, 0), dp.tableStats("br0"));
        dp.setInterface("g1", null, Map.of("count", "300"));
        dp.setInterface("g2", null, Map.of("count", "200"));
        await(() -> "all looked up: " + table("br0"), () -> table("br0").lookups() == 500);
        settle();
        assertEquals(new io.pvio.dpif.Dpif.TableStats(500, 300), dp.tableStats("br0"));
        assertEquals(300, DummyPorts.pktgen("g2").received());
        new PmdStatsClearCommand(dp).run(List.of()); // as in OVS, not table statistics
        assertEquals(new io.pvio.dpif.Dpif.TableStats(500, 300), dp.tableStats("br0"));
        assertEquals(new io.pvio.dpif.Dpif.TableStats(0, 0), dp.tableStats("br1"));
    }

    @Test
    public void pmdMaskChangesLiveWithoutLossOrLeak() throws Exception {
        crossConnected("0", "0"); // unlimited: traffic runs during every change
        PktgenPort g1 = DummyPorts.pktgen("g1");
        PktgenPort g2 = DummyPorts.pktgen("g2");
        String[] masks = {"0x3", "0x1", "0x6", "0x2", "0xf", "0x5", "0x1"};
        for (String m : masks) {
            long before = g2.received() + g1.received();
            await("traffic flows", () -> g2.received() + g1.received() > before + 1000);
            dp.setOtherConfig(Map.of("pmd-cpu-mask", m));
            assertEquals(Long.bitCount(Long.decode(m)), dp.pmdThreadNames().size());
        }
        assertEquals(List.of("pmd-c00"), dp.pmdThreadNames());
        // stop both generators, then everything generated must arrive, valid and in order
        dp.setInterface("g1", null, Map.of("count", "0", "enabled", "false"));
        dp.setInterface("g2", null, Map.of("count", "0", "size", "300", "flows", "8", "enabled", "false"));
        await(() -> "all received: " + g1.show() + g2.show(),
                () -> g2.received() == g1.generated() && g1.received() == g2.generated());
        assertTrue(g1.generated() > 7000);
        for (PktgenPort p : List.of(g1, g2)) {
            PktgenPort other = p == g1 ? g2 : g1;
            assertEquals(other.generated(), p.rxValid());
            assertEquals(0, p.rxLost() + p.rxOutOfOrder() + p.rxDuplicate() + p.rxCorrupt() + p.rxOther());
        }
        assertEquals(0, dp.droppedPackets());
        settle();
        assertEquals(0, dp.pool().inUse());
    }

    @Test
    public void sharedTxqsWhenPmdsOutnumberQueues() throws Exception {
        dp.setOtherConfig(Map.of("pmd-cpu-mask", "0x3"));
        assertEquals(List.of("pmd-c00", "pmd-c01"), dp.pmdThreadNames());
        dp.addBridge("br0");
        dp.addPort("br0", "s1", "dummy", Map.of("n_rxq", "2"), 1);
        dp.addPort("br0", "s2", "dummy", Map.of("n_txq", "1"), 2);
        dp.addPort("br0", "s3", "dummy", Map.of("n_txq", "2"), 3);
        dp.addFlow("br0", "priority=10,in_port=1,actions=output:2,output:3");
        DummyPort s1 = DummyPorts.dummy("s1");
        DummyPort s2 = DummyPorts.dummy("s2");
        DummyPort s3 = DummyPorts.dummy("s3");
        String rxq = dp.pmdRxqShow();
        assertTrue(rxq, rxq.contains("core_id 0:\n  isolated : false\n  port: s1                queue-id:  0"));
        assertTrue(rxq, rxq.contains("core_id 1:\n  isolated : false\n  port: s1                queue-id:  1"));
        for (int q = 0; q < 2; q++) {
            for (int i = 0; i < 10; i++) {
                assertTrue(s1.receive(q, eth("52:54:00:00:00:02", "52:54:00:00:00:01", 0x0800, 64)));
            }
        }
        await("sent", () -> s2.sentPackets() == 20 && s3.sentPackets() == 20);
        assertTrue(s2.sawConcurrentTxq()); // 2 PMDs, 1 txq: shared
        assertEquals(20, s2.sentPackets(0));
        assertFalse(s3.sawConcurrentTxq()); // 2 PMDs, 2 txqs: one each
        assertEquals(10, s3.sentPackets(0));
        assertEquals(10, s3.sentPackets(1));
        settle();
        assertEquals(0, dp.pool().inUse());
    }

    @Test
    public void deactivateWithTrafficRunningReturnsEveryBuffer() throws Exception {
        crossConnected("0", "0");
        dp.setOtherConfig(Map.of("pmd-cpu-mask", "0x3"));
        PktgenPort g2 = DummyPorts.pktgen("g2");
        assertNotNull(g2);
        await("traffic", () -> g2.received() > 10000);
        dp.deactivate();
        assertEquals(0, dp.pool().inUse());
        assertNull(DummyPorts.pktgen("g2"));
    }

    /** As with ovs-ofctl: ports named in a flow are resolved to their numbers; unknown names are refused. */
    @Test
    public void flowsNamePortsAndTrafficFollowsThem() throws Exception {
        dp.addBridge("br0");
        dp.addPort("br0", "s1", "dummy", Map.of(), 5);
        dp.addPort("br0", "s2", "dummy", Map.of(), 7);
        dp.addPort("br0", "s3", "dummy", Map.of(), 9);
        dp.delFlows("br0", null);
        dp.addFlow("br0", "in_port=s1,action=output:s3");
        dp.addFlow("br0", "in_port=s2 actions=s1");
        assertEquals(List.of("in_port=5,actions=output:9", "in_port=7,actions=output:5"), dp.flows("br0"));
        DummyPort s1 = DummyPorts.dummy("s1");
        DummyPort s3 = DummyPorts.dummy("s3");
        assertTrue(s1.receive(0, eth("52:54:00:00:00:02", "52:54:00:00:00:01", 0x0800, 64)));
        await("sent to s3", () -> s3.sentPackets() == 1);
        for (String[] bad : new String[][] {
            {"in_port=s9,actions=output:s1", "s9: invalid or unknown port for in_port"},
            {"in_port=s1,actions=output:s9", "s9: output to unknown port"},
            {"in_port=s1,actions=s9", "unknown action s9"},
            {"in_port=s1", "must specify an action"}}) {
            try {
                dp.addFlow("br0", bad[0]);
                throw new AssertionError("accepted " + bad[0]);
            } catch (io.pvio.dpif.DpifException e) {
                assertTrue(e.getMessage(), e.getMessage().endsWith(bad[1])
                        || e.getMessage().contains(bad[1] + " ("));
            }
        }
        // a refused option names the port once, though the netdev class names it too
        dp.addPort("br0", "g9", "pktgen", Map.of("enabled", "false"), 11);
        try {
            dp.setInterface("g9", null, Map.of("enabled", "maybe"));
            throw new AssertionError("accepted enabled=maybe");
        } catch (io.pvio.dpif.DpifException e) {
            assertEquals("g9: option enabled='maybe' is not true or false", e.getMessage());
        }
        dp.delPort("g9");
        assertEquals(1, dp.delFlows("br0", "in_port=s2"));
        assertEquals(List.of("in_port=5,actions=output:9"), dp.flows("br0"));
        settle();
    }
}
