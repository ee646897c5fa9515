package io.pvio.dpif.netdev.flow;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.List;
import org.junit.Test;

public class FlowParserTest {
    private static final long A = FlowParser.parseMac("52:54:00:00:00:01");
    private static final long B = FlowParser.parseMac("52:54:00:00:00:02");

    @Test
    public void goodFlowsParseAndPrintLikeOvsOfctl() {
        assertEquals("priority=10,in_port=1,dl_dst=52:54:00:00:00:01 actions=output:2",
                strip(FlowParser.parseFlow("priority=10,in_port=1,dl_dst=52:54:00:00:00:01,actions=output:2")));
        assertEquals("priority=0 actions=NORMAL", strip(FlowParser.parseFlow("priority=0,actions=NORMAL")));
        assertEquals("actions=drop", strip(FlowParser.parseFlow("actions=")));
        assertEquals("actions=drop", strip(FlowParser.parseFlow("actions=drop")));
        assertEquals("in_port=3 actions=output:1,output:2", strip(FlowParser.parseFlow("in_port=3 actions=1,output:2")));
        assertEquals("priority=5,ip,dl_src=52:54:00:00:00:02 actions=FLOOD",
                strip(FlowParser.parseFlow("priority=5, dl_src=52:54:00:00:00:02, ip, actions=flood")));
        assertEquals("dl_type=0x88cc actions=NORMAL", strip(FlowParser.parseFlow("dl_type=0x88cc,actions=normal")));
        assertEquals("ip actions=NORMAL", strip(FlowParser.parseFlow("dl_type=0x0800,actions=normal")));
        assertEquals("in_port=99 actions=output:42", strip(FlowParser.parseFlow("table=0,cookie=0x0,in_port=99,actions=42")));
        assertEquals("in_port=1 actions=output:2", strip(FlowParser.parseFlow("in_port=1,action=output:2")));
        assertEquals("dl_dst=52:54:00:00:00:01,dl_type=0x88cc actions=drop",
                strip(FlowParser.parseFlow("eth_dst=52:54:00:00:00:01,eth_type=0x88cc,actions=drop")));
        String line = FlowParser.parseFlow("priority=0,actions=NORMAL").dumpLine(System.nanoTime());
        assertTrue(line, line.matches(" cookie=0x0, duration=\\d+\\.\\d{3}s, table=0, n_packets=0, n_bytes=0, idle_age=0, priority=0 actions=NORMAL"));
    }

    private static String strip(Flow f) {
        String l = f.dumpLine(System.nanoTime());
        return l.substring(l.indexOf("idle_age=0, ") + "idle_age=0, ".length());
    }

    @Test
    public void malformedFlowsAreRefusedClearly() {
        String[][] cases = {
            {"in_port=1,actions=output:2,nw_src=1.2.3.4", "unknown action"},
            {"nw_src=10.0.0.1,actions=drop", "field nw_src is not supported by pvio (it matches priority"},
            {"tcp,actions=drop", "field tcp is not supported by pvio"},
            {"foo=1,actions=drop", "unknown keyword foo"},
            {"actions=mod_dl_src:52:54:00:00:00:01", "action mod_dl_src is not supported by pvio"},
            {"actions=resubmit(,1)", "action resubmit is not supported by pvio"},
            {"dl_src=52:54:00:00:01,actions=drop", "not a MAC address"},
            {"dl_dst=zz:54:00:00:00:01,actions=drop", "not a MAC address"},
            {"in_port=1", "must specify an action"},
            {"priority=70000,actions=drop", "out of range"},
            {"in_port=0,actions=drop", "out of range"},
            {"in_port=x,actions=drop", "x: invalid or unknown port for in_port"},
            {"in_port=,actions=drop", "field in_port missing value"},
            {"actions=output:x", "x: output to unknown port"},
            {"actions=drop,output:1", "drop must be the only action"},
            {"actions=output:", "not a number"},
            {"actions=controller(id=2)", "action controller is not supported by pvio"},
            {"actions=bogus", "unknown action bogus"},
            {"ip,arp,actions=drop", "conflicts"},
            {"ipx,actions=drop", "unknown keyword ipx"},
            {"table=1,actions=drop", "only table 0"},
            {"dl_src=52:54:00:00:00:01/ff:ff:ff:00:00:00,actions=drop", "masks are not supported"},
        };
        for (String[] c : cases) {
            try {
                FlowParser.parseFlow(c[0]);
                fail("accepted " + c[0]);
            } catch (IllegalArgumentException e) {
                assertTrue(c[0] + " -> " + e.getMessage(), e.getMessage().contains(c[1]));
            }
        }
        try {
            FlowParser.parseMatch("in_port=1,actions=drop");
            fail();
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().contains("not allowed"));
        }
    }

    @Test
    public void priorityOrderReplaceAndNonStrictDelete() {
        Flow normal = FlowParser.parseFlow("priority=0,actions=NORMAL");
        Flow toA = FlowParser.parseFlow("priority=100,dl_dst=52:54:00:00:00:01,actions=output:1");
        Flow in1 = FlowParser.parseFlow("priority=50,in_port=1,actions=output:2");
        Flow in1dl = FlowParser.parseFlow("priority=200,in_port=1,dl_src=52:54:00:00:00:02,actions=drop");
        FlowTable t = new FlowTable(normal).with(in1).with(toA).with(in1dl);
        assertEquals(List.of(in1dl, toA, in1, normal), t.flows());
        assertSame(in1dl, t.lookup(1, B, A, 0x800));
        assertSame(toA, t.lookup(1, A, A, 0x800));
        assertSame(in1, t.lookup(1, A, B, 0x800));
        assertSame(normal, t.lookup(2, A, B, 0x800));
        Flow in1b = FlowParser.parseFlow("priority=50,in_port=1,actions=output:3");
        FlowTable t2 = t.with(in1b);
        assertEquals(4, t2.size());
        assertSame(in1b, t2.lookup(1, A, B, 0x800));
        // non-strict: "in_port=1" removes both in_port=1 flows, not the others
        FlowTable t3 = t2.without(FlowParser.parseMatch("in_port=1"));
        assertEquals(List.of(toA, normal), t3.flows());
        assertEquals(0, t3.without(FlowParser.parseMatch("")).size());
        assertNull(new FlowTable().lookup(1, A, B, 0));
    }

    /**
     * idle_age never exceeds the whole seconds of the flow's duration, as in OVS, though the last hit's second
     * is a tick of a coarser clock: a flow added just before a tick shows idle_age=0 at duration=0.850s.
     */
    @Test
    public void idleAgeIsNeverAboveTheDuration() {
        long t0 = System.nanoTime();
        long lo = t0;
        long hi = t0 + 1_000_000_000L; // the next tick of MacTable.nowSeconds is in (lo, hi]
        while (hi - lo > 1) {
            long mid = lo + (hi - lo) / 2;
            if (MacTable.nowSeconds(mid) == MacTable.nowSeconds(t0)) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        long created = hi - 100_000_000L;
        Flow f = new Flow(Flow.DEFAULT_PRIORITY, 1, -1, -1, -1, 0, new int[] {2}, created, created, 0, 0, 0);
        long now = created + 850_000_000L;
        assertEquals(MacTable.nowSeconds(created) + 1, MacTable.nowSeconds(now)); // a tick between
        assertEquals(0, f.idleAge(now));
        assertTrue(f.dumpLine(now), f.dumpLine(now).contains(" duration=0.850s, table=0, n_packets=0, n_bytes=0,"
                + " idle_age=0, in_port=1 actions=output:2"));
        assertEquals(2, f.idleAge(created + 2_500_000_000L));
    }

    /**
     * OVS's rule_expire: the hard timeout counts from the last modification, the idle timeout from the last
     * hit (kept to the second: its whole second counts as used) and never before the flow is that old.
     */
    @Test
    public void expiryAsOvsRuleExpire() {
        long t = System.nanoTime();
        Flow hard = new Flow(5, 1, -1, -1, -1, 0, new int[0], t, t + 1_000_000_000L, 0, 2, 1);
        assertEquals(-1, hard.expiry(t + 2_900_000_000L));
        assertEquals(io.pvio.dpif.FlowRemoval.HARD_TIMEOUT, hard.expiry(t + 3_000_000_001L));
        Flow both = new Flow(5, 1, -1, -1, -1, 0, new int[0], t, t, 1, 2, 1);
        assertEquals("the hard timeout first", io.pvio.dpif.FlowRemoval.HARD_TIMEOUT, both.expiry(t + 2_000_000_001L));

        Flow idle = new Flow(5, 1, -1, -1, -1, 0, new int[0], t, t, 2, 0, 0);
        assertEquals(-1, idle.expiry(t + 2_000_000_000L));
        assertEquals(io.pvio.dpif.FlowRemoval.IDLE_TIMEOUT, idle.expiry(t + 3_000_000_001L)); // never hit
        long hit = t + 5_000_000_000L;
        idle.count(1, 60, MacTable.nowSeconds(hit));
        assertEquals("two whole seconds after the hit's", -1, idle.expiry(hit + 2_000_000_000L));
        assertEquals(io.pvio.dpif.FlowRemoval.IDLE_TIMEOUT, idle.expiry(hit + 3_000_000_000L));
        assertEquals(-1, new Flow(5, 1, -1, -1, -1, 0, new int[0], t, t, 0, 0, 1).expiry(t + 1_000_000_000_000L));
    }

    /** idle_age: whole seconds since the last hit, or since the flow was added. */
    @Test
    public void idleAgeCountsFromTheLastHit() {
        Flow f = FlowParser.parseFlow("in_port=1,actions=output:2");
        long t = System.nanoTime();
        f.count(1, 64, MacTable.nowSeconds(t + 10_000_000_000L));
        assertEquals(0, f.idleAge(t + 10_000_000_000L));
        assertEquals(5, f.idleAge(t + 15_000_000_000L));
        assertTrue(f.dumpLine(t + 15_000_000_000L), f.dumpLine(t + 15_000_000_000L)
                .contains(" n_packets=1, n_bytes=64, idle_age=5, in_port=1 actions=output:2"));
    }
}
