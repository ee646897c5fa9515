package io.pvio.dpif.netdev.flow;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;

import java.util.List;
import java.util.Random;
import org.junit.Test;

/** The tuple-space lookup against the definition: the first flow in table order that matches. */
public class FlowTableTest {
    private static final long[] MACS = {0x525400000001L, 0x525400000002L, 0x525400000003L, 0x0a0000000004L};
    private static final int[] TYPES = {0x0800, 0x0806, 0x86dd};

    private static Flow linear(List<Flow> flows, int in, long src, long dst, int type) {
        for (Flow f : flows) {
            if (f.matches(in, src, dst, type)) {
                return f;
            }
        }
        return null;
    }

    private static String mac(long m) {
        return FlowParser.formatMac(m);
    }

    private static Flow randomFlow(Random rnd) {
        StringBuilder sb = new StringBuilder("priority=").append(rnd.nextInt(4) * 100);
        if (rnd.nextBoolean()) {
            sb.append(",in_port=").append(1 + rnd.nextInt(4));
        }
        if (rnd.nextInt(3) == 0) {
            sb.append(",dl_src=").append(mac(MACS[rnd.nextInt(MACS.length)]));
        }
        if (rnd.nextInt(3) == 0) {
            sb.append(",dl_dst=").append(mac(MACS[rnd.nextInt(MACS.length)]));
        }
        if (rnd.nextInt(3) == 0) {
            sb.append(String.format(",dl_type=0x%04x", TYPES[rnd.nextInt(TYPES.length)]));
        }
        return FlowParser.parseFlow(sb.append(",actions=output:").append(1 + rnd.nextInt(9)).toString());
    }

    @Test
    public void lookupIsTheFirstMatchingFlowInTableOrder() {
        Random rnd = new Random(42);
        for (int round = 0; round < 200; round++) {
            FlowTable t = new FlowTable();
            int n = rnd.nextInt(40);
            for (int i = 0; i < n; i++) {
                t = t.with(randomFlow(rnd));
            }
            if (rnd.nextInt(4) == 0) {
                t = t.without(FlowParser.parseMatch("in_port=" + (1 + rnd.nextInt(4))));
            }
            List<Flow> flows = t.flows();
            for (int p = 0; p < 200; p++) {
                int in = 1 + rnd.nextInt(5);
                long src = MACS[rnd.nextInt(MACS.length)];
                long dst = MACS[rnd.nextInt(MACS.length)];
                int type = TYPES[rnd.nextInt(TYPES.length)];
                assertSame("round " + round + " packet " + in + " " + mac(src) + " " + mac(dst) + " " + type,
                        linear(flows, in, src, dst, type), t.lookup(in, src, dst, type));
            }
        }
    }

    @Test
    public void aBurstsLookupIsEachPacketsLookup() {
        Random rnd = new Random(43);
        long[] src = new long[32];
        long[] dst = new long[32];
        int[] type = new int[32];
        int[] ranks = new int[32];
        long[] scratch = new long[32];
        for (int round = 0; round < 300; round++) {
            FlowTable t = new FlowTable();
            for (int i = rnd.nextInt(40); i > 0; i--) {
                t = t.with(randomFlow(rnd));
            }
            List<Flow> flows = t.flows();
            int in = 1 + rnd.nextInt(5);
            int n = rnd.nextInt(33);
            for (int i = 0; i < n; i++) {
                src[i] = MACS[rnd.nextInt(MACS.length)];
                dst[i] = MACS[rnd.nextInt(MACS.length)];
                type[i] = TYPES[rnd.nextInt(TYPES.length)];
                ranks[i] = rnd.nextInt(8) == 0 ? -1 - rnd.nextInt(1000) : FlowTable.MISS; // below 0: skipped
            }
            int[] given = ranks.clone();
            t.lookupBurst(in, src, dst, type, n, ranks, scratch);
            for (int i = 0; i < n; i++) {
                String what = "round " + round + " packet " + i;
                if (given[i] < 0) {
                    assertEquals(what, given[i], ranks[i]);
                    continue;
                }
                Flow want = linear(flows, in, src[i], dst[i], type[i]);
                if (want == null) {
                    assertEquals(what, FlowTable.MISS, ranks[i]);
                } else {
                    assertSame(what, want, t.flow(ranks[i]));
                }
            }
        }
    }

    /** A lookup probes the groups whose first flow comes before the winner's (all of them on a miss). */
    @Test
    public void groupsProbedAreTheGroupsUpToTheWinner() {
        FlowTable t = new FlowTable(FlowParser.parseFlow("priority=20,in_port=1,dl_dst=02:00:00:00:00:01,actions=output:2"),
                FlowParser.parseFlow("priority=10,dl_type=0x0806,actions=output:3"),
                FlowParser.parseFlow("priority=5,in_port=1,dl_dst=02:00:00:00:00:02,actions=output:4"),
                FlowParser.parseFlow("priority=0,actions=NORMAL"));
        assertEquals(3, t.groups());
        assertEquals(1, t.groupsProbed(t.rank(1, 0x525400000001L, 0x020000000001L, 0x0800)));
        assertEquals(2, t.groupsProbed(t.rank(1, 0x525400000001L, 0x020000000003L, 0x0806)));
        // rank 2 is in the first group, but the ARP group's first flow (rank 1) comes before it
        assertEquals(2, t.groupsProbed(t.rank(1, 0x525400000001L, 0x020000000002L, 0x0800)));
        assertEquals(3, t.groupsProbed(t.rank(2, 0x525400000001L, 0x020000000002L, 0x0800)));
        assertEquals(3, t.groupsProbed(FlowTable.MISS));
        assertEquals(0, new FlowTable().groupsProbed(FlowTable.MISS));
    }

    @Test
    public void manyExactFlowsStayInFewGroups() {
        FlowTable t = new FlowTable(FlowParser.parseFlow("priority=0,actions=NORMAL"));
        for (int i = 1; i <= 5000; i++) {
            t = t.with(FlowParser.parseFlow("priority=10,in_port=1,dl_dst=" + mac(0x020000000000L + i)
                    + ",actions=output:" + (2 + i % 7)));
        }
        assertEquals(5001, t.size());
        assertEquals(2, t.groups());
        for (int i = 1; i <= 5000; i++) {
            Flow f = t.lookup(1, 0x525400000001L, 0x020000000000L + i, 0x0800);
            assertEquals(2 + i % 7, f.actions()[0]);
        }
        assertEquals(Flow.ACTION_NORMAL, t.lookup(2, 0x525400000001L, 0x020000000001L, 0x0800).actions()[0]);
        assertEquals(Flow.ACTION_NORMAL, t.lookup(1, 0x525400000001L, 0x020000009999L, 0x0800).actions()[0]);
    }

    @Test
    public void equalPriorityTiesGoToTheOlderFlowAcrossGroups() {
        Flow older = FlowParser.parseFlow("priority=5,dl_type=0x0800,actions=output:1");
        Flow newer = FlowParser.parseFlow("priority=5,in_port=3,actions=output:2");
        FlowTable t = new FlowTable().with(older).with(newer);
        assertSame(older, t.lookup(3, 1, 2, 0x0800));
        assertSame(newer, t.lookup(3, 1, 2, 0x0806));
        assertNull(t.lookup(4, 1, 2, 0x0806));
    }

    @Test
    public void withAllIsManyWithsInOneRebuild() {
        Random rnd = new Random(7);
        for (int round = 0; round < 200; round++) {
            FlowTable base = new FlowTable();
            for (int i = rnd.nextInt(20); i > 0; i--) {
                base = base.with(randomFlow(rnd));
            }
            List<Flow> added = new java.util.ArrayList<>();
            for (int i = rnd.nextInt(40); i > 0; i--) { // few distinct rules: many replacements
                added.add(randomFlow(rnd));
            }
            FlowTable one = base;
            for (Flow f : added) {
                one = one.with(f);
            }
            FlowTable all = base.withAll(added);
            assertEquals("round " + round, one.flows(), all.flows());
            assertEquals(one.groups(), all.groups());
        }
    }

    @Test
    public void withAllTakesAHundredThousandExactFlows() {
        List<Flow> added = new java.util.ArrayList<>();
        for (int i = 0; i < 100_000; i++) {
            added.add(FlowParser.parseFlow("in_port=1,dl_src=" + mac(0x020000000000L + i) + ",dl_dst="
                    + mac(0x020100000000L + i) + ",actions=output:2"));
        }
        FlowTable t = new FlowTable(FlowParser.parseFlow("priority=0,actions=NORMAL")).withAll(added);
        assertEquals(100_001, t.size());
        assertEquals(2, t.groups());
        assertSame(added.get(54_321), t.lookup(1, 0x020000000000L + 54_321, 0x020100000000L + 54_321, 0x0800));
        assertEquals(Flow.ACTION_NORMAL, t.lookup(1, 0x020000000000L + 5, 0x020100000000L + 6, 0x0800).actions()[0]);
    }

    /**
     * Two values with the same signature and the same first slot: a lookup of the one not in the table must
     * not return the other's flow (the signature is confirmed against the flow), and with both in, each finds
     * its own.
     */
    @Test
    public void aSignatureHitIsConfirmedAgainstTheFlow() {
        java.util.Map<Long, Long> seen = new java.util.HashMap<>();
        long a = -1;
        long b = -1;
        Random rnd = new Random(19);
        while (a < 0) { // birthday search over 34 bits (signature, two slot bits): about 2^17 tries
            long m = rnd.nextLong() & 0xfeffffffffffL; // unicast
            long h = FlowTable.hash(1, m, 0, 0);
            Long other = seen.putIfAbsent(h >>> 32 << 2 | (h & 3), m);
            if (other != null) {
                a = other;
                b = m;
            }
        }
        Flow fa = FlowParser.parseFlow("in_port=1,dl_src=" + mac(a) + ",actions=output:2");
        Flow fb = FlowParser.parseFlow("in_port=1,dl_src=" + mac(b) + ",actions=output:3");
        FlowTable onlyA = new FlowTable(fa); // one flow: four slots, so both values start at the same slot
        assertSame(fa, onlyA.lookup(1, a, 0x525400000001L, 0x0800));
        assertNull(mac(a) + " and " + mac(b), onlyA.lookup(1, b, 0x525400000001L, 0x0800));
        FlowTable both = new FlowTable(fa, fb);
        assertSame(fa, both.lookup(1, a, 0x525400000001L, 0x0800));
        assertSame(fb, both.lookup(1, b, 0x525400000001L, 0x0800));
        assertNull(both.lookup(2, b, 0x525400000001L, 0x0800));
        int[] ranks = {FlowTable.MISS, FlowTable.MISS};
        onlyA.lookupBurst(1, new long[] {a, b}, new long[] {0x525400000001L, 0x525400000001L},
                new int[] {0x0800, 0x0800}, 2, ranks, new long[2]);
        assertSame(fa, onlyA.flow(ranks[0]));
        assertEquals(mac(a) + " and " + mac(b) + " in a burst", FlowTable.MISS, ranks[1]);
    }
}
