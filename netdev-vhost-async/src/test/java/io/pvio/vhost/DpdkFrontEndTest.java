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
    private TestContext ctx;
    private Netdev port;

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

    static void await(String what, long ms, BooleanSupplier cond) throws InterruptedException {
        long end = System.currentTimeMillis() + ms;
        while (!cond.getAsBoolean()) {
            if (System.currentTimeMillis() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    /** Polls rx queue 0 on its own thread and counts (and frees) what it receives. */
    static final class Poller implements AutoCloseable {
        final AtomicLong packets = new AtomicLong();
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

    private void enqueue(Netdev p, Testpmd pmd, int n) throws Exception {
        await("carrier", 20_000, p::carrier);
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
        try (Testpmd pmd = new Testpmd(sock, "", "rxonly", 1, 64, ctx.runDir)) {
            enqueue(port, pmd, 100_000);
        }
        port.close();
        assertFalse("socket removed on close", sock.toFile().exists());
        port = null;
    }

    @Test
    public void clientModeEnqueueCountsAgree() throws Exception {
        Path sock = ctx.runDir.resolve("fe.sock");
        try (Testpmd pmd = new Testpmd(sock, "server=1", "rxonly", 1, 64, ctx.runDir)) {
            await("testpmd socket", 20_000, () -> sock.toFile().exists());
            port = new VhostUserClientClass().open("vhc0", Map.of("vhost-server-path", sock.toString()), ctx);
            enqueue(port, pmd, 100_000);
        }
    }

    /**
     * testpmd (interactive) transmits until "stop", which prints its TX count; pvio then drains the ring,
     * and only then does testpmd quit (a port stop disables the ring, leaving what is still in it).
     */
    private void dequeue(Netdev p, Testpmd pmd, int size) throws Exception {
        try (Poller poll = new Poller(p)) {
            await("carrier", 20_000, p::carrier);
            pmd.awaitOutput("testpmd>", 1, 20_000);
            pmd.command("start");
            await("traffic", 20_000, () -> poll.packets.get() > 200_000);
            pmd.command("stop");
            pmd.awaitOutput("Done.", 1, 10_000);
            long tx = Testpmd.last(java.util.regex.Pattern.compile("TX-packets:\\s+(\\d+)"), pmd.output());
            await("pvio to drain the ring", 5_000, () -> poll.packets.get() >= tx);
            Thread.sleep(100);
            poll.close();
            pmd.command("quit");
            pmd.stop();
            System.out.printf("MEASURED dequeue %s: testpmd TX-packets=%d, pvio rx_packets=%d (%d B each)%n",
                    p.name(), tx, poll.packets.get(), size);
            assertTrue("testpmd TX-packets:\n" + Testpmd.tail(pmd.output()), tx > 0);
            assertEquals("pvio received what testpmd sent", tx, poll.packets.get());
            assertEquals(tx, Frames.stats(p).rxPackets);
            assertEquals((long) size * tx, poll.bytes.get());
        }
    }

    @Test
    public void serverModeDequeueCountsAgree() throws Exception {
        port = new VhostUserServerClass().open("vhu1", Map.of(), ctx);
        try (Testpmd pmd = new Testpmd(ctx.runDir.resolve("vhu1"), "", "txonly", 1, 64, ctx.runDir, true)) {
            dequeue(port, pmd, 64);
        }
    }

    @Test
    public void clientModeDequeueCountsAgree() throws Exception {
        Path sock = ctx.runDir.resolve("fe.sock");
        try (Testpmd pmd = new Testpmd(sock, "server=1", "txonly", 1, 1500, ctx.runDir, true)) {
            await("testpmd socket", 20_000, () -> sock.toFile().exists());
            port = new VhostUserClientClass().open("vhc1", Map.of("vhost-server-path", sock.toString()), ctx);
            dequeue(port, pmd, 1500);
        }
    }
}
