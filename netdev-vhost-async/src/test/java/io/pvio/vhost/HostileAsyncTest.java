package io.pvio.vhost;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import io.pvio.dma.DmaDevice;
import io.pvio.dma.ioat.engine.ModelEngine;
import io.pvio.dma.spi.EngineChannel;
import io.pvio.packet.PacketBatch;
import io.pvio.vhost.async.AsyncBinder;
import io.pvio.vhost.netdev.VhostPort;
import io.pvio.vhost.netdev.VhostUserServerClass;
import io.pvio.vhost.ring.Virtqueue;
import io.pvio.virtio.user.VirtioUserConfig;
import io.pvio.virtio.user.VirtioUserDevice;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * The asynchronous path under a hostile front end (issue 15): both ports' queues share one IOAT channel
 * (all copies by DMA); the hostile front end truncates its memory file while copies into and out of it are
 * in flight, again and again. The good port receives every frame it took, whole; nothing lands in the good
 * guest's memory outside its posted buffers; no packet buffer leaks; the hostile port serves the next front
 * end.
 */
public class HostileAsyncTest {
    /** Hang guard only: no assertion depends on speed. */
    @Rule
    public Timeout guard = new Timeout(300, TimeUnit.SECONDS);

    static final String A0 = "0000:00:04.0";
    static final String ATTR = "(txq0,00:04.0,0),(rxq0,00:04.0,0)";

    private TestContext ctx;
    private AsyncBinder binder;
    private VhostUserServerClass cls;
    private final List<AutoCloseable> open = new ArrayList<>();
    private EngineChannel ch;

    @Before
    public void setUp() throws Exception {
        ctx = new TestContext(8192);
        binder = new AsyncBinder();
        cls = new VhostUserServerClass(binder);
        cls.setOtherConfig(Map.of("vhost-async-copy-support", "true"));
        ch = new EngineChannel(A0, "ioat", new ModelEngine(A0, -1), 256, "dma_ioat");
        ch.start();
        binder.addDevice(ch, Map.of(DmaDevice.ADDRESS_PROPERTY, A0, DmaDevice.DRIVER_PROPERTY, "ioat",
                "service.id", 1L));
    }

    @After
    public void tearDown() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
        binder.removeDevice(ch);
        ch.stop();
        assertEquals("packet buffers in use after the ports closed", 0, ctx.pool.inUse());
        ctx.cleanup();
    }

    private VhostPort port(String name) throws Exception {
        VhostPort p = (VhostPort) cls.open(name, Map.of("vhost-async-attr", ATTR), ctx);
        open.add(p);
        return p;
    }

    private VirtioUserDevice frontEnd(VhostPort p, String name) throws Exception {
        VirtioUserDevice d = VirtioUserDevice.open(new VirtioUserConfig().name(name).reconnect(false)
                .path(ctx.runDir.resolve(p.name())));
        assertTrue("front end ready: " + d.lastError(), d.awaitReady(10_000));
        VirtioUserTest.awaitCarrier(p, true);
        return d;
    }

    static int sizeOf(int seq) {
        return AsyncCopyTest.sizeOf(seq);
    }

    @Test
    public void memoryTruncatedWhileDmaCopiesAreInFlight() throws Exception {
        VhostPort good = port("hg0");
        VhostPort bad = port("hb0");
        VirtioUserDevice goodFe = frontEnd(good, "good");
        open.add(goodFe);
        byte[] canary = new byte[goodFe.scratchSize()];
        for (int i = 0; i < canary.length; i++) {
            canary[i] = (byte) (0xa5 ^ i);
        }
        goodFe.guestWrite(goodFe.scratchGpa(), canary, 0, canary.length);

        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> pmdError = new AtomicReference<>();
        int[] taken = {0};
        int[] received = {0};
        Thread pmd = new Thread(() -> {
            PacketBatch b = new PacketBatch();
            PacketBatch in = new PacketBatch();
            byte[] buf = new byte[16384];
            int seq = 0;
            int goodInFlight = 0;
            int badInFlight = 0;
            try {
                while (!stop.get() || goodInFlight > 0 || badInFlight > 0) {
                    if (!stop.get()) {
                        // the hostile port: copies into its guest (enqueue) and out of it (dequeue), by DMA
                        b.add(Frames.packet(ctx.pool, new byte[1500], Integer.MAX_VALUE));
                        badInFlight = bad.send(0, b, false);
                        bad.rxqRecv(0, in);
                        in.freeAll();
                        // the good port: frame seq, offered until taken
                        byte[] f = new byte[sizeOf(seq)];
                        Frames.fill(f, seq);
                        b.add(Frames.packet(ctx.pool, f, Integer.MAX_VALUE));
                        long before = Frames.stats(good).txPackets;
                        goodInFlight = good.send(0, b, false);
                        if (Frames.stats(good).txPackets > before) {
                            seq++;
                            taken[0] = seq;
                        }
                    } else {
                        badInFlight = bad.freePkts(0, false);
                        goodInFlight = good.freePkts(0, false);
                    }
                    int n;
                    while ((n = goodFe.receive(0, buf, 0)) >= 0) {
                        int s = received[0];
                        assertEquals("length of frame " + s + " (order kept)", sizeOf(s), n);
                        byte[] exp = new byte[n];
                        Frames.fill(exp, s);
                        assertArrayEquals("bytes of frame " + s, exp, java.util.Arrays.copyOf(buf, n));
                        received[0]++;
                    }
                }
            } catch (Throwable e) {
                pmdError.set(e);
            }
        }, "hostile-async-pmd");
        pmd.start();
        try {
            for (int round = 0; round < 6 && pmdError.get() == null; round++) {
                VirtioUserDevice fe = frontEnd(bad, "evil-" + round);
                for (int i = 0; i < 64; i++) {
                    fe.transmit(0, new byte[1200]);
                    fe.reclaim(0);
                }
                // copies are flowing both ways: cut the file under them (odd rounds: the buffers only)
                long keep = round % 2 == 0 ? 4096 : (fe.scratchGpa() - fe.gpaBase() + 4095) & ~4095L;
                HostileFds.truncate(fe.memFd(), keep);
                DpdkFrontEndTest.await("pvio drops the front end whose memory shrank", 10_000, () -> !bad.device().connected());
                Thread closer = new Thread(() -> { // the front end faults on its own memory now
                    try {
                        fe.close();
                    } catch (Throwable e) {
                        // the hostile side's problem
                    }
                    try {
                        io.pvio.vhost.ring.GuestMemory.deliverPendingFault();
                    } catch (InternalError e) {
                        // ditto
                    }
                });
                closer.start();
                closer.join(60_000);
            }
        } finally {
            stop.set(true);
            pmd.join(120_000);
        }
        assertNull("the PMD kept going: " + pmdError.get(), pmdError.get());
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        byte[] buf = new byte[16384];
        while (received[0] < taken[0] && System.nanoTime() < end) {
            if (goodFe.receive(0, buf, 0) >= 0) {
                received[0]++;
            }
        }
        assertTrue("the good port forwarded while the hostile one faulted: " + taken[0], taken[0] > 100);
        assertEquals("every frame the good port took reached its guest", taken[0], received[0]);
        assertEquals(0, good.device().vq(0).counter(Virtqueue.C_BROKEN));
        byte[] after = new byte[canary.length];
        goodFe.guestRead(goodFe.scratchGpa(), after, 0, after.length);
        assertArrayEquals("nothing written into the good guest outside its posted buffers", canary, after);
        assertTrue("copies went by DMA", AsyncCopyTest.custom(good).get("tx_q0_async_dma_copies") > 0);

        // the hostile port serves the next front end, by DMA again
        VirtioUserDevice next = frontEnd(bad, "next");
        open.add(next);
        for (int i = 0; i < 20; i++) {
            VirtioUserTest.fromGuest(bad, next, 0, 1000, i);
        }
    }
}
