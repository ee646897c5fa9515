package io.pvio.vhost.async;

import io.pvio.dma.DmaDevice;
import io.pvio.memory.NativeMemory;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketPool;
import java.nio.ByteBuffer;
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
 * Segment tracking of the asynchronous vhost path (io.pvio.vhost.async.CopyTracker), per packet of a
 * 32-packet burst: begin / used / copy / end for each packet, submit, then complete until the burst is
 * retired. {@code channel=none}: every copy by the CPU inside {@code copy} (the tracker's bookkeeping on top
 * of the memcpy); {@code channel=dma-cpu}: copies go through io.pvio.dma.cpu.CpuChannel (a synchronous
 * "DMA" channel doing the copy at the doorbell), which adds the channel protocol (enqueue, doorbell,
 * completions, routing by handle). The class lives in the tracker's package because binding a channel
 * ({@code attach}) is package-private; it needs netdev-vhost-async and dma-cpu on the class path.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class CopyTrackerBench {
    private static final int BURST = 32;
    private static final int SPAN = 4 << 20;

    @Param({"none", "dma-cpu"})
    public String channel;

    @Param({"64", "1518"})
    public int size;

    private CopyTracker tracker;
    private PacketPool pool;
    private final Packet[] pkts = new Packet[BURST];
    private ByteBuffer guest;
    private long guestBase;
    private int off;
    private DmaDevice device;
    private final CopyTracker.Sink sink = new CopyTracker.Sink() {
        @Override
        public void used(int id, int len) {
            usedSum += len;
        }

        @Override
        public void packet(Packet p) {
            retired++;
        }
    };
    private long usedSum;
    private int retired;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        pool = new PacketPool("bench", 256);
        for (int i = 0; i < BURST; i++) {
            pkts[i] = pool.alloc();
            pkts[i].setData(pkts[i].headroom(), size);
        }
        guest = NativeMemory.allocateAligned(SPAN, 4096);
        guestBase = NativeMemory.address(guest);
        tracker = new CopyTracker("bench", 256, 256);
        if (channel.equals("dma-cpu")) {
            device = (DmaDevice) Class.forName("io.pvio.dma.cpu.CpuChannel").getConstructor(String.class, int.class)
                    .newInstance("0000:00:04.0", 256);
            device.start();
            DmaChannel ch = new DmaChannel(device, "0000:00:04.0", "cpu");
            tracker.attach(ch, ch.register(tracker), 0);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (device != null) {
            device.stop();
        }
        for (Packet p : pkts) {
            p.free();
        }
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public long burst() {
        CopyTracker t = tracker;
        for (int i = 0; i < BURST; i++) {
            Packet p = pkts[i];
            t.begin(p);
            t.used(i, size + 12);
            long dst = guestBase + off;
            off = (off + 2048) & (SPAN - 1);
            t.copy(p.dataAddress(), dst, size);
            t.end();
        }
        t.submit();
        retired = 0;
        while (retired < BURST) {
            t.complete(sink);
        }
        return usedSum;
    }
}
