package io.pvio.vhost;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pvio.dma.cpu.CpuChannel;
import io.pvio.dma.DmaDevice;
import io.pvio.netdev.NetdevStats;
import io.pvio.packet.PacketBatch;
import io.pvio.vhost.async.AsyncBinder;
import io.pvio.vhost.netdev.VhostPort;
import io.pvio.vhost.netdev.VhostUserServerClass;
import io.pvio.virtio.user.VirtioUserConfig;
import io.pvio.virtio.user.VirtioUserDevice;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * options:tx-retries-max (OVS's __netdev_dpdk_vhost_send): a send that finds too few guest buffers sends
 * the rest again, at most that many times, while each pass delivers something; retries are counted in
 * the custom statistic tx_retries. Real sends into the Java front end's 64-buffer receive ring; the guest
 * makes room for 5 frames before each retry.
 */
public class TxRetriesTest {
    @Rule
    public Timeout guard = new Timeout(120, TimeUnit.SECONDS);

    private static final int RING = 64;
    private static final int ROOM = 10;
    private static final int PER_RETRY = 5;

    private TestContext ctx;
    private AsyncBinder binder;
    private final List<AutoCloseable> open = new ArrayList<>();
    private CpuChannel channel;
    private int seq;
    /** Sequence numbers of the frames sent and not dropped, in order, that the guest has not received. */
    private final ArrayDeque<Integer> expected = new ArrayDeque<>();
    private final byte[] buf = new byte[16384];

    @Before
    public void setUp() throws Exception {
        ctx = new TestContext(8192);
        binder = new AsyncBinder();
    }

    @After
    public void tearDown() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
        if (channel != null) {
            binder.removeDevice(channel);
            channel.stop();
        }
        assertEquals("packets leaked", 0, ctx.pool.inUse());
        ctx.cleanup();
    }

    private VhostPort port(String name, Map<String, String> opts) throws Exception {
        VhostUserServerClass cls = new VhostUserServerClass(binder);
        if (opts.containsKey("vhost-async-attr")) {
            cls.setOtherConfig(Map.of("vhost-async-copy-support", "true"));
            channel = new CpuChannel("0000:00:04.0", 256);
            channel.start();
            binder.addDevice(channel, Map.of(DmaDevice.ADDRESS_PROPERTY, "0000:00:04.0",
                    DmaDevice.DRIVER_PROPERTY, "cpu", "service.id", 1L));
        }
        VhostPort p = (VhostPort) cls.open(name, opts, ctx);
        open.add(p);
        return p;
    }

    private VirtioUserDevice frontEnd(VhostPort p, VirtioUserConfig c) throws Exception {
        VirtioUserDevice d = VirtioUserDevice.open(c.queueSize(RING).path(ctx.runDir.resolve(p.name())));
        open.add(d);
        assertTrue("front end ready: " + d.lastError(), d.awaitReady(10_000));
        VirtioUserTest.awaitCarrier(p, true);
        return d;
    }

    private static long txRetries(VhostPort p) {
        Map<String, Long> m = new HashMap<>();
        p.getCustomStats(m::put);
        return m.get("tx_retries");
    }

    /** Sends {@code n} numbered 64-byte frames in one burst. */
    private void send(VhostPort p, int n) {
        PacketBatch b = new PacketBatch();
        for (int i = 0; i < n; i++) {
            byte[] f = new byte[64];
            expected.add(seq);
            Frames.fill(f, seq++);
            b.add(Frames.packet(ctx.pool, f, Integer.MAX_VALUE));
        }
        p.send(0, b, false);
        assertEquals("the caller's batch is emptied", 0, b.size());
        while (p.freePkts(0, false) > 0) {
            Thread.onSpinWait(); // asynchronous copies: until the ring has them all
        }
    }

    /** The guest takes up to {@code max} frames (reposting their buffers); returns how many. */
    private int receive(VirtioUserDevice d, int max) {
        int got = 0;
        int len;
        while (got < max && (len = d.receive(0, buf, 0)) >= 0) {
            assertEquals(64, len);
            byte[] want = new byte[64];
            int x = expected.remove();
            Frames.fill(want, x);
            byte[] f = new byte[64];
            System.arraycopy(buf, 0, f, 0, 64);
            assertArrayEquals("frame " + x + " in order", want, f);
            got++;
        }
        return got;
    }

    /** The last {@code n} frames sent were dropped (the ones a send never tried are its burst's last). */
    private void dropTail(int n) {
        for (int i = 0; i < n; i++) {
            expected.removeLast();
        }
    }

    /**
     * With {@link #ROOM} buffers free, a burst of 32: the first pass delivers 10, then each retry 5 until
     * nothing is left or the retries run out.
     */
    private void burstIntoNearlyFullRing(VhostPort p, VirtioUserDevice d, int delivered, int retries)
            throws Exception {
        receive(d, Integer.MAX_VALUE); // every buffer posted again
        send(p, 32);
        send(p, RING - ROOM - 32);
        NetdevStats s0 = Frames.stats(p);
        long r0 = txRetries(p);
        int[] made = new int[1];
        p.beforeRetry(() -> made[0] += receive(d, PER_RETRY));
        try {
            send(p, 32);
        } finally {
            p.beforeRetry(null);
        }
        dropTail(32 - delivered);
        NetdevStats s = Frames.stats(p);
        assertEquals("delivered", delivered, s.txPackets - s0.txPackets);
        assertEquals("dropped", 32 - delivered, s.txDropped - s0.txDropped);
        assertEquals("tx_retries", retries, txRetries(p) - r0);
        assertEquals("room made by the guest", retries * PER_RETRY, made[0]);
        assertEquals(RING - ROOM + delivered - made[0], receive(d, Integer.MAX_VALUE));
    }

    private void retriesAsOvs(String name, VirtioUserConfig cfg, Map<String, String> base) throws Exception {
        VhostPort p = port(name, base);
        VirtioUserDevice d = frontEnd(p, cfg);
        // default 8: 10, then 5, 5, 5, 5 and the last 2 (5 retries)
        burstIntoNearlyFullRing(p, d, 32, 5);
        Map<String, String> o = new HashMap<>(base);
        o.put("tx-retries-max", "2");
        p.setConfig(o);
        burstIntoNearlyFullRing(p, d, 20, 2);
        o.put("tx-retries-max", "0");
        p.setConfig(o);
        burstIntoNearlyFullRing(p, d, ROOM, 0);
        o.put("tx-retries-max", "33"); // out of range: the default, as OVS
        p.setConfig(o);
        burstIntoNearlyFullRing(p, d, 32, 5);
        // a full ring: nothing goes in the first pass, so no retry (the guest may not be taking packets)
        o.put("tx-retries-max", "32");
        p.setConfig(o);
        receive(d, Integer.MAX_VALUE);
        send(p, 32);
        send(p, 32);
        NetdevStats s0 = Frames.stats(p);
        long r0 = txRetries(p);
        p.beforeRetry(() -> {
            throw new AssertionError("retried a send that delivered nothing");
        });
        send(p, 32);
        p.beforeRetry(null);
        dropTail(32);
        assertEquals(0, Frames.stats(p).txPackets - s0.txPackets);
        assertEquals(32, Frames.stats(p).txDropped - s0.txDropped);
        assertEquals(0, txRetries(p) - r0);
        assertEquals(RING, receive(d, Integer.MAX_VALUE));
    }

    @Test
    public void cpuCopiesSplitRing() throws Exception {
        retriesAsOvs("vtr", new VirtioUserConfig().name("fe-tr"), Map.of());
    }

    @Test
    public void cpuCopiesPackedRing() throws Exception {
        retriesAsOvs("vtp", new VirtioUserConfig().name("fe-trp").packed(true), Map.of());
    }

    @Test
    public void dmaCopiesSplitRing() throws Exception {
        retriesAsOvs("vta", new VirtioUserConfig().name("fe-tra"), Map.of("vhost-async-attr", "(txq0,00:04.0,0)"));
    }
}
