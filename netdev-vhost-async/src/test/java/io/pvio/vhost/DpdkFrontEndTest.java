package io.pvio.vhost;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevStats;
import io.pvio.packet.PacketBatch;
import io.pvio.vhost.netdev.VhostPort;
import io.pvio.vhost.netdev.VhostUserClientClass;
import io.pvio.vhost.netdev.VhostUserServerClass;
import io.pvio.vhost.ring.VirtioFeatures;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** pvio's vhost-user back end against DPDK's virtio-user front end (dpdk-testpmd, no hugepages). */
public class DpdkFrontEndTest {
    TestContext ctx;
    Netdev port;

    @Before
    public void setUp() throws Exception {
        Testpmd.require();
        ctx = new TestContext(4096);
    }

    @After
    public void tearDown() {
        if (port != null) {
            port.close();
        }
        if (ctx != null) {
            assertEquals("packets leaked", 0, ctx.pool.inUse());
            ctx.cleanup();
        }
    }

    /** The virtio-user devargs of every test's testpmd (a subclass adds packed_vq=1). */
    String devargs(String args) {
        return args;
    }

    /** Whether {@link #devargs} makes the front end's rings packed (their remaining count is not kept). */
    boolean packed() {
        return false;
    }

    /**
     * Checks what a front end negotiated once its port has carrier: DPDK's virtio-user takes VIRTIO_F_IN_ORDER
     * (as from DPDK's own vhost), so these tests run its in-order paths, which free transmitted buffers in
     * ring order without reading the used ids (a subclass adds packed rings).
     */
    void checkFeatures(Netdev p) {
        long f = ((VhostPort) p).device().features();
        assertTrue("VIRTIO_F_IN_ORDER negotiated: " + VirtioFeatures.describe(f),
                VirtioFeatures.has(f, VirtioFeatures.F_IN_ORDER));
    }

    static void await(String what, long ms, BooleanSupplier cond) throws InterruptedException {
        long end = System.currentTimeMillis() + ms;
        while (!cond.getAsBoolean()) {
            if (System.currentTimeMillis() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    /**
     * Polls rx queue 0 on its own thread and counts (and frees) what it receives, and the most packets the
     * queue held at a receive (the batch plus {@code rxqRemaining}, pmd-perf-show's vhost qlen; -1 if never known).
     */
    static final class Poller implements AutoCloseable {
        final AtomicLong packets = new AtomicLong();
        volatile int maxQfill = -1;
        final AtomicLong bytes = new AtomicLong();
        final AtomicBoolean stop = new AtomicBoolean();
        final Thread t;

        Poller(Netdev d) {
            t = new Thread(() -> {
                PacketBatch b = new PacketBatch();
                while (!stop.get()) {
                    int n = d.rxqRecv(0, b);
                    if (n == 0) {
                        Thread.onSpinWait();
                        continue;
                    }
                    bytes.addAndGet(b.bytes());
                    packets.addAndGet(n);
                    b.freeAll();
                    int left = d.rxqRemaining(0);
                    if (left >= 0 && n + left > maxQfill) {
                        maxQfill = n + left;
                    }
                }
            }, "test-pmd");
            t.start();
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            t.join();
        }
    }

    void enqueue(Netdev p, Testpmd pmd, int n) throws Exception {
        await("carrier", 20_000, p::carrier);
        checkFeatures(p);
        pmd.awaitForwarding(20_000);
        Frames.sendExactly(p, ctx.pool, n, 64, 20_000);
        await("testpmd to count " + n + " packets", 10_000, () -> pmd.lastRx() >= n);
        String out = pmd.stop();
        assertEquals("testpmd RX-packets:\n" + Testpmd.tail(out), n, Testpmd.last(
                java.util.regex.Pattern.compile("RX-packets:\\s+(\\d+)"), out));
        NetdevStats s = Frames.stats(p);
        System.out.printf("MEASURED enqueue %s: pvio tx_packets=%d tx_dropped=%d, testpmd RX-packets=%d%n", p.name(),
                s.txPackets, s.txDropped, n);
        assertEquals(n, s.txPackets);
        assertEquals(64L * n, s.txBytes);
    }

    @Test
    public void serverModeEnqueueCountsAgree() throws Exception {
        port = new VhostUserServerClass().open("vhu0", Map.of(), ctx);
        Path sock = ctx.runDir.resolve("vhu0");
        assertTrue(sock.toFile().exists());
        try (Testpmd pmd = new Testpmd(sock, devargs(""), "rxonly", 1, 64, ctx.runDir)) {
            enqueue(port, pmd, 100_000);
        }
        port.close();
        assertFalse("socket removed on close", sock.toFile().exists());
        port = null;
    }

    @Test
    public void clientModeEnqueueCountsAgree() throws Exception {
        Path sock = ctx.runDir.resolve("fe.sock");
        try (Testpmd pmd = new Testpmd(sock, devargs("server=1"), "rxonly", 1, 64, ctx.runDir)) {
            await("testpmd socket", 20_000, () -> sock.toFile().exists());
            port = new VhostUserClientClass().open("vhc0", Map.of("vhost-server-path", sock.toString()), ctx);
            enqueue(port, pmd, 100_000);
        }
    }

    /**
     * testpmd (interactive) transmits until "stop", which prints its TX count; pvio then drains the ring,
     * and only then does testpmd quit (a port stop disables the ring, leaving what is still in it).
     */
    void dequeue(Netdev p, Testpmd pmd, int size) throws Exception {
        long rxBefore = Frames.stats(p).rxPackets;
        try (Poller poll = new Poller(p)) {
            await("carrier", 20_000, p::carrier);
            checkFeatures(p);
            pmd.awaitOutput("testpmd>", 1, 20_000);
            pmd.command("start");
            await("traffic", 20_000, () -> poll.packets.get() > 200_000);
            long t0 = System.nanoTime();
            long p0 = poll.packets.get();
            Thread.sleep(1000);
            double mpps = (poll.packets.get() - p0) / ((System.nanoTime() - t0) / 1e3);
            pmd.command("stop");
            pmd.awaitOutput("Done.", 1, 10_000);
            long tx = Testpmd.last(java.util.regex.Pattern.compile("TX-packets:\\s+(\\d+)"), pmd.output());
            await("pvio to drain the ring", 5_000, () -> poll.packets.get() >= tx);
            Thread.sleep(100);
            poll.close();
            int left = p.rxqRemaining(0); // before the front end quits: then the queue is reset
            pmd.command("quit");
            pmd.stop();
            System.out.printf("MEASURED dequeue %s: testpmd TX-packets=%d, pvio rx_packets=%d (%d B each);"
                    + " rough rate %.2f Mpps (1 s, test poller thread, 2 shared CPUs)%n", p.name(), tx,
                    poll.packets.get(), size, mpps);
            assertTrue("testpmd TX-packets:\n" + Testpmd.tail(pmd.output()), tx > 0);
            assertEquals("pvio received what testpmd sent", tx, poll.packets.get());
            assertEquals(tx, Frames.stats(p).rxPackets - rxBefore);
            assertEquals((long) size * tx, poll.bytes.get());
            if (packed()) { // not counted on packed rings, as DPDK's rte_vhost_rx_queue_count
                assertEquals(-1, poll.maxQfill);
                assertEquals(-1, left);
            } else { // what a receive left of DPDK's chains, within its ring; nothing once all is taken
                assertTrue("max vhost qlen " + poll.maxQfill, poll.maxQfill >= 1 && poll.maxQfill <= 32768);
                assertEquals(0, left);
            }
        }
    }

    @Test
    public void serverModeDequeueCountsAgree() throws Exception {
        port = new VhostUserServerClass().open("vhu1", Map.of(), ctx);
        try (Testpmd pmd = new Testpmd(ctx.runDir.resolve("vhu1"), devargs(""), "txonly", 1, 64, ctx.runDir, true)) {
            dequeue(port, pmd, 64);
        }
    }

    @Test
    public void clientModeDequeueCountsAgree() throws Exception {
        Path sock = ctx.runDir.resolve("fe.sock");
        try (Testpmd pmd = new Testpmd(sock, devargs("server=1"), "txonly", 1, 1500, ctx.runDir, true)) {
            await("testpmd socket", 20_000, () -> sock.toFile().exists());
            port = new VhostUserClientClass().open("vhc1", Map.of("vhost-server-path", sock.toString()), ctx);
            dequeue(port, pmd, 1500);
        }
    }

    /** An IOAT model channel at 0000:00:04.0 in a binder with async copy support on. */
    static io.pvio.dma.spi.EngineChannel asyncChannel(io.pvio.vhost.async.AsyncBinder binder)
            throws Exception {
        io.pvio.dma.spi.EngineChannel ch = new io.pvio.dma.spi.EngineChannel("0000:00:04.0", "ioat",
                new io.pvio.dma.ioat.engine.ModelEngine("0000:00:04.0", -1), 256, "dma_ioat");
        ch.start();
        binder.addDevice(ch, Map.of("dma.address", "0000:00:04.0", "dma.driver", "ioat"));
        binder.setEnabled(true);
        return ch;
    }

    /** Async enqueue (every copy of 64..1518 bytes by DMA, threshold 0): testpmd counts exactly what was sent. */
    @Test
    public void serverModeAsyncEnqueueCountsAgree() throws Exception {
        io.pvio.vhost.async.AsyncBinder binder = new io.pvio.vhost.async.AsyncBinder();
        io.pvio.dma.spi.EngineChannel ch = asyncChannel(binder);
        try {
            port = new VhostUserServerClass(binder).open("vha0", Map.of("vhost-async-attr", "(txq0,00:04.0,0)"),
                    ctx);
            try (Testpmd pmd = new Testpmd(ctx.runDir.resolve("vha0"), devargs(""), "rxonly", 1, 64, ctx.runDir)) {
                int n = 100_000;
                await("carrier", 20_000, port::carrier);
                checkFeatures(port);
                pmd.awaitForwarding(20_000);
                Frames.sendExactly(port, ctx.pool, n, 1518, 20_000);
                await("copies in flight to complete", 10_000, () -> port.freePkts(0, false) == 0);
                await("testpmd to count " + n + " packets", 10_000, () -> pmd.lastRx() >= n);
                String out = pmd.stop();
                assertEquals("testpmd RX-packets:\n" + Testpmd.tail(out), n, Testpmd.last(
                        java.util.regex.Pattern.compile("RX-packets:\\s+(\\d+)"), out));
                NetdevStats s = Frames.stats(port);
                Map<String, Long> c = new java.util.TreeMap<>();
                port.getCustomStats(c::put);
                System.out.printf("MEASURED async enqueue %s: pvio tx_packets=%d tx_dropped=%d, testpmd"
                        + " RX-packets=%d, dma copies=%d, ring-full fallbacks=%d%n", port.name(), s.txPackets,
                        s.txDropped, n, c.get("tx_q0_async_dma_copies"), c.get("tx_q0_async_ring_full_fallbacks"));
                assertEquals(n, s.txPackets);
                assertEquals(1518L * n, s.txBytes);
                assertTrue(c.get("tx_q0_async_dma_copies") > 0);
            }
            port.close();
            port = null;
        } finally {
            binder.removeDevice(ch);
            ch.stop();
        }
    }

    /** Async dequeue (1500-byte frames by DMA): pvio receives exactly what testpmd sent. */
    @Test
    public void clientModeAsyncDequeueCountsAgree() throws Exception {
        io.pvio.vhost.async.AsyncBinder binder = new io.pvio.vhost.async.AsyncBinder();
        io.pvio.dma.spi.EngineChannel ch = asyncChannel(binder);
        Path sock = ctx.runDir.resolve("fe.sock");
        try {
            try (Testpmd pmd = new Testpmd(sock, devargs("server=1"), "txonly", 1, 1500, ctx.runDir, true)) {
                await("testpmd socket", 20_000, () -> sock.toFile().exists());
                port = new VhostUserClientClass(binder).open("vhac1", Map.of("vhost-server-path", sock.toString(),
                        "vhost-async-attr", "(rxq0,00:04.0,256)"), ctx);
                dequeue(port, pmd, 1500);
            }
            Map<String, Long> c = new java.util.TreeMap<>();
            port.getCustomStats(c::put);
            System.out.printf("MEASURED async dequeue: rx dma copies=%d cpu copies=%d%n",
                    c.get("rx_q0_async_dma_copies"), c.get("rx_q0_async_cpu_copies"));
            assertTrue(c.get("rx_q0_async_dma_copies") > 0);
            port.close();
            port = null;
        } finally {
            binder.removeDevice(ch);
            ch.stop();
        }
    }

    /** Counts log records of a logger that contain a text. */
    static final class LogCount extends java.util.logging.Handler implements AutoCloseable {
        final String logger;
        final String text;
        final AtomicLong count = new AtomicLong();

        LogCount(String logger, String text) {
            this.logger = logger;
            this.text = text;
            java.util.logging.Logger.getLogger(logger).addHandler(this);
        }

        @Override
        public void publish(java.util.logging.LogRecord r) {
            if (r.getMessage() != null && r.getMessage().contains(text)) {
                count.incrementAndGet();
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
            java.util.logging.Logger.getLogger(logger).removeHandler(this);
        }
    }

    /**
     * dpdkvhostuserclient: testpmd (server=1, rxonly) is killed while pvio transmits; pvio keeps the port,
     * retries (logging once), reconnects to a new testpmd and delivers exactly what it sends then.
     */
    @Test
    public void clientModeFrontEndKilledMidTrafficAndRestarted() throws Exception {
        Path sock = ctx.runDir.resolve("fe.sock");
        try (LogCount retries = new LogCount("dpdk", "failed to connect");
                LogCount added = new LogCount("netdev_dpdk", "has been added")) {
            try (Testpmd a = new Testpmd(sock, devargs("server=1"), "rxonly", 1, 64, ctx.runDir)) {
                await("testpmd socket", 20_000, () -> sock.toFile().exists());
                port = new VhostUserClientClass().open("vhk0", Map.of("vhost-server-path", sock.toString()), ctx);
                await("carrier", 20_000, port::carrier);
                a.awaitForwarding(20_000);
                AtomicBoolean stop = new AtomicBoolean();
                Thread sender = new Thread(() -> {
                    PacketBatch b = new PacketBatch();
                    byte[] f = new byte[64];
                    while (!stop.get()) {
                        for (int i = 0; i < 32; i++) {
                            b.add(Frames.packet(ctx.pool, f, Integer.MAX_VALUE));
                        }
                        port.send(0, b, false);
                    }
                });
                sender.start();
                await("traffic", 10_000, () -> Frames.stats(port).txPackets > 50_000);
                a.kill();
                await("carrier down", 10_000, () -> !port.carrier());
                Thread.sleep(2500); // a few reconnection attempts
                stop.set(true);
                sender.join();
            }
            long dropped = Frames.stats(port).txDropped;
            assertTrue("sends without a front end are dropped and counted", dropped > 0);
            assertEquals("the retry is logged once", 1, retries.count.get());
            java.nio.file.Files.deleteIfExists(sock); // a killed server leaves its socket file
            long before = Frames.stats(port).txPackets;
            try (Testpmd b = new Testpmd(sock, devargs("server=1"), "rxonly", 1, 64, ctx.runDir)) {
                await("carrier again", 20_000, port::carrier);
                b.awaitForwarding(20_000);
                Frames.sendExactly(port, ctx.pool, 20_000, 64, 20_000);
                await("testpmd to count", 10_000, () -> b.lastRx() >= 20_000);
                String out = b.stop();
                assertEquals(Testpmd.tail(out), 20_000, Testpmd.last(java.util.regex.Pattern.compile(
                        "RX-packets:\\s+(\\d+)"), out));
            }
            assertEquals(before + 20_000, Frames.stats(port).txPackets);
            assertEquals(2, added.count.get());
            System.out.printf("MEASURED reconnect (client mode): tx_dropped while away=%d, after reconnect testpmd"
                    + " RX-packets=20000%n", dropped);
        }
    }

    /**
     * dpdkvhostuser: testpmd (txonly) is killed while pvio receives; pvio accepts a new testpmd and receives
     * exactly what it sends.
     */
    @Test
    public void serverModeFrontEndKilledMidTrafficAndRestarted() throws Exception {
        port = new VhostUserServerClass().open("vhk1", Map.of(), ctx);
        Path sock = ctx.runDir.resolve("vhk1");
        long first;
        try (Testpmd a = new Testpmd(sock, devargs(""), "txonly", 1, 64, ctx.runDir); Poller poll = new Poller(port)) {
            await("carrier", 20_000, port::carrier);
            await("traffic", 20_000, () -> poll.packets.get() > 100_000);
            a.kill();
            await("carrier down", 10_000, () -> !port.carrier());
            await("disconnect", 10_000, () -> !((VhostPort) port).device().connected());
            Thread.sleep(100);
            poll.close();
            first = poll.packets.get();
        }
        assertEquals(first, Frames.stats(port).rxPackets);
        assertTrue(sock.toFile().exists());
        try (Testpmd b = new Testpmd(sock, devargs(""), "txonly", 1, 64, ctx.runDir, true)) {
            dequeue(port, b, 64);
        }
        System.out.printf("MEASURED reconnect (server mode): %d packets before the kill, then exact agreement%n",
                first);
    }

    /**
     * Two queue pairs, non-mergeable receive buffers, jumbo frames: pvio sends exactly N on each tx queue,
     * testpmd counts 2N packets and their bytes.
     */
    @Test
    public void multiQueueNonMergeableJumboEnqueue() throws Exception {
        port = new VhostUserServerClass().open("vhmq", Map.of(), ctx);
        try (Testpmd pmd = new Testpmd(ctx.runDir.resolve("vhmq"), devargs("mrg_rxbuf=0"), "rxonly", 2, 9000, ctx.runDir)) {
            await("carrier", 20_000, port::carrier);
            pmd.awaitForwarding(20_000);
            await("2 queue pairs", 20_000, () -> port.nTxq() == 2 && port.nRxq() == 2);
            checkFeatures(port);
            assertFalse(io.pvio.vhost.ring.VirtioFeatures.has(((VhostPort) port).device().features(),
                    io.pvio.vhost.ring.VirtioFeatures.NET_F_MRG_RXBUF));
            int n = 5_000;
            Frames.sendExactly(port, ctx.pool, 0, n, 9000, 20_000);
            Frames.sendExactly(port, ctx.pool, 1, n, 9000, 20_000);
            await("testpmd to count", 10_000, () -> pmd.lastRx() >= 2 * n);
            String out = pmd.stop();
            assertEquals(Testpmd.tail(out), 2 * n, Testpmd.last(java.util.regex.Pattern.compile(
                    "RX-packets:\\s+(\\d+)"), out));
            long rxBytes = Testpmd.last(java.util.regex.Pattern.compile("RX-bytes:\\s+(\\d+)"), out);
            assertEquals(Testpmd.tail(out), 2L * n * 9000, rxBytes);
            System.out.printf("MEASURED multiqueue jumbo enqueue: pvio tx_packets=%d, testpmd RX-packets=%d"
                    + " RX-bytes=%d%n", Frames.stats(port).txPackets, 2 * n, rxBytes);
        }
        assertEquals(2L * 5_000, Frames.stats(port).txPackets);
    }
}
