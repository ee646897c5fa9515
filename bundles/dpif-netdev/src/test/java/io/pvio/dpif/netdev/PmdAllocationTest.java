package io.pvio.dpif.netdev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pvio.dummy.DummyPorts;
import io.pvio.dummy.PktgenPort;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.Assume;
import org.junit.Test;

/**
 * The PMD allocates nothing on the heap per packet with many flows (issue 21): 100,000 exact flows, and
 * NORMAL with 1,000 and 100,000 source MACs (the latter overflowing the 8192-entry MAC table). Measured on
 * the PMD thread itself (ThreadMXBean.getThreadAllocatedBytes) over two million packets once warm; counts,
 * not time.
 */
public class PmdAllocationTest extends DpTest {
    private static final String BR = "balloc0";
    private static final long SRC = 0x021000000000L; // pktgen flow i: source MAC SRC + i
    private static final int WARM = 500_000;
    private static final int MEASURED = 2_000_000;

    private void start(int flows, List<String> tableFlows) throws Exception {
        dp.addBridge(BR);
        dp.delFlows(BR, null);
        dp.addFlows(BR, tableFlows);
        dp.addPort(BR, "g1", "pktgen", Map.of("enabled", "false", "flows", Integer.toString(flows),
                "src_mac", "02:10:00:00:00:00", "payload", "none"), 1);
        dp.addPort(BR, "g2", "pktgen", Map.of("enabled", "false"), 2);
        dp.setInterface("g1", null, Map.of("flows", Integer.toString(flows), "src_mac", "02:10:00:00:00:00",
                "payload", "none"));
    }

    private static long pmdAllocated() {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals("pmd-c00")) {
                return mx.getThreadAllocatedBytes(t.getId());
            }
        }
        throw new AssertionError("no thread pmd-c00");
    }

    private static long gcs() {
        long n = 0;
        for (GarbageCollectorMXBean g : ManagementFactory.getGarbageCollectorMXBeans()) {
            n += Math.max(0, g.getCollectionCount());
        }
        return n;
    }

    /** Bytes the PMD allocated while the sink received MEASURED packets, after WARM. */
    private void assertNoAllocation(String what) {
        Assume.assumeTrue(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean);
        PktgenPort g2 = DummyPorts.pktgen("g2");
        await(() -> what + ": warming up, " + g2.show(), () -> g2.received() >= WARM);
        long b0 = pmdAllocated();
        long p0 = g2.received();
        long gc0 = gcs();
        await(() -> what + ": measuring, " + g2.show(), () -> g2.received() >= p0 + MEASURED);
        long b1 = pmdAllocated();
        long p1 = g2.received();
        long gc1 = gcs();
        System.out.printf("pmd-alloc %s: %d bytes for %d packets (%.4f B/pkt), %d GCs (all threads)%n", what,
                b1 - b0, p1 - p0, (double) (b1 - b0) / (p1 - p0), gc1 - gc0);
        // 0 per packet: one object per packet would be 32 MB here; a one-off (a JIT event, a configuration
        // snapshot) a few kB
        assertTrue(what + ": the PMD allocated " + (b1 - b0) + " bytes for " + (p1 - p0) + " packets",
                b1 - b0 < 16384);
        assertEquals(0, DummyPorts.pktgen("g2").rxCorrupt());
    }

    @Test
    public void hundredThousandExactFlows() throws Exception {
        List<String> table = new ArrayList<>();
        for (int i = 0; i < 100_000; i++) {
            table.add("in_port=1,dl_src=" + io.pvio.dpif.netdev.flow.FlowParser.formatMac(SRC + i) + ",actions=output:2");
        }
        start(100_000, table);
        assertEquals(100_000, dp.dumpFlows(BR).size());
        assertNoAllocation("100000 exact flows");
    }

    @Test
    public void normalWithAThousandMacs() throws Exception {
        start(1_000, List.of("actions=NORMAL"));
        assertNoAllocation("NORMAL, 1000 source MACs");
    }

    /** With pmd-perf-metrics the PMD also times its polls and fills pmd-perf-show's histograms: still nothing. */
    @Test
    public void normalWithPerfMetrics() throws Exception {
        dp.setOtherConfig(Map.of("pmd-perf-metrics", "true"));
        start(1_000, List.of("actions=NORMAL"));
        assertNoAllocation("NORMAL, 1000 source MACs, pmd-perf-metrics");
    }

    @Test
    public void normalWithMoreMacsThanTheTable() throws Exception {
        start(100_000, List.of("actions=NORMAL"));
        assertNoAllocation("NORMAL, 100000 source MACs (MAC table 8192)");
    }
}
