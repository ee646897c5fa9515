package io.pvio.dpif.netdev;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dpif.netdev.appctl.PmdPerfShowCommand;
import io.pvio.dpif.netdev.appctl.PmdStatsClearCommand;
import io.pvio.dummy.DummyPort;
import io.pvio.dummy.DummyPorts;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.Assume;
import org.junit.Test;

/** dpif-netdev/pmd-perf-show: OVS 3.1's layout, counts against known traffic, histograms, clear, arguments. */
public class PmdPerfShowTest extends DpTest {
    private static final int N = 100;

    /** br0: dummy "in" (1) -> dummy "out" (2); {@code n} frames injected into "in", all forwarded. */
    private void forward(int n) throws Exception {
        dp.addBridge("br0");
        dp.delFlows("br0", null);
        dp.addPort("br0", "in", "dummy", Map.of(), 1);
        dp.addPort("br0", "out", "dummy", Map.of(), 2);
        dp.addFlow("br0", "in_port=1,actions=output:2");
        DummyPort in = DummyPorts.dummy("in");
        DummyPort out = DummyPorts.dummy("out");
        for (int i = 0; i < n; i++) {
            assertTrue(in.receive(eth("52:54:00:00:00:02", "52:54:00:00:00:01", 0x0800, 64)));
        }
        await(() -> "forwarded " + out.sentPackets(), () -> out.sentPackets() == n);
        settle();
    }

    private String show(String... args) throws UnixctlException {
        return new PmdPerfShowCommand(dp).run(List.of(args));
    }

    /** The first number after {@code label} (a line's text up to its colon). */
    private static double num(String out, String label) {
        Matcher m = Pattern.compile("(?m)^  " + Pattern.quote(label) + ": *([0-9.]+)").matcher(out);
        if (!m.find()) {
            fail("no '" + label + "' in\n" + out);
        }
        return Double.parseDouble(m.group(1));
    }

    @Test
    public void overallStatsCountTheTrafficInOvsLayout() throws Exception {
        forward(N);
        String out = show();
        assertTrue(out, out.matches("\nTime: \\d\\d:\\d\\d:\\d\\d\\.\\d{3}\nMeasurement duration: \\d+\\.\\d{3} s\n\n"
                + "pmd thread numa_id 0 core_id 0:\n\n"
                + "  Iterations:         +\\d+  \\(\\d+\\.\\d\\d us/it\\)\n"
                + "  - Used TSC cycles:  +\\d+  \\( *\\d+\\.\\d % of total cycles\\)\n"
                + "  - idle iterations:  +\\d+  \\( *\\d+\\.\\d % of used cycles\\)\n"
                + "  - busy iterations:  +\\d+  \\( *\\d+\\.\\d % of used cycles\\)\n"
                + "  - sleep iterations: +\\d+  \\( *\\d+\\.\\d % of iterations\\)\n"
                + "  Sleep time \\(us\\):    +\\d+  \\( *\\d+ us/iteration avg\\.\\)\n"
                + "  Rx packets:                  100  \\(\\d+ Kpps, \\d+ cycles/pkt\\)\n"
                + "  Datapath passes:             100  \\(1\\.00 passes/pkt\\)\n"
                + "  - PHWOL hits:                  0  \\(  0\\.0 %\\)\n"
                + "  - MFEX Opt hits:               0  \\(  0\\.0 %\\)\n"
                + "  - Simple Match hits:           0  \\(  0\\.0 %\\)\n"
                + "  - EMC hits:                    0  \\(  0\\.0 %\\)\n"
                + "  - SMC hits:                    0  \\(  0\\.0 %\\)\n"
                + "  - Megaflow hits:             100  \\(100\\.0 %, 1\\.00 subtbl lookups/hit\\)\n"
                + "  - Upcalls:                     0  \\(  0\\.0 %, 0\\.0 us/upcall\\)\n"
                + "  - Lost upcalls:                0  \\(  0\\.0 %\\)\n"
                + "  Tx packets:                  100  \\(\\d+ Kpps\\)\n"
                + "  Tx batches:         +\\d+  \\(\\d+\\.\\d\\d pkts/batch\\)\n"));
        long iterations = (long) num(out, "Iterations");
        long idle = (long) num(out, "- idle iterations");
        long busy = (long) num(out, "- busy iterations");
        assertTrue(out, busy > 0 && busy <= N);
        assertEquals(out, iterations, idle + busy);
        long batches = (long) num(out, "Tx batches");
        assertTrue(out, batches >= (N + 31) / 32 && batches <= N);
        assertEquals(out, (double) N / batches, pktsPerBatch(out), 0.005);
        assertFalse("no histograms without pmd-perf-metrics", out.contains("Histograms"));
    }

    private static double pktsPerBatch(String out) {
        Matcher m = Pattern.compile("\\((\\d+\\.\\d\\d) pkts/batch\\)").matcher(out);
        assertTrue(out, m.find());
        return Double.parseDouble(m.group(1));
    }

    /** A parked PMD's time is sleep time, not idle time: used cycles and sleep together fit in the time measured. */
    @Test
    public void sleepIsCountedApartFromIdleCycles() throws Exception {
        dp.setOtherConfig(Map.of("pmd-sleep-max", "500"));
        new PmdStatsClearCommand(dp).run(List.of());
        Thread.sleep(300);
        String out = show();
        double durationNs = Double.parseDouble(out.replaceAll("(?s).*Measurement duration: ([0-9.]+) s.*", "$1")) * 1e9;
        long sleepIter = (long) num(out, "- sleep iterations");
        double sleepNs = num(out, "Sleep time (us)") * 1000;
        double used = num(out, "- Used TSC cycles");
        assertTrue(out, sleepIter > 0 && sleepNs > 0);
        assertTrue(out, sleepIter <= (long) num(out, "- idle iterations") + 2); // read one by one (see below)
        // the duration starts where the counters stood at the clear and ends after the command read them
        // (1 ms: the duration's and the sleep time's rounding)
        assertTrue(out, used + sleepNs <= durationNs + 1_000_000);
        assertTrue(out, used + sleepNs >= durationNs * 0.5);
        assertTrue("an idle PMD sleeps most of the time\n" + out, sleepNs > used);
        assertTrue(out, out.contains("  Rx packets:                    0\n  Tx packets:                    0\n\n"));
    }

    @Test
    public void histogramsWithPerfMetrics() throws Exception {
        dp.setOtherConfig(Map.of("pmd-perf-metrics", "true"));
        forward(N);
        String out = show();
        assertTrue(out, out.contains("\nHistograms\n   cycles/it              packets/it             cycles/pkt        "
                + "     pkts/batch             max vhost qlen         upcalls/it             cycles/upcall        \n"
                + "   499       "));
        String[] lines = out.split("\n");
        int h = List.of(lines).indexOf("Histograms");
        long[] sums = new long[7];
        long weightedPkts = 0;
        long weightedBatch = 0;
        for (int i = 0; i < PmdPerf.NUM_BINS; i++) {
            String[] f = lines[h + 2 + i].trim().split(" +");
            assertEquals(lines[h + 2 + i], 14, f.length);
            for (int c = 0; c < 7; c++) {
                sums[c] += Long.parseLong(f[2 * c + 1]);
            }
            if (i < PmdPerf.NUM_BINS - 1) {
                weightedPkts += Long.parseLong(f[2]) * Long.parseLong(f[3]);
                weightedBatch += Long.parseLong(f[6]) * Long.parseLong(f[7]);
            } else {
                assertEquals(lines[h + 2 + i], ">", f[0]);
            }
        }
        // the histograms are read after the counters: compare with counters read later still
        long iterations = (long) num(show("-nh"), "Iterations");
        assertTrue(out, sums[0] > 0 && sums[0] <= iterations);
        // one sample of each per iteration; read column after column while the PMD runs
        long upcallsBin0 = Long.parseLong(lines[h + 2].trim().split(" +")[11]);
        assertTrue(out, sums[0] <= sums[1] && sums[1] <= upcallsBin0 && upcallsBin0 - sums[0] < 1000);
        assertEquals("cycles/upcall: no sample", 0, sums[6]);
        // dummy ports report no queue length (only vhost ports do, as in OVS): every sample in the 0 bin
        long qlenBin0 = Long.parseLong(lines[h + 2].trim().split(" +")[9]);
        assertTrue(out, sums[0] <= sums[4] && sums[4] == qlenBin0);
        // rx batches of 1..32: the walls of pkts/batch are the sizes themselves up to 14, so the weighted
        // sum is at most N; every packet was in some batch
        assertTrue(out, sums[3] >= (N + 31) / 32 && sums[3] <= N);
        assertTrue(out, weightedBatch >= N && weightedPkts >= N);
        // busy = iterations - idle iterations, two counters read one after the other while the PMD goes on
        // iterating: an idle iteration published in between makes it one less
        assertTrue("busy iterations have a cycles/pkt sample\n" + out,
                sums[2] > 0 && sums[2] <= (long) num(out, "- busy iterations") + 2);
        Matcher tot = Pattern.compile("\n-{154}\n"
                + "   cycles/it +packets/it +cycles/pkt +pkts/batch +vhost qlen +upcalls/it +cycles/upcall +\n"
                + "   (\\d+) +(\\d+\\.\\d{5}) +(\\d+) +(\\d+\\.\\d{5}) +0\\.00000 +0\\.00000 +0 +\n$").matcher(out);
        assertTrue(out, tot.find());
        assertTrue(out, Double.parseDouble(tot.group(4)) >= 1.0);
        assertFalse("-nh: no histograms", show("-nh").contains("Histograms"));
    }

    /** The rows of the block after {@code header} (up to a blank line or the end), split in fields. */
    private static List<long[]> rows(String out, String header) {
        int at = out.indexOf(header);
        assertTrue(out, at >= 0);
        List<long[]> rows = new java.util.ArrayList<>();
        for (String l : out.substring(at + header.length()).split("\n")) {
            if (l.isEmpty()) {
                break;
            }
            String[] f = l.trim().split(" +");
            long[] v = new long[f.length];
            for (int i = 0; i < f.length; i++) {
                v[i] = Long.parseLong(f[i]);
            }
            rows.add(v);
        }
        return rows;
    }

    private static final String IT_HEADER = "\n   iter                cycles       packets      cycles/pkt   pkts/batch   "
            + "vhost qlen   upcalls      cycles/upcall\n";
    private static final String MS_HEADER = "\n   ms             iterations   cycles/it    Kpps         cycles/pkt   "
            + "pkts/batch   vhost qlen   upcalls      cycles/upcall\n";

    @Test
    public void iterationAndMillisecondHistories() throws Exception {
        dp.setOtherConfig(Map.of("pmd-perf-metrics", "true"));
        long t0 = System.nanoTime();
        forward(N);
        Thread.sleep(20); // the last millisecond with traffic is closed
        // 900 of the 1000 entries: the PMD overwrites the oldest ones while the command reads (as in OVS)
        String out = show("-nh", "-it", "20", "-ms", "900");
        long took = System.nanoTime() - t0;
        assertFalse(out, out.contains("Histograms"));
        List<long[]> its = rows(out, IT_HEADER);
        assertEquals(out, 20, its.size());
        for (int i = 0; i < its.size(); i++) {
            long[] r = its.get(i);
            assertEquals(out, 8, r.length);
            assertEquals("no vhost queue\n" + out, 0, r[5]);
            assertEquals("newest first, every iteration\n" + out, its.get(0)[0] - i, r[0]);
            assertEquals(out, r[2] > 0 ? r[1] / r[2] : 0, r[3]);
        }
        assertTrue(out, its.get(19)[0] > 0);
        List<long[]> ms = rows(out, MS_HEADER);
        assertEquals(out, 900, ms.size());
        long pkts = 0;
        long iterations = 0;
        for (int i = 0; i < ms.size(); i++) {
            long[] r = ms.get(i);
            assertEquals(out, 9, r.length);
            if (i > 0 && r[0] != 0) {
                assertTrue("newest first\n" + out, r[0] < ms.get(i - 1)[0]);
            }
            pkts += r[3];
            iterations += r[1];
        }
        assertTrue(out, iterations > 0 && iterations <= (long) num(show("-nh"), "Iterations"));
        Assume.assumeTrue("the traffic's milliseconds are all in the last 900", took < 800_000_000L);
        assertEquals("every packet in some millisecond\n" + out, N, pkts);
    }

    @Test
    public void clearResetsCountsDurationAndHistograms() throws Exception {
        dp.setOtherConfig(Map.of("pmd-perf-metrics", "true"));
        forward(N);
        Thread.sleep(200);
        String before = show();
        double d0 = Double.parseDouble(before.replaceAll("(?s).*Measurement duration: ([0-9.]+) s.*", "$1"));
        assertEquals(before, N, num(before, "Rx packets"), 0);
        new PmdStatsClearCommand(dp).run(List.of());
        String after = show();
        double d1 = Double.parseDouble(after.replaceAll("(?s).*Measurement duration: ([0-9.]+) s.*", "$1"));
        assertTrue(before + after, d1 < d0 && d1 < 0.150);
        assertTrue(after, after.contains("  Rx packets:                    0\n  Tx packets:                    0\n\n"));
        String[] lines = after.split("\n");
        int h = List.of(lines).indexOf("Histograms");
        for (int i = 0; i < PmdPerf.NUM_BINS; i++) {
            String[] f = lines[h + 2 + i].trim().split(" +");
            assertEquals("no packets/batch sample since the clear: " + lines[h + 2 + i], "0", f[7]);
            assertEquals("no cycles/pkt sample since the clear: " + lines[h + 2 + i], "0", f[5]);
        }
        String hist = show("-nh", "-it", "1000", "-ms", "1000");
        for (long[] r : rows(hist, IT_HEADER)) {
            assertEquals("no packet in the iterations since the clear\n" + hist, 0, r[2]);
        }
        for (long[] r : rows(hist, MS_HEADER)) {
            assertEquals("no packet in the milliseconds since the clear\n" + hist, 0, r[3]);
        }
    }

    @Test
    public void arguments() throws Exception {
        dp.setOtherConfig(Map.of("pmd-cpu-mask", "0x3"));
        await("two PMDs", () -> dp.pmdIterations().length == 2);
        String all = show();
        assertTrue(all, all.contains("core_id 0:\n") && all.contains("core_id 1:\n"));
        String one = show("-pmd", "1");
        assertTrue(one, one.contains("core_id 1:\n") && !one.contains("core_id 0:"));
        assertEquals("", show("-pmd", "7"));
        assertTrue(show("-nh", "-it", "10", "-ms", "5", "-pmd", "0", "ovs-netdev").contains("core_id 0:\n"));
        for (List<String> bad : List.of(List.of("netdev@ovs-netdev"), List.of("-pmd", "0", "br0"),
                List.of("-pmd", "0", "-nh"))) {
            try {
                new PmdPerfShowCommand(dp).run(bad);
                fail("accepted " + bad);
            } catch (UnixctlException e) {
                assertEquals("please specify an existing datapath", e.getMessage());
            }
        }
        try {
            show("-pmd", "x");
            fail("accepted -pmd x");
        } catch (UnixctlException e) {
            assertEquals("invalid pmd core id: x", e.getMessage());
        }
    }

    /** OVS 3.1's walls (pmd_perf_stats_init), as its C code computes them. */
    @Test
    public void wallsAreOvs() {
        long u = 0xffff_ffffL;
        assertArrayEquals(new long[] {499, 716, 1025, 1469, 2104, 3014, 4317, 6183, 8857, 12686, 18171, 26027, 37279,
            53395, 76480, 109544, 156903, 224736, 321895, 461058, 660385, 945886, 1354815, 1940535, 2779476, 3981111,
            5702243, 8167461, 11698454, 16755981, 24000000, u}, PmdPerf.WALLS[PmdPerf.H_CYCLES]);
        assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 17, 22, 28, 35, 45, 57, 72, 92, 117,
            148, 188, 239, 303, 385, 489, 621, 788, 1000, u}, PmdPerf.WALLS[PmdPerf.H_PKTS]);
        assertArrayEquals(new long[] {100, 1096, 2093, 3090, 4086, 5083, 6080, 7076, 8073, 9070, 10066, 11063, 12060,
            13056, 14053, 15050, 16046, 17043, 18040, 19036, 20033, 21030, 22026, 23023, 24020, 25016, 26013, 27010,
            28006, 29003, 30000, u}, PmdPerf.WALLS[PmdPerf.H_CYCLES_PER_PKT]);
        assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 22,
            23, 24, 25, 26, 27, 28, 29, 30, 32, u}, PmdPerf.WALLS[PmdPerf.H_PKTS_PER_BATCH]);
        assertArrayEquals(new long[] {999, 1258, 1584, 1995, 2511, 3162, 3981, 5011, 6309, 7943, 9999, 12589, 15848,
            19952, 25118, 31622, 39810, 50118, 63095, 79432, 99999, 125892, 158489, 199526, 251188, 316227, 398107,
            501187, 630957, 794328, 1000000, u}, PmdPerf.CYCLES_PER_UPCALL_WALLS);
        assertEquals(0, PmdPerf.bin(PmdPerf.WALLS[PmdPerf.H_PKTS], 0));
        assertEquals(12, PmdPerf.bin(PmdPerf.WALLS[PmdPerf.H_PKTS], 12));
        assertEquals(31, PmdPerf.bin(PmdPerf.WALLS[PmdPerf.H_PKTS], 1001));
    }
}
