package io.pvio.dummy;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dummy.pktgen.PktgenClass;
import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevException;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import java.util.HashMap;
import java.util.Map;
import org.junit.Test;

public class PktgenTest {
    private final PktgenClass cls = new PktgenClass();

    /** Moves every generated packet of {@code gen} (queue 0) into {@code sink}; returns the number moved. */
    private static long pump(Netdev gen, Netdev sink, int maxRounds) {
        PacketBatch b = new PacketBatch();
        long n = 0;
        for (int r = 0; r < maxRounds; r++) {
            int got = gen.rxqRecv(0, b);
            if (got == 0) {
                break;
            }
            n += got;
            sink.send(0, b, false);
            assertTrue(b.isEmpty());
        }
        return n;
    }

    @Test
    public void moreFlowsThanSixteenBitsGiveThatManySourceMacs() throws Exception {
        TestContext ctx = new TestContext(1024);
        int flows = 100_000;
        try (Netdev gen = cls.open("gf", Map.of("count", Integer.toString(flows + 10), "flows", Integer.toString(flows),
                "src_mac", "02:00:00:00:ff:f0", "payload", "none"), ctx)) {
            java.util.Set<Long> macs = new java.util.HashSet<>();
            PacketBatch b = new PacketBatch();
            long n = 0;
            for (int got; (got = gen.rxqRecv(0, b)) > 0;) {
                for (int i = 0; i < got; i++) {
                    Packet p = b.get(i);
                    java.nio.ByteBuffer buf = p.buffer();
                    int off = p.dataOffset();
                    macs.add((buf.getShort(off + 6) & 0xffffL) << 32 | (buf.getInt(off + 8) & 0xffffffffL));
                }
                n += got;
                b.freeAll();
            }
            assertEquals(flows + 10, n);
            assertEquals(flows, macs.size());
            assertTrue(macs.contains(0x02000000fff0L));
            assertTrue(macs.contains(0x02000000fff0L + flows - 1)); // carries past the low 16 bits
            assertEquals(0, ctx.pool.inUse());
        }
    }

    @Test
    public void countedGenerationIsValidatedInOrderAndNothingLeaks() throws Exception {
        TestContext ctx = new TestContext(1024);
        try (Netdev gen = cls.open("g1", Map.of("count", "1000", "flows", "4"), ctx);
                Netdev sink = cls.open("s1", Map.of(), ctx)) {
            assertEquals(1000, pump(gen, sink, 10_000));
            PktgenPort g = DummyPorts.pktgen("g1");
            PktgenPort s = DummyPorts.pktgen("s1");
            assertNotNull(g);
            assertEquals(1000, g.generated());
            assertTrue(g.generationDone());
            assertEquals(1000, s.received());
            assertEquals(1000, s.rxValid());
            assertEquals(0, s.rxLost() + s.rxCorrupt() + s.rxDuplicate() + s.rxOutOfOrder() + s.rxOther());
            assertEquals(0, ctx.pool.inUse());
            Map<String, Long> st = new HashMap<>();
            sink.getCustomStats(st::put);
            assertEquals(Long.valueOf(1000), st.get("rx_valid"));
            assertTrue(st.keySet().toString(), st.keySet().stream().anyMatch(k -> k.endsWith("_q0_last_seq")));
        }
        assertNull(DummyPorts.pktgen("g1"));
    }

    /**
     * A generator re-created under the same name (del-port/add-port) is a new source to a sink that stayed
     * open, and a generator switching its payload mode mid-run goes on with its sequence: all frames valid.
     */
    @Test
    public void recreatedGeneratorAndPayloadSwitchStayValidAtTheSink() throws Exception {
        TestContext ctx = new TestContext(1024);
        try (Netdev sink = cls.open("s4", Map.of(), ctx)) {
            PktgenPort s = DummyPorts.pktgen("s4");
            try (Netdev gen = cls.open("g4", Map.of("count", "100"), ctx)) {
                assertEquals(100, pump(gen, sink, 1000));
            }
            try (Netdev gen = cls.open("g4", Map.of("count", "100"), ctx)) {
                assertEquals(100, pump(gen, sink, 1000));
                gen.setConfig(Map.of("count", "150", "payload", "none"));
                assertEquals(50, pump(gen, sink, 1000));
            }
            assertEquals(250, s.rxValid());
            assertEquals(0, s.rxLost() + s.rxCorrupt() + s.rxDuplicate() + s.rxOutOfOrder() + s.rxOther());
        }
        assertEquals(0, ctx.pool.inUse());
    }

    @Test
    public void headerOnlyFramesAreCheckedByHeaderWhilePatternFramesStillCatchCorruption() throws Exception {
        TestContext ctx = new TestContext(256);
        try (Netdev gen = cls.open("g7", Map.of("count", "100", "size", "1518", "payload", "none"), ctx);
                Netdev sink = cls.open("s7", Map.of(), ctx)) {
            assertEquals(100, pump(gen, sink, 1000));
            PktgenPort s = DummyPorts.pktgen("s7");
            assertEquals(100, s.rxValid());
            assertEquals(0, s.rxCorrupt());
            assertEquals("none", gen.getConfig().get("payload"));
        }
        try (Netdev gen = cls.open("g8", Map.of("count", "1", "size", "200"), ctx);
                Netdev sink = cls.open("s8", Map.of(), ctx)) {
            PacketBatch b = new PacketBatch();
            assertEquals(1, gen.rxqRecv(0, b));
            Packet p = b.get(0);
            p.buffer().put(p.dataOffset() + 150, (byte) ~p.buffer().get(p.dataOffset() + 150));
            sink.send(0, b, false);
            assertEquals(1, DummyPorts.pktgen("s8").rxCorrupt());
        }
        try {
            cls.open("g9", Map.of("payload", "zeros"), ctx);
            fail("payload=zeros accepted");
        } catch (io.pvio.netdev.NetdevException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("not pattern or none"));
        }
        assertEquals(0, ctx.pool.inUse());
    }

    @Test
    public void readPayloadSinkReadsEveryPayloadByteOfHeaderOnlyFrames() throws Exception {
        TestContext ctx = new TestContext(256);
        try (Netdev gen = cls.open("g10", Map.of("count", "5", "size", "1518", "payload", "none"), ctx);
                Netdev gen2 = cls.open("g11", Map.of("count", "5", "size", "1518", "payload", "none"), ctx);
                Netdev reader = cls.open("s10", Map.of("read_payload", "true"), ctx);
                Netdev plain = cls.open("s11", Map.of(), ctx)) {
            assertEquals(5, pump(gen, reader, 1000));
            assertEquals(5, pump(gen2, plain, 1000));
            Map<String, Long> r = new HashMap<>();
            reader.getCustomStats(r::put);
            Map<String, Long> p = new HashMap<>();
            plain.getCustomStats(p::put);
            assertEquals(Long.valueOf(5), r.get("rx_valid"));
            assertEquals("bytes after the 58 header bytes", Long.valueOf(5 * (1518 - 58)),
                    r.get("rx_payload_read_bytes"));
            assertEquals(Long.valueOf(0), p.get("rx_payload_read_bytes"));
            assertEquals("true", reader.getConfig().get("read_payload"));
        }
        try {
            cls.open("g12", Map.of("read_payload", "yes"), ctx);
            fail("read_payload=yes accepted");
        } catch (NetdevException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("read_payload='yes' is not true or false"));
        }
        assertEquals(0, ctx.pool.inUse());
    }

    @Test
    public void jumboFramesUseChainedSegmentsAndValidate() throws Exception {
        TestContext ctx = new TestContext(512);
        try (Netdev gen = cls.open("g2", Map.of("count", "50", "size", "9000"), ctx);
                Netdev sink = cls.open("s2", Map.of(), ctx)) {
            PacketBatch b = new PacketBatch();
            assertEquals(32, gen.rxqRecv(0, b));
            assertTrue(b.get(0).segments() > 1);
            assertEquals(9000, b.get(0).length());
            sink.send(0, b, false);
            pump(gen, sink, 100);
            PktgenPort s = DummyPorts.pktgen("s2");
            assertEquals(50, s.rxValid());
            assertEquals(0, s.rxCorrupt());
            assertEquals(0, ctx.pool.inUse());
        }
    }

    @Test
    public void sinkCountsGapsDuplicatesReorderAndCorruption() throws Exception {
        TestContext ctx = new TestContext(256);
        try (Netdev gen = cls.open("g3", Map.of("count", "10", "size", "200"), ctx);
                Netdev sink = cls.open("s3", Map.of(), ctx)) {
            PacketBatch all = new PacketBatch();
            assertEquals(10, gen.rxqRecv(0, all));
            Packet[] p = new Packet[10];
            for (int i = 0; i < 10; i++) {
                p[i] = all.get(i);
            }
            all.clear();
            PacketBatch b = new PacketBatch();
            // seq 0, 1, then 3 (gap: 2 lost), then 2 (late: out of order), then 3 again (duplicate)
            b.add(p[0]);
            b.add(p[1]);
            b.add(p[3]);
            b.add(p[2]);
            p[3].retain();
            b.add(p[3]);
            // seq 4 with a flipped payload byte: corrupt
            p[4].buffer().put(p[4].dataOffset() + 150, (byte) (p[4].buffer().get(p[4].dataOffset() + 150) ^ 1));
            b.add(p[4]);
            sink.send(0, b, false);
            PktgenPort s = DummyPorts.pktgen("s3");
            assertEquals(6, s.received());
            assertEquals(3, s.rxValid());
            assertEquals(1, s.rxOutOfOrder());
            assertEquals(0, s.rxLost());
            assertEquals(1, s.rxDuplicate());
            assertEquals(1, s.rxCorrupt());
            // 5..9 minus 7: 7 lost, and 4 too (a corrupt frame's sequence is not trusted)
            for (int i = 5; i < 10; i++) {
                if (i == 7) {
                    p[i].free();
                } else {
                    b.add(p[i]);
                }
            }
            sink.send(0, b, false);
            assertEquals(2, s.rxLost());
            assertEquals(7, s.rxValid());
            assertEquals(0, ctx.pool.inUse());
            assertTrue(s.show(), s.show().contains("rx_lost: 2"));
        }
    }

    @Test
    public void rateLimitsGeneration() throws Exception {
        TestContext ctx = new TestContext(256);
        try (Netdev gen = cls.open("g4", Map.of("rate", "1"), ctx)) {
            PacketBatch b = new PacketBatch();
            // 1 pps: at most one packet right after opening
            assertTrue(gen.rxqRecv(0, b) <= 1);
            b.freeAll();
            assertEquals(0, ctx.pool.inUse());
        }
    }

    @Test
    public void burstReleasesWholeBurstsOnly() throws Exception {
        TestContext ctx = new TestContext(256);
        // 1000 pps in bursts of 8: one packet is due every ms, the queue hands out 8 at once or nothing
        try (Netdev gen = cls.open("g9", Map.of("rate", "1000", "burst", "8", "count", "20"), ctx);
                Netdev sink = cls.open("s9", Map.of(), ctx)) {
            assertEquals("8", gen.getConfig().get("burst"));
            PacketBatch b = new PacketBatch();
            java.util.List<Integer> sizes = new java.util.ArrayList<>();
            long deadline = System.nanoTime() + 5_000_000_000L;
            int total = 0;
            while (total < 20 && System.nanoTime() < deadline) {
                int n = gen.rxqRecv(0, b);
                if (n > 0) {
                    sizes.add(n);
                    total += n;
                    sink.send(0, b, false);
                }
            }
            assertEquals(20, total);
            // every release but the last is at least a burst; the last is what count leaves (4)
            for (int i = 0; i < sizes.size() - 1; i++) {
                assertTrue(sizes.toString(), sizes.get(i) >= 8);
            }
            assertEquals(20, DummyPorts.pktgen("s9").rxValid());
        }
        assertEquals(0, ctx.pool.inUse());
        try (Netdev gen = cls.open("g10", Map.of("rate", "1000"), ctx)) {
            for (String bad : new String[] {"0", "33", "x"}) {
                try {
                    gen.setConfig(Map.of("rate", "1000", "burst", bad));
                    fail("accepted burst=" + bad);
                } catch (NetdevException e) {
                    assertTrue(e.getMessage(), e.getMessage().contains("burst"));
                }
            }
        }
    }

    @Test
    public void poolTooSmallForTheHeadersIsRefusedAtOpen() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("pktgen-small-");
        io.pvio.packet.PacketPool tiny = new io.pvio.packet.PacketPool("tiny", 16, 64, 32);
        try {
            cls.open("g11", Map.of(), new io.pvio.netdev.SimpleNetdevContext(tiny, dir, () -> { }));
            fail("opened on a pool with 32 bytes after the headroom");
        } catch (NetdevException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("need 58"));
        }
        assertNull(DummyPorts.pktgen("g11"));
        java.nio.file.Files.delete(dir);
    }

    @Test
    public void liveConfigChangeAndBadValuesRefused() throws Exception {
        TestContext ctx = new TestContext(256);
        try (Netdev gen = cls.open("g5", Map.of("count", "5"), ctx)) {
            for (Map<String, String> bad : java.util.List.of(Map.of("size", "59"), Map.of("size", "9001"),
                    Map.of("rate", "-1"), Map.of("count", "x"), Map.of("flows", "0"), Map.of("bogus", "1"),
                    Map.of("src_mac", "01:00:00:00:00:01"), Map.of("dst_mac", "zz"))) {
                try {
                    gen.setConfig(bad);
                    fail("accepted " + bad);
                } catch (NetdevException e) {
                    assertTrue(e.getMessage(), e.getMessage().startsWith("g5: "));
                }
            }
            assertEquals("5", gen.getConfig().get("count"));
            PacketBatch b = new PacketBatch();
            assertEquals(5, gen.rxqRecv(0, b));
            b.freeAll();
            gen.setConfig(Map.of("count", "7", "size", "128"));
            assertEquals(2, gen.rxqRecv(0, b));
            assertEquals(128, b.get(0).length());
            b.freeAll();
            gen.setConfig(Map.of("n_rxq", "2"));
            assertEquals(1, ctx.changed.get());
            assertEquals(2, gen.nRxq());
        }
        try {
            cls.open("g6", Map.of("size", "abc"), ctx);
            fail();
        } catch (NetdevException e) {
            assertTrue(e.getMessage().contains("size"));
        }
        assertNull(DummyPorts.pktgen("g6"));
    }
}
