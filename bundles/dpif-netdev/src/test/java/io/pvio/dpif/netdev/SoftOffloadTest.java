package io.pvio.dpif.netdev;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pvio.dpif.netdev.appctl.PmdStatsShowCommand;
import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevClass;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.NetdevStats;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.Before;
import org.junit.Test;

/**
 * The datapath's software fallback (OVS's netdev_send_prepare): a TSO packet flooded to a port without
 * offloads arrives there as MSS-sized segments with complete checksums, and unchanged (one packet, flags
 * kept) on a port that takes TSO; a partial checksum is completed on a private copy.
 */
public class SoftOffloadTest extends DpTest {
    /** One frame a port received or sent, with the offload flags it carried. */
    record Frame(byte[] bytes, int offloads, int gsoSize) {
    }

    static final class OlClass implements NetdevClass {
        final Map<String, OlPort> ports = new ConcurrentHashMap<>();

        @Override
        public String type() {
            return "olfake";
        }

        @Override
        public Netdev open(String name, Map<String, String> options, NetdevContext ctx) {
            OlPort p = new OlPort(name, Integer.parseInt(options.getOrDefault("offloads", "0")), ctx);
            ports.put(name, p);
            return p;
        }
    }

    static final class OlPort implements Netdev {
        final String name;
        final int caps;
        final NetdevContext ctx;
        final Queue<Frame> toReceive = new ConcurrentLinkedQueue<>();
        final Queue<Frame> sent = new ConcurrentLinkedQueue<>();
        /** When set, received again and again (without allocating); sent packets are then only counted. */
        volatile Frame repeat;
        volatile long counted; // written by the PMD only
        volatile boolean countOnly;

        OlPort(String name, int caps, NetdevContext ctx) {
            this.name = name;
            this.caps = caps;
            this.ctx = ctx;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public String type() {
            return "olfake";
        }

        @Override
        public void setConfig(Map<String, String> options) {
        }

        @Override
        public Map<String, String> getConfig() {
            return Map.of();
        }

        @Override
        public int nRxq() {
            return 1;
        }

        @Override
        public int nTxq() {
            return 1;
        }

        @Override
        public int rxqRecv(int qid, PacketBatch batch) {
            Frame f = repeat;
            if (f == null) {
                f = toReceive.poll();
            }
            if (f == null) {
                return 0;
            }
            Packet p = io.pvio.packet.SoftOffloadsAccess.chain(ctx.pool(), f.bytes());
            if (p == null) {
                return 0; // pool empty (repeat): the segments in flight come back first
            }
            p.setOffloads(f.offloads());
            p.setGsoSize(f.gsoSize());
            p.setCsum(14 + ((f.bytes()[14] & 0xf0) == 0x40 ? 20 : 40), 16);
            batch.add(p);
            return 1;
        }

        @Override
        public int send(int qid, PacketBatch batch, boolean concurrentTxq) {
            if (repeat != null || countOnly) {
                counted += batch.size();
                batch.freeAll();
                return 0;
            }
            for (int i = 0; i < batch.size(); i++) {
                Packet p = batch.get(i);
                sent.add(new Frame(p.toByteArray(), p.offloads(), p.gsoSize()));
            }
            batch.freeAll();
            return 0;
        }

        @Override
        public int freePkts(int qid, boolean concurrentTxq) {
            return 0;
        }

        @Override
        public int txOffloads() {
            return caps;
        }

        @Override
        public void getStats(NetdevStats stats) {
        }

        @Override
        public boolean carrier() {
            return true;
        }

        @Override
        public void close() {
        }
    }

    private final OlClass ol = new OlClass();

    @Before
    public void ports() throws Exception {
        bind(ol);
        dp.addBridge("br0"); // NORMAL: the broadcast frames below go to both other ports
        dp.addPort("br0", "in", "olfake", Map.of(), 1);
        dp.addPort("br0", "plain", "olfake", Map.of(), 2);
        dp.addPort("br0", "tso", "olfake", Map.of("offloads", String.valueOf(Netdev.TX_OFFLOAD_CSUM
                | Netdev.TX_OFFLOAD_TSO4 | Netdev.TX_OFFLOAD_TSO6)), 3);
    }

    private static byte[] broadcast(byte[] f) {
        for (int i = 0; i < 6; i++) {
            f[i] = (byte) 0xff;
        }
        return f;
    }

    private void tsoFlooded(boolean v6) throws Exception {
        int payload = 60000;
        int mss = 1448;
        byte[] f = broadcast(io.pvio.packet.SoftOffloadsAccess.tcpFrame(v6, payload, 0x18, 12));
        int tso = v6 ? Packet.OL_TSO_TCPV6 : Packet.OL_TSO_TCPV4;
        ol.ports.get("in").toReceive.add(new Frame(f, tso | Packet.OL_CSUM_PARTIAL, mss));
        int segs = (payload + mss - 1) / mss;
        OlPort plain = ol.ports.get("plain");
        OlPort full = ol.ports.get("tso");
        await("segments on plain", () -> plain.sent.size() == segs && full.sent.size() == 1);
        settle();
        Frame whole = full.sent.poll();
        assertArrayEquals("a TSO port gets the packet as it came", f, whole.bytes());
        assertEquals(tso | Packet.OL_CSUM_PARTIAL, whole.offloads());
        assertEquals(mss, whole.gsoSize());
        int l4 = 14 + (v6 ? 40 : 20);
        int hdrs = l4 + 32;
        int at = hdrs;
        for (int k = 0; k < segs; k++) {
            Frame s = plain.sent.poll();
            assertEquals(0, s.offloads());
            int chunk = Math.min(mss, payload - k * mss);
            assertEquals(hdrs + chunk, s.bytes().length);
            for (int i = 0; i < chunk; i++) {
                assertEquals(f[at + i], s.bytes()[hdrs + i]);
            }
            at += chunk;
            assertEquals(0xffff, io.pvio.packet.SoftOffloadsAccess.tcpChecksumCheck(s.bytes(), v6));
        }
        String stats = new PmdStatsShowCommand(dp).run(List.of());
        assertTrue(stats, stats.contains("software segmentation: 1 packets into " + segs + " segments\n"));
        assertTrue(stats, stats.contains("offload failures (dropped): 0\n"));
    }

    @Test
    public void tsoIpv4SegmentedOnlyForThePortWithoutTso() throws Exception {
        tsoFlooded(false);
    }

    @Test
    public void tsoIpv6SegmentedOnlyForThePortWithoutTso() throws Exception {
        tsoFlooded(true);
    }

    @Test
    public void partialChecksumCompletedOnAPrivateCopy() throws Exception {
        byte[] f = broadcast(io.pvio.packet.SoftOffloadsAccess.tcpFrame(false, 999, 0x18, 0));
        ol.ports.get("in").toReceive.add(new Frame(f, Packet.OL_CSUM_PARTIAL, 0));
        OlPort plain = ol.ports.get("plain");
        OlPort full = ol.ports.get("tso");
        await("both outputs", () -> plain.sent.size() == 1 && full.sent.size() == 1);
        settle();
        Frame done = plain.sent.poll();
        assertEquals(0, done.offloads());
        assertEquals(0xffff, io.pvio.packet.SoftOffloadsAccess.tcpChecksumCheck(done.bytes(), false));
        Frame partial = full.sent.poll();
        assertEquals(Packet.OL_CSUM_PARTIAL, partial.offloads());
        assertArrayEquals("the other output's bytes are untouched", f, partial.bytes());
        assertTrue(new PmdStatsShowCommand(dp).run(List.of()).contains("software checksums: 1\n"));
    }

    @Test
    public void aBadTsoPacketIsDroppedAndCounted() throws Exception {
        byte[] f = broadcast(io.pvio.packet.SoftOffloadsAccess.tcpFrame(false, 5000, 0x18, 0));
        f[14 + 9] = 17; // says TSO over TCP but is UDP
        ol.ports.get("in").toReceive.add(new Frame(f, Packet.OL_TSO_TCPV4 | Packet.OL_CSUM_PARTIAL, 1000));
        OlPort full = ol.ports.get("tso");
        await("the TSO port's copy", () -> full.sent.size() == 1);
        settle();
        assertEquals(0, ol.ports.get("plain").sent.size());
        String stats = new PmdStatsShowCommand(dp).run(List.of());
        assertTrue(stats, stats.contains("offload failures (dropped): 1\n"));
    }

    private static long pmdAllocated() {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean)
                java.lang.management.ManagementFactory.getThreadMXBean();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals("pmd-c00")) {
                return mx.getThreadAllocatedBytes(t.getId());
            }
        }
        throw new AssertionError("no thread pmd-c00");
    }

    /** The PMD's heap allocation while {@code plain} is sent {@code measured} packets, once warm. */
    private void assertPmdAllocatesNothing(String what, Frame f, long measured) {
        org.junit.Assume.assumeTrue(java.lang.management.ManagementFactory.getThreadMXBean()
                instanceof com.sun.management.ThreadMXBean);
        OlPort plain = ol.ports.get("plain");
        OlPort full = ol.ports.get("tso");
        plain.countOnly = true;
        full.countOnly = true;
        ol.ports.get("in").repeat = f;
        await(what + ": warming up", () -> plain.counted >= measured / 2);
        long b0 = pmdAllocated();
        long c0 = plain.counted;
        await(what + ": measuring", () -> plain.counted >= c0 + measured);
        long b1 = pmdAllocated();
        long c1 = plain.counted;
        ol.ports.get("in").repeat = null;
        settle();
        System.out.printf("pmd-alloc %s: %d bytes for %d packets sent to the port without offloads (%.4f B/pkt)%n",
                what, b1 - b0, c1 - c0, (double) (b1 - b0) / (c1 - c0));
        // 0 per packet: one object per TSO packet would be over 100 kB here; a one-off (a JIT event, a
        // configuration snapshot) a few kB
        assertTrue(what + ": the PMD allocated " + (b1 - b0) + " bytes for " + (c1 - c0) + " packets",
                b1 - b0 < 16384);
    }

    @Test
    public void softwareSegmentationAllocatesNothingOnThePmd() throws Exception {
        byte[] f = broadcast(io.pvio.packet.SoftOffloadsAccess.tcpFrame(false, 60000, 0x18, 12));
        assertPmdAllocatesNothing("TSO 60000 B, MSS 1448", new Frame(f, Packet.OL_TSO_TCPV4 | Packet.OL_CSUM_PARTIAL,
                1448), 400_000);
        String stats = new PmdStatsShowCommand(dp).run(List.of());
        assertTrue(stats, stats.contains("offload failures (dropped): 0\n"));
    }

    @Test
    public void checksumCompletionAllocatesNothingOnThePmd() throws Exception {
        byte[] f = broadcast(io.pvio.packet.SoftOffloadsAccess.tcpFrame(false, 1400, 0x18, 0));
        assertPmdAllocatesNothing("partial checksum, 1454 B", new Frame(f, Packet.OL_CSUM_PARTIAL, 0), 400_000);
    }
}
