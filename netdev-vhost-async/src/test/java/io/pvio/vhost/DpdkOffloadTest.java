package io.pvio.vhost;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pvio.netdev.Netdev;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.SoftOffloads;
import io.pvio.vhost.netdev.VhostUserServerClass;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * Guest offloads against DPDK's virtio-user front end: testpmd's csum forwarding engine with {@code tso set}
 * sends what pvio gives it back as TSO packets (virtio-net header with GSO_TCPV4, gso_size, NEEDS_CSUM);
 * pvio's dequeue reads them into the packet metadata, and pvio's software segmentation cuts them into
 * segments whose checksums are right.
 */
public class DpdkOffloadTest {
    private TestContext ctx;
    private Netdev port;
    private final VhostUserServerClass cls = new VhostUserServerClass();

    @Before
    public void setUp() throws Exception {
        Testpmd.require();
        ctx = new TestContext(4096);
        cls.setOtherConfig(Map.of("userspace-tso-enable", "true"));
    }

    @After
    public void tearDown() {
        cls.setOtherConfig(Map.of());
        if (port != null) {
            port.close();
        }
        if (ctx != null) {
            assertEquals("packets leaked", 0, ctx.pool.inUse());
            ctx.cleanup();
        }
    }

    /** Ethernet + IPv4 + TCP (20-byte header), {@code payload} bytes, complete checksums. */
    static byte[] tcpFrame(int payload, int seq) {
        byte[] f = new byte[54 + payload];
        byte[] mac = {0x52, 0x54, 0, 0, 0, 2, 0x52, 0x54, 0, 0, 0, 1};
        System.arraycopy(mac, 0, f, 0, 12);
        f[12] = 0x08;
        f[14] = 0x45;
        put16(f, 16, 40 + payload);
        put16(f, 18, 7);
        f[22] = 64;
        f[23] = 6;
        byte[] ips = {10, 1, 0, 1, 10, 1, 0, 2};
        System.arraycopy(ips, 0, f, 26, 8);
        put16(f, 24, ~fold(sum(f, 14, 20)) & 0xffff);
        put16(f, 34, 40000);
        put16(f, 36, 5001);
        put16(f, 38, seq >>> 16);
        put16(f, 40, seq & 0xffff);
        f[46] = 0x50;
        f[47] = 0x18; // ACK PSH
        put16(f, 48, 1000);
        for (int i = 54; i < f.length; i++) {
            f[i] = (byte) (i * 31 + seq);
        }
        put16(f, 50, ~fold(sum(f, 26, 8) + 6 + 20 + payload + sum(f, 34, 20 + payload)) & 0xffff);
        return f;
    }

    static long sum(byte[] f, int off, int len) {
        long s = 0;
        for (int i = 0; i < len; i++) {
            s += (i & 1) == 0 ? (f[off + i] & 0xff) << 8 : f[off + i] & 0xff;
        }
        return s;
    }

    static int fold(long s) {
        while ((s >>> 16) != 0) {
            s = (s & 0xffff) + (s >>> 16);
        }
        return (int) s;
    }

    static void put16(byte[] f, int at, int v) {
        f[at] = (byte) (v >>> 8);
        f[at + 1] = (byte) v;
    }

    @Test
    public void testpmdTsoPacketsAreReadAndSegmentedInSoftware() throws Exception {
        int payload = 3000;
        int mss = 1000;
        port = cls.open("vhtso", Map.of(), ctx);
        try (Testpmd pmd = new Testpmd(ctx.runDir.resolve("vhtso"), "", "csum", 1, 54 + payload, ctx.runDir, true)) {
            DpdkFrontEndTest.await("carrier", 20_000, port::carrier);
            pmd.awaitOutput("testpmd>", 1, 20_000);
            for (String c : new String[] {"port stop 0", "csum set ip sw 0", "csum set tcp hw 0",
                "tso set " + mss + " 0", "port start 0", "set fwd csum", "start"}) {
                pmd.command(c);
            }
            pmd.awaitOutput("testpmd>", 8, 20_000);
            DpdkFrontEndTest.await("carrier again", 20_000, port::carrier);
            PacketBatch out = new PacketBatch();
            PacketBatch in = new PacketBatch();
            List<Packet> got = new ArrayList<>();
            byte[] f = tcpFrame(payload, 0x10000);
            long end = System.currentTimeMillis() + 30_000;
            while (got.isEmpty() && System.currentTimeMillis() < end) {
                out.add(Frames.packet(ctx.pool, f, 2048));
                port.send(0, out, false);
                out.clear();
                for (int i = 0; i < 200 && got.isEmpty(); i++) {
                    if (port.rxqRecv(0, in) > 0) {
                        for (int k = 0; k < in.size(); k++) {
                            got.add(in.get(k));
                        }
                        in.clear();
                    }
                    Thread.sleep(1);
                }
            }
            pmd.command("stop");
            assertTrue("testpmd sent nothing back:\n" + Testpmd.tail(pmd.output()), !got.isEmpty());
            Packet p = got.get(0);
            String what = "offloads 0x" + Integer.toHexString(p.offloads()) + " of " + p + "\n"
                    + Testpmd.tail(pmd.output());
            assertEquals(what, Packet.OL_TSO_TCPV4 | Packet.OL_CSUM_PARTIAL, p.offloads() & ~Packet.OL_TSO_ECN);
            assertEquals(mss, p.gsoSize());
            assertEquals(34, p.csumStart());
            assertEquals(16, p.csumOffset());
            assertEquals(f.length, p.length());
            byte[] b = p.toByteArray();
            for (int i = 54; i < f.length; i++) {
                assertEquals("payload byte " + i, f[i], b[i]);
            }
            List<Packet> segs = new ArrayList<>();
            assertEquals(3, SoftOffloads.segment(p, segs::add));
            long seq = 0x10000;
            for (Packet s : segs) {
                byte[] sb = s.toByteArray();
                assertEquals(54 + mss, sb.length);
                assertEquals(0xffff, fold(sum(sb, 14, 20)));
                assertEquals(0xffff, fold(sum(sb, 26, 8) + 6 + sb.length - 34 + sum(sb, 34, sb.length - 34)));
                assertEquals(seq, (sum(sb, 38, 2) << 16) | sum(sb, 40, 2));
                seq += mss;
                s.free();
            }
            for (Packet g : got) {
                g.free();
            }
            System.out.printf("MEASURED testpmd csum/tso: %d TSO packet(s) back, gso_size %d, %d segments%n",
                    got.size(), p.gsoSize(), segs.size());
        }
    }
}
