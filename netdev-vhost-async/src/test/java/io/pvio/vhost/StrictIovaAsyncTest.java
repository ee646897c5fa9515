package io.pvio.vhost;

import static io.pvio.vhost.DpdkFrontEndTest.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaDevice;
import io.pvio.dma.DmaException;
import io.pvio.dma.DmaMemory;
import io.pvio.dma.DmaRegions;
import io.pvio.dma.dmadev.DmadevEngine;
import io.pvio.dma.dmadev.Eal;
import io.pvio.dma.spi.EngineChannel;
import io.pvio.memory.NativeMemory;
import io.pvio.netdev.NetdevStats;
import io.pvio.packet.PacketBatch;
import io.pvio.vhost.async.AsyncBinder;
import io.pvio.vhost.netdev.VhostPort;
import io.pvio.vhost.netdev.VhostUserClientClass;
import io.pvio.vhost.netdev.VhostUserServerClass;
import io.pvio.virtio.user.VirtioUserConfig;
import io.pvio.virtio.user.VirtioUserDevice;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Memory registration for DMA behind an IOMMU, with the dmadev shim's strict IOVA mode standing in for the
 * IOMMU (a copy outside the registered memory completes with INVALID_ADDR and is redone with the CPU): the
 * vhost back end registers every guest-memory slice through its binder's DmaRegions, the test registers
 * its packet pool as the datapath does, and the copies run on dma_skeleton0. Guests: DPDK testpmd and the
 * Java virtio-user front end (which can re-send its memory table).
 */
public class StrictIovaAsyncTest {
    /** Hang guard only: no assertion depends on speed. */
    @Rule
    public Timeout guard = new Timeout(180, TimeUnit.SECONDS);

    private TestContext ctx;
    private AsyncBinder binder;
    private EngineChannel ch;
    /** A second channel (dma_skeleton1) of the test's own, to probe what strict mode lets through. */
    private EngineChannel probe;
    private ShimMemory shim;
    private DmaRegions poolRegions;
    private ByteBuffer scratch;
    private int baseline;
    private final List<AutoCloseable> open = new ArrayList<>();

    /**
     * The dmadev shim as a DmaMemory service (what dma-dmadev's DmadevMemory does with the EAL up). At each
     * unmap it records the copies in flight on the data channel, and whether a probe copy reading the range
     * succeeded just before and was refused just after.
     */
    final class ShimMemory implements DmaMemory {
        final List<String> unmaps = new ArrayList<>();
        /** Ranges mapped in the shim now: {va, length}. */
        final List<long[]> live = new ArrayList<>();
        int maps;

        @Override
        public synchronized void map(long va, long length) throws DmaException {
            DmadevEngine.mapMemory(va, length);
            live.add(new long[] {va, length});
            maps++;
        }

        /** Unmaps what is left (after a failed test), so that the next test starts clean. */
        synchronized void unmapLeft() throws DmaException {
            for (long[] r : live) {
                DmadevEngine.unmapMemory(r[0], r[1]);
            }
            live.clear();
        }

        @Override
        public synchronized void unmap(long va, long length) throws DmaException {
            long inFlight = ch.inFlight();
            int before = probe(va);
            DmadevEngine.unmapMemory(va, length);
            live.removeIf(r -> r[0] == va && r[1] == length);
            int after = probe(va);
            unmaps.add("in flight " + inFlight + ", probe before " + status(before) + ", after " + status(after));
        }

        synchronized List<String> unmaps() {
            return new ArrayList<>(unmaps);
        }

        synchronized int maps() {
            return maps;
        }

        @Override
        public String toString() {
            return "dmadev shim (test)";
        }
    }

    static String status(int s) {
        return s == DmaDevice.STATUS_SUCCESSFUL ? "ok" : s == DmaDevice.STATUS_INVALID_ADDR ? "refused" : "status " + s;
    }

    /** Copies one byte from {@code va} into the scratch page on the probe channel; the completion status. */
    private int probe(long va) {
        int idx = probe.copy(va, NativeMemory.address(scratch), 1, DmaDevice.FLAG_SUBMIT);
        if (idx < 0) {
            fail("probe channel refused the copy: " + idx);
        }
        DmaCompletions out = new DmaCompletions(1);
        long polls = 0;
        while (probe.completedStatus(1, out) == 0) {
            if (++polls > 100_000_000L) {
                fail("probe copy never completed");
            }
        }
        return out.status(0);
    }

    @Before
    public void setUp() throws Exception {
        Eal.ensureStarted(List.of("--no-huge", "-m", "64", "--no-pci", "--no-shconf", "--no-telemetry", "--lcores",
                "0@(0-" + (Runtime.getRuntime().availableProcessors() - 1) + ")", "--vdev=dma_skeleton0",
                "--vdev=dma_skeleton1"));
        baseline = DmadevEngine.mappedRanges();
        ctx = new TestContext(8192);
        binder = new AsyncBinder();
        ch = new EngineChannel("0000:00:04.0", "dmadev", new DmadevEngine("dma_skeleton0"), 256, "dma_dmadev");
        ch.start();
        probe = new EngineChannel("0000:00:04.1", "dmadev", new DmadevEngine("dma_skeleton1"), 64, "dma_dmadev");
        probe.start();
        binder.addDevice(ch, Map.of(DmaDevice.ADDRESS_PROPERTY, "0000:00:04.0", DmaDevice.DRIVER_PROPERTY, "dmadev"));
        binder.setEnabled(true);
        shim = new ShimMemory();
        // the packet pool and the probe's scratch page, as dpif-netdev registers its pool
        poolRegions = new DmaRegions("test packet pool", Logger.getLogger("dpif_netdev"));
        scratch = NativeMemory.allocateAligned(4096, 4096);
        poolRegions.map(ctx.pool.slabAddress(), ctx.pool.slabSize(), "pool test");
        poolRegions.map(NativeMemory.address(scratch), 4096, "probe scratch");
        DmadevEngine.setStrictIova(true);
    }

    /** Binds the shim to the vhost guest memory and the pool, as DS binds dma-dmadev's DmaMemory. */
    private void bindShim() {
        binder.memory().addService(shim);
        poolRegions.addService(shim);
    }

    /** Releases everything first (a failed test must not break the next one), then checks what was left. */
    @After
    public void tearDown() throws Exception {
        List<String> wrong = new ArrayList<>();
        try {
            for (int i = open.size() - 1; i >= 0; i--) {
                open.get(i).close();
            }
            if (binder.memory().ranges() != 0) {
                wrong.add(binder.memory().ranges() + " guest memory slice(s) still registered after the ports closed");
            }
        } finally {
            binder.removeDevice(ch);
            ch.stop();
            ch.engine().close();
            poolRegions.unmap(ctx.pool.slabAddress(), ctx.pool.slabSize());
            poolRegions.unmap(NativeMemory.address(scratch), 4096);
            probe.stop();
            probe.engine().close();
            DmadevEngine.setStrictIova(false);
            ctx.cleanup();
        }
        int left = DmadevEngine.mappedRanges() - baseline;
        if (left != 0) {
            wrong.add(left + " range(s) of this test left in the shim");
            shim.unmapLeft(); // the next test starts clean
        }
        if (ctx.pool.inUse() != 0) {
            wrong.add(ctx.pool.inUse() + " packets leaked");
        }
        assertEquals(List.of(), wrong);
    }

    private static Map<String, Long> custom(io.pvio.netdev.Netdev p) {
        Map<String, Long> c = new TreeMap<>();
        p.getCustomStats(c::put);
        return c;
    }

    private Map<String, Long> channelStats() {
        Map<String, Long> d = new TreeMap<>();
        ch.stats(d::put);
        return d;
    }

    /** testpmd (rxonly) as the guest; returns the port's custom stats after n frames counted by testpmd. */
    private Map<String, Long> enqueueToTestpmd(String name, int n) throws Exception {
        Testpmd.require();
        VhostPort port = (VhostPort) new VhostUserServerClass(binder).open(name,
                Map.of("vhost-async-attr", "(txq0,00:04.0,0)"), ctx);
        open.add(port::close);
        try (Testpmd pmd = new Testpmd(ctx.runDir.resolve(name), "", "rxonly", 1, 64, ctx.runDir)) {
            await("carrier", 20_000, port::carrier);
            pmd.awaitForwarding(20_000);
            assertTrue("testpmd's guest memory registered", binder.memory().ranges() >= 1);
            Frames.sendExactly(port, ctx.pool, n, 1518, 20_000);
            await("copies in flight to complete", 10_000, () -> port.freePkts(0, false) == 0);
            await("testpmd to count " + n + " packets", 10_000, () -> pmd.lastRx() >= n);
            String out = pmd.stop();
            assertEquals("testpmd RX-packets:\n" + Testpmd.tail(out), n, Testpmd.last(
                    Pattern.compile("RX-packets:\\s+(\\d+)"), out));
            NetdevStats s = Frames.stats(port);
            assertEquals(n, s.txPackets);
            assertEquals(1518L * n, s.txBytes);
            return custom(port);
        }
    }

    @Test
    public void asyncEnqueueToTestpmdWithStrictIovaRefusesNoCopy() throws Exception {
        bindShim();
        int n = 50_000;
        Map<String, Long> c = enqueueToTestpmd("vhs0", n);
        Map<String, Long> d = channelStats();
        System.out.printf("MEASURED strict IOVA enqueue: %d frames, dma copies=%d errors=%d, %d guest slices"
                + " mapped; channel %s%n", n, c.get("tx_q0_async_dma_copies"), c.get("tx_q0_async_dma_errors"),
                shim.maps() - 2, d);
        assertTrue(c.get("tx_q0_async_dma_copies") > 0);
        assertEquals("no copy refused for an unmapped address", 0L, (long) c.get("tx_q0_async_dma_errors"));
        assertEquals(0L, (long) d.get("failed"));
        assertEquals(c.get("tx_q0_async_dma_copies"), d.get("completed"));
    }

    /** The control: nothing registered, so strict mode refuses every copy and the CPU redoes them all. */
    @Test
    public void withoutRegistrationStrictIovaRefusesEveryCopyAndLosesNothing() throws Exception {
        int n = 5_000;
        Map<String, Long> c = enqueueToTestpmd("vhs1", n);
        assertTrue(c.get("tx_q0_async_dma_copies") > 0);
        assertEquals("every copy refused, redone by the CPU", c.get("tx_q0_async_dma_copies"),
                c.get("tx_q0_async_dma_errors"));
        assertEquals(c.get("tx_q0_async_dma_copies"), channelStats().get("failed"));
    }

    @Test
    public void asyncDequeueFromTestpmdWithStrictIovaRefusesNoCopy() throws Exception {
        Testpmd.require();
        bindShim();
        Path sock = ctx.runDir.resolve("fed.sock");
        try (Testpmd pmd = new Testpmd(sock, "server=1", "txonly", 1, 1500, ctx.runDir, true)) {
            await("testpmd socket", 20_000, () -> sock.toFile().exists());
            VhostPort port = (VhostPort) new VhostUserClientClass(binder).open("vhsc", Map.of("vhost-server-path",
                    sock.toString(), "vhost-async-attr", "(rxq0,00:04.0,256)"), ctx);
            open.add(port::close);
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
                assertEquals("pvio received what testpmd sent", tx, poll.packets.get());
                assertEquals(1500L * tx, poll.bytes.get());
            }
            Map<String, Long> c = custom(port);
            System.out.printf("MEASURED strict IOVA dequeue: rx dma copies=%d errors=%d cpu copies=%d%n",
                    c.get("rx_q0_async_dma_copies"), c.get("rx_q0_async_dma_errors"), c.get("rx_q0_async_cpu_copies"));
            assertTrue(c.get("rx_q0_async_dma_copies") > 0);
            assertEquals("no copy refused for an unmapped address", 0L, (long) c.get("rx_q0_async_dma_errors"));
            assertEquals(0L, (long) channelStats().get("failed"));
        }
    }

    private VirtioUserDevice frontEnd(VhostPort p, String name) throws Exception {
        VirtioUserDevice d = VirtioUserDevice.open(new VirtioUserConfig().name(name)
                .path(ctx.runDir.resolve(p.name())));
        open.add(d);
        assertTrue("front end ready: " + d.lastError(), d.awaitReady(10_000));
        VirtioUserTest.awaitCarrier(p, true);
        return d;
    }

    /**
     * Copies into the guest wait on a stalled channel when the front end re-sends its memory table: the new
     * table is mapped for DMA before the swap, the old one stays mapped until those copies completed, then is
     * unmapped (a copy into it is refused from then on), then munmapped. The frames arrive whole.
     */
    @Test
    public void oldMemoryTableIsUnmappedOnlyAfterItsCopiesCompleted() throws Exception {
        bindShim();
        VhostPort p = (VhostPort) new VhostUserServerClass(binder).open("vhs2",
                Map.of("vhost-async-attr", "(txq0,00:04.0,0)"), ctx);
        open.add(p::close);
        VirtioUserDevice d = frontEnd(p, "fe-s2");
        int slices = binder.memory().ranges();
        int mapsBefore = shim.maps();
        ch.setFaults(0, true);
        PacketBatch b = new PacketBatch();
        byte[] f = new byte[1518];
        for (int i = 0; i < 32; i++) {
            Frames.fill(f, i);
            b.add(Frames.packet(ctx.pool, f, Integer.MAX_VALUE));
        }
        assertEquals("32 frames wait on the stalled channel", 32, p.send(0, b, false));
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread resend = new Thread(() -> {
            try {
                TestContext.resendMemTable(d);
            } catch (Throwable t) {
                failed.set(t);
            }
        });
        resend.start();
        // the new table is mapped (before the swap, which drains the old one's copies first) ...
        long spins = 0;
        while (shim.maps() < mapsBefore + slices) {
            if (++spins > 2_000_000_000L || !resend.isAlive() && shim.maps() < mapsBefore + slices) {
                fail("the new memory table was not mapped for DMA: " + failed.get());
            }
            Thread.onSpinWait();
        }
        // ... and while the copies wait, nothing of the old one is unmapped
        assertEquals(List.of(), shim.unmaps());
        assertEquals(32, ch.inFlight());
        ch.setFaults(0, false);
        resend.join();
        if (failed.get() != null) {
            throw new AssertionError(failed.get());
        }
        List<String> unmaps = shim.unmaps();
        assertEquals("each slice of the old table unmapped once (a drain that gave up would keep it)", slices,
                unmaps.size());
        for (String u : unmaps) {
            assertEquals("in flight 0, probe before ok, after refused", u);
        }
        assertEquals("old table out, new table in", slices, binder.memory().ranges());
        byte[] buf = new byte[2048];
        byte[] exp = new byte[1518];
        for (int i = 0; i < 32; i++) {
            int k = d.receive(0, buf, 0);
            assertEquals("frame " + i, 1518, k);
            Frames.fill(exp, i);
            assertTrue("bytes of frame " + i, java.util.Arrays.equals(exp, java.util.Arrays.copyOf(buf, k)));
        }
        assertEquals(0, p.freePkts(0, false));
        assertEquals(0L, (long) custom(p).get("tx_q0_async_dma_errors"));
    }

    /**
     * The front end re-sends its memory table every few bursts while a PMD echoes its frames through DMA in
     * both directions: no copy ever reaches memory that is not mapped (strict mode refuses none), every
     * unmapped slice refuses copies from then on, and every echo is delivered or counted.
     */
    @Test
    public void memoryTableReplacedUnderTrafficRefusesNoCopy() throws Exception {
        bindShim();
        VhostPort p = (VhostPort) new VhostUserServerClass(binder).open("vhs3",
                Map.of("vhost-async-attr", "(txq0,00:04.0,0),(rxq0,00:04.0,0)"), ctx);
        open.add(p::close);
        VirtioUserDevice d = frontEnd(p, "fe-s3");
        int slices = binder.memory().ranges();
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
        int tables = 0;
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
                    tables++;
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
        Map<String, Long> c = custom(p);
        System.out.printf("MEASURED strict IOVA, %d memory tables under traffic: sent=%d echoed=%d received=%d"
                + " tx dma=%d/%d errors, rx dma=%d/%d errors%n", tables, sent, s.rxPackets, received,
                c.get("tx_q0_async_dma_copies"), c.get("tx_q0_async_dma_errors"), c.get("rx_q0_async_dma_copies"),
                c.get("rx_q0_async_dma_errors"));
        assertEquals("echoed back", sent, s.rxPackets);
        assertEquals("every echo delivered or counted as dropped", sent, received + s.txDropped);
        assertTrue(c.get("tx_q0_async_dma_copies") > 0);
        assertTrue(c.get("rx_q0_async_dma_copies") > 0);
        assertEquals("no enqueue copy refused", 0L, (long) c.get("tx_q0_async_dma_errors"));
        assertEquals("no dequeue copy refused", 0L, (long) c.get("rx_q0_async_dma_errors"));
        List<String> unmaps = shim.unmaps();
        assertEquals("every replaced table unmapped", tables * slices, unmaps.size());
        for (String u : unmaps) {
            assertTrue(u, u.endsWith("probe before ok, after refused"));
        }
        assertEquals(slices, binder.memory().ranges());
    }
}
