package io.pvio.dpif.netdev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.After;
import org.junit.Assume;
import org.junit.Before;
import org.junit.Test;

/**
 * OVS's PMD auto load balance (other_config:pmd-auto-lb): a PMD overloaded for a minute makes a dry run of the
 * assignment, and a rebalance follows when it lowers the variance of the PMDs' loads enough. Runs in the
 * surefire execution that shortens the PMD interval to 200 ms ({@code pvio.dpif.pmd-interval-ms}), so that
 * OVS's minute (12 intervals) lasts 2.4 s; skipped in the others.
 */
public class PmdAutoLbTest extends DpTest {
    private final Logger logger = Logger.getLogger("dpif_netdev");
    private Level level;

    @Before
    public void shortIntervalsAndDebugLog() {
        Assume.assumeTrue("needs -Dpvio.dpif.pmd-interval-ms=200 (its own surefire execution)",
                RxqLoad.INTERVAL_NS <= 500_000_000L);
        level = logger.getLevel();
        logger.setLevel(Level.FINE); // the dry run's reasons, which OVS logs at DBG
    }

    @After
    public void restoreLog() {
        if (level != null || logger.getLevel() == Level.FINE) {
            logger.setLevel(level);
        }
    }

    /**
     * cycles with nothing measured yet puts ports b and c (by name: a, b, c, d to PMDs 0, 1, 1, 0) on one PMD;
     * once both are busy, that PMD is overloaded, the dry run finds the variance improved and the queues are
     * assigned again, on two PMDs. Then both PMDs are busy alike: no further rebalance.
     */
    @Test
    public void anOverloadedPmdIsRebalanced() throws Exception {
        fourPorts("cycles", "a", "d");
        assertEquals(core("b"), core("c"));
        log.clear();
        dp.setInterface("b", null, Map.of("enabled", "true"));
        dp.setInterface("c", null, Map.of("enabled", "true"));
        await(log::toString, () -> log.contains("INFO PMD auto load balance dry run. Requesting datapath reconfigure."));
        await(dp::pmdRxqShow, () -> core("b") != core("c"));
        int dry = log.indexOf("INFO PMD auto load balance dry run. Requesting datapath reconfigure.");
        assertTrue(log.toString(), log.subList(dry, log.size())
                .contains("INFO Performing pmd to rx queue assignment using cycles algorithm."));
        assertTrue(log.toString(), log.stream().anyMatch(l -> l.matches(
                "FINE Numa node 0\\. Current variance \\d+ Estimated variance \\d+\\. Variance improvement \\d+%\\.")));
        assertTrue(log.toString(), log.contains("FINE PMD load variance improvement threshold 25% is met."));
        int b = core("b");
        log.clear();
        await(log::toString, () -> log.contains("FINE PMD load variance improvement threshold 25% is not met."));
        assertFalse(log.toString(), log.contains("INFO PMD auto load balance dry run. Requesting datapath reconfigure."));
        assertEquals(b, core("b"));
        stop("b", "c");
    }

    /** roundrobin places b and d on one PMD; it stays overloaded, as OVS never rebalances roundrobin. */
    @Test
    public void roundRobinIsNotRebalanced() throws Exception {
        fourPorts("roundrobin", "a", "c");
        assertEquals(core("b"), core("d"));
        dp.setInterface("b", null, Map.of("enabled", "true"));
        dp.setInterface("d", null, Map.of("enabled", "true"));
        await(log::toString, () -> log.contains(
                "FINE PMD auto load balance nothing to do, pmd-rxq-assign=roundrobin assignment type configured."));
        assertFalse(log.toString(), log.contains("INFO PMD auto load balance dry run. Requesting datapath reconfigure."));
        assertEquals(core("b"), core("d"));
        stop("b", "d");
    }

    /**
     * One busy queue, b, beside an idle one on its PMD: a PMD overloaded, but no assignment would spread one
     * queue's load, so the dry run finds no improvement and nothing moves. With pmd-auto-lb off nothing is
     * even checked.
     */
    @Test
    public void noImprovementNoRebalance() throws Exception {
        fourPorts("cycles", "a", "c", "d");
        int b = core("b");
        dp.setInterface("b", null, Map.of("enabled", "true"));
        await(log::toString, () -> log.contains("FINE PMD load variance improvement threshold 25% is not met."));
        assertFalse(log.toString(), log.contains("INFO PMD auto load balance dry run. Requesting datapath reconfigure."));
        assertEquals(b, core("b"));

        Map<String, String> off = new HashMap<>(dp.otherConfig());
        off.put("pmd-auto-lb", "false");
        dp.setOtherConfig(off);
        assertTrue(log.toString(), log.contains("INFO PMD auto load balance is disabled."));
        log.clear();
        Thread.sleep(3 * AutoLb.MINUTE_NS / 2_000_000); // one and a half of its minutes, a PMD busy throughout
        assertFalse(log.toString(), log.stream().anyMatch(l -> l.contains("auto load balance")
                || l.contains("variance")));
        stop("b");
    }

    /**
     * Two PMDs and ports a to d (ofports 1 to 4) assigned with {@code assign}; the pktgens among them, named
     * by not being in {@code dummies}, start disabled, so that the assignment sees no load. pmd-auto-lb is on,
     * with a load threshold of 50 % (a PMD polling a pktgen is busy nearly all the time).
     */
    private void fourPorts(String assign, String... dummies) throws Exception {
        dp.setOtherConfig(Map.of("pmd-cpu-mask", "0x3", "pmd-rxq-assign", assign, "pmd-auto-lb", "true",
                "pmd-auto-lb-load-threshold", "50"));
        assertTrue(log.toString(), log.contains("INFO PMD auto load balance is enabled, interval 1 mins, pmd load"
                + " threshold 50%, improvement threshold 25%."));
        dp.addBridge("br0");
        dp.delFlows("br0", null);
        String[] names = {"a", "b", "c", "d"};
        for (int i = 0; i < names.length; i++) {
            boolean dummy = java.util.Arrays.asList(dummies).contains(names[i]);
            dp.addPort("br0", names[i], dummy ? "dummy" : "pktgen", dummy ? Map.of() : Map.of("enabled", "false"),
                    i + 1);
            if (!dummy) {
                dp.addFlow("br0", "in_port=" + (i + 1) + ",actions=drop");
            }
        }
    }

    private void stop(String... pktgens) throws Exception {
        for (String p : pktgens) {
            dp.setInterface(p, null, Map.of("enabled", "false"));
        }
        settle();
    }
}
