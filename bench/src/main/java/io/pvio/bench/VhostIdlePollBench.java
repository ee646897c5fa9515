package io.pvio.bench;

import io.pvio.dma.DmaDevice;
import io.pvio.dma.cpu.CpuChannel;
import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.SimpleNetdevContext;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import io.pvio.vhost.async.AsyncBinder;
import io.pvio.vhost.netdev.VhostPort;
import io.pvio.vhost.netdev.VhostUserServerClass;
import io.pvio.virtio.user.VirtioUserConfig;
import io.pvio.virtio.user.VirtioUserDevice;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
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
 * One poll of an idle vhost-user receive queue ({@code VhostPort.rxqRecv} finding nothing new): what a PMD
 * pays per port and iteration while a guest sends nothing. The front end is pvio's Java virtio-user device
 * over a real socket. {@code sealed=false}: its memory is a plain memfd, not sealed against shrinking (as
 * DPDK's), so the poll takes the path that guards against a front end truncating its memory (issue 15): the
 * avail index read without leaving a fault pending, and no fault fence when nothing else was touched;
 * {@code sealed=true}: sealed as QEMU's memfd, nothing to guard.
 *
 * <p>{@code mode}: {@code cpu} (synchronous copies) or {@code async-cpu} (queues bound to a dma-cpu channel).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class VhostIdlePollBench {
    @Param({"cpu", "async-cpu"})
    public String mode;

    @Param({"false", "true"})
    public boolean sealed;

    private CpuChannel channel;
    private AsyncBinder binder;
    private Path dir;
    private Netdev vhost;
    private VirtioUserDevice frontEnd;
    private final PacketBatch in = new PacketBatch();

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        PacketPool pool = new PacketPool("bench", 4096);
        dir = Files.createTempDirectory("vhost-idle-bench-");
        NetdevContext ctx = new SimpleNetdevContext(pool, dir, () -> { });
        if (mode.equals("async-cpu")) {
            binder = new AsyncBinder();
            channel = new CpuChannel("0000:00:04.0", 256);
            channel.start();
            binder.addDevice(channel, Map.of(DmaDevice.ADDRESS_PROPERTY, "0000:00:04.0", DmaDevice.DRIVER_PROPERTY,
                    "cpu", "service.id", 1L));
            VhostUserServerClass cls = new VhostUserServerClass(binder);
            cls.setOtherConfig(Map.of("vhost-async-copy-support", "true"));
            vhost = cls.open("vhu0", Map.of("vhost-async-attr", "(txq0,00:04.0,0),(rxq0,00:04.0,0)"), ctx);
        } else {
            vhost = new VhostUserServerClass().open("vhu0", Map.of(), ctx);
        }
        frontEnd = VirtioUserDevice.open(new VirtioUserConfig().name("fe0").path(dir.resolve("vhu0"))
                .sealMemory(sealed));
        if (!frontEnd.awaitReady(20_000)) {
            throw new IllegalStateException("the front end is not ready");
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!vhost.carrier()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("vhost-user link did not come up");
            }
            Thread.sleep(10);
        }
        if (((VhostPort) vhost).device().memory().sealed() != sealed) {
            throw new IllegalStateException("the front end's memory is not " + (sealed ? "sealed" : "unsealed"));
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        frontEnd.close();
        vhost.close();
        if (channel != null) {
            binder.removeDevice(channel);
            channel.stop();
        }
        try (var s = Files.list(dir)) {
            s.forEach(p -> p.toFile().delete());
        }
        Files.deleteIfExists(dir);
    }

    @Benchmark
    public int idlePoll() {
        int n = vhost.rxqRecv(0, in);
        if (n != 0) {
            throw new IllegalStateException("the queue is not idle: " + n);
        }
        return n;
    }
}
