package io.pvio.bench;

import io.pvio.dma.DmaDevice;
import io.pvio.dma.cpu.CpuChannel;
import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.SimpleNetdevContext;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import io.pvio.vhost.async.AsyncBinder;
import io.pvio.vhost.netdev.VhostUserServerClass;
import io.pvio.virtio.user.netdev.VirtioUserClass;
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
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A burst of 32 packets through pvio's vhost-user back end (netdev-vhost-async, dpdkvhostuser, CPU copies)
 * and the Java virtio-user front end, both netdevs opened in this JVM over a real vhost-user socket and a
 * memfd, on one thread, per packet (each including the allocation of the burst's 32 packets from the pool):
 * {@code enqueue} = VhostPort.send (copy into guest buffers, used ring) + VirtioUserPort.rxqRecv (copy out) +
 * free; {@code dequeue} = VirtioUserPort.send (copy into guest memory, avail ring) + VhostPort.rxqRecv (copy
 * out of guest memory into pool packets) + free. Both directions include the front end's work: subtract a
 * front-end-only estimate with care (the vhost side is roughly half at 64 bytes).
 *
 * <p>{@code mode}: {@code cpu} (synchronous copies) or {@code async-cpu}: the vhost port's queues bound to a
 * dma-cpu channel with threshold 0, so every copy goes through the asynchronous machinery (tracker, channel,
 * doorbell, completion poll, in-order retirement in {@code free_pkts}) while the channel copies at the
 * doorbell on this thread: the difference between the two is that machinery's cost, without a second core.
 *
 * <p>{@code ring}: {@code split} or {@code packed} virtqueues (VIRTIO_F_RING_PACKED), on both sides.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class VhostPathBench {
    private static final int BURST = PacketBatch.MAX;

    @Param({"64", "1518"})
    public int size;

    @Param({"cpu", "async-cpu"})
    public String mode;

    /** {@code split} or {@code packed} virtqueues (the front end's option packed=true). */
    @Param({"split", "packed"})
    public String ring;

    private CpuChannel channel;
    private AsyncBinder binder;

    private PacketPool pool;
    private Path dir;
    private Netdev vhost;
    private Netdev frontEnd;
    private final PacketBatch out = new PacketBatch();
    private final PacketBatch in = new PacketBatch();

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        pool = new PacketPool("bench", 4096);
        dir = Files.createTempDirectory("vhost-bench-");
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
        frontEnd = new VirtioUserClass().open("fe0", Map.of("path", "vhu0", "packed",
                String.valueOf(ring.equals("packed"))), ctx);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!(vhost.carrier() && frontEnd.carrier())) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("vhost-user link did not come up");
            }
            Thread.sleep(10);
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

    private void fill() {
        for (int i = 0; i < BURST; i++) {
            Packet p = pool.alloc();
            p.setData(p.headroom(), size);
            p.buffer().putLong(p.dataOffset(), 0x0200000000010200L);
            out.add(p);
        }
    }

    private int drain(Netdev rx) {
        int got = 0;
        for (int spins = 0; got < BURST && spins < 1000; spins++) {
            int n = rx.rxqRecv(0, in);
            got += n;
            in.freeAll();
        }
        if (got != BURST) { // a partial burst would be divided by BURST all the same: fail instead
            throw new IllegalStateException("burst of " + BURST + " delivered " + got);
        }
        return got;
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public int enqueue() {
        fill();
        int inFlight = vhost.send(0, out, false);
        while (inFlight > 0) {
            inFlight = vhost.freePkts(0, false); // async-cpu: the copies are done, this retires them
        }
        return drain(frontEnd);
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public int dequeue() {
        fill();
        frontEnd.send(0, out, false);
        return drain(vhost);
    }
}
