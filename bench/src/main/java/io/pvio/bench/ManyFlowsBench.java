package io.pvio.bench;

import io.pvio.dpif.netdev.flow.Flow;
import io.pvio.dpif.netdev.flow.FlowParser;
import io.pvio.dpif.netdev.flow.FlowTable;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The flow lookup of issue 21's many-flows case: {@code flows} explicit flows
 * {@code in_port=1,dl_src=02:00:<i>,actions=output:2}, and a 32-packet burst at a time from a stream that
 * cycles through all their source MACs, in order (as bench-peer's pktgen and bench-flows' front end send
 * them), in a random order fixed at setup, or always the first flow's ("same": the table's work per packet
 * without its cache misses, which cycle minus same measures). Per packet: the lookup and the load of the
 * flow's output port, what the PMD does before it hands the packet on. Cache-bound at 100,000 flows: the table and its flows are larger than L2.
 * {@link #burstAndCount} is the PMD's path for tables of {@link FlowTable#BURST_FLOWS} or more: the burst's
 * lookups in passes ({@link FlowTable#lookupBurst}), then per packet the output port and the flow's counters.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class ManyFlowsBench {
    private static final int BURST = 32;

    @Param({"1", "1000", "100000"})
    public int flows;

    @Param({"cycle", "random", "same"})
    public String order;

    private FlowTable table;
    private long[] stream;
    private int next;
    private final long[] src = new long[BURST];
    private final long[] dst = new long[BURST];
    private final int[] type = new int[BURST];
    private final int[] ranks = new int[BURST];
    private final long[] hashes = new long[BURST];

    @Setup
    public void setUp() {
        Flow[] all = new Flow[flows];
        for (int i = 0; i < flows; i++) {
            all[i] = FlowParser.parseFlow("in_port=1,dl_src=" + FlowParser.formatMac(mac(i)) + ",actions=output:2");
        }
        table = new FlowTable(all);
        Arrays.fill(dst, 0x525400000001L);
        Arrays.fill(type, 0x0800);
        int n = Math.max(flows, BURST);
        n = (n + BURST - 1) / BURST * BURST;
        stream = new long[n];
        for (int i = 0; i < n; i++) {
            stream[i] = order.equals("same") ? mac(0) : mac(i % flows);
        }
        if (order.equals("random")) {
            Random rnd = new Random(21);
            for (int i = n - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                long t = stream[i];
                stream[i] = stream[j];
                stream[j] = t;
            }
        }
    }

    /** bench-peer's pktgen source MACs: 02:00 and the index in four bytes. */
    private static long mac(int i) {
        return 0x020000000000L | (i & 0xffffffffL);
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public int lookup() {
        long[] s = stream;
        int at = next;
        int acc = 0;
        for (int i = 0; i < BURST; i++) {
            Flow f = table.lookup(1, s[at + i], 0x525400000001L, 0x0800);
            acc += f.singleOutput();
        }
        next = at + BURST == s.length ? 0 : at + BURST;
        return acc;
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public int burstAndCount() {
        long[] s = stream;
        int at = next;
        int[] r = ranks;
        Arrays.fill(r, FlowTable.MISS);
        FlowTable t = table;
        System.arraycopy(s, at, src, 0, BURST); // the PMD reads the keys out of the frames
        t.lookupBurst(1, src, dst, type, BURST, r, hashes);
        int acc = 0;
        for (int i = 0; i < BURST; i++) {
            Flow f = t.flow(r[i]);
            acc += f.singleOutput();
            f.count(1, 64, 0, 1);
        }
        next = at + BURST == s.length ? 0 : at + BURST;
        return acc;
    }
}
