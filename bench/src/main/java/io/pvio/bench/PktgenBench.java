package io.pvio.bench;

import io.pvio.dummy.pktgen.PktgenClass;
import io.pvio.netdev.Netdev;
import io.pvio.netdev.SimpleNetdevContext;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import java.nio.file.Files;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The pktgen generator as a PMD polls it: one {@code rxqRecv} of a 32-packet burst, then the batch freed (as a
 * port's send does), per packet. {@code payload=none} is what the DPDK comparison uses (headers only).
 * Two forks and five iterations by default: with fewer, one run's error bars were larger than its score.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(2)
public class PktgenBench {
    @Param({"64", "1518"})
    public int size;

    @Param({"none", "pattern"})
    public String payload;

    private Netdev gen;
    private final PacketBatch batch = new PacketBatch();

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        PacketPool pool = new PacketPool("bench", 4096);
        SimpleNetdevContext ctx = new SimpleNetdevContext(pool, Files.createTempDirectory("pktgen-bench-"), () -> { });
        gen = new PktgenClass().open("gen0", Map.of("size", Integer.toString(size), "payload", payload), ctx);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        gen.close();
    }

    @Benchmark
    @OperationsPerInvocation(PacketBatch.MAX)
    public int generateAndFree() {
        int n = gen.rxqRecv(0, batch);
        batch.freeAll();
        return n;
    }
}
