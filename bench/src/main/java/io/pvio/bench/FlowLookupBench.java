package io.pvio.bench;

import io.pvio.dpif.netdev.flow.Flow;
import io.pvio.dpif.netdev.flow.FlowParser;
import io.pvio.dpif.netdev.flow.FlowTable;
import io.pvio.dpif.netdev.flow.MacTable;
import java.util.ArrayList;
import java.util.List;
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
 * dpif-netdev's classification, per packet of a 32-packet burst: the OpenFlow table (a bridge with
 * {@code flows} flows: in_port matches plus the final NORMAL one, as pvio bench and the demo install) and
 * the MAC-learning table of the NORMAL action (learn the source, look up the destination, {@code macs}
 * stations). {@code dstFlows} adds that many exact {@code in_port,dl_dst} flows above them (OVN-like tables;
 * the tuple-space lookup keeps the cost to a probe per match group).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class FlowLookupBench {
    private static final int BURST = 32;

    @Param({"2", "16"})
    public int flows;

    @Param({"16", "4096"})
    public int macs;

    @Param({"0", "100000"})
    public int dstFlows;

    private FlowTable table;
    private MacTable macTable;
    private final int[] inPorts = new int[BURST];
    private final long[] src = new long[BURST];
    private final long[] dst = new long[BURST];
    private int now;
    private int round;

    @Setup
    public void setUp() {
        FlowTable t = new FlowTable();
        for (int i = 1; i <= flows; i++) {
            t = t.with(FlowParser.parseFlow("priority=100,in_port=" + i + ",actions=output:" + (i % flows + 1)));
        }
        t = t.with(FlowParser.parseFlow("priority=0,actions=normal"));
        if (dstFlows > 0) {
            List<Flow> all = new ArrayList<>(dstFlows + t.size());
            for (int i = 0; i < dstFlows; i++) {
                all.add(FlowParser.parseFlow("priority=200,in_port=1,dl_dst=" + FlowParser.formatMac(0x0a0000000000L + i)
                        + ",actions=output:2"));
            }
            all.addAll(t.flows());
            t = new FlowTable(all.toArray(new Flow[0]));
        }
        table = t;
        macTable = new MacTable(8192, 300);
        now = MacTable.nowSeconds(System.nanoTime());
        for (int m = 0; m < macs; m++) {
            macTable.learn(mac(m), 1 + m % 4, now);
        }
        for (int i = 0; i < BURST; i++) {
            inPorts[i] = 1 + i % flows;
            src[i] = mac(i % macs);
            dst[i] = mac((i * 7 + 3) % macs);
        }
    }

    private static long mac(int i) {
        return 0x020000000000L | (i * 0x9E3779B1L & 0xffffffffL);
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public int flowLookup() {
        int acc = 0;
        for (int i = 0; i < BURST; i++) {
            Flow f = table.lookup(inPorts[i], src[i], dst[i], 0x0800);
            acc += f.actions()[0];
        }
        return acc;
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public int macLearnAndLookup() {
        int acc = 0;
        int r = round++ & 3;
        for (int i = 0; i < BURST; i++) {
            macTable.learn(src[i], 1 + r, now);
            acc += macTable.lookup(dst[i], now);
        }
        return acc;
    }
}
