package io.pvio.vhost;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import io.pvio.packet.PacketBatch;
import io.pvio.vhost.netdev.VhostPort;
import io.pvio.vhost.netdev.VhostUserServerClass;
import io.pvio.vhost.ring.Virtqueue;
import io.pvio.virtio.user.VhostUser;
import io.pvio.virtio.user.VhostUserMessage;
import io.pvio.virtio.user.VirtioUserConfig;
import io.pvio.virtio.user.VirtioUserDevice;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * Front ends that try to stall pvio (issue 15): a call fd that blocks, a socket nobody reads, a memory file
 * truncated under traffic. The other port keeps forwarding (counted), closing the hostile port ("del-port")
 * returns, no packet buffer leaks. Waits are bounded by generous hang detectors, never timed asserts.
 */
public class StallingFrontEndTest {
    private static final int F = VhostUser.FLAG_VERSION;
    /** A hang detector, not a speed requirement: a stalled call never returns at all. */
    private static final long HANG_S = 60;

    private TestContext ctx;
    private VhostPort bad;
    private VhostPort good;
    private VirtioUserDevice goodFe;
    private final List<AutoCloseable> open = new ArrayList<>();
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "stall-test");
        t.setDaemon(true);
        return t;
    });
    private final List<String> log = new ArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
            synchronized (log) {
                log.add(r.getLevel() + " " + r.getMessage());
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @Before
    public void setUp() throws Exception {
        ctx = new TestContext(4096);
        Logger.getLogger("netdev_dpdk").addHandler(capture);
        bad = (VhostPort) new VhostUserServerClass().open("bad0", Map.of(), ctx);
        good = (VhostPort) new VhostUserServerClass().open("good0", Map.of(), ctx);
        goodFe = VirtioUserDevice.open(new VirtioUserConfig().name("good-fe").path(ctx.runDir.resolve("good0")));
        assertTrue(goodFe.awaitReady(10_000));
        VirtioUserTest.awaitCarrier(good, true);
    }

    @After
    public void tearDown() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
        goodFe.close();
        good.close();
        pool.submit(() -> {
            bad.close();
            return null;
        }).get(HANG_S, TimeUnit.SECONDS);
        pool.shutdownNow();
        Logger.getLogger("netdev_dpdk").removeHandler(capture);
        assertEquals("packet buffers in use after the ports closed", 0, ctx.pool.inUse());
        ctx.cleanup();
    }

    private long logged(String part) {
        synchronized (log) {
            return log.stream().filter(w -> w.contains(part)).count();
        }
    }

    private static long custom(VhostPort p, String key) {
        long[] v = {-1};
        p.getCustomStats((k, x) -> {
            if (k.equals(key)) {
                v[0] = x;
            }
        });
        return v[0];
    }

    /** One packet pvio → guest on {@code p}; the guest takes what arrived. Returns frames the guest got. */
    private int forwardOne(VhostPort p, VirtioUserDevice fe, int seq, byte[] scratch) {
        PacketBatch b = new PacketBatch();
        byte[] f = new byte[128];
        Frames.fill(f, seq);
        b.add(Frames.packet(ctx.pool, f, Integer.MAX_VALUE));
        p.send(0, b, false);
        int got = 0;
        while (fe.receive(0, scratch, 0) >= 0) {
            got++;
        }
        return got;
    }

    /** The "PMD": sends to the hostile port, then to the good one, {@code rounds} times; counts good deliveries. */
    private Future<Integer> pmd(VirtioUserDevice badFe, int rounds) {
        return pool.submit(() -> {
            byte[] scratch = new byte[16384];
            int delivered = 0;
            for (int i = 0; i < rounds; i++) {
                forwardOne(bad, badFe, i, scratch);
                delivered += forwardOne(good, goodFe, i, scratch);
            }
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (delivered < rounds && System.nanoTime() < end) {
                int n = goodFe.receive(0, scratch, 0);
                if (n >= 0) {
                    delivered++;
                } else {
                    Thread.onSpinWait();
                }
            }
            return delivered;
        });
    }

    /**
     * Defect 1: the front end replaces its call fd with a blocking eventfd whose counter is full. pvio's
     * signal must not block the sending ("PMD") thread: the good port gets every packet, the failed calls
     * are counted and logged rate-limited, and closing the hostile port returns.
     */
    @Test
    public void blockingFullCallFdStallsNothing() throws Exception {
        VirtioUserDevice fe = VirtioUserDevice.open(new VirtioUserConfig().name("stall-call").eventIdx(false)
                .reconnect(false).path(ctx.runDir.resolve("bad0")));
        open.add(fe);
        assertTrue(fe.awaitReady(10_000));
        VirtioUserTest.awaitCarrier(bad, true);
        fe.guestWrite(fe.rawQueue(0).availGpa(), new byte[2], 0, 2); // avail flags 0: interrupt me, always
        int hostile = HostileFds.fullBlockingEventFd();
        try {
            try (VirtioUserDevice.Channel ch = fe.channel()) {
                // vring 0 is the guest's receive ring: pvio signals it after each packet it delivers
                ch.send(new VhostUserMessage(VhostUser.SET_VRING_CALL, F, new byte[8], hostile));
                ch.send(new VhostUserMessage(VhostUser.GET_FEATURES, F, null));
                VhostUserMessage r = ch.receive(10_000); // in order: SET_VRING_CALL was handled before
                assertNotNull(r);
                assertEquals(VhostUser.GET_FEATURES, r.request);
            }
            int rounds = 300;
            Future<Integer> f = pmd(fe, rounds);
            assertEquals("the good port forwarded every packet", rounds, (int) f.get(HANG_S, TimeUnit.SECONDS));
            long failed = custom(bad, "rx_q0_guest_notifications_failed") + custom(bad, "tx_q0_guest_notifications_failed");
            assertTrue("failed calls counted: " + failed, failed > 0);
            long lines = logged("cannot signal the call fd");
            assertTrue("failed calls logged (rate-limited): " + lines + " lines for " + failed, lines >= 1 && lines < failed);
            assertEquals(0, bad.device().vq(0).counter(Virtqueue.C_BROKEN));
            // del-port of the hostile port returns
            pool.submit(() -> {
                bad.close();
                return null;
            }).get(HANG_S, TimeUnit.SECONDS);
        } finally {
            HostileFds.close(hostile);
        }
    }

    /** A front end that sends GET_FEATURES without ever reading a reply; returns once pvio stopped reading. */
    private Future<Integer> floodWithoutReading(VirtioUserDevice fe) throws Exception {
        java.util.concurrent.atomic.AtomicInteger sent = new java.util.concurrent.atomic.AtomicInteger();
        Future<Integer> writer = pool.submit(() -> {
            try (VirtioUserDevice.Channel ch = fe.channel()) { // the channel is the thread's that opens it
                while (sent.get() < 1_000_000) {
                    ch.send(new VhostUserMessage(VhostUser.GET_FEATURES, F, null));
                    sent.incrementAndGet();
                }
            } catch (java.io.IOException e) {
                // pvio stopped reading (our send gave up) or closed the connection
            }
            return sent.get();
        });
        while (sent.get() == 0 && !writer.isDone()) {
            Thread.sleep(10);
        }
        // pvio's replies fill the socket, its control thread is stuck in send and stops reading: our count stalls
        int last = -1;
        while (sent.get() != last) {
            last = sent.get();
            Thread.sleep(300);
        }
        assertTrue("messages sent before pvio stopped reading: " + last, last > 100);
        return writer;
    }

    /**
     * Defect 2: a front end sends requests but reads no reply. pvio's control thread must not block for ever
     * in sendmsg: it gives up on that connection (logged) and serves the next front end; and closing the
     * port while the control thread waits to send ("del-port") returns. The other port forwards meanwhile.
     */
    @Test
    public void frontEndThatReadsNoReplyHangsNothing() throws Exception {
        byte[] scratch = new byte[16384];
        // 1: pvio gives up on the connection by itself
        VirtioUserDevice fe = VirtioUserDevice.open(new VirtioUserConfig().name("deaf-1").handshake(false)
                .reconnect(false).path(ctx.runDir.resolve("bad0")));
        open.add(fe);
        DpdkFrontEndTest.await("deaf front end connected", 10_000, () -> fe.isConnected() && bad.device().connected());
        Future<Integer> w = floodWithoutReading(fe);
        for (int i = 0; i < 50; i++) {
            assertEquals("the good port forwards while the bad one is stuck", 1, forwardBlocking(good, goodFe, i, scratch));
        }
        DpdkFrontEndTest.await("pvio gives up on the deaf front end", (int) TimeUnit.SECONDS.toMillis(HANG_S),
                () -> !bad.device().connected());
        assertTrue(logged("read nothing for") >= 1);
        w.get(HANG_S, TimeUnit.SECONDS);
        fe.close();
        open.remove(fe);

        // 2: del-port while the control thread waits to send returns
        VirtioUserDevice fe2 = VirtioUserDevice.open(new VirtioUserConfig().name("deaf-2").handshake(false)
                .reconnect(false).path(ctx.runDir.resolve("bad0")));
        open.add(fe2);
        DpdkFrontEndTest.await("second deaf front end connected", 10_000,
                () -> fe2.isConnected() && bad.device().connected());
        Future<Integer> w2 = floodWithoutReading(fe2);
        pool.submit(() -> {
            bad.close();
            return null;
        }).get(HANG_S, TimeUnit.SECONDS);
        w2.get(HANG_S, TimeUnit.SECONDS);
        assertEquals("the good port still forwards", 1, forwardBlocking(good, goodFe, 99, scratch));
    }

    /** {@link #forwardOne}, then waits (bounded) for the frame; returns frames the guest got. */
    private int forwardBlocking(VhostPort p, VirtioUserDevice fe, int seq, byte[] scratch) throws Exception {
        int got = forwardOne(p, fe, seq, scratch);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (got == 0 && System.nanoTime() < end) {
            if (fe.receive(0, scratch, 0) >= 0) {
                got++;
            } else {
                Thread.onSpinWait();
            }
        }
        return got;
    }

    /**
     * Defect 3: front ends truncate their memory file while pvio forwards to and from them. Each fault is
     * charged to the truncating front end's queues (never to the good port, never to the next front end),
     * no packet buffer is lost, and the next front end on the same port works.
     */
    @Test
    public void memoryTruncatedUnderTrafficIsChargedToItsOwnQueue() throws Exception {
        byte[] scratch = new byte[16384];
        for (int round = 0; round < 10; round++) {
            VirtioUserDevice fe = VirtioUserDevice.open(new VirtioUserConfig().name("trunc-" + round)
                    .reconnect(false).path(ctx.runDir.resolve("bad0")));
            assertTrue(fe.awaitReady(10_000));
            VirtioUserTest.awaitCarrier(bad, true);
            assertTrue("virtio-user memory is not sealed: the fence path is tested", !bad.device().memory().sealed());
            // guest frames waiting in its transmit ring, and receive buffers posted
            for (int i = 0; i < 16; i++) {
                fe.transmit(0, new byte[200]);
            }
            long goodBroken = good.device().vq(0).counter(Virtqueue.C_BROKEN)
                    + good.device().vq(1).counter(Virtqueue.C_BROKEN);
            java.util.concurrent.atomic.AtomicBoolean truncated = new java.util.concurrent.atomic.AtomicBoolean();
            final int r = round;
            Future<Integer> f = pool.submit(() -> { // the "PMD": every port, in turn
                int delivered = 0;
                PacketBatch in = new PacketBatch();
                for (int i = 0; i < 400; i++) {
                    if (i == 100) {
                        // even rounds: rings and buffers gone; odd rounds: the packet buffers only (the rings
                        // still read well, only the copies fault: nothing in the burst notices)
                        long keep = r % 2 == 0 ? 4096 : (fe.scratchGpa() - fe.gpaBase() + 4095) & ~4095L;
                        HostileFds.truncate(fe.memFd(), keep);
                        truncated.set(true);
                    }
                    PacketBatch b = new PacketBatch();
                    b.add(Frames.packet(ctx.pool, new byte[300], Integer.MAX_VALUE));
                    bad.send(0, b, false);
                    escaped += TruncationRounds.faultEscaped();
                    bad.rxqRecv(0, in);
                    escaped += TruncationRounds.faultEscaped();
                    in.freeAll();
                    delivered += forwardOne(good, goodFe, r * 1000 + i, scratch);
                }
                return delivered;
            });
            int delivered = f.get(HANG_S, TimeUnit.SECONDS);
            assertEquals("faults left pending by the hostile port's calls, to surface in whatever the PMD runs next",
                    0, escaped);
            assertTrue(truncated.get());
            DpdkFrontEndTest.await("pvio drops the front end whose memory shrank", 10_000, () -> !bad.device().connected());
            // the front end itself would fault on its memory now: it is closed by a thread of its own
            pool.submit(() -> {
                try {
                    fe.close();
                } catch (Throwable e) {
                    // the hostile side's problem
                }
                GuestMemory0.deliver();
                return null;
            }).get(HANG_S, TimeUnit.SECONDS);
            long rest = 0;
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (delivered + rest < 400 && System.nanoTime() < end) {
                if (goodFe.receive(0, scratch, 0) >= 0) {
                    rest++;
                } else {
                    Thread.onSpinWait();
                }
            }
            assertEquals("the good port forwarded every packet", 400, delivered + rest);
            assertEquals("no fault charged to the good port", goodBroken, good.device().vq(0).counter(Virtqueue.C_BROKEN)
                    + good.device().vq(1).counter(Virtqueue.C_BROKEN));
        }
        assertTrue("the faults were seen", logged("shrank its memory file") + logged("is broken") > 0);
        // the next front end works, from its first packet
        VirtioUserDevice next = VirtioUserDevice.open(new VirtioUserConfig().name("after").path(ctx.runDir.resolve("bad0")));
        open.add(next);
        assertTrue(next.awaitReady(10_000));
        VirtioUserTest.awaitCarrier(bad, true);
        for (int i = 0; i < 20; i++) {
            VirtioUserTest.toGuest(bad, ctx, next, 0, 1000, Integer.MAX_VALUE, i);
            VirtioUserTest.fromGuest(bad, next, 0, 1000, i);
        }
        assertEquals(null, bad.device().vq(0).broken());
        assertEquals(null, bad.device().vq(1).broken());
    }

    private volatile int escaped;

    /** A fault left pending by the front end's own code (same JVM) surfaces here, not in a later test. */
    private static final class GuestMemory0 {
        static void deliver() {
            try {
                io.pvio.vhost.ring.GuestMemory.deliverPendingFault();
            } catch (InternalError e) {
                // the front end's own fault
            }
        }
    }
}
