package io.pvio.vhost.ring;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import io.pvio.posix.SharedMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * Guest offloads on a virtqueue: the virtio-net header a guest sends is read into the packet's offload
 * metadata (a header the guest may not send, or whose offsets lie outside its frame, drops the packet and is
 * counted; the ring goes on), and the header a guest receives carries the packet's offloads when it
 * negotiated them, on the CPU and the asynchronous path.
 */
public class VirtqueueOffloadTest {
    static final long GPA = 0x100000;
    static final long UVA = 0x7000_0000L;
    static final int SIZE = 4 << 20;
    static final int RING = 16;
    static final int RINGS = 0x10000;
    static final long BUFS = GPA + 0x100000;

    private SharedMemory a;
    private GuestMemory mem;
    private final PacketPool pool = new PacketPool("vq", 256);
    private ByteBuffer ga;
    private int slot;

    static final long BASE = VirtioFeatures.bit(VirtioFeatures.F_VERSION_1)
            | VirtioFeatures.bit(VirtioFeatures.NET_F_MRG_RXBUF);
    static final long TX_OL = BASE | VirtioFeatures.bit(VirtioFeatures.NET_F_CSUM)
            | VirtioFeatures.bit(VirtioFeatures.NET_F_HOST_TSO4);
    static final long RX_OL = BASE | VirtioFeatures.bit(VirtioFeatures.NET_F_GUEST_CSUM)
            | VirtioFeatures.bit(VirtioFeatures.NET_F_GUEST_TSO4);

    @Before
    public void setUp() throws Exception {
        a = SharedMemory.createMemfd("a", SIZE);
        mem = GuestMemory.map(new GuestMemory.Region[] {new GuestMemory.Region(GPA, SIZE, UVA, 0)},
                new int[] {a.fd()});
        ga = a.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    @After
    public void tearDown() {
        mem.unmap();
        a.close();
        assertEquals(0, pool.inUse());
    }

    private Virtqueue queue(int idx, long features) {
        Virtqueue vq = new Virtqueue("t", idx);
        vq.lock();
        try {
            vq.setFeatures(features);
            vq.setMemory(mem);
            vq.setNum(RING);
            vq.setAddr(UVA + RINGS, UVA + RINGS + 0x2000, UVA + RINGS + 0x1000);
            vq.setBase(0);
            vq.start(null);
            vq.setEnabled(true);
            assertTrue(vq.ready());
        } finally {
            vq.unlock();
        }
        return vq;
    }

    private void desc(int i, long addr, int len, int flags, int next) {
        int o = RINGS + 16 * i;
        ga.putLong(o, addr).putInt(o + 8, len).putShort(o + 12, (short) flags).putShort(o + 14, (short) next);
    }

    private void post(int head) {
        ga.putShort(RINGS + 0x1000 + 4 + 2 * (slot % RING), (short) head);
        slot++;
        ga.putShort(RINGS + 0x1000 + 2, (short) slot);
    }

    /** A virtio-net header. */
    static byte[] hdr(int flags, int gsoType, int gsoSize, int csumStart, int csumOffset) {
        ByteBuffer h = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        h.put(0, (byte) flags).put(1, (byte) gsoType).putShort(2, (short) 66).putShort(4, (short) gsoSize)
                .putShort(6, (short) csumStart).putShort(8, (short) csumOffset);
        return h.array();
    }

    static byte[] frame(int len) {
        byte[] f = new byte[len];
        for (int i = 0; i < len; i++) {
            f[i] = (byte) (i * 7 + 3);
        }
        f[12] = 0x08; // IPv4
        f[13] = 0;
        return f;
    }

    /**
     * The guest sends header + frame in descriptor {@code d} (split after {@code split} bytes into d and
     * d+1 when split > 0).
     */
    private void send(int d, byte[] header, byte[] f, int split) {
        long addr = BUFS + 0x20000L * d;
        byte[] wire = new byte[12 + f.length];
        System.arraycopy(header, 0, wire, 0, 12);
        System.arraycopy(f, 0, wire, 12, f.length);
        ga.put((int) (addr - GPA), wire);
        if (split > 0) {
            desc(d, addr, split, Virtqueue.DESC_F_NEXT, d + 1);
            desc(d + 1, addr + split, wire.length - split, 0, 0);
        } else {
            desc(d, addr, wire.length, 0, 0);
        }
        post(d);
    }

    private int dequeue(Virtqueue vq, PacketBatch batch, boolean async) {
        assertTrue(vq.tryLock());
        try {
            return async ? vq.dequeueAsync(pool, batch) : vq.dequeue(pool, batch);
        } finally {
            vq.unlock();
        }
    }

    private void readsTheGuestsHeader(boolean async) {
        Virtqueue vq = queue(1, TX_OL);
        byte[] f = frame(30000);
        send(0, hdr(1, 1, 1448, 34, 16), f, 0);
        send(2, hdr(1 | 0x02, 0x81, 1000, 34, 16), f, 5); // header split over two buffers; ECN
        send(4, hdr(1, 0, 0, 34, 6), frame(100), 0); // a UDP checksum only
        send(6, hdr(0, 0, 0, 0, 0), frame(60), 0);
        PacketBatch batch = new PacketBatch();
        assertEquals(4, dequeue(vq, batch, async));
        Packet p = batch.get(0);
        assertArrayEquals(f, p.toByteArray());
        assertEquals(Packet.OL_CSUM_PARTIAL | Packet.OL_TSO_TCPV4, p.offloads());
        assertEquals(1448, p.gsoSize());
        assertEquals(34, p.csumStart());
        assertEquals(16, p.csumOffset());
        assertEquals(34, p.l4Offset());
        Packet q = batch.get(1);
        assertArrayEquals(f, q.toByteArray());
        assertEquals(Packet.OL_CSUM_PARTIAL | Packet.OL_TSO_TCPV4 | Packet.OL_TSO_ECN, q.offloads());
        assertEquals(1000, q.gsoSize());
        assertEquals(Packet.OL_CSUM_PARTIAL, batch.get(2).offloads());
        assertEquals(6, batch.get(2).csumOffset());
        assertEquals(0, batch.get(3).offloads());
        assertEquals(0, vq.counter(Virtqueue.C_BAD_HEADERS));
        batch.freeAll();
    }

    @Test
    public void readsTheGuestsHeader() {
        readsTheGuestsHeader(false);
    }

    @Test
    public void readsTheGuestsHeaderOnTheAsyncPath() {
        readsTheGuestsHeader(true);
    }

    private void hostileHeaders(boolean async) {
        Virtqueue vq = queue(1, TX_OL); // CSUM and HOST_TSO4, not HOST_TSO6
        byte[][] bad = {
            hdr(1, 4, 1448, 34, 16), // TSO6 not negotiated
            hdr(1, 3, 1448, 34, 6), // UDP GSO: never offered
            hdr(1, 1, 0, 34, 16), // segment size 0
            hdr(0, 1, 1448, 0, 0), // TSO without a checksum to complete
            hdr(1, 1, 1448, 34, 6), // TSO whose checksum is not TCP's
            hdr(1, 0, 0, 990, 9), // checksum field past the frame's end
            hdr(1, 0, 0, 0xffff, 0xffff), // offsets at their maximum
            hdr(0x10, 0, 0, 0, 0), // unknown flag
            hdr(0, 0x80, 0, 0, 0), // ECN alone
        };
        int d = 0;
        for (byte[] h : bad) {
            send(d++, h, frame(1000), 0);
        }
        send(d, hdr(1, 0, 0, 34, 16), frame(1000), 0); // and a good one after them
        PacketBatch batch = new PacketBatch();
        int got = 0;
        for (int i = 0; i < 4 && got == 0; i++) {
            got += dequeue(vq, batch, async);
        }
        assertEquals(1, got);
        assertEquals(Packet.OL_CSUM_PARTIAL, batch.get(0).offloads());
        assertArrayEquals(frame(1000), batch.get(0).toByteArray());
        batch.freeAll();
        assertEquals(bad.length, vq.counter(Virtqueue.C_BAD_HEADERS));
        assertNull("a bad header is the packet's problem, not the ring's", vq.broken());
        assertEquals("every descriptor is used", bad.length + 1, ga.getShort(RINGS + 0x2000 + 2));
    }

    @Test
    public void hostileHeadersAreDroppedAndCounted() {
        hostileHeaders(false);
    }

    @Test
    public void hostileHeadersAreDroppedAndCountedOnTheAsyncPath() {
        hostileHeaders(true);
    }

    @Test
    public void withoutNegotiatedOffloadsTheHeaderIsIgnored() {
        Virtqueue vq = queue(1, BASE);
        send(0, hdr(0xff, 0xff, 7, 0xffff, 0xffff), frame(500), 0);
        PacketBatch batch = new PacketBatch();
        assertEquals(1, dequeue(vq, batch, false));
        assertEquals(0, batch.get(0).offloads());
        batch.freeAll();
        assertEquals(0, vq.counter(Virtqueue.C_BAD_HEADERS));
    }

    // ---- enqueue

    private Packet packet(byte[] f, int offloads) {
        Packet p = pool.alloc();
        int first = Math.min(f.length, p.tailroom());
        p.setData(p.headroom(), first);
        p.buffer().put(p.dataOffset(), f, 0, first);
        for (int at = first; at < f.length;) {
            Packet s = pool.alloc();
            int l = Math.min(f.length - at, s.capacity());
            s.setSegmentData(0, l);
            s.buffer().put(0, f, at, l);
            p.chain(s);
            at += l;
        }
        p.setOffloads(offloads);
        p.setCsum(34, 16);
        p.setGsoSize(1448);
        return p;
    }

    private void writesTheHeader(boolean async) {
        Virtqueue vq = queue(0, RX_OL);
        for (int i = 0; i < 8; i++) {
            desc(i, BUFS + 0x20000L * i, 0x20000, Virtqueue.DESC_F_WRITE, 0);
            post(i);
        }
        byte[] big = frame(40000);
        big[34 + 12] = (byte) 0x80; // TCP data offset 32 bytes: hdr_len 66
        byte[] small = frame(200);
        PacketBatch b = new PacketBatch();
        b.add(packet(big, Packet.OL_CSUM_PARTIAL | Packet.OL_TSO_TCPV4));
        b.add(packet(small, Packet.OL_CSUM_PARTIAL));
        b.add(packet(small, 0));
        Packet refused = packet(small, Packet.OL_CSUM_PARTIAL | Packet.OL_TSO_TCPV6); // not negotiated: not sent
        b.add(refused);
        Packet last = packet(small, 0);
        b.add(last);
        assertTrue(vq.tryLock());
        int sent;
        try {
            if (async) {
                sent = vq.enqueueAsync(b);
                for (int i = 0; i < 100 && vq.completeAsync() > 0; i++) {
                    Thread.onSpinWait();
                }
            } else {
                sent = vq.enqueue(b);
            }
            // the packets sent come first, in order: the last one and the refused one swapped places
            assertSame(last, b.get(3));
            assertSame(refused, b.get(4));
            if (!async) {
                b.freeAll();
            }
        } finally {
            vq.unlock();
        }
        if (async) {
            for (int i = sent; i < b.size(); i++) {
                b.get(i).free(); // not the queue's
            }
            b.clear();
        }
        assertEquals(4, sent);
        assertEquals(1, vq.counter(Virtqueue.C_ERRORS));
        assertEquals(4, ga.getShort(RINGS + 0x2000 + 2));
        int[][] want = {
            {1, 1, 66, 1448, 34, 16, 1},
            {1, 0, 0, 0, 34, 16, 1},
            {0, 0, 0, 0, 0, 0, 1},
            {0, 0, 0, 0, 0, 0, 1},
        };
        byte[][] frames = {big, small, small, small};
        for (int k = 0; k < 4; k++) {
            int at = (int) (BUFS - GPA) + 0x20000 * k;
            int[] got = {ga.get(at) & 0xff, ga.get(at + 1) & 0xff, ga.getShort(at + 2) & 0xffff,
                ga.getShort(at + 4) & 0xffff, ga.getShort(at + 6) & 0xffff, ga.getShort(at + 8) & 0xffff,
                ga.getShort(at + 10) & 0xffff};
            assertArrayEquals("header of packet " + k, want[k], got);
            byte[] f = new byte[frames[k].length];
            ga.get(at + 12, f);
            assertArrayEquals(frames[k], f);
            assertEquals(12 + frames[k].length, ga.getInt(RINGS + 0x2000 + 4 + 8 * k + 4));
        }
    }

    @Test
    public void writesTheHeaderOfTheNegotiatedOffloads() {
        writesTheHeader(false);
    }

    @Test
    public void writesTheHeaderOfTheNegotiatedOffloadsOnTheAsyncPath() {
        writesTheHeader(true);
    }

    @Test
    public void offeredFeaturesFollowUserspaceTsoAtTheNextConnection() {
        io.pvio.vhost.user.VhostDevice dev = new io.pvio.vhost.user.VhostDevice("d", () -> { });
        assertEquals(VirtioFeatures.OFFERED, dev.offered());
        dev.setNextOffered(VirtioFeatures.OFFERED | VirtioFeatures.OFFLOADS);
        assertEquals("not before the next connection", VirtioFeatures.OFFERED, dev.offered());
        dev.connect();
        assertEquals(VirtioFeatures.OFFERED | VirtioFeatures.OFFLOADS, dev.offered());
        dev.disconnect();
    }
}
