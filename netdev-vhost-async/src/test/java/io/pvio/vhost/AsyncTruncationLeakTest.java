package io.pvio.vhost;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pvio.dma.DmaDevice;
import io.pvio.dma.ioat.engine.ModelEngine;
import io.pvio.dma.spi.EngineChannel;
import io.pvio.packet.PacketBatch;
import io.pvio.vhost.async.AsyncBinder;
import io.pvio.vhost.netdev.VhostPort;
import io.pvio.vhost.netdev.VhostUserServerClass;
import io.pvio.virtio.user.VirtioUserConfig;
import io.pvio.virtio.user.VirtioUserDevice;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * Issue 15, asynchronous copies: as {@link TruncationLeakTest}, but every copy goes through a DMA channel, so
 * the PMD's enqueue walk touches the guest (descriptors, used ring) on the CPU and then retires earlier
 * packets, freeing them, in the same call. A late SIGBUS of the walk must surface before those frees, never
 * inside the pool's bookkeeping. A second thread asks for the PMD's stack all the time, so that the PMD passes
 * safepoints at many places of its burst. Every round must end with no packet buffer in use.
 */
public class AsyncTruncationLeakTest {
    private static final long HANG_S = 60;
    private static final int ROUNDS = 40;
    private static final String A0 = "0000:00:04.0";

    private TestContext ctx;
    private AsyncBinder binder;
    private EngineChannel ch;
    private VhostPort port;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "async-trunc-leak");
        t.setDaemon(true);
        return t;
    });
    private Level level;

    @Before
    public void setUp() throws Exception {
        ctx = new TestContext(8192);
        binder = new AsyncBinder();
        VhostUserServerClass cls = new VhostUserServerClass(binder);
        cls.setOtherConfig(Map.of("vhost-async-copy-support", "true"));
        ch = new EngineChannel(A0, "ioat", new ModelEngine(A0, -1), 256, "dma_ioat");
        ch.start();
        binder.addDevice(ch, Map.of(DmaDevice.ADDRESS_PROPERTY, A0, DmaDevice.DRIVER_PROPERTY, "ioat",
                "service.id", 1L));
        port = (VhostPort) cls.open("aleak0", Map.of("vhost-async-attr", "(txq0,00:04.0,1024),(rxq0,00:04.0,4096)"), ctx);
        level = Logger.getLogger("netdev_dpdk").getLevel();
        Logger.getLogger("netdev_dpdk").setLevel(Level.SEVERE); // a broken queue per round
    }

    @After
    public void tearDown() throws Exception {
        threads.submit(() -> {
            port.close();
            return null;
        }).get(HANG_S, TimeUnit.SECONDS);
        threads.shutdownNow();
        binder.removeDevice(ch);
        ch.stop();
        Logger.getLogger("netdev_dpdk").setLevel(level);
        assertEquals("packet buffers in use after the port closed", 0, ctx.pool.inUse());
        ctx.cleanup();
    }

    @Test
    public void truncatedUnderDmaCopiesLeaksNothing() throws Exception {
        byte[] frame = new byte[1400];
        Frames.fill(frame, 7);
        byte[] toGuest = new byte[600];
        Frames.fill(toGuest, 9);
        int leaks = 0;
        int base = 0;
        StringBuilder where = new StringBuilder();
        for (int round = 0; round < ROUNDS; round++) {
            VirtioUserDevice fe = VirtioUserDevice.open(new VirtioUserConfig().name("atrunc-" + round)
                    .reconnect(false).path(ctx.runDir.resolve("aleak0")));
            assertTrue(fe.awaitReady(10_000));
            VirtioUserTest.awaitCarrier(port, true);
            assertTrue("virtio-user memory is not sealed: the fault path is tested", !port.device().memory().sealed());
            int posted = 0;
            while (posted < 1024 && fe.transmit(0, frame)) {
                posted++;
            }
            assertTrue("frames queued for pvio: " + posted, posted >= 64);
            CountDownLatch go = new CountDownLatch(1);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Thread> pmdThread = new AtomicReference<>();
            Future<Integer> pmd = threads.submit(() -> {
                pmdThread.set(Thread.currentThread());
                PacketBatch in = new PacketBatch();
                PacketBatch out = new PacketBatch();
                int escaped = 0;
                int inFlight = 0;
                go.await();
                while (!stop.get() || inFlight > 0) {
                    if (!stop.get()) {
                        for (int i = 0; i < 8; i++) {
                            out.add(Frames.packet(ctx.pool, toGuest, Integer.MAX_VALUE));
                        }
                        inFlight = port.send(0, out, false);
                        port.rxqRecv(0, in);
                        in.freeAll();
                    } else {
                        inFlight = port.freePkts(0, false);
                    }
                    escaped += faultEscaped();
                }
                return escaped;
            });
            Future<?> storm = threads.submit(() -> {
                while (pmdThread.get() == null) {
                    Thread.onSpinWait();
                }
                while (!stop.get()) {
                    pmdThread.get().getStackTrace(); // a safepoint (or handshake) the PMD must pass
                }
                return null;
            });
            // the file is cut while the PMD walks the rings: even rounds: to one page (rings gone); odd rounds:
            // up to the packet buffers (rings readable, copies fault)
            long keep = round % 2 == 0 ? 4096 : (fe.scratchGpa() - fe.gpaBase() + 4095) & ~4095L;
            go.countDown();
            long until = System.nanoTime() + ThreadLocalRandom.current().nextLong(200_000);
            while (System.nanoTime() < until) {
                Thread.onSpinWait();
            }
            HostileFds.truncate(fe.memFd(), keep);
            DpdkFrontEndTest.await("pvio drops the front end whose memory shrank", HANG_S * 1000,
                    () -> !port.device().connected());
            stop.set(true);
            assertEquals("faults left pending by the port's calls", 0, (int) pmd.get(HANG_S, TimeUnit.SECONDS));
            storm.get(HANG_S, TimeUnit.SECONDS);
            threads.submit(() -> { // the front end may fault on its own memory now
                try {
                    fe.close();
                } catch (Throwable e) {
                    // the hostile side's problem
                }
                try {
                    io.pvio.vhost.ring.GuestMemory.deliverPendingFault();
                } catch (InternalError e) {
                    // the front end's own fault
                }
                return null;
            }).get(HANG_S, TimeUnit.SECONDS);
            int inUse = ctx.pool.inUse();
            if (inUse != base) {
                leaks++;
                where.append(" round ").append(round).append(": ").append(inUse - base);
                base = inUse;
            }
        }
        System.out.println("AsyncTruncationLeakTest: " + ROUNDS + " rounds, " + leaks + " leaked" + where);
        assertEquals("rounds that leaked packet buffers:" + where, 0, leaks);
    }

    private static int zero;

    /** 1 when a fault is still pending on this thread (a multi-dimensional allocation is a runtime call). */
    private static int faultEscaped() {
        try {
            Object[][] probe = new Object[zero][zero];
            return probe.length;
        } catch (InternalError e) {
            return 1;
        }
    }
}
