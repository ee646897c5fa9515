package io.pvio.vhost;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pvio.packet.PacketBatch;
import io.pvio.vhost.netdev.VhostPort;
import io.pvio.virtio.user.VirtioUserConfig;
import io.pvio.virtio.user.VirtioUserDevice;
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

/**
 * Issue 15's rounds, for {@link TruncationLeakTest} (CPU copies) and {@link AsyncTruncationLeakTest} (DMA
 * copies): in each, a front end queues frames for the port, a "PMD" thread sends to it and receives from it
 * (then completes the copies still in flight), a second thread asks for the PMD's stack all the time so that
 * the PMD passes safepoints at many places of its burst, and the front end's memory file is cut under it:
 * even rounds to one page (rings gone), odd rounds up to the packet buffers (rings readable, copies fault).
 * A late SIGBUS must never land in packet-pool bookkeeping or between a packet's allocation and its
 * hand-over. Counts the rounds after which more packet buffers are in use than before.
 */
final class TruncationRounds implements AutoCloseable {
    static final long HANG_S = 60;
    static final int ROUNDS = 40;

    private final TestContext ctx;
    private final VhostPort port;
    private final ExecutorService threads;
    private final Level level;
    /** Rounds that leaked, and where ("round R: N" each). */
    int leaks;
    final StringBuilder where = new StringBuilder();

    /** Takes over {@code port} (closed by {@link #close}); mutes netdev_dpdk's warnings (a broken queue per round). */
    TruncationRounds(TestContext ctx, VhostPort port, String threadName) {
        this.ctx = ctx;
        this.port = port;
        this.threads = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
        level = Logger.getLogger("netdev_dpdk").getLevel();
        Logger.getLogger("netdev_dpdk").setLevel(Level.SEVERE);
    }

    /** Runs {@link #ROUNDS} rounds against front ends named {@code prefix}N on the port's socket. */
    void run(String prefix) throws Exception {
        run(prefix, false);
    }

    /**
     * {@link #run(String, boolean)}, then prints "{@code label}: R rounds, N leaked ..." and fails if any round
     * leaked.
     */
    void runChecked(String label, String prefix, boolean packed) throws Exception {
        run(prefix, packed);
        System.out.println(label + ": " + ROUNDS + " rounds, " + leaks + " leaked" + where);
        assertEquals("rounds that leaked packet buffers:" + where, 0, leaks);
    }

    /** {@link #run(String)} with front ends asking for packed virtqueues when {@code packed}. */
    void run(String prefix, boolean packed) throws Exception {
        byte[] frame = new byte[1400];
        Frames.fill(frame, 7);
        byte[] toGuest = new byte[600];
        Frames.fill(toGuest, 9);
        int base = 0;
        for (int round = 0; round < ROUNDS; round++) {
            VirtioUserDevice fe = VirtioUserDevice.open(new VirtioUserConfig().name(prefix + round).packed(packed)
                    .reconnect(false).path(ctx.runDir.resolve(port.name())));
            assertTrue(fe.awaitReady(10_000));
            VirtioUserTest.awaitCarrier(port, true);
            assertTrue("virtio-user memory is not sealed: the fault path is tested", !port.device().memory().sealed());
            assertEquals("packed virtqueues negotiated", packed, (fe.features() >>> 34 & 1) == 1); // VIRTIO_F_RING_PACKED
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
                int inFlight = 0; // asynchronous copies only: send returns 0 without a DMA channel
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
    }

    /** Closes the port (on a thread of its own: a hang fails instead of blocking) and restores the log level. */
    @Override
    public void close() throws Exception {
        try {
            threads.submit(() -> {
                port.close();
                return null;
            }).get(HANG_S, TimeUnit.SECONDS);
        } finally {
            threads.shutdownNow();
            Logger.getLogger("netdev_dpdk").setLevel(level);
        }
    }

    private static int zero;

    /** 1 when a fault is still pending on this thread (a multi-dimensional allocation is a runtime call). */
    static int faultEscaped() {
        try {
            Object[][] probe = new Object[zero][zero];
            return probe.length;
        } catch (InternalError e) {
            return 1;
        }
    }
}
