package io.pvio.bench;

import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaDevice;
import io.pvio.memory.NativeMemory;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The IOAT engine model (dma-ioat) and the CPU channel (dma-cpu) against a plain {@link NativeMemory#copy}:
 * one op is one batch of {@code segments} copies of {@code size} bytes behind one doorbell.
 *
 * <ul>
 * <li>{@code memcpy}: the copies done inline by the caller.</li>
 * <li>{@code cpuChannel}: enqueue, performOps, completedOps on a dma-cpu channel.</li>
 * <li>{@code ioatRoundTrip}: enqueue, doorbell, then poll completedOps until the batch is back (latency).</li>
 * <li>{@code ioatPipelined}: enqueue a batch, doorbell, reap whatever completed, wait only when the ring
 * is full (steady-state throughput: the submitter keeps working while the engine copies).</li>
 * </ul>
 * The channels are created by reflection so that this module compiles against netdev-api alone; run with
 * the dma-ioat and dma-cpu jars on the class path (see dma-ioat/README.md).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class DmaCopyBench {
    private static final int SLOT = 2048;
    private static final int RING = 1024;

    @Param({"1", "8", "32"})
    public int segments;

    @Param({"64", "512", "1518"})
    public int size;

    private ByteBuffer src;
    private ByteBuffer dst;
    private long srcAddr;
    private long dstAddr;
    private DmaDevice ioat;
    private DmaDevice cpu;
    private DmaCompletions out;
    private int slot;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        src = NativeMemory.allocateAligned(RING * SLOT, 4096);
        dst = NativeMemory.allocateAligned(RING * SLOT, 4096);
        for (int i = 0; i < src.capacity(); i++) {
            src.put(i, (byte) i);
        }
        srcAddr = NativeMemory.address(src);
        dstAddr = NativeMemory.address(dst);
        out = new DmaCompletions(RING);
        ioat = newIoat("0000:00:04.0", RING);
        cpu = newCpu("0000:00:04.1", RING);
        ioat.start();
        cpu.start();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        ioat.stop();
        cpu.stop();
        out.clear();
        while (ioat.completedOps(RING, out) > 0) {
            out.clear();
        }
    }

    private static DmaDevice newIoat(String address, int ring) throws Exception {
        Class<?> engineType = Class.forName("io.pvio.dma.ioat.engine.Engine");
        Object engine = Class.forName("io.pvio.dma.ioat.engine.ModelEngine").getConstructor(String.class, int.class)
                .newInstance(address, -1);
        return (DmaDevice) Class.forName("io.pvio.dma.ioat.channel.IoatChannel")
                .getConstructor(String.class, engineType, int.class).newInstance(address, engine, ring);
    }

    private static DmaDevice newCpu(String address, int ring) throws Exception {
        return (DmaDevice) Class.forName("io.pvio.dma.cpu.CpuChannel").getConstructor(String.class, int.class)
                .newInstance(address, ring);
    }

    private long nextSlot() {
        int s = slot;
        slot = (s + 1) & (RING - 1);
        return (long) s * SLOT;
    }

    @Benchmark
    public int memcpy() {
        for (int i = 0; i < segments; i++) {
            long off = nextSlot();
            NativeMemory.copy(srcAddr + off, dstAddr + off, size);
        }
        return slot;
    }

    @Benchmark
    public int cpuChannel() {
        for (int i = 0; i < segments; i++) {
            long off = nextSlot();
            cpu.enqueueCopy(srcAddr + off, dstAddr + off, size, off, off);
        }
        cpu.performOps();
        return cpu.completedOps(segments, out);
    }

    @Benchmark
    public int ioatRoundTrip() {
        for (int i = 0; i < segments; i++) {
            long off = nextSlot();
            ioat.enqueueCopy(srcAddr + off, dstAddr + off, size, off, off);
        }
        ioat.performOps();
        int got = 0;
        while (got < segments) {
            int n = ioat.completedOps(segments - got, out);
            if (n == 0) {
                Thread.onSpinWait();
            }
            got += n;
        }
        return got;
    }

    @Benchmark
    public int ioatPipelined() {
        while (ioat.freeSlots() < segments) {
            if (ioat.completedOps(RING, out) == 0) {
                Thread.onSpinWait();
            }
        }
        for (int i = 0; i < segments; i++) {
            long off = nextSlot();
            ioat.enqueueCopy(srcAddr + off, dstAddr + off, size, off, off);
        }
        ioat.performOps();
        return ioat.completedOps(RING, out);
    }
}
