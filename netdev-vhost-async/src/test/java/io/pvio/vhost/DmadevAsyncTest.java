package io.pvio.vhost;

import static io.pvio.vhost.DpdkFrontEndTest.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pvio.dma.DmaDevice;
import io.pvio.dma.dmadev.DmadevEngine;
import io.pvio.dma.dmadev.Eal;
import io.pvio.dma.spi.EngineChannel;
import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevStats;
import io.pvio.vhost.async.AsyncBinder;
import io.pvio.vhost.netdev.VhostUserClientClass;
import io.pvio.vhost.netdev.VhostUserServerClass;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * The asynchronous vhost data path with its copies on DPDK dmadev (dma_skeleton0 through the dma-dmadev shim,
 * EAL in this JVM) and DPDK's testpmd as the guest: exact counts both ways.
 */
public class DmadevAsyncTest {
    private TestContext ctx;
    private Netdev port;
    private AsyncBinder binder;
    private EngineChannel ch;

    @Before
    public void setUp() throws Exception {
        Testpmd.require();
        Eal.ensureStarted(List.of("--no-huge", "-m", "64", "--no-pci", "--no-shconf", "--no-telemetry", "--lcores",
                "0@(0-" + (Runtime.getRuntime().availableProcessors() - 1) + ")", "--vdev=dma_skeleton0",
                "--vdev=dma_skeleton1"));
        ctx = new TestContext(4096);
        binder = new AsyncBinder();
        ch = new EngineChannel("0000:00:04.0", "dmadev", new DmadevEngine("dma_skeleton0"), 256, "dma_dmadev");
        ch.start();
        binder.addDevice(ch, Map.of(DmaDevice.ADDRESS_PROPERTY, "0000:00:04.0", DmaDevice.DRIVER_PROPERTY, "dmadev"));
        binder.setEnabled(true);
    }

    @After
    public void tearDown() {
        if (port != null) {
            port.close();
        }
        if (binder != null) {
            binder.removeDevice(ch);
        }
        if (ch != null) {
            ch.stop();
            ch.engine().close();
        }
        if (ctx != null) {
            assertEquals("packets leaked", 0, ctx.pool.inUse());
            ctx.cleanup();
        }
    }

    @Test
    public void asyncEnqueueOnDmadevCountsAgree() throws Exception {
        port = new VhostUserServerClass(binder).open("vhd0", Map.of("vhost-async-attr", "(txq0,00:04.0,0)"), ctx);
        try (Testpmd pmd = new Testpmd(ctx.runDir.resolve("vhd0"), "", "rxonly", 1, 64, ctx.runDir)) {
            int n = 50_000;
            await("carrier", 20_000, port::carrier);
            pmd.awaitForwarding(20_000);
            Frames.sendExactly(port, ctx.pool, n, 1518, 20_000);
            await("copies in flight to complete", 10_000, () -> port.freePkts(0, false) == 0);
            await("testpmd to count " + n + " packets", 10_000, () -> pmd.lastRx() >= n);
            String out = pmd.stop();
            assertEquals("testpmd RX-packets:\n" + Testpmd.tail(out), n, Testpmd.last(
                    Pattern.compile("RX-packets:\\s+(\\d+)"), out));
            NetdevStats s = Frames.stats(port);
            Map<String, Long> c = new TreeMap<>();
            port.getCustomStats(c::put);
            Map<String, Long> d = new TreeMap<>();
            ch.stats(d::put);
            System.out.printf("MEASURED async enqueue on dmadev: pvio tx_packets=%d, testpmd RX-packets=%d, dma"
                    + " copies=%d, ring-full fallbacks=%d; channel %s%n", s.txPackets, n,
                    c.get("tx_q0_async_dma_copies"), c.get("tx_q0_async_ring_full_fallbacks"), d);
            assertEquals(n, s.txPackets);
            assertEquals(1518L * n, s.txBytes);
            assertTrue(c.get("tx_q0_async_dma_copies") > 0);
            assertEquals(0L, (long) c.get("tx_q0_async_dma_errors"));
            assertEquals("every DMA copy went through the dmadev channel", c.get("tx_q0_async_dma_copies"),
                    d.get("completed"));
        }
    }

    /** The shim's error hook fails a third of the copies: the queue redoes them with the CPU, nothing is lost. */
    @Test
    public void failedDmadevCopiesAreRedoneAndCountsAgree() throws Exception {
        ch.setFaults(0.3, false);
        port = new VhostUserServerClass(binder).open("vhd1", Map.of("vhost-async-attr", "(txq0,00:04.0,0)"), ctx);
        try (Testpmd pmd = new Testpmd(ctx.runDir.resolve("vhd1"), "", "rxonly", 1, 64, ctx.runDir)) {
            int n = 20_000;
            await("carrier", 20_000, port::carrier);
            pmd.awaitForwarding(20_000);
            Frames.sendExactly(port, ctx.pool, n, 1518, 20_000);
            await("copies in flight to complete", 10_000, () -> port.freePkts(0, false) == 0);
            await("testpmd to count " + n + " packets", 10_000, () -> pmd.lastRx() >= n);
            String out = pmd.stop();
            assertEquals("testpmd RX-packets:\n" + Testpmd.tail(out), n, Testpmd.last(
                    Pattern.compile("RX-packets:\\s+(\\d+)"), out));
            Map<String, Long> c = new TreeMap<>();
            port.getCustomStats(c::put);
            Map<String, Long> d = new TreeMap<>();
            ch.stats(d::put);
            System.out.printf("MEASURED async enqueue on dmadev, error rate 0.3: dma copies=%d, dma errors=%d;"
                    + " channel %s%n", c.get("tx_q0_async_dma_copies"), c.get("tx_q0_async_dma_errors"), d);
            assertEquals(n, Frames.stats(port).txPackets);
            assertTrue(c.get("tx_q0_async_dma_errors") > 0);
            assertEquals("each failed copy was reported once", d.get("failed"), c.get("tx_q0_async_dma_errors"));
        } finally {
            ch.setFaults(0, false);
        }
    }

    /**
     * The shim's stall hook holds every completion: the frames stay in flight (the guest sees none of them)
     * until it is cleared, then all of them, and what follows, arrive.
     */
    @Test
    public void aStalledDmadevChannelHoldsItsCopiesUntilCleared() throws Exception {
        port = new VhostUserServerClass(binder).open("vhd2", Map.of("vhost-async-attr", "(txq0,00:04.0,0)"), ctx);
        try (Testpmd pmd = new Testpmd(ctx.runDir.resolve("vhd2"), "", "rxonly", 1, 64, ctx.runDir)) {
            await("carrier", 20_000, port::carrier);
            pmd.awaitForwarding(20_000);
            ch.setFaults(0, true);
            io.pvio.packet.PacketBatch b = new io.pvio.packet.PacketBatch();
            byte[] f = new byte[1518];
            for (int i = 0; i < 32; i++) {
                Frames.fill(f, i);
                b.add(Frames.packet(ctx.pool, f, Integer.MAX_VALUE));
            }
            port.send(0, b, false);
            assertEquals("32 copies wait on the stalled channel", 32, ch.inFlight());
            for (int i = 0; i < 10_000; i++) {
                port.freePkts(0, false);
            }
            assertEquals("nothing completes while stalled", 32, ch.inFlight());
            Map<String, Long> d = new TreeMap<>();
            ch.stats(d::put);
            assertEquals(1L, (long) d.get("stalled"));
            ch.setFaults(0, false);
            await("the held copies to complete", 10_000, () -> port.freePkts(0, false) == 0);
            int n = 10_000;
            Frames.sendExactly(port, ctx.pool, n, 1518, 20_000);
            await("copies in flight to complete", 10_000, () -> port.freePkts(0, false) == 0);
            long sent = Frames.stats(port).txPackets;
            await("testpmd to count " + sent + " packets", 10_000, () -> pmd.lastRx() >= sent);
            String out = pmd.stop();
            assertEquals("testpmd RX-packets:\n" + Testpmd.tail(out), sent, Testpmd.last(
                    Pattern.compile("RX-packets:\\s+(\\d+)"), out));
            assertEquals(32L + n, sent);
        }
    }

    @Test
    public void asyncDequeueOnDmadevCountsAgree() throws Exception {
        Path sock = ctx.runDir.resolve("fed.sock");
        try (Testpmd pmd = new Testpmd(sock, "server=1", "txonly", 1, 1500, ctx.runDir, true)) {
            await("testpmd socket", 20_000, () -> sock.toFile().exists());
            port = new VhostUserClientClass(binder).open("vhdc1", Map.of("vhost-server-path", sock.toString(),
                    "vhost-async-attr", "(rxq0,00:04.0,256)"), ctx);
            try (DpdkFrontEndTest.Poller poll = new DpdkFrontEndTest.Poller(port)) {
                await("carrier", 20_000, port::carrier);
                pmd.awaitOutput("testpmd>", 1, 20_000);
                pmd.command("start");
                await("traffic", 20_000, () -> poll.packets.get() > 50_000);
                pmd.command("stop");
                pmd.awaitOutput("Done.", 1, 10_000);
                long tx = Testpmd.last(Pattern.compile("TX-packets:\\s+(\\d+)"), pmd.output());
                await("pvio to drain the ring", 5_000, () -> poll.packets.get() >= tx);
                Thread.sleep(100);
                poll.close();
                pmd.command("quit");
                pmd.stop();
                assertTrue(tx > 0);
                assertEquals("pvio received what testpmd sent", tx, poll.packets.get());
                assertEquals(1500L * tx, poll.bytes.get());
            }
            Map<String, Long> c = new TreeMap<>();
            port.getCustomStats(c::put);
            System.out.printf("MEASURED async dequeue on dmadev: rx dma copies=%d cpu copies=%d%n",
                    c.get("rx_q0_async_dma_copies"), c.get("rx_q0_async_cpu_copies"));
            assertTrue(c.get("rx_q0_async_dma_copies") > 0);
        }
    }
}
