package io.pvio.bench;

import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaDevice;
import io.pvio.dma.spi.DmaEngine;
import io.pvio.dma.spi.EngineChannel;
import io.pvio.memory.NativeMemory;
import java.nio.ByteBuffer;
import java.util.List;
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
 * The DMA engines, the IOAT model (dma-ioat), DPDK dmadev on dma_skeleton (dma-dmadev) and the CPU channel
 * (dma-cpu), against a plain {@link NativeMemory#copy}: one op is one batch of {@code segments} copies of
 * {@code size} bytes behind one submit.
 *
 * <ul>
 * <li>{@code memcpy}: the copies done inline by the caller.</li>
 * <li>{@code cpuChannel}: copy, submit, completed on a dma-cpu channel.</li>
 * <li>{@code ioatRoundTrip} / {@code dmadevRoundTrip}: copy, submit, then poll completed until the batch is
 * back (latency; for dmadev this includes the shim's one native call per burst and per poll, and the
 * skeleton's copy thread).</li>
 * <li>{@code ioatPipelined} / {@code dmadevPipelined}: copy a batch, submit, reap whatever completed, wait
 * only when the ring is full (steady-state throughput: the submitter keeps working while the engine copies).</li>
 * </ul>
 * The engines are created by reflection so that this module compiles against netdev-api alone. The dmadev
 * rows start EAL in the benchmark JVM with two dma_skeleton devices; without the shim (built without gcc or
 * DPDK's headers) they fail with the reason and the other rows run.
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
    private DmaDevice dmadev;
    private String dmadevMissing;
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
        try {
            dmadev = newDmadev("0000:00:04.2", "dma_skeleton0", RING);
            dmadev.start();
        } catch (Exception | LinkageError e) {
            dmadevMissing = "dmadev engine unavailable: " + e;
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (DmaDevice d : new DmaDevice[] {ioat, cpu, dmadev}) {
            if (d != null) {
                d.stop();
                while (d.completedStatus(RING, out) > 0) {
                    // read what is left
                }
                ((EngineChannel) d).engine().close();
            }
        }
    }

    private static DmaDevice newIoat(String address, int ring) throws Exception {
        DmaEngine engine = (DmaEngine) Class.forName("io.pvio.dma.ioat.engine.ModelEngine")
                .getConstructor(String.class, int.class).newInstance(address, -1);
        return new EngineChannel(address, "ioat", engine, ring, "dma_ioat");
    }

    private static DmaDevice newDmadev(String address, String device, int ring) throws Exception {
        Class.forName("io.pvio.dma.dmadev.Eal").getMethod("ensureStarted", List.class).invoke(null, List.of(
                "--no-huge", "-m", "64", "--no-pci", "--no-shconf", "--no-telemetry", "--lcores", "0@(0-"
                + (Runtime.getRuntime().availableProcessors() - 1) + ")", "--vdev=dma_skeleton0",
                "--vdev=dma_skeleton1"));
        DmaEngine engine = (DmaEngine) Class.forName("io.pvio.dma.dmadev.DmadevEngine").getConstructor(String.class)
                .newInstance(device);
        return new EngineChannel(address, "dmadev", engine, ring, "dma_dmadev");
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
            cpu.copy(srcAddr + off, dstAddr + off, size, 0);
        }
        cpu.submit();
        return cpu.completed(segments, out);
    }

    @Benchmark
    public int ioatRoundTrip() {
        return roundTrip(ioat);
    }

    @Benchmark
    public int ioatPipelined() {
        return pipelined(ioat);
    }

    @Benchmark
    public int dmadevRoundTrip() {
        return roundTrip(dmadev());
    }

    @Benchmark
    public int dmadevPipelined() {
        return pipelined(dmadev());
    }

    private DmaDevice dmadev() {
        if (dmadev == null) {
            throw new IllegalStateException(dmadevMissing);
        }
        return dmadev;
    }

    private int roundTrip(DmaDevice d) {
        for (int i = 0; i < segments; i++) {
            long off = nextSlot();
            d.copy(srcAddr + off, dstAddr + off, size, 0);
        }
        d.submit();
        int got = 0;
        while (got < segments) {
            int n = d.completed(segments - got, out);
            if (n == 0) {
                Thread.onSpinWait();
            }
            got += n;
        }
        return got;
    }

    private int pipelined(DmaDevice d) {
        while (d.burstCapacity() < segments) {
            if (d.completed(RING, out) == 0) {
                Thread.onSpinWait();
            }
        }
        for (int i = 0; i < segments; i++) {
            long off = nextSlot();
            d.copy(srcAddr + off, dstAddr + off, size, 0);
        }
        d.submit();
        return d.completed(RING, out);
    }
}
