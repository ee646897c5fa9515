package io.pvio.bench;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** Packet pool get/put: one at a time, and a burst of 32 (the datapath's batch). */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class PacketPoolBench {
    private PacketPool pool;
    private final Packet[] burst = new Packet[32];
    private final PacketBatch batch = new PacketBatch();

    @Setup
    public void setUp() {
        pool = new PacketPool("bench", 4096);
    }

    @Benchmark
    public Packet allocFree() {
        Packet p = pool.alloc();
        p.free();
        return p;
    }

    @Benchmark
    public Packet allocFreeBurst32() {
        pool.allocBulk(burst, 0, 32);
        for (int i = 0; i < 32; i++) {
            burst[i].free();
        }
        return burst[0];
    }

    /** The data path's pattern: a burst allocated at once, the batch freed at once (PacketBatch.freeAll). */
    @Benchmark
    public Packet allocBulkFreeAll32() {
        pool.allocBulk(burst, 0, 32);
        for (int i = 0; i < 32; i++) {
            batch.add(burst[i]);
        }
        Packet first = burst[0];
        batch.freeAll();
        return first;
    }
}
