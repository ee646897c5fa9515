package io.pvio.vhost;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevStats;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.vhost.netdev.VhostPort;
import io.pvio.vhost.netdev.VhostUserClientClass;
import io.pvio.vhost.netdev.VhostUserServerClass;
import io.pvio.vhost.ring.VirtioFeatures;
import io.pvio.virtio.user.TxShape;
import io.pvio.virtio.user.VirtioUserConfig;
import io.pvio.virtio.user.VirtioUserDevice;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** pvio's back end against the Java virtio-user front end: exact bytes and counts in both directions. */
public class VirtioUserTest {
    static final int[] SIZES = {60, 64, 65, 127, 128, 1500, 1514, 1518, 2048, 4000, 9000};

    private TestContext ctx;
    private final List<AutoCloseable> open = new ArrayList<>();

    /** The front-end configuration every test starts from (split rings; a subclass: packed). */
    VirtioUserConfig config() {
        return new VirtioUserConfig();
    }

    /** The ring size of {@link #ringAndIndexWrapAround} (a subclass: a packed ring of another size). */
    int wrapQueueSize() {
        return 64;
    }

    @Before
    public void setUp() throws Exception {
        ctx = new TestContext(8192);
    }

    @After
    public void tearDown() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
        assertEquals("packets leaked", 0, ctx.pool.inUse());
        ctx.cleanup();
    }

    VhostPort serverPort(String name) throws Exception {
        VhostPort p = (VhostPort) new VhostUserServerClass().open(name, Map.of(), ctx);
        open.add(p);
        return p;
    }

    VirtioUserDevice frontEnd(VirtioUserConfig c) throws Exception {
        VirtioUserDevice d = VirtioUserDevice.open(c);
        open.add(d);
        assertTrue("front end ready: " + d.lastError(), d.awaitReady(10_000));
        return d;
    }

    static void awaitCarrier(Netdev p, boolean up) throws InterruptedException {
        DpdkFrontEndTest.await("carrier " + up, 10_000, () -> p.carrier() == up);
    }

    /** pvio → guest: one packet of {@code len} bytes (in segments of {@code segMax}); checks the bytes. */
    static void toGuest(Netdev p, TestContext ctx, VirtioUserDevice d, int pair, int len, int segMax, int seq)
            throws Exception {
        byte[] f = new byte[len];
        Frames.fill(f, seq);
        PacketBatch b = new PacketBatch();
        b.add(Frames.packet(ctx.pool, f, segMax));
        long before = Frames.stats(p).txPackets;
        p.send(pair, b, false);
        assertEquals("sent " + len, before + 1, Frames.stats(p).txPackets);
        byte[] got = new byte[16384];
        int n = -1;
        long end = System.currentTimeMillis() + 5000;
        while ((n = d.receive(pair, got, 0)) < 0 && System.currentTimeMillis() < end) {
            Thread.onSpinWait();
        }
        assertEquals("length received by the guest", len, n);
        byte[] exact = new byte[n];
        System.arraycopy(got, 0, exact, 0, n);
        assertArrayEquals("bytes of a " + len + "-byte frame", f, exact);
    }

    /** guest → pvio: one frame of {@code len} bytes; checks the packet. */
    static void fromGuest(Netdev p, VirtioUserDevice d, int pair, int len, int seq) throws Exception {
        byte[] f = new byte[len];
        Frames.fill(f, seq);
        assertTrue("front end transmits " + len, d.transmit(pair, f));
        PacketBatch b = new PacketBatch();
        long end = System.currentTimeMillis() + 5000;
        while (p.rxqRecv(pair, b) == 0 && System.currentTimeMillis() < end) {
            Thread.onSpinWait();
        }
        assertEquals(1, b.size());
        Packet pkt = b.get(0);
        try {
            assertEquals(len, pkt.length());
            assertArrayEquals("bytes of a " + len + "-byte frame", f, pkt.toByteArray());
            if (len > ctx0BufferRoom(pkt)) {
                assertTrue("multi-segment", pkt.segments() > 1);
            }
        } finally {
            b.freeAll();
        }
        d.reclaim(pair);
    }

    private static int ctx0BufferRoom(Packet p) {
        return p.pool().bufferSize() - p.pool().defaultHeadroom();
    }

    private void everySizeBothWays(VirtioUserConfig cfg, String port) throws Exception {
        VhostPort p = serverPort(port);
        VirtioUserDevice d = frontEnd(cfg.path(ctx.runDir.resolve(port)));
        awaitCarrier(p, true);
        int seq = 0;
        for (int round = 0; round < 3; round++) {
            for (int len : SIZES) {
                toGuest(p, ctx, d, 0, len, Integer.MAX_VALUE, seq++);
                toGuest(p, ctx, d, 0, len, 700, seq++); // multi-segment packet
                fromGuest(p, d, 0, len, seq++);
            }
        }
        everySizeCounts(p, d, SIZES);
    }

    /** The counts of 3 rounds of every size in {@code sizes}, twice to the guest and once from it. */
    static void everySizeCounts(Netdev p, VirtioUserDevice d, int[] sizes) {
        NetdevStats s = Frames.stats(p);
        assertEquals(6L * sizes.length, s.txPackets);
        assertEquals(3L * sizes.length, s.rxPackets);
        assertEquals(0, s.txDropped);
        long bytes = 0;
        for (int len : sizes) {
            bytes += len;
        }
        assertEquals(6 * bytes, s.txBytes);
        assertEquals(3 * bytes, s.rxBytes);
        assertEquals(s.txPackets, d.stats().rxPackets);
        assertEquals(s.rxPackets, d.stats().txPackets);
    }

    @Test
    public void everySizeMergeable() throws Exception {
        everySizeBothWays(config().name("fe-mrg"), "vhm");
    }

    @Test
    public void everySizeMergeableSmallBuffers() throws Exception {
        everySizeBothWays(config().name("fe-mrg512").rxBufSize(512), "vhm5");
    }

    @Test
    public void everySizeNonMergeable() throws Exception {
        everySizeBothWays(config().name("fe-nomrg").mrgRxbuf(false), "vhn");
    }

    @Test
    public void everySizeNonMergeableChainsWithoutEventIdx() throws Exception {
        everySizeBothWays(config().name("fe-chain").mrgRxbuf(false).rxBufSize(1024).eventIdx(false)
                .txShape(TxShape.CHAIN), "vhc");
    }

    @Test
    public void everySizeSplitTx() throws Exception {
        everySizeBothWays(config().name("fe-split").txShape(TxShape.SPLIT), "vhs");
    }

    @Test
    public void everySizeIndirectTx() throws Exception {
        everySizeBothWays(config().name("fe-ind").txShape(TxShape.INDIRECT), "vhi");
    }

    /**
     * SEND_RARP (QEMU after a migration, for a guest without GUEST_ANNOUNCE): the next receive on queue 0
     * returns a RARP request broadcast from the guest's MAC first, counted in what rxqRecv returns, once;
     * the guest's own frames follow unchanged.
     */
    @Test
    public void sendRarpInjectsOneRarpBroadcastFromTheGuestsMac() throws Exception {
        VhostPort p = serverPort("vhr");
        VirtioUserDevice d = frontEnd(new VirtioUserConfig().name("fe-rarp").path(ctx.runDir.resolve("vhr")));
        awaitCarrier(p, true);
        io.pvio.vhost.user.VhostDevice.Message m = new io.pvio.vhost.user.VhostDevice.Message();
        m.request = io.pvio.vhost.user.Request.SEND_RARP;
        m.payload = java.nio.ByteBuffer.allocate(8);
        m.payload.put(0, new byte[] {0x52, 0x54, 0x00, 0x19, 0x00, 0x01, 0, 0});
        m.size = 8;
        p.device().handle(m);
        PacketBatch b = new PacketBatch();
        assertEquals("the RARP alone, counted", 1, p.rxqRecv(0, b));
        byte[] f = b.get(0).toByteArray();
        b.freeAll();
        byte[] mac = {0x52, 0x54, 0x00, 0x19, 0x00, 0x01};
        assertEquals(60, f.length);
        for (int i = 0; i < 6; i++) {
            assertEquals("broadcast", (byte) 0xff, f[i]);
            assertEquals("Ethernet source", mac[i], f[6 + i]);
            assertEquals("sender hardware address", mac[i], f[22 + i]);
            assertEquals("target hardware address", mac[i], f[32 + i]);
        }
        assertEquals("ETH_P_RARP", 0x8035, (f[12] & 0xff) << 8 | (f[13] & 0xff));
        assertEquals("hardware type Ethernet, protocol IPv4", 0x00010800,
                java.nio.ByteBuffer.wrap(f, 14, 4).getInt());
        assertEquals("RARP request", 3, (f[20] & 0xff) << 8 | (f[21] & 0xff));
        assertEquals("once", 0, p.rxqRecv(0, b));
        assertEquals(1, p.device().rarpsInjected());
        fromGuest(p, d, 0, 100, 7); // the guest's frames are untouched
    }

    /**
     * rxqRemaining, pmd-perf-show's vhost qlen (OVS's qfill): after a receive, the chains the guest has made
     * available that the port has not taken yet; -1 on packed rings, whose count the port does not keep.
     */
    @Test
    public void rxqRemainingCountsTheGuestsChainsLeft() throws Exception {
        VhostPort p = serverPort("vhq");
        // the subclasses' config() may be packed: this test names its ring layouts itself
        VirtioUserDevice d = frontEnd(new VirtioUserConfig().packed(false).name("fe-qlen")
                .path(ctx.runDir.resolve("vhq")));
        awaitCarrier(p, true);
        assertEquals(0, p.rxqRemaining(0));
        for (int i = 0; i < 40; i++) {
            assertTrue(d.transmit(0, new byte[64]));
        }
        PacketBatch b = new PacketBatch();
        assertEquals(32, p.rxqRecv(0, b));
        assertEquals("40 made available, 32 taken", 8, p.rxqRemaining(0));
        b.freeAll();
        assertEquals(8, p.rxqRecv(0, b));
        assertEquals(0, p.rxqRemaining(0));
        b.freeAll();
        assertEquals(-1, p.rxqRemaining(io.pvio.vhost.user.VhostDevice.MAX_QUEUE_PAIRS));

        VhostPort pp = serverPort("vhqp");
        VirtioUserDevice dp = frontEnd(new VirtioUserConfig().packed(true).name("fe-qlenp")
                .path(ctx.runDir.resolve("vhqp")));
        awaitCarrier(pp, true);
        assertTrue(dp.transmit(0, new byte[64]));
        assertEquals(1, pp.rxqRecv(0, b));
        b.freeAll();
        assertEquals(-1, pp.rxqRemaining(0));
    }

    /** More than 65536 packets each way: the ring indexes wrap (mod size and mod 2^16). */
    @Test
    public void ringAndIndexWrapAround() throws Exception {
        VhostPort p = serverPort("vhw");
        VirtioUserDevice d = frontEnd(config().name("fe-wrap").queueSize(wrapQueueSize())
                .path(ctx.runDir.resolve("vhw")));
        awaitCarrier(p, true);
        int total = 70_000;
        byte[] f = new byte[64];
        byte[] got = new byte[2048];
        PacketBatch b = new PacketBatch();
        int sent = 0;
        int received = 0;
        while (sent < total) {
            int k = Math.min(16, total - sent);
            for (int i = 0; i < k; i++) {
                Frames.fill(f, sent + i);
                b.add(Frames.packet(ctx.pool, f, Integer.MAX_VALUE));
            }
            p.send(0, b, false);
            sent += k;
            int n;
            while ((n = d.receive(0, got, 0)) >= 0) {
                assertEquals(64, n);
                assertEquals(received, ((got[14] & 0xff) << 24) | ((got[15] & 0xff) << 16) | ((got[16] & 0xff) << 8)
                        | (got[17] & 0xff));
                received++;
            }
        }
        assertEquals(total, received);
        assertEquals(total, Frames.stats(p).txPackets);
        assertEquals(0, Frames.stats(p).txDropped);
        // and the other way
        int rx = 0;
        for (int i = 0; i < total; i++) {
            Frames.fill(f, i);
            while (!d.transmit(0, f)) {
                d.reclaim(0);
                rx += drain(p, 0, rx);
            }
            if ((i & 15) == 15) {
                rx += drain(p, 0, rx);
            }
        }
        while (rx < total) {
            rx += drain(p, 0, rx);
        }
        assertEquals(total, Frames.stats(p).rxPackets);
    }

    private int drain(Netdev p, int q, int seqBase) {
        PacketBatch b = new PacketBatch();
        int n = p.rxqRecv(q, b);
        for (int i = 0; i < n; i++) {
            byte[] g = b.get(i).toByteArray();
            int seq = ((g[14] & 0xff) << 24) | ((g[15] & 0xff) << 16) | ((g[16] & 0xff) << 8) | (g[17] & 0xff);
            assertEquals(seqBase + i, seq);
        }
        b.freeAll();
        return n;
    }

    @Test
    public void multiQueue() throws Exception {
        VhostPort p = serverPort("vhq");
        VirtioUserDevice d = frontEnd(config().name("fe-mq").queuePairs(3)
                .path(ctx.runDir.resolve("vhq")));
        awaitCarrier(p, true);
        DpdkFrontEndTest.await("3 queue pairs", 5000, () -> p.nRxq() == 3 && p.nTxq() == 3);
        assertTrue(ctx.changes.get() > 0);
        assertTrue(VirtioFeatures.has(p.device().features(), VirtioFeatures.NET_F_MQ));
        int seq = 0;
        for (int q = 0; q < 3; q++) {
            for (int len : new int[] {64, 1518, 9000}) {
                toGuest(p, ctx, d, q, len, Integer.MAX_VALUE, seq++);
                fromGuest(p, d, q, len, seq++);
            }
        }
        assertEquals(9, Frames.stats(p).txPackets);
        assertEquals(9, Frames.stats(p).rxPackets);
        String show = p.show();
        assertTrue(show, show.contains("vring 5 (rx_qid 2): enabled"));
    }

    /** dpdkvhostuserclient against a front end in server mode that goes away and comes back. */
    @Test
    public void clientModeReconnects() throws Exception {
        java.nio.file.Path sock = ctx.runDir.resolve("fe.sock");
        VirtioUserConfig cfg = config().name("fe-srv").server(true).path(sock).reconnect(false);
        VirtioUserDevice d = VirtioUserDevice.open(cfg);
        VhostPort p = (VhostPort) new VhostUserClientClass().open("vhcl", Map.of("vhost-server-path", sock.toString(),
                "n_rxq", "2"), ctx);
        open.add(p);
        assertTrue(d.awaitReady(10_000));
        awaitCarrier(p, true);
        toGuest(p, ctx, d, 0, 1000, Integer.MAX_VALUE, 1);
        fromGuest(p, d, 0, 1000, 2);
        d.close();
        awaitCarrier(p, false);
        // sending without a front end drops and counts
        PacketBatch b = new PacketBatch();
        b.add(Frames.packet(ctx.pool, new byte[100], Integer.MAX_VALUE));
        p.send(0, b, true);
        assertEquals(1, Frames.stats(p).txDropped);
        VirtioUserDevice d2 = VirtioUserDevice.open(cfg.name("fe-srv2"));
        open.add(d2);
        assertTrue(d2.awaitReady(10_000));
        awaitCarrier(p, true);
        toGuest(p, ctx, d2, 0, 1500, 600, 3);
        fromGuest(p, d2, 0, 9000, 4);
        assertEquals(2, Frames.stats(p).txPackets);
        assertEquals(2, Frames.stats(p).rxPackets);
        // as OVS 3.1's vhost classes: link_resets stays 0 (it counts a DPDK ethdev's link changes), no speed
        assertEquals(0, p.carrierResets());
        assertEquals(0, p.linkSpeed());
    }

    @Test
    public void serverModeAcceptsTheNextFrontEnd() throws Exception {
        VhostPort p = serverPort("vhr");
        for (int i = 0; i < 3; i++) {
            VirtioUserDevice d = VirtioUserDevice.open(config().name("fe" + i)
                    .path(ctx.runDir.resolve("vhr")));
            assertTrue(d.awaitReady(10_000));
            awaitCarrier(p, true);
            toGuest(p, ctx, d, 0, 200, Integer.MAX_VALUE, i);
            fromGuest(p, d, 0, 300, i);
            d.close();
            awaitCarrier(p, false);
        }
        assertEquals(3, Frames.stats(p).txPackets);
        DpdkFrontEndTest.await("disconnected", 5000, () -> !p.device().connected());
        assertFalse(p.carrier());
    }

    /**
     * The front end re-sends its memory table (as on memory hotplug) while a PMD thread echoes traffic:
     * the old mappings are unmapped only when no data-path thread is inside them, and nothing is lost
     * without being counted. An echo sent while the control thread holds the queue is dropped and counted
     * (DPDK's trylock in rte_vhost_enqueue_burst): how many depends on the threads' timing, so the test
     * asserts the accounting, then that frames sent after the last replacement all come back.
     */
    @Test
    public void memoryTableReplacedUnderTraffic() throws Exception {
        VhostPort p = serverPort("vhmt");
        VirtioUserDevice d = frontEnd(config().name("fe-mt").path(ctx.runDir.resolve("vhmt")));
        awaitCarrier(p, true);
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread pmd = new Thread(() -> {
            PacketBatch b = new PacketBatch();
            while (!stop.get()) {
                if (p.rxqRecv(0, b) > 0) {
                    p.send(0, b, false); // echo
                }
            }
        });
        pmd.start();
        byte[] f = new byte[1000];
        byte[] got = new byte[2048];
        int sent = 0;
        int received = 0;
        int tables = 0;
        int after = 0;
        int receivedAfter = 0;
        long droppedAfter = 0;
        try {
            for (int i = 0; i < 300; i++) {
                Frames.fill(f, i);
                for (int k = 0; k < 8; k++) {
                    if (d.transmit(0, f)) {
                        sent++;
                    }
                }
                if (i % 3 == 0) {
                    TestContext.resendMemTable(d);
                    tables++;
                }
                while (d.receive(0, got, 0) >= 0) {
                    received++;
                }
                d.reclaim(0);
            }
            long end = System.currentTimeMillis() + 5000;
            while (System.currentTimeMillis() < end
                    && received + Frames.stats(p).txDropped < sent) {
                while (d.receive(0, got, 0) >= 0) {
                    received++;
                }
                d.reclaim(0);
            }
            // the table stays as it is now: every echo of these comes back
            long dropped = Frames.stats(p).txDropped;
            for (int k = 0; k < 8; k++) {
                Frames.fill(f, 1000 + k);
                if (d.transmit(0, f)) {
                    after++;
                }
            }
            end = System.currentTimeMillis() + 5000;
            while (System.currentTimeMillis() < end && receivedAfter < after) {
                while (d.receive(0, got, 0) >= 0) {
                    receivedAfter++;
                }
                d.reclaim(0);
            }
            droppedAfter = Frames.stats(p).txDropped - dropped;
        } finally {
            stop.set(true);
            pmd.join();
        }
        NetdevStats s = Frames.stats(p);
        System.out.printf("MEASURED memory table replaced %d times: %d frames echoed, %d delivered, %d dropped"
                + " (control thread holding the queue)%n", tables, sent, received, s.txDropped - droppedAfter);
        assertEquals("echoed back", sent + after, s.rxPackets);
        assertEquals("every echo delivered or counted as dropped", sent + after,
                received + receivedAfter + s.txDropped);
        assertTrue("echoes delivered across the replacements: " + received + " of " + sent, received > 0);
        assertEquals("frames sent after the last replacement", 8, after);
        assertEquals("their echoes, all delivered (" + droppedAfter + " dropped)", after, receivedAfter);
        assertEquals(tables, 100);
        assertTrue(p.carrier());
    }

    /** Two PMD threads share tx queue 0 (concurrentTxq): every frame arrives whole or is counted as dropped. */
    @Test
    public void concurrentTxqIsSerialised() throws Exception {
        VhostPort p = serverPort("vhct");
        VirtioUserDevice d = frontEnd(config().name("fe-ct").queueSize(1024)
                .path(ctx.runDir.resolve("vhct")));
        awaitCarrier(p, true);
        int perThread = 20_000;
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        Thread[] senders = new Thread[2];
        for (int t = 0; t < 2; t++) {
            int len = 200 + 1000 * t;
            senders[t] = new Thread(() -> {
                PacketBatch b = new PacketBatch();
                byte[] f = new byte[len];
                for (int i = 0; i < perThread; i += 8) {
                    for (int k = 0; k < 8; k++) {
                        Frames.fill(f, i + k);
                        b.add(Frames.packet(ctx.pool, f, 512));
                    }
                    p.send(0, b, true);
                }
            });
            senders[t].start();
        }
        byte[] got = new byte[4096];
        int received = 0;
        int bad = 0;
        long end = System.currentTimeMillis() + 20_000;
        while (System.currentTimeMillis() < end) {
            int n = d.receive(0, got, 0);
            if (n < 0) {
                if (senders[0].isAlive() || senders[1].isAlive()) {
                    continue;
                }
                if (received + Frames.stats(p).txDropped >= 2L * perThread) {
                    break;
                }
                continue;
            }
            received++;
            byte[] exp = new byte[n];
            int seq = ((got[14] & 0xff) << 24) | ((got[15] & 0xff) << 16) | ((got[16] & 0xff) << 8) | (got[17] & 0xff);
            Frames.fill(exp, seq);
            if ((n != 200 && n != 1200) || !java.util.Arrays.equals(exp, java.util.Arrays.copyOf(got, n))) {
                bad++;
            }
        }
        done.set(true);
        for (Thread t : senders) {
            t.join();
        }
        NetdevStats s = Frames.stats(p);
        assertEquals("corrupted frames", 0, bad);
        assertEquals(2L * perThread, s.txPackets + s.txDropped);
        assertEquals(s.txPackets, received);
        assertTrue(received > 0);
    }
}
