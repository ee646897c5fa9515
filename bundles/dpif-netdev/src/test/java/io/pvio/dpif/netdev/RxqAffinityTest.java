package io.pvio.dpif.netdev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dpif.DpifException;
import io.pvio.dpif.netdev.appctl.PmdRxqRebalanceCommand;
import io.pvio.dummy.DummyPort;
import io.pvio.dummy.DummyPorts;
import io.pvio.dummy.PktgenPort;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/**
 * Interface other_config:pmd-rxq-affinity and Open_vSwitch other_config:pmd-rxq-isolate / pmd-rxq-assign, as
 * OVS 3.1's rxq_scheduling applies them, with two PMD threads (cores 0 and 1).
 */
public class RxqAffinityTest extends DpTest {
    private static final byte[] FRAME = eth("52:54:00:00:00:02", "52:54:00:00:00:01", 0x0800, 64);
    /** Bridge br0 with dummy ports a and b of two rx queues each, on PMDs of cores 0 and 1. */
    private void twoPortsTwoQueues(Map<String, String> otherConfig) throws Exception {
        java.util.Map<String, String> oc = new java.util.HashMap<>(otherConfig);
        oc.put("pmd-cpu-mask", "0x3");
        oc.putIfAbsent("pmd-rxq-assign", "roundrobin"); // OVS's layout in turn (cycles: up and down)
        dp.setOtherConfig(oc);
        dp.addBridge("br0");
        dp.addPort("br0", "a", "dummy", Map.of("n_rxq", "2"), 1);
        dp.addPort("br0", "b", "dummy", Map.of("n_rxq", "2"), 2);
    }

    /** OVS 3.1's first line of pmd-rxq-show. */
    private static final String HEADER = "Displaying last 60 seconds pmd usage %\n";

    /** pmd-rxq-show without its first line, which must be OVS's (no interval has ended: NOT AVAIL below). */
    private String rxqs() {
        return strip(dp.pmdRxqShow());
    }

    private static String strip(String show) {
        assertTrue(show, show.startsWith(HEADER) || show.isEmpty());
        return show.isEmpty() ? show : show.substring(HEADER.length());
    }

    private static String pmd(int core, boolean isolated, String... queues) {
        StringBuilder sb = new StringBuilder("pmd thread numa_id 0 core_id " + core + ":\n  isolated : " + isolated + "\n");
        for (String q : queues) {
            String[] pq = q.split(":");
            sb.append(String.format("  port: %-16s  queue-id: %2d (enabled)   pmd usage: NOT AVAIL%n", pq[0],
                    Integer.parseInt(pq[1])));
        }
        if (queues.length > 0) {
            sb.append("  overhead: NOT AVAIL\n");
        }
        return sb.toString();
    }

    /** Frames injected on port {@code p}'s queue {@code q} are taken by a PMD (the queue is polled). */
    private void polled(String p, int q) {
        DummyPort d = DummyPorts.dummy(p);
        assertTrue(d.receive(q, FRAME));
        await(() -> p + " queue " + q + " polled: " + rxqs(), () -> d.rxBacklog() == 0);
    }

    @Test
    public void pinnedQueueLandsOnItsCoreWhichPollsNothingElse() throws Exception {
        twoPortsTwoQueues(Map.of());
        assertEquals(pmd(0, false, "a:0", "b:0") + pmd(1, false, "a:1", "b:1"), rxqs());
        log.clear();
        dp.setRxqAffinity("a", "0:1");
        assertEquals(pmd(0, false, "a:1", "b:0", "b:1") + pmd(1, true, "a:0"), rxqs());
        assertEquals(List.of("INFO Core  1 on numa node 0 is pinned with port 'a' rx queue 0",
                "INFO Performing pmd to rx queue assignment using roundrobin algorithm.",
                "INFO Core  0 on numa node 0 assigned port 'a' rx queue 1.",
                "INFO Core  0 on numa node 0 assigned port 'b' rx queue 1."), log); // what moved
        polled("a", 0);
        polled("b", 1);
        // a queue beyond the port's count is ignored; two pins on one core isolate it once
        dp.setRxqAffinity("b", "1:1,7:0");
        assertEquals(pmd(0, false, "a:1", "b:0") + pmd(1, true, "a:0", "b:1"), rxqs());
        // both PMDs isolated: the queue left is not polled
        dp.setRxqAffinity("b", "1:1,0:0");
        assertEquals(pmd(0, true, "b:0") + pmd(1, true, "a:0", "b:1"), rxqs());
        assertTrue(log.toString(), log.contains("WARNING No non-isolated pmd on any numa available for port 'a'"
                + " rx queue 1. This rx queue will not be polled."));
        DummyPort a = DummyPorts.dummy("a");
        assertTrue(a.receive(1, FRAME));
        settle();
        assertEquals(1, a.rxBacklog());
        dp.setRxqAffinity("b", null); // unpinned: polled again
        assertEquals(pmd(0, false, "a:1", "b:0", "b:1") + pmd(1, true, "a:0"), rxqs());
        await("a's queue 1 polled", () -> a.rxBacklog() == 0);
        settle();
        assertEquals(0, dp.pool().inUse());
    }

    /**
     * A kernel port (internal here: dummy ports under the type name) is polled by OVS's main thread: its
     * affinity is ignored, and its queue is polled even when every PMD is isolated.
     */
    @Test
    public void aPortOvsPollsFromItsMainThreadIsNeverPinnedNorLeftUnpolled() throws Exception {
        dp.bindNetdevClass(dummy, Map.of(io.pvio.netdev.NetdevClass.TYPE_PROPERTY, "internal"));
        twoPortsTwoQueues(Map.of());
        dp.addPort("br0", "br0", "internal", Map.of(), -1);
        dp.setRxqAffinity("a", "0:0,1:0");
        dp.setRxqAffinity("br0", "0:0"); // ignored: core 0 is isolated by a's queues alone
        assertEquals(pmd(0, true, "a:0", "a:1") + pmd(1, false, "b:0", "b:1", "br0:0"), rxqs());
        log.clear();
        dp.setRxqAffinity("b", "0:1,1:1"); // every PMD isolated: br0 is still polled
        assertTrue(rxqs(), rxqs().contains("port: br0 "));
        assertTrue(log.toString(), log.stream().noneMatch(l -> l.contains("'br0' rx queue 0. This rx queue will not")));
        polled("br0", 0);
    }

    /** OVS 3.1's arguments: -pmd CORE shows that PMD only; -secs SECS the usage window. */
    @Test
    public void rxqShowTakesPmdAndSecs() throws Exception {
        twoPortsTwoQueues(Map.of());
        io.pvio.dpif.netdev.appctl.PmdRxqShowCommand show = new io.pvio.dpif.netdev.appctl.PmdRxqShowCommand(dp);
        assertEquals(pmd(1, false, "a:1", "b:1"), strip(show.run(List.of("-pmd", "1"))));
        assertEquals("Displaying last 5 seconds pmd usage %\n" + pmd(0, false, "a:0", "b:0"),
                show.run(List.of("-secs", "5", "-pmd", "0", "ovs-netdev")));
        // as OVS: rounded up to whole 5 s intervals, at most 60 (also for 0 or a bad number)
        assertTrue(show.run(List.of("-secs", "7")).startsWith("Displaying last 10 seconds pmd usage %\n"));
        for (String secs : List.of("61", "0", "x")) {
            assertTrue(secs, show.run(List.of("-secs", secs)).startsWith(HEADER));
        }
        assertEquals("", strip(show.run(List.of("-pmd", "7"))));
        assertEquals(rxqs(), strip(show.run(List.of("-secs", "60"))));
        try {
            strip(show.run(List.of("-pmd", "x")));
            fail("accepted -pmd x");
        } catch (io.pvio.unixctl.UnixctlException e) {
            assertEquals("invalid pmd core id: x", e.getMessage());
        }
    }

    @Test
    public void isolateFalseLetsOtherQueuesShareThePinnedCoreWithGroupOnly() throws Exception {
        twoPortsTwoQueues(Map.of("pmd-rxq-isolate", "false")); // assign: roundrobin
        assertTrue(log.toString(),
                log.contains("WARNING pmd-rxq-isolate can only be set false when using pmd-rxq-assign=group"));
        dp.setRxqAffinity("a", "0:1");
        assertEquals(pmd(0, false, "a:1", "b:0", "b:1") + pmd(1, true, "a:0"), rxqs());
        log.clear();
        dp.setOtherConfig(Map.of("pmd-cpu-mask", "0x3", "pmd-rxq-assign", "group", "pmd-rxq-isolate", "false"));
        // group, nothing measured yet: each queue to the PMD with the fewest (core 1 has the pinned one)
        assertEquals(pmd(0, false, "a:1", "b:0") + pmd(1, false, "a:0", "b:1"), rxqs());
        assertTrue(log.toString(), log.containsAll(List.of("INFO Rxq to PMD assignment mode changed to: 'group'.",
                "INFO pmd-rxq-affinity does not isolate PMD core",
                "INFO Performing pmd to rx queue assignment using group algorithm.",
                "INFO Core  1 on numa node 0 assigned port 'b' rx queue 1 (measured processing cycles 0).")));
        log.clear();
        dp.setOtherConfig(Map.of("pmd-cpu-mask", "0x3", "pmd-rxq-assign", "group")); // isolate: true again
        assertEquals(pmd(0, false, "a:1", "b:0", "b:1") + pmd(1, true, "a:0"), rxqs());
        assertTrue(log.toString(), log.contains("INFO pmd-rxq-affinity isolates PMD core"));
    }

    /**
     * pmd-auto-lb and its settings, logged as OVS logs them when they change (a value out of range takes the
     * default, as OVS; one that is not a number too, with a warning); the assignment stays as it is.
     */
    @Test
    public void autoLoadBalanceSettingsAsOvs() throws Exception {
        twoPortsTwoQueues(Map.of());
        String before = rxqs();
        log.clear();
        Map<String, String> alb = new HashMap<>(Map.of("pmd-cpu-mask", "0x3", "pmd-rxq-assign", "roundrobin",
                "pmd-auto-lb", "true"));
        dp.setOtherConfig(alb);
        dp.setOtherConfig(alb);
        assertEquals(List.of("INFO PMD auto load balance is enabled, interval 1 mins, pmd load threshold 95%,"
                + " improvement threshold 25%."), log);
        log.clear();
        alb.putAll(Map.of("pmd-auto-lb-rebal-interval", "5", "pmd-auto-lb-load-threshold", "70",
                "pmd-auto-lb-improvement-threshold", "101"));
        dp.setOtherConfig(alb);
        assertEquals(List.of("INFO PMD auto load balance interval set to 5 mins",
                "INFO PMD auto load balance load threshold set to 70%",
                "INFO PMD auto load balance is enabled, interval 5 mins, pmd load threshold 70%, improvement"
                        + " threshold 25%."), log);
        log.clear();
        alb.putAll(Map.of("pmd-auto-lb-rebal-interval", "0", "pmd-auto-lb-load-threshold", "x",
                "pmd-auto-lb-improvement-threshold", "10", "pmd-auto-lb", "false"));
        dp.setOtherConfig(alb);
        assertEquals(List.of("WARNING pmd-auto-lb-load-threshold 'x' is not a non-negative decimal number: using 95",
                "INFO PMD auto load balance interval set to 1 mins",
                "INFO PMD auto load balance improvement threshold set to 10%",
                "INFO PMD auto load balance load threshold set to 95%",
                "INFO PMD auto load balance is disabled."), log);
        assertEquals(before, rxqs());
    }

    @Test
    public void assignModesAndABadOneAsOvs() throws Exception {
        twoPortsTwoQueues(Map.of("pmd-rxq-assign", "roundrobin"));
        assertTrue(log.toString(), log.contains("INFO Rxq to PMD assignment mode changed to: 'roundrobin'."));
        log.clear();
        dp.setOtherConfig(Map.of("pmd-cpu-mask", "0x3", "pmd-rxq-assign", "nosuch"));
        assertEquals(List.of("WARNING Unsupported rx queue to PMD assignment mode in pmd-rxq-assign. Defaulting to"
                + " 'cycles'.", "INFO Rxq to PMD assignment mode changed to: 'cycles'."), log.subList(0, 2));
        // cycles, nothing measured yet: ports by name, the PMDs up and down (0, 1, 1, 0), as OVS
        assertEquals(pmd(0, false, "a:0", "b:1") + pmd(1, false, "a:1", "b:0"), rxqs());
    }

    /**
     * OVS 3.1 (since 2.16): a queue pinned to a core without PMD is logged and assigned to another PMD, which
     * it does not isolate; it moves to its core when that core gets a PMD.
     */
    @Test
    public void queuePinnedToAMissingCoreGoesElsewhereUntilTheCoreComes() throws Exception {
        twoPortsTwoQueues(Map.of());
        log.clear();
        dp.setRxqAffinity("a", "1:5");
        assertEquals(pmd(0, false, "a:0", "b:0") + pmd(1, false, "a:1", "b:1"), rxqs());
        assertTrue(log.toString(), log.contains("WARNING Core  5 cannot be pinned with port 'a' rx queue 1. Use"
                + " pmd-cpu-mask to enable a pmd on core 5. An alternative core will be assigned."));
        polled("a", 1);
        log.clear();
        dp.setOtherConfig(Map.of("pmd-cpu-mask", "0x23", "pmd-rxq-assign", "roundrobin"));
        assertEquals(pmd(0, false, "a:0", "b:1") + pmd(1, false, "b:0") + pmd(5, true, "a:1"), rxqs());
        assertTrue(log.toString(), log.contains("INFO Core  5 on numa node 0 is pinned with port 'a' rx queue 1"));
        polled("a", 1);
        // gone again: elsewhere, polled
        dp.setOtherConfig(Map.of("pmd-cpu-mask", "0x3", "pmd-rxq-assign", "roundrobin"));
        assertEquals(pmd(0, false, "a:0", "b:0") + pmd(1, false, "a:1", "b:1"), rxqs());
        polled("a", 1);
        // every PMD isolated by other pins: the queue pinned to the missing core is not polled until it comes
        dp.setRxqAffinity("b", "0:0,1:1");
        dp.setRxqAffinity("a", "0:0,1:5");
        assertEquals(pmd(0, true, "a:0", "b:0") + pmd(1, true, "b:1"), rxqs());
        assertTrue(log.toString(), log.contains("WARNING No non-isolated pmd on any numa available for port 'a'"
                + " rx queue 1. This rx queue will not be polled."));
        DummyPort a = DummyPorts.dummy("a");
        assertTrue(a.receive(1, FRAME));
        settle();
        assertEquals(1, a.rxBacklog());
        dp.setOtherConfig(Map.of("pmd-cpu-mask", "0x23", "pmd-rxq-assign", "roundrobin"));
        assertEquals(pmd(0, true, "a:0", "b:0") + pmd(1, true, "b:1") + pmd(5, true, "a:1"), rxqs());
        await("a's queue 1 polled on core 5", () -> a.rxBacklog() == 0);
        settle();
        assertEquals(0, dp.pool().inUse());
    }

    @Test
    public void malformedAffinityIsRefusedAndTheOneInForceKept() throws Exception {
        for (String bad : List.of("0:x", "a", "0", "0:", "0:-1", "-1:0", "0:1,1", "x:1", "0:08", "0:0x", "0:9999999999",
                "0:2147483648", "0:1\u0663", "0:+-1")) {
            assertNull(bad, DpifNetdev.parseAffinity(bad));
        }
        assertEquals(Map.of(0, 1, 1, 0), DpifNetdev.parseAffinity("0:1,1:0"));
        assertEquals(Map.of(0, 1, 1, 0), DpifNetdev.parseAffinity(" 0=1  1:0x0, "));
        assertEquals(Map.of(1, 8, 2, 3), DpifNetdev.parseAffinity("01:010,2(3)"));
        assertEquals(Map.of(0, 2), DpifNetdev.parseAffinity("0:1,0:2"));
        assertEquals(Map.of(0, 2147483647, 1, 0), DpifNetdev.parseAffinity("+0:2147483647,1:-0"));
        assertEquals(Map.of(), DpifNetdev.parseAffinity(""));
        twoPortsTwoQueues(Map.of());
        dp.setRxqAffinity("a", "0:1");
        String before = rxqs();
        try {
            dp.setRxqAffinity("a", "0:x");
            fail();
        } catch (DpifException e) {
            assertEquals("a: pmd-rxq-affinity '0:x' is not a list of <rxq>:<core> pairs (Invalid argument)",
                    e.getMessage());
        }
        assertEquals(before, rxqs());
        try {
            dp.setRxqAffinity("nosuch", "0:1");
            fail();
        } catch (DpifException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("nosuch"));
        }
    }

    /**
     * Queues move between PMDs (pinned, unpinned, rebalanced) while traffic runs: every packet generated
     * arrives, in order, none lost or leaked.
     */
    @Test
    public void trafficExactAcrossPinningAndRebalance() throws Exception {
        dp.setOtherConfig(Map.of("pmd-cpu-mask", "0x3", "pmd-rxq-assign", "roundrobin"));
        dp.addBridge("br0");
        dp.delFlows("br0", null);
        dp.addFlow("br0", "in_port=1,actions=output:2");
        dp.addFlow("br0", "in_port=2,actions=output:1");
        dp.addPort("br0", "g1", "pktgen", Map.of("count", "0", "n_rxq", "2", "enabled", "false"), 1);
        dp.addPort("br0", "g2", "pktgen", Map.of("count", "0", "n_rxq", "2", "enabled", "false"), 2);
        dp.setInterface("g1", null, Map.of("count", "0", "n_rxq", "2"));
        dp.setInterface("g2", null, Map.of("count", "0", "n_rxq", "2"));
        PktgenPort g1 = DummyPorts.pktgen("g1");
        PktgenPort g2 = DummyPorts.pktgen("g2");
        PmdRxqRebalanceCommand rebalance = new PmdRxqRebalanceCommand(dp);
        String[][] steps = {{"g1", "0:1,1:1"}, {"g2", "0:0"}, {"g1", null}, {"g2", "1:1"}, {"g2", null}};
        for (String[] s : steps) {
            long before = g1.received() + g2.received();
            await("traffic flows", () -> g1.received() + g2.received() > before + 1000);
            dp.setRxqAffinity(s[0], s[1]);
            long mid = g1.received() + g2.received();
            await("traffic flows", () -> g1.received() + g2.received() > mid + 1000);
            log.clear();
            assertEquals("pmd rxq rebalance requested.\n", rebalance.run(List.of()));
            assertTrue(log.toString(), log.contains("INFO Performing pmd to rx queue assignment using roundrobin"
                    + " algorithm."));
        }
        assertEquals(4, log.stream().filter(l -> l.startsWith("INFO Core ")).count()); // every queue, as OVS
        try {
            rebalance.run(List.of("nosuch"));
            fail();
        } catch (io.pvio.unixctl.UnixctlException e) {
            assertEquals("please specify an existing datapath", e.getMessage());
        }
        dp.setInterface("g1", null, Map.of("count", "0", "n_rxq", "2", "enabled", "false"));
        dp.setInterface("g2", null, Map.of("count", "0", "n_rxq", "2", "enabled", "false"));
        await(() -> "all received: " + g1.show() + g2.show(),
                () -> g2.received() == g1.generated() && g1.received() == g2.generated());
        for (PktgenPort p : List.of(g1, g2)) {
            PktgenPort other = p == g1 ? g2 : g1;
            assertEquals(other.generated(), p.rxValid());
            assertEquals(0, p.rxLost() + p.rxOutOfOrder() + p.rxDuplicate() + p.rxCorrupt() + p.rxOther());
        }
        assertEquals(0, dp.droppedPackets());
        settle();
        assertEquals(0, dp.pool().inUse());
    }
}
