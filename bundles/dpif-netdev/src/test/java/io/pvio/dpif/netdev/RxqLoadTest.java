package io.pvio.dpif.netdev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import io.pvio.dpif.netdev.appctl.PmdRxqRebalanceCommand;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.Test;

/**
 * Rx queue loads as OVS measures them (the time of the polls that received, per 5 s interval), shown by
 * pmd-rxq-show and used by pmd-rxq-assign=cycles and group when the queues are assigned again.
 */
public class RxqLoadTest extends DpTest {
    /**
     * Busy ports a and c, idle b and d, two PMDs. Round-robin by name puts both busy queues on core 0; once
     * their load is measured, a rebalance with cycles puts the busiest first, on different PMDs (up and down),
     * and group does too (each to the least loaded PMD).
     */
    @Test
    public void measuredLoadsSpreadTheBusyQueues() throws Exception {
        dp.setOtherConfig(Map.of("pmd-cpu-mask", "0x3", "pmd-rxq-assign", "roundrobin"));
        dp.addBridge("br0");
        dp.delFlows("br0", null);
        dp.addPort("br0", "a", "pktgen", Map.of("enabled", "false"), 1);
        dp.addPort("br0", "b", "dummy", Map.of(), 2);
        dp.addPort("br0", "c", "pktgen", Map.of("enabled", "false"), 3);
        dp.addPort("br0", "d", "dummy", Map.of(), 4);
        dp.addFlow("br0", "in_port=1,actions=output:2");
        dp.addFlow("br0", "in_port=3,actions=output:4");
        assertEquals(core("a"), core("c")); // round-robin: a, b, c, d -> 0, 1, 0, 1
        dp.setInterface("a", null, Map.of("enabled", "true"));
        dp.setInterface("c", null, Map.of("enabled", "true"));
        await(dp::pmdRxqShow, () -> !dp.pmdRxqShow().contains("NOT AVAIL"));
        String show = dp.pmdRxqShow();
        assertTrue(show, usage(show, "b") == 0 && usage(show, "d") == 0);
        await(dp::pmdRxqShow, () -> usage(dp.pmdRxqShow(), "a") > 0 && usage(dp.pmdRxqShow(), "c") > 0);

        dp.setOtherConfig(Map.of("pmd-cpu-mask", "0x3", "pmd-rxq-assign", "cycles"));
        log.clear();
        assertEquals("pmd rxq rebalance requested.\n", new PmdRxqRebalanceCommand(dp).run(List.of()));
        assertNotEquals(dp.pmdRxqShow(), core("a"), core("c"));
        assertTrue(log.toString(), log.contains("INFO Performing pmd to rx queue assignment using cycles algorithm."));
        assertTrue(log.toString(), cycles("a") > 0 && cycles("c") > 0 && cycles("b") == 0);

        dp.setOtherConfig(Map.of("pmd-cpu-mask", "0x3", "pmd-rxq-assign", "group"));
        new PmdRxqRebalanceCommand(dp).run(List.of());
        assertNotEquals(dp.pmdRxqShow(), core("a"), core("c"));
        dp.setInterface("a", null, Map.of("enabled", "false"));
        dp.setInterface("c", null, Map.of("enabled", "false"));
        settle();
    }

    /** Port {@code port}'s usage in pmd-rxq-show's text {@code show}. */
    private static int usage(String show, String port) {
        Matcher m = Pattern.compile(String.format("  port: %-16s  queue-id:  0 \\(enabled\\)   pmd usage: +(\\d+) %%",
                port)).matcher(show);
        assertTrue(show, m.find());
        return Integer.parseInt(m.group(1));
    }

    /** The measured cycles the last assignment logged for port {@code port}'s queue 0. */
    private long cycles(String port) {
        Pattern p = Pattern.compile("INFO Core +\\d on numa node 0 assigned port '" + port
                + "' rx queue 0 \\(measured processing cycles (\\d+)\\)\\.");
        for (String l : log) {
            Matcher m = p.matcher(l);
            if (m.matches()) {
                return Long.parseLong(m.group(1));
            }
        }
        throw new AssertionError("no assignment of " + port + " logged: " + log);
    }
}
