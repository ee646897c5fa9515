package io.pvio.packet;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.Test;

public class SoftOffloadsTest {
    private static PacketPool pool(int count, int dataRoom) {
        return new PacketPool("test", count, dataRoom, 128);
    }

    // ---- frames as a Linux guest hands them over: TCP checksum field = pseudo-header sum (length included)

    static byte[] tcpFrame(boolean v6, int payloadLen, int flags, int tcpOptions, long seq, Random rnd) {
        int l3 = 14;
        int ipLen = v6 ? 40 : 20;
        int l4 = l3 + ipLen;
        int thl = 20 + tcpOptions;
        byte[] f = new byte[l4 + thl + payloadLen];
        for (int i = 0; i < 12; i++) {
            f[i] = (byte) (0x50 + i);
        }
        if (v6) {
            put16(f, 12, 0x86dd);
            f[l3] = 0x60;
            put16(f, l3 + 4, thl + payloadLen);
            f[l3 + 6] = 6;
            f[l3 + 7] = 64;
            for (int i = 0; i < 32; i++) {
                f[l3 + 8 + i] = (byte) (0xfd + i * 7);
            }
        } else {
            put16(f, 12, 0x0800);
            f[l3] = 0x45;
            put16(f, l3 + 2, ipLen + thl + payloadLen);
            put16(f, l3 + 4, 0xfffe); // the identifier wraps during segmentation
            put16(f, l3 + 6, 0x4000); // DF
            f[l3 + 8] = 64;
            f[l3 + 9] = 6;
            byte[] a = {10, 0, 0, 1, 10, 0, 0, 2};
            System.arraycopy(a, 0, f, l3 + 12, 8);
            put16(f, l3 + 10, ~ref(f, l3, 20, 0) & 0xffff);
        }
        put16(f, l4, 40000);
        put16(f, l4 + 2, 5001);
        put32(f, l4 + 4, seq);
        put32(f, l4 + 8, 0x01020304L);
        f[l4 + 12] = (byte) ((thl / 4) << 4);
        f[l4 + 13] = (byte) flags;
        put16(f, l4 + 14, 501);
        for (int i = l4 + 20; i < l4 + thl; i++) {
            f[i] = 1; // NOPs
        }
        for (int i = l4 + thl; i < f.length; i++) {
            f[i] = (byte) rnd.nextInt();
        }
        put16(f, l4 + 16, pseudo(f, v6, l3, l4, f.length - l4)); // not complemented: partial
        return f;
    }

    static int pseudo(byte[] f, boolean v6, int l3, int l4, int l4len) {
        long s = v6 ? sumBytes(f, l3 + 8, 32) : sumBytes(f, l3 + 12, 8);
        return SoftOffloads.fold(s + 6 + l4len);
    }

    /** Reference ones' complement sum, byte by byte, folded. */
    static int ref(byte[] f, int off, int len, long init) {
        return SoftOffloads.fold(sumBytes(f, off, len) + init);
    }

    static long sumBytes(byte[] f, int off, int len) {
        long s = 0;
        for (int i = 0; i < len; i++) {
            s += (i & 1) == 0 ? (f[off + i] & 0xff) << 8 : f[off + i] & 0xff;
        }
        return s;
    }

    static void put16(byte[] f, int at, int v) {
        f[at] = (byte) (v >>> 8);
        f[at + 1] = (byte) v;
    }

    static void put32(byte[] f, int at, long v) {
        put16(f, at, (int) (v >>> 16));
        put16(f, at + 2, (int) v);
    }

    static int get16(byte[] f, int at) {
        return (f[at] & 0xff) << 8 | f[at + 1] & 0xff;
    }

    static long get32(byte[] f, int at) {
        return (long) get16(f, at) << 16 | get16(f, at + 2);
    }

    static Packet packet(PacketPool pool, byte[] f) {
        Packet p = pool.allocChain(f.length);
        assertNotNull(p);
        int at = 0;
        for (Packet s = p; s != null; s = s.next()) {
            s.buffer().put(s.dataOffset(), f, at, s.dataLength());
            at += s.dataLength();
        }
        return p;
    }

    // ---- segmentation

    private void segmentAndCheck(boolean v6, int payloadLen, int mss, int dataRoom) {
        PacketPool pool = pool(256, dataRoom);
        Random rnd = new Random(payloadLen * 31L + mss);
        int flags = 0x80 | 0x10 | 0x08 | 0x01; // CWR ACK PSH FIN
        long seq0 = 0xffffff00L; // wraps
        byte[] f = tcpFrame(v6, payloadLen, flags, 12, seq0, rnd);
        Packet p = packet(pool, f);
        p.setOffloads((v6 ? Packet.OL_TSO_TCPV6 : Packet.OL_TSO_TCPV4) | Packet.OL_CSUM_PARTIAL);
        int l3 = 14;
        int l4 = l3 + (v6 ? 40 : 20);
        int hdrs = l4 + 32;
        p.setCsum(l4, 16);
        p.setGsoSize(mss);
        int expected = (payloadLen + mss - 1) / mss;
        assertEquals(expected, SoftOffloads.segmentCount(p));
        List<Packet> out = new ArrayList<>();
        assertEquals(expected, SoftOffloads.segment(p, out::add));
        assertEquals(expected, out.size());
        assertArrayEquals("the source is not changed", f, p.toByteArray());
        p.free();
        for (int k = 0; k < expected; k++) {
            Packet s = out.get(k);
            byte[] b = s.toByteArray();
            int chunk = Math.min(mss, payloadLen - k * mss);
            assertEquals("segment " + k + " length", hdrs + chunk, b.length);
            assertEquals(0, s.offloads());
            assertEquals(l3, s.l3Offset());
            assertEquals(l4, s.l4Offset());
            // Ethernet unchanged
            for (int i = 0; i < 14; i++) {
                assertEquals(f[i], b[i]);
            }
            if (v6) {
                assertEquals(32 + chunk, get16(b, l3 + 4));
                for (int i = 0; i < 40; i++) {
                    if (i != 4 && i != 5) {
                        assertEquals(f[l3 + i], b[l3 + i]);
                    }
                }
            } else {
                assertEquals(20 + 32 + chunk, get16(b, l3 + 2));
                assertEquals((0xfffe + k) & 0xffff, get16(b, l3 + 4));
                assertEquals("IPv4 header checksum of segment " + k, 0xffff, ref(b, l3, 20, 0));
                assertEquals(0x4000, get16(b, l3 + 6));
            }
            assertEquals("sequence of segment " + k, (seq0 + (long) k * mss) & 0xffffffffL, get32(b, l4 + 4));
            int fl = b[l4 + 13] & 0xff;
            boolean last = k == expected - 1;
            assertEquals("FIN/PSH on the last only", last ? 0x09 : 0, fl & 0x09);
            assertEquals("CWR on the first only", k == 0 ? 0x80 : 0, fl & 0x80);
            assertEquals(0x10, fl & 0x10);
            // options and the rest of the TCP header unchanged
            for (int i = l4 + 8; i < hdrs; i++) {
                if (i != l4 + 13 && i != l4 + 16 && i != l4 + 17) {
                    assertEquals(f[i], b[i]);
                }
            }
            // payload: byte-exact slice of the original
            for (int i = 0; i < chunk; i++) {
                assertEquals(f[hdrs + k * mss + i], b[hdrs + i]);
            }
            // full TCP checksum: pseudo header + segment sums to 0xffff
            long ps = v6 ? sumBytes(b, l3 + 8, 32) : sumBytes(b, l3 + 12, 8);
            assertEquals("TCP checksum of segment " + k, 0xffff, ref(b, l4, b.length - l4, ps + 6 + b.length - l4));
            s.free();
        }
        assertEquals(pool.capacity(), pool.available());
    }

    @Test
    public void segmentsIpv4() {
        segmentAndCheck(false, 65000, 1448, PacketPool.DEFAULT_DATA_ROOM);
    }

    @Test
    public void segmentsIpv6() {
        segmentAndCheck(true, 20000, 1428, PacketPool.DEFAULT_DATA_ROOM);
    }

    @Test
    public void segmentsAnOddSizedLastSegmentFromAChainIntoChains() {
        // data room smaller than a segment: source and segments are chains with odd boundaries
        segmentAndCheck(false, 4001, 1001, 128 + 333);
        segmentAndCheck(true, 3333, 999, 128 + 257);
    }

    @Test
    public void oneSegmentWhenThePayloadFits() {
        segmentAndCheck(false, 100, 1448, PacketPool.DEFAULT_DATA_ROOM);
    }

    @Test
    public void refusesWhatIsNotTcpTso() {
        PacketPool pool = pool(64, PacketPool.DEFAULT_DATA_ROOM);
        byte[] f = tcpFrame(false, 3000, 0x10, 0, 1, new Random(1));
        List<Packet> out = new ArrayList<>();
        Packet p = packet(pool, f);
        p.setOffloads(Packet.OL_TSO_TCPV6); // flag does not match the frame
        p.setGsoSize(1000);
        assertEquals(-1, SoftOffloads.segment(p, out::add));
        p.setOffloads(Packet.OL_TSO_TCPV4);
        p.setGsoSize(0);
        assertEquals(-1, SoftOffloads.segment(p, out::add));
        p.free();
        f[14 + 9] = 17; // UDP
        p = packet(pool, f);
        p.setOffloads(Packet.OL_TSO_TCPV4);
        p.setGsoSize(1000);
        assertEquals(-1, SoftOffloads.segment(p, out::add));
        p.free();
        f[14 + 9] = 6;
        p = packet(pool, f);
        p.setOffloads(Packet.OL_TSO_TCPV4);
        p.setGsoSize(2); // 1500 segments: refused, the pool is not drained
        assertEquals(-1, SoftOffloads.segmentCount(p));
        assertEquals(-1, SoftOffloads.segment(p, out::add));
        p.setGsoSize(3); // 1000 segments
        assertEquals(1000, SoftOffloads.segmentCount(p));
        p.free();
        byte[] shortFrame = new byte[30];
        put16(shortFrame, 12, 0x0800);
        p = packet(pool, shortFrame);
        p.setOffloads(Packet.OL_TSO_TCPV4);
        p.setGsoSize(1000);
        assertEquals(-1, SoftOffloads.segment(p, out::add));
        p.free();
        assertTrue(out.isEmpty());
        assertEquals(pool.capacity(), pool.available());
    }

    @Test
    public void poolExhaustionHandsOverWhatItCouldAndLeaksNothing() {
        PacketPool pool = pool(24, PacketPool.DEFAULT_DATA_ROOM);
        byte[] f = tcpFrame(false, 30000, 0x10, 0, 1, new Random(2));
        Packet p = packet(pool, f);
        int held = pool.inUse();
        p.setOffloads(Packet.OL_TSO_TCPV4);
        p.setGsoSize(1448);
        List<Packet> out = new ArrayList<>();
        int n = SoftOffloads.segment(p, out::add);
        assertEquals(24 - held, n);
        assertTrue(n > 0 && n < 21);
        assertEquals(n, out.size());
        for (Packet s : out) {
            s.free();
        }
        p.free();
        assertEquals(pool.capacity(), pool.available());
    }

    // ---- checksum completion

    @Test
    public void completesPartialChecksumsAcrossSegments() {
        for (boolean v6 : new boolean[] {false, true}) {
            for (int len : new int[] {0, 1, 2, 3, 511, 1460, 5001}) {
                for (int room : new int[] {PacketPool.DEFAULT_DATA_ROOM, 128 + 101}) {
                    PacketPool pool = pool(128, room);
                    byte[] f = tcpFrame(v6, len, 0x18, 0, 77, new Random(len));
                    Packet p = packet(pool, f);
                    int l4 = 14 + (v6 ? 40 : 20);
                    p.setOffloads(Packet.OL_CSUM_PARTIAL);
                    p.setCsum(l4, 16);
                    assertTrue(SoftOffloads.completeChecksum(p));
                    assertEquals(0, p.offloads());
                    byte[] b = p.toByteArray();
                    long ps = v6 ? sumBytes(b, 14 + 8, 32) : sumBytes(b, 14 + 12, 8);
                    assertEquals("v6=" + v6 + " len=" + len + " room=" + room, 0xffff,
                            ref(b, l4, b.length - l4, ps + 6 + b.length - l4));
                    for (int i = 0; i < b.length; i++) {
                        if (i != l4 + 16 && i != l4 + 17) {
                            assertEquals(f[i], b[i]);
                        }
                    }
                    p.free();
                }
            }
        }
    }

    @Test
    public void refusesChecksumOffsetsOutsideThePacket() {
        PacketPool pool = pool(16, PacketPool.DEFAULT_DATA_ROOM);
        byte[] f = tcpFrame(false, 10, 0x10, 0, 1, new Random(3));
        Packet p = packet(pool, f);
        p.setOffloads(Packet.OL_CSUM_PARTIAL);
        for (int[] bad : new int[][] {{f.length - 1, 0}, {34, f.length}, {-1, 16}, {34, -40}, {Integer.MAX_VALUE, 16},
                {34, Integer.MAX_VALUE}}) {
            p.setCsum(bad[0], bad[1]);
            assertFalse(bad[0] + "/" + bad[1], SoftOffloads.completeChecksum(p));
            assertEquals(Packet.OL_CSUM_PARTIAL, p.offloads());
        }
        assertArrayEquals(f, p.toByteArray());
        p.free();
    }

    @Test
    public void copyIsPrivateAndCarriesTheMetadata() {
        PacketPool pool = pool(16, 128 + 500);
        byte[] f = tcpFrame(false, 1200, 0x10, 0, 1, new Random(4));
        Packet p = packet(pool, f);
        p.setOffloads(Packet.OL_CSUM_PARTIAL);
        p.setCsum(34, 16);
        p.setPort(3);
        Packet c = SoftOffloads.copy(p);
        assertArrayEquals(f, c.toByteArray());
        assertEquals(Packet.OL_CSUM_PARTIAL, c.offloads());
        assertEquals(34, c.csumStart());
        assertEquals(16, c.csumOffset());
        assertEquals(3, c.port());
        assertTrue(SoftOffloads.completeChecksum(c));
        assertArrayEquals("the original is untouched", f, p.toByteArray());
        c.free();
        p.free();
        Packet fresh = pool.alloc();
        assertEquals("metadata reset on alloc", 0, fresh.offloads());
        assertEquals(-1, fresh.l3Offset());
        assertEquals(0, fresh.gsoSize());
        fresh.free();
    }

    /** Segmentation and checksum completion allocate nothing on the heap once warm (segments come from the pool). */
    @Test
    public void noHeapAllocationPerPacket() {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        org.junit.Assume.assumeTrue(mx instanceof com.sun.management.ThreadMXBean);
        com.sun.management.ThreadMXBean tmx = (com.sun.management.ThreadMXBean) mx;
        PacketPool pool = pool(512, PacketPool.DEFAULT_DATA_ROOM);
        byte[] f = tcpFrame(false, 20000, 0x18, 12, 1, new Random(5));
        Packet[] out = new Packet[64];
        int[] n = new int[1];
        SoftOffloads.SegmentSink sink = s -> out[n[0]++] = s;
        Packet p = packet(pool, f);
        p.setGsoSize(1448);
        long before = 0;
        for (int round = 0; round < 2; round++) {
            if (round == 1) {
                before = tmx.getCurrentThreadAllocatedBytes();
            }
            for (int i = 0; i < 20_000; i++) {
                p.setOffloads(Packet.OL_TSO_TCPV4 | Packet.OL_CSUM_PARTIAL);
                p.setCsum(34, 16);
                n[0] = 0;
                SoftOffloads.segment(p, sink);
                for (int k = 0; k < n[0]; k++) {
                    out[k].free();
                }
                SoftOffloads.completeChecksum(p);
            }
        }
        long bytes = tmx.getCurrentThreadAllocatedBytes() - before;
        p.free();
        assertTrue(bytes + " bytes allocated for 20000 packets of 14 segments: less than 1 per packet expected",
                bytes < 20_000);
    }
}
