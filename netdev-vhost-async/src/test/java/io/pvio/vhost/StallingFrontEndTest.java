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
}
