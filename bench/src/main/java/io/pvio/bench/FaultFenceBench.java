package io.pvio.bench;

import io.pvio.vhost.ring.GuestMemory;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One guest-memory fault fence with no fault pending: what every burst on unsealed memory (DPDK's
 * virtio-user memfds and hugepage files) pays at its end, and the async dequeue per packet.
 * {@code fence}: {@link GuestMemory#deliverPendingFault()} (a call into the interpreter, 0 B);
 * {@code allocatingFence}: the fence before issue 21 (a multi-dimensional array, 16 B per call).
 * Add {@code -prof gc} to see the bytes.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class FaultFenceBench {
    /** Not final: the JIT cannot fold the allocation away. */
    public int zero;

    @Benchmark
    public void fence() {
        GuestMemory.deliverPendingFault();
    }

    @Benchmark
    public Object allocatingFence() {
        return new Object[zero][zero];
    }
}
