package io.pvio.vhost;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dma.DmaDevice;
import io.pvio.dma.cpu.CpuChannel;
import io.pvio.dma.ioat.engine.ModelEngine;
import io.pvio.dma.spi.EngineChannel;
import io.pvio.netdev.NetdevException;
import io.pvio.netdev.NetdevStats;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.vhost.async.AsyncBinder;
import io.pvio.vhost.netdev.VhostPort;
import io.pvio.vhost.netdev.VhostUserServerClass;
import io.pvio.virtio.user.VirtioUserConfig;
import io.pvio.virtio.user.VirtioUserDevice;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Asynchronous enqueue and dequeue through real DMA channels (the IOAT model and the CPU channel, as plain
 * objects) against the Java virtio-user front end: order, bytes, exact counts, faults, hot swap.
 */
public class AsyncCopyTest {
    /** Hang guard only: no assertion depends on speed. */
    @Rule
    public Timeout guard = new Timeout(120, TimeUnit.SECONDS);

    static final String A0 = "0000:00:04.0";
    /** Sizes across a 256-byte threshold, in one queue: 64 and 255 by the CPU, the rest by DMA. */
    static final int[] MIX = {64, 1518, 255, 256, 1000, 60, 1518, 2000, 128, 1518};

    TestContext ctx;
    private AsyncBinder binder;
    private VhostUserServerClass cls;
    private final List<AutoCloseable> open = new ArrayList<>();
    private final List<DmaDevice> channels = new ArrayList<>();
    private long serviceId;

    /** The front-end configuration every test starts from (split rings; a subclass: packed). */
    VirtioUserConfig config() {
        return new VirtioUserConfig();
    }

    /**
     * Packets a test offers at once; the ring takes two such bursts while the guest receives nothing (a
     * subclass: a smaller ring).
     */
    int burst() {
        return 32;
    }

    @Before
    public void setUp() throws Exception {
        ctx = new TestContext(8192);
        binder = new AsyncBinder();
        cls = new VhostUserServerClass(binder);
        cls.setOtherConfig(Map.of("vhost-async-copy-support", "true"));
    }

    @After
    public void tearDown() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
        for (DmaDevice d : channels) {
            binder.removeDevice(d);
            d.stop();
        }
        assertEquals("packets leaked", 0, ctx.pool.inUse());
        ctx.cleanup();
    }

    EngineChannel ioat(String address, int ring) throws Exception {
        EngineChannel ch = new EngineChannel(address, "ioat", new ModelEngine(address, -1), ring, "dma_ioat");
        ch.start();
        add(ch, address, "ioat");
        return ch;
    }

    CpuChannel cpu(String address) throws Exception {
        CpuChannel ch = new CpuChannel(address, 256);
        ch.start();
        add(ch, address, "cpu");
        return ch;
    }

    private void add(DmaDevice ch, String address, String driver) {
        channels.add(ch);
        binder.addDevice(ch, Map.of(DmaDevice.ADDRESS_PROPERTY, address, DmaDevice.DRIVER_PROPERTY, driver,
                "service.id", ++serviceId));
    }

    /** Clears the channel's stall in 200 ms, on a thread of its own (started). */
    static Thread unstallLater(EngineChannel ch) {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                return;
            }
            ch.setFaults(0, false);
        });
        t.start();
        return t;
    }

    /** As a provider does: unregister (the binder drains), then stop. */
    private void remove(DmaDevice ch) {
        binder.removeDevice(ch);
        ch.stop();
        channels.remove(ch);
    }

    VhostPort port(String name, String attr) throws Exception {
        VhostPort p = (VhostPort) cls.open(name, attr == null ? Map.of() : Map.of("vhost-async-attr", attr), ctx);
        open.add(p);
        return p;
    }

    VirtioUserDevice frontEnd(VhostPort p, VirtioUserConfig c) throws Exception {
        VirtioUserDevice d = VirtioUserDevice.open(c.path(ctx.runDir.resolve(p.name())));
        open.add(d);
        assertTrue("front end ready: " + d.lastError(), d.awaitReady(10_000));
        VirtioUserTest.awaitCarrier(p, true);
        return d;
    }

    static Map<String, Long> custom(VhostPort p) {
        Map<String, Long> m = new HashMap<>();
        p.getCustomStats(m::put);
        return m;
    }

    static int sizeOf(int seq) {
        return MIX[Math.floorMod(seq, MIX.length)];
    }

    /**
     * Offers packets seq..seq+k-1 to tx queue 0; returns how many the port took (the others were dropped
     * with the ring full: the caller offers them again).
     */
    static int offer(VhostPort p, TestContext ctx, PacketBatch b, int seq, int k, int[] inFlight) {
        for (int i = 0; i < k; i++) {
            byte[] f = new byte[sizeOf(seq + i)];
            Frames.fill(f, seq + i);
            b.add(Frames.packet(ctx.pool, f, Integer.MAX_VALUE));
        }
        long before = Frames.stats(p).txPackets;
        inFlight[0] = p.send(0, b, false);
        assertEquals("send empties the batch", 0, b.size());
        return (int) (Frames.stats(p).txPackets - before);
    }

    /** Takes every frame waiting in the guest and checks it is the next one, whole. */
    static int receiveInOrder(VirtioUserDevice d, byte[] buf, int expected) {
        int n;
        int got = 0;
        while ((n = d.receive(0, buf, 0)) >= 0) {
            int seq = expected + got;
            assertEquals("length of frame " + seq + " (order kept)", sizeOf(seq), n);
            byte[] exp = new byte[n];
            Frames.fill(exp, seq);
            byte[] actual = java.util.Arrays.copyOf(buf, n);
            assertArrayEquals("bytes of frame " + seq, exp, actual);
            got++;
        }
        return got;
    }

    /**
     * One thread plays PMD and guest: sends {@code total} frames of mixed sizes on txq0 (offering again
     * what a full ring refused), calls freePkts while packets are in flight, and checks each frame the guest
     * receives. {@code between} runs every 64 frames received (fault injection, hot swap).
     */
    private void enqueueTraffic(VhostPort p, VirtioUserDevice d, int total, Runnable between) {
        PacketBatch b = new PacketBatch();
        byte[] buf = new byte[16384];
        int[] inFlight = new int[1];
        int next = 0;
        int received = 0;
        int lastHook = 0;
        while (received < total) {
            if (next < total) {
                next += offer(p, ctx, b, next, Math.min(PacketBatch.MAX, total - next), inFlight);
            }
            if (inFlight[0] > 0) {
                inFlight[0] = p.freePkts(0, false);
            }
            received += receiveInOrder(d, buf, received);
            if (between != null && received - lastHook >= 64) {
                lastHook = received;
                between.run();
            }
        }
        while (inFlight[0] > 0) {
            inFlight[0] = p.freePkts(0, false);
        }
        assertEquals(0, receiveInOrder(d, buf, received));
        NetdevStats s = Frames.stats(p);
        assertEquals("tx_packets", total, s.txPackets);
        assertEquals("guest rx_packets", total, d.stats().rxPackets);
        assertEquals(0, s.txInFlight);
    }

    @Test
    public void enqueueMixedSizesAcrossTheThresholdKeepsOrderAndBytes() throws Exception {
        ioat(A0, 256);
        VhostPort p = port("va0", "(txq0,00:04.0,256)");
        VirtioUserDevice d = frontEnd(p, config().name("fe-a0"));
        assertTrue(p.show(), p.show().contains("async txq0: ioat@0000:00:04.0 threshold 256 B"));
        enqueueTraffic(p, d, 20_000, null);
        Map<String, Long> c = custom(p);
        System.out.println("MEASURED async enqueue mix: " + c.entrySet().stream()
                .filter(e -> e.getKey().startsWith("tx_q0_async")).sorted(Map.Entry.comparingByKey()).toList());
        assertEquals(20_000L, (long) c.get("tx_q0_async_submitted"));
        assertEquals(20_000L, (long) c.get("tx_q0_async_completed"));
        assertEquals(0L, (long) c.get("tx_q0_async_inflight"));
        assertTrue("DMA copies", c.get("tx_q0_async_dma_copies") > 0);
        assertTrue("CPU copies below the threshold", c.get("tx_q0_async_cpu_copies") >= 20_000 * 3 / 10);
        assertEquals(0L, (long) c.get("tx_q0_async_dma_errors"));
    }

    @Test
    public void enqueueAllFullSizeFramesNonMergeable() throws Exception {
        ioat(A0, 256);
        VhostPort p = port("va1", "(txq0,00:04.0,0)");
        VirtioUserDevice d = frontEnd(p, config().name("fe-a1").mrgRxbuf(false));
        enqueueTraffic(p, d, 5_000, null);
        Map<String, Long> c = custom(p);
        assertEquals("every copy by DMA with threshold 0", 0L, (long) c.get("tx_q0_async_cpu_copies")
                - c.get("tx_q0_async_ring_full_fallbacks"));
    }

    /**
     * A packet sent to several ports (one reference each) is not written by any: its headroom is left as it
     * was, while the guest still gets header and frame.
     */
    @Test
    public void sharedPacketIsNotWrittenBySend() throws Exception {
        ioat(A0, 256);
        VhostPort p = port("va12", "(txq0,00:04.0,0)");
        VirtioUserDevice d = frontEnd(p, config().name("fe-a12"));
        byte[] f = new byte[1518];
        Frames.fill(f, 0);
        Packet pkt = Frames.packet(ctx.pool, f, Integer.MAX_VALUE);
        assertTrue(pkt.dataOffset() >= 12);
        for (int i = 0; i < pkt.dataOffset(); i++) {
            pkt.buffer().put(i, (byte) 0x5a);
        }
        pkt.retain(); // another port's reference
        PacketBatch b = new PacketBatch();
        b.add(pkt);
        int inFlight = p.send(0, b, false);
        while (inFlight > 0) {
            inFlight = p.freePkts(0, false);
        }
        byte[] buf = new byte[16384];
        assertEquals(1518, d.receive(0, buf, 0));
        assertArrayEquals(f, java.util.Arrays.copyOf(buf, 1518));
        assertEquals("our reference is left", 1, pkt.refcnt());
        for (int i = 0; i < pkt.dataOffset(); i++) {
            assertEquals("headroom byte " + i, (byte) 0x5a, pkt.buffer().get(i));
        }
        pkt.free();
        assertEquals(1L, (long) custom(p).get("tx_q0_async_dma_copies"));
    }

    @Test
    public void failingChannelLosesAndCorruptsNothing() throws Exception {
        EngineChannel ch = ioat(A0, 256);
        ch.setFaults(0.3, false);
        VhostPort p = port("va2", "(txq0,00:04.0,256),(rxq0,00:04.0,256)");
        VirtioUserDevice d = frontEnd(p, config().name("fe-a2"));
        enqueueTraffic(p, d, 10_000, null);
        dequeueTraffic(p, d, 5_000);
        Map<String, Long> c = custom(p);
        System.out.println("MEASURED fault 0.3: tx dma_errors=" + c.get("tx_q0_async_dma_errors") + " rx dma_errors="
                + c.get("rx_q0_async_dma_errors"));
        assertTrue("tx dma errors redone by the CPU", c.get("tx_q0_async_dma_errors") > 0);
        assertTrue("rx dma errors redone by the CPU", c.get("rx_q0_async_dma_errors") > 0);
    }

    @Test
    public void stalledChannelThenClearedLosesNothingAndFullRingFallsBackToCpu() throws Exception {
        EngineChannel ch = ioat(A0, 64);
        VhostPort p = port("va3", "(txq0,00:04.0,0)");
        VirtioUserDevice d = frontEnd(p, config().name("fe-a3"));
        ch.setFaults(0, true);
        PacketBatch b = new PacketBatch();
        int[] inFlight = new int[1];
        int sent = 0;
        for (int i = 0; i < 4; i++) {
            sent += offer(p, ctx, b, sent, 32, inFlight);
        }
        assertEquals(128, sent);
        assertEquals("nothing completes while the channel stalls", 128, p.freePkts(0, false));
        byte[] buf = new byte[16384];
        assertEquals("the guest sees nothing before the first (stalled) copy", 0, receiveInOrder(d, buf, 0));
        Map<String, Long> c = custom(p);
        assertEquals(64L, (long) c.get("tx_q0_async_ring_full_fallbacks"));
        assertEquals(64L, (long) c.get("tx_q0_async_dma_copies"));
        ch.setFaults(0, false);
        int received = 0;
        long end = System.currentTimeMillis() + 20_000;
        while (received < 128 && System.currentTimeMillis() < end) {
            p.freePkts(0, false);
            received += receiveInOrder(d, buf, received);
        }
        assertEquals(128, received);
        assertEquals(0, p.freePkts(0, false));
    }

    @Test
    public void channelRemovedMidTrafficDrainsThenCpuThenRebinds() throws Exception {
        EngineChannel ch = ioat(A0, 256);
        VhostPort p = port("va4", "(txq0,00:04.0,0),(rxq0,00:04.0,0)");
        VirtioUserDevice d = frontEnd(p, config().name("fe-a4"));
        int total = 30_000;
        AtomicInteger swaps = new AtomicInteger();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        AtomicBoolean stop = new AtomicBoolean();
        // a control thread swaps channels while the PMD (this thread) sends: ioat -> none (CPU) -> cpu -> ioat
        Thread control = new Thread(() -> {
            try {
                DmaDevice cur = ch;
                int step = 0;
                while (!stop.get()) {
                    Thread.sleep(15);
                    if (step % 3 == 0) {
                        remove(cur);
                        cur = null;
                    } else if (step % 3 == 1) {
                        cur = cpu(A0);
                    } else {
                        remove(cur);
                        cur = ioat(A0, 256);
                    }
                    step++;
                    swaps.incrementAndGet();
                }
            } catch (Throwable t) {
                failed.set(t);
            }
        });
        control.start();
        try {
            enqueueTraffic(p, d, total, null);
            dequeueTraffic(p, d, 10_000);
        } finally {
            stop.set(true);
            control.join();
        }
        assertNull(failed.get());
        System.out.println("MEASURED hot swap: " + swaps.get() + " channel changes during " + total
                + " enqueued and 10000 dequeued frames, none lost");
        assertTrue("channels changed under traffic", swaps.get() >= 3);
        Map<String, Long> c = custom(p);
        assertTrue(c.get("tx_q0_async_dma_copies") > 0);
    }

    /** The guest transmits {@code total} frames of mixed sizes; rxq0 returns them complete and in order. */
    private void dequeueTraffic(VhostPort p, VirtioUserDevice d, int total) {
        PacketBatch b = new PacketBatch();
        long before = Frames.stats(p).rxPackets;
        int sent = 0;
        int got = 0;
        while (got < total) {
            while (sent < total) {
                byte[] f = new byte[sizeOf(sent)];
                Frames.fill(f, sent);
                if (!d.transmit(0, f)) {
                    d.reclaim(0);
                    break;
                }
                sent++;
            }
            p.rxqRecv(0, b);
            for (int i = 0; i < b.size(); i++) {
                Packet pkt = b.get(i);
                int seq = got + i;
                byte[] exp = new byte[sizeOf(seq)];
                Frames.fill(exp, seq);
                assertArrayEquals("dequeued frame " + seq + " (order kept)", exp, pkt.toByteArray());
            }
            got += b.size();
            b.freeAll();
        }
        assertEquals(total, Frames.stats(p).rxPackets - before);
    }

    @Test
    public void dequeueMixedSizesInOrder() throws Exception {
        ioat(A0, 256);
        VhostPort p = port("va5", "(rxq0,00:04.0,256)");
        VirtioUserDevice d = frontEnd(p, config().name("fe-a5"));
        dequeueTraffic(p, d, 20_000);
        Map<String, Long> c = custom(p);
        assertTrue(c.get("rx_q0_async_dma_copies") > 0);
        assertTrue(c.get("rx_q0_async_cpu_copies") > 0);
        assertEquals(20_000L, (long) c.get("rx_q0_async_completed"));
    }

    @Test
    public void badAttrIsRefusedAndThePortKeepsWorking() throws Exception {
        ioat(A0, 256);
        String good = "(txq0,00:04.0,256)";
        VhostPort p = port("va6", good);
        VirtioUserDevice d = frontEnd(p, config().name("fe-a6"));
        refused(p, "(txq0,00:04.0)", "expected '(txqN|rxqN,PCI-ADDRESS,THRESHOLD)'");
        refused(p, "(txq9,00:04.0,256)", "unknown queue txq9");
        refused(p, "(foo0,00:04.0,256)", "unknown queue 'foo0'");
        refused(p, "(txq0,00:05.0,256)", "no DMA channel at 0000:00:05.0");
        refused(p, "(txq0,zz:04.0,256)", "not a PCI address");
        assertEquals(good, p.getConfig().get("vhost-async-attr"));
        assertTrue(p.show(), p.show().contains("ioat@0000:00:04.0 threshold 256 B"));
        try {
            cls.open("va6b", Map.of("vhost-async-attr", "(rxq0,00:06.0,64)"), ctx);
            fail("opened with a channel that does not exist");
        } catch (NetdevException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("no DMA channel at 0000:00:06.0"));
        }
        enqueueTraffic(p, d, 2_000, null);
        // a live change of the threshold, then to the CPU (attr removed), then back: nothing lost
        p.setConfig(Map.of("vhost-async-attr", "(txq0,0000:00:04.0,1024)"));
        assertTrue(p.show(), p.show().contains("threshold 1024 B"));
        p.setConfig(Map.of());
        assertTrue(p.show(), !p.show().contains("async txq0"));
        p.setConfig(Map.of("vhost-async-attr", good));
        PacketBatch b = new PacketBatch();
        int[] inFlight = new int[1];
        int k = burst();
        assertEquals(k, offer(p, ctx, b, 0, k, inFlight));
        p.setConfig(Map.of("vhost-async-attr", "(txq0,00:04.0,0)")); // same channel: only the threshold changes
        long deadline = System.nanoTime() + 10_000_000_000L;
        int left;
        while ((left = p.freePkts(0, false)) > 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals("the " + k + " packets complete on the channel", 0, left);
        assertEquals(k, receiveInOrder(d, new byte[16384], 0));
    }

    private static void refused(VhostPort p, String attr, String part) {
        try {
            p.setConfig(Map.of("vhost-async-attr", attr));
            fail("accepted " + attr);
        } catch (NetdevException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(part));
            assertTrue(e.getMessage(), e.getMessage().startsWith(p.name() + ": "));
        }
    }

    @Test
    public void asyncSupportFlipsLiveWithoutLoss() throws Exception {
        ioat(A0, 256);
        VhostPort p = port("va7", "(txq0,00:04.0,0),(rxq0,00:04.0,0)");
        VirtioUserDevice d = frontEnd(p, config().name("fe-a7"));
        try (DpdkFrontEndTest.LogCount on = new DpdkFrontEndTest.LogCount("netdev_dpdk",
                "Async copy support for vhost-user-client enabled.");
                DpdkFrontEndTest.LogCount off = new DpdkFrontEndTest.LogCount("netdev_dpdk",
                        "Async copy support for vhost-user-client disabled.")) {
            int[] flips = {0};
            enqueueTraffic(p, d, 10_000, () -> {
                boolean enable = (flips[0]++ & 1) == 1;
                cls.setOtherConfig(Map.of("vhost-async-copy-support", Boolean.toString(enable)));
            });
            assertTrue(flips[0] > 4);
            assertTrue(off.count.get() >= 2);
            assertTrue(on.count.get() >= 2);
        }
        cls.setOtherConfig(Map.of("vhost-async-copy-support", "false"));
        assertTrue(p.show(), p.show().contains("cpu (async copy support disabled)"));
        cls.setOtherConfig(Map.of("vhost-async-copy-support", "true"));
        assertTrue(p.show(), p.show().contains("async txq0: ioat@0000:00:04.0"));
        assertTrue(custom(p).get("tx_q0_async_dma_copies") > 0);
    }

    /** Idle cost: with async configured, sends that need no DMA and empty sends report nothing in flight. */
    @Test
    public void idleAsyncPortNeedsNoFreePkts() throws Exception {
        ioat(A0, 256);
        VhostPort p = port("va8", "(txq0,00:04.0,256)");
        VirtioUserDevice d = frontEnd(p, config().name("fe-a8"));
        PacketBatch b = new PacketBatch();
        assertEquals("empty send", 0, p.send(0, b, false));
        assertEquals("nothing pending", 0, p.freePkts(0, false));
        int n = Math.min(10, burst());
        for (int i = 0; i < n; i++) {
            byte[] f = new byte[100];
            Frames.fill(f, i);
            b.add(Frames.packet(ctx.pool, f, Integer.MAX_VALUE));
        }
        assertEquals("below the threshold: done when send returns", 0, p.send(0, b, false));
        assertEquals(0, custom(p).get("tx_q0_async_free_pkts_with_work").longValue());
        int got = 0;
        byte[] buf = new byte[2048];
        while (d.receive(0, buf, 0) >= 0) {
            got++;
        }
        assertEquals(n, got);
    }

    /** Close with copies in flight (stalled channel cleared by the provider) frees every packet. */
    @Test
    public void closeAndDisconnectWithCopiesInFlightLeakNothing() throws Exception {
        EngineChannel ch = ioat(A0, 256);
        VhostPort p = port("va9", "(txq0,00:04.0,0)");
        VirtioUserDevice d = frontEnd(p, config().name("fe-a9"));
        PacketBatch b = new PacketBatch();
        int[] inFlight = new int[1];
        ch.setFaults(0, true);
        int k = burst();
        assertEquals(k, offer(p, ctx, b, 0, k, inFlight));
        assertEquals(k, inFlight[0]);
        Thread unstall = unstallLater(ch);
        d.close(); // the back end resets the rings: it drains first, then unmaps
        VirtioUserTest.awaitCarrier(p, false);
        unstall.join();
        assertEquals(0, p.freePkts(0, false));
        assertEquals(0, ctx.pool.inUse());
        VirtioUserDevice d2 = frontEnd(p, config().name("fe-a9b"));
        assertEquals(k, offer(p, ctx, b, 0, k, inFlight));
        ch.setFaults(0, true);
        assertEquals(k, offer(p, ctx, b, k, k, inFlight));
        assertNotNull(d2);
        unstallLater(ch);
        p.close(); // drains and frees: the pool check in tearDown proves it
        assertEquals(0, ctx.pool.inUse());
    }

    /** Two PMDs share txq0 (concurrentTxq) with async copies: nothing lost, contention counted. */
    @Test
    public void sharedTxqWithAsyncCopiesIsSerialised() throws Exception {
        ioat(A0, 256);
        VhostPort p = port("va10", "(txq0,00:04.0,256)");
        VirtioUserDevice d = frontEnd(p, config().name("fe-a10").queueSize(1024));
        int perThread = 10_000;
        Thread[] t = new Thread[2];
        for (int k = 0; k < 2; k++) {
            t[k] = new Thread(() -> {
                PacketBatch b = new PacketBatch();
                byte[] f = new byte[1000];
                int left = perThread;
                while (left > 0) {
                    int n = Math.min(8, left);
                    for (int i = 0; i < n; i++) {
                        b.add(Frames.packet(ctx.pool, f, Integer.MAX_VALUE));
                    }
                    p.send(0, b, true);
                    p.freePkts(0, true);
                    left -= n;
                }
                while (p.freePkts(0, true) > 0) {
                    Thread.onSpinWait();
                }
            });
            t[k].start();
        }
        byte[] buf = new byte[2048];
        long received = 0;
        while (t[0].isAlive() || t[1].isAlive()) {
            if (d.receive(0, buf, 0) >= 0) {
                received++;
            }
        }
        t[0].join();
        t[1].join();
        while (d.receive(0, buf, 0) >= 0) {
            received++;
        }
        NetdevStats s = Frames.stats(p);
        assertEquals(2L * perThread, s.txPackets + s.txDropped);
        assertTrue("some frames must get through: " + s.txPackets, s.txPackets > 0);
        assertEquals(s.txPackets, received);
        assertTrue(custom(p).containsKey("tx_q0_lock_contended"));
        System.out.println("MEASURED shared txq: tx_q0_lock_contended=" + custom(p).get("tx_q0_lock_contended")
                + " tx_dropped=" + s.txDropped);
    }

    /**
     * The front end re-sends its memory table while a PMD echoes traffic through DMA in both directions:
     * copies in flight complete into the old table before it is unmapped; every echo is delivered or counted.
     */
    @Test
    public void memoryTableReplacedUnderAsyncTraffic() throws Exception {
        ioat(A0, 256);
        VhostPort p = port("va11", "(txq0,00:04.0,0),(rxq0,00:04.0,0)");
        VirtioUserDevice d = frontEnd(p, config().name("fe-a11"));
        AtomicBoolean stop = new AtomicBoolean();
        Thread pmd = new Thread(() -> {
            PacketBatch b = new PacketBatch();
            int inFlight = 0;
            while (!stop.get() || inFlight > 0) {
                if (p.rxqRecv(0, b) > 0) {
                    inFlight = p.send(0, b, false); // echo
                } else if (inFlight > 0) {
                    inFlight = p.freePkts(0, false);
                }
            }
        });
        pmd.start();
        byte[] f = new byte[1000];
        byte[] got = new byte[2048];
        int sent = 0;
        int received = 0;
        try {
            for (int i = 0; i < 200; i++) {
                Frames.fill(f, i);
                for (int k = 0; k < 8; k++) {
                    if (d.transmit(0, f)) {
                        sent++;
                    }
                }
                if (i % 4 == 0) {
                    TestContext.resendMemTable(d);
                }
                while (d.receive(0, got, 0) >= 0) {
                    received++;
                }
                d.reclaim(0);
            }
            long end = System.currentTimeMillis() + 10_000;
            while (System.currentTimeMillis() < end && received + Frames.stats(p).txDropped < sent) {
                while (d.receive(0, got, 0) >= 0) {
                    received++;
                }
            }
        } finally {
            stop.set(true);
            pmd.join();
        }
        NetdevStats s = Frames.stats(p);
        assertEquals("echoed back", sent, s.rxPackets);
        assertEquals("every echo delivered or counted as dropped", sent, received + s.txDropped);
        assertTrue("echoes delivered between the table changes", received > 0);
        assertTrue(custom(p).get("tx_q0_async_dma_copies") > 0);
        assertTrue(p.carrier());
    }
}
