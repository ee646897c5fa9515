package io.pvio.vhost.ring;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import io.pvio.posix.EventFd;
import io.pvio.posix.SharedMemory;
import io.pvio.vhostuser.PackedRing;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * The packed walkers with the test as the driver, byte for byte: ring base with its wrap bit in and out,
 * chains across the end of the ring, used descriptors (id, len, flags, positions skipped), and calls
 * following the driver event suppression structure (DISABLE, ENABLE, DESC with EVENT_IDX).
 */
public class PackedVirtqueueTest {
    static final long GPA = 0x100000;
    static final long UVA = 0x7000_0000L;
    static final int SIZE = 1 << 20;
    static final int RING = 8;
    static final int DRIVER_EVENT = 0x1000;
    static final int DEVICE_EVENT = 0x2000;
    static final int BUFS = 0x10000;

    private SharedMemory file;
    private GuestMemory mem;
    private ByteBuffer g;
    private EventFd call;
    private final PacketPool pool = new PacketPool("pvq", 64);
    /** The size of the rings {@link #queue} sets up. */
    private int ring = RING;

    @Before
    public void setUp() throws Exception {
        file = SharedMemory.createMemfd("pvq", SIZE);
        mem = GuestMemory.map(new GuestMemory.Region[] {new GuestMemory.Region(GPA, SIZE, UVA, 0)},
                new int[] {file.fd()});
        g = file.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        call = EventFd.create();
    }

    @After
    public void tearDown() {
        mem.unmap();
        file.close();
        assertEquals(0, pool.inUse());
    }

    private static final long PACKED = VirtioFeatures.bit(VirtioFeatures.F_VERSION_1)
            | VirtioFeatures.bit(VirtioFeatures.F_RING_PACKED) | VirtioFeatures.bit(VirtioFeatures.NET_F_MRG_RXBUF);

    private Virtqueue queue(int idx, int base, boolean eventIdx) {
        long f = PACKED;
        if (eventIdx) {
            f |= VirtioFeatures.bit(VirtioFeatures.RING_F_EVENT_IDX);
        }
        Virtqueue vq = new Virtqueue("t", idx);
        vq.lock();
        try {
            vq.setFeatures(f);
            vq.setMemory(mem);
            vq.setNum(ring);
            vq.setAddr(UVA, UVA + DEVICE_EVENT, UVA + DRIVER_EVENT);
            vq.setBase(base);
            vq.setCall(call);
            vq.start(null);
            vq.setEnabled(true);
            assertTrue(vq.ready());
        } finally {
            vq.unlock();
        }
        return vq;
    }

    private void desc(int pos, long addr, int len, int id, int flags) {
        int o = 16 * pos;
        g.putLong(o, addr).putInt(o + 8, len).putShort(o + 12, (short) id).putShort(o + 14, (short) flags);
    }

    private int flags(int pos) {
        return g.getShort(16 * pos + 14) & 0xffff;
    }

    private int enqueue(Virtqueue vq, byte[] f) {
        PacketBatch b = new PacketBatch();
        Packet p = pool.alloc();
        p.setData(p.headroom(), f.length);
        p.buffer().put(p.dataOffset(), f);
        b.add(p);
        vq.lock();
        try {
            return vq.enqueue(b);
        } finally {
            vq.unlock();
            b.freeAll();
        }
    }

    private static byte[] frame(int len, int add) {
        byte[] f = new byte[len];
        for (int i = 0; i < len; i++) {
            f[i] = (byte) (i * 3 + add);
        }
        return f;
    }

    /** SET_VRING_BASE position 6, wrap 0: buffers of that lap there; GET_VRING_BASE hands back where it ended. */
    @Test
    public void ringBaseWithWrapBitAndAChainAcrossTheEnd() throws Exception {
        Virtqueue vq = queue(0, PackedRing.offWrap(6, false), false);
        int avail0 = PackedRing.availFlags(false);
        int avail1 = PackedRing.availFlags(true); // after the end of the ring the driver's counter flips
        desc(6, GPA + BUFS, 2048, 41, PackedRing.DESC_F_WRITE | avail0);
        assertEquals(1, enqueue(vq, frame(100, 1)));
        assertEquals("used in lap 0, WRITE", PackedRing.usedFlags(false) | PackedRing.DESC_F_WRITE, flags(6));
        assertEquals(41, g.getShort(16 * 6 + 12));
        assertEquals(112, g.getInt(16 * 6 + 8));
        // a chain at positions 7 (lap 0), 0 and 1 (lap 1): header alone, then two pieces; id in the last
        desc(0, GPA + BUFS + 0x1000, 50, 0, PackedRing.DESC_F_WRITE | PackedRing.DESC_F_NEXT | avail1);
        desc(1, GPA + BUFS + 0x2000, 2000, 77, PackedRing.DESC_F_WRITE | avail1);
        desc(7, GPA + BUFS + 0x800, 12, 0, PackedRing.DESC_F_WRITE | PackedRing.DESC_F_NEXT | avail0);
        byte[] f = frame(1000, 7);
        assertEquals(1, enqueue(vq, f));
        assertNull(vq.broken());
        assertEquals("one used descriptor at the chain's first position", PackedRing.usedFlags(false)
                | PackedRing.DESC_F_WRITE, flags(7));
        assertEquals(77, g.getShort(16 * 7 + 12));
        assertEquals(1012, g.getInt(16 * 7 + 8));
        assertEquals("positions 0 and 1 untouched", PackedRing.DESC_F_WRITE | PackedRing.DESC_F_NEXT | avail1,
                flags(0));
        byte[] got = new byte[1000];
        g.get(BUFS + 0x1000, got, 0, 50);
        g.get(BUFS + 0x2000, got, 50, 950);
        assertArrayEquals(f, got);
        vq.lock();
        try {
            assertEquals("next: position 2 of lap 1", PackedRing.offWrap(2, true), vq.stop());
        } finally {
            vq.unlock();
        }
    }

    /** Calls: DISABLE none, ENABLE each publication, DESC (EVENT_IDX) exactly when its position is passed. */
    @Test
    public void callsFollowTheDriverEventSuppression() throws Exception {
        Virtqueue vq = queue(0, PackedRing.offWrap(0, true), true);
        assertEquals("we poll: no kicks wanted", PackedRing.EVENT_FLAG_DISABLE,
                g.getShort(DEVICE_EVENT + PackedRing.EVENT_FLAGS));
        int pos = 0;
        boolean wrap = true;
        int[] modes = {PackedRing.EVENT_FLAG_DISABLE, PackedRing.EVENT_FLAG_ENABLE, PackedRing.EVENT_FLAG_DESC};
        int calls = 0;
        for (int n = 0; n < 40; n++) {
            int mode = modes[n % 3];
            // DESC: notify when position 3 of the current lap is used
            g.putShort(DRIVER_EVENT + PackedRing.EVENT_OFF_WRAP, (short) PackedRing.offWrap(3, wrap));
            g.putShort(DRIVER_EVENT + PackedRing.EVENT_FLAGS, (short) mode);
            desc(pos, GPA + BUFS, 2048, n, PackedRing.DESC_F_WRITE | PackedRing.availFlags(wrap));
            assertEquals(1, enqueue(vq, frame(60, n)));
            boolean want = mode == PackedRing.EVENT_FLAG_ENABLE || mode == PackedRing.EVENT_FLAG_DESC && pos == 3;
            calls += want ? 1 : 0;
            assertEquals("publication " + n + " at " + pos + " mode " + mode, want ? 1 : 0, call.drain());
            assertEquals(calls, vq.counter(Virtqueue.C_NOTIFICATIONS));
            if (++pos == ring) {
                pos = 0;
                wrap = !wrap;
            }
        }
        assertNull(vq.broken());
    }

    /** The same on a ring of 5 (a packed ring may have any size): the event position wraps at 5. */
    @Test
    public void callsFollowTheDriverEventSuppressionOnARingOf5() throws Exception {
        ring = 5;
        callsFollowTheDriverEventSuppression();
    }

    /**
     * A packed ring of 5 whose features are negotiated again without VIRTIO_F_RING_PACKED is a split ring of
     * a size that is not a power of two: it breaks, saying so, rather than wrap its indexes wrongly.
     */
    @Test
    public void aRingOf5TurnedSplitBreaks() throws Exception {
        ring = 5;
        Virtqueue vq = queue(0, PackedRing.offWrap(0, true), false);
        vq.lock();
        try {
            vq.setFeatures(PACKED & ~VirtioFeatures.bit(VirtioFeatures.F_RING_PACKED));
            assertFalse(vq.ready());
            assertEquals("split ring of size 5 (not a power of two)", vq.broken());
        } finally {
            vq.unlock();
        }
    }

    /** A transmit chain of three positions comes out whole; its used descriptor skips all three. */
    @Test
    public void dequeueAChainAndSkipItsPositions() throws Exception {
        Virtqueue vq = queue(1, PackedRing.offWrap(0, true), false);
        int avail = PackedRing.availFlags(true);
        byte[] f = frame(700, 5);
        g.put(BUFS + 12, f, 0, 300);
        g.put(BUFS + 0x1000, f, 300, 400);
        desc(0, GPA + BUFS, 312, 0, PackedRing.DESC_F_NEXT | avail);
        desc(1, GPA + BUFS + 0x1000, 400, 9, avail);
        desc(2, GPA + BUFS + 0x3000, 12 + 60, 10, avail); // the next buffer: one descriptor
        g.put(BUFS + 0x3000 + 12, frame(60, 9));
        PacketBatch b = new PacketBatch();
        vq.lock();
        try {
            assertEquals(2, vq.dequeue(pool, b));
        } finally {
            vq.unlock();
        }
        try {
            assertArrayEquals(f, b.get(0).toByteArray());
            assertArrayEquals(frame(60, 9), b.get(1).toByteArray());
        } finally {
            b.freeAll();
        }
        assertEquals(PackedRing.usedFlags(true), flags(0));
        assertEquals(9, g.getShort(12));
        assertEquals("position 1 (the chain's second) is left as the driver wrote it", avail, flags(1));
        assertEquals("second used descriptor two positions on", PackedRing.usedFlags(true), flags(2));
        assertEquals(10, g.getShort(2 * 16 + 12));
    }

    /**
     * One-descriptor transmit buffers (copied without the general walk) at their limits, as on a split ring:
     * 1 byte, one pool buffer, one byte more (chained by the walk), header only (used, an error, not
     * delivered); ids in the used descriptors, bytes exact.
     */
    @Test
    public void oneDescriptorFramesAtThePoolBuffersLimits() throws Exception {
        Virtqueue vq = queue(1, PackedRing.offWrap(0, true), false);
        int avail = PackedRing.availFlags(true);
        int oneMax = pool.bufferSize() - pool.defaultHeadroom();
        byte[][] frames = {frame(1, 1), frame(oneMax, 2), frame(oneMax + 1, 3), frame(0, 4), frame(64, 5)};
        for (int i = 0; i < frames.length; i++) {
            int at = BUFS + 0x1000 * i;
            g.put(at + 12, frames[i]);
            desc(i, GPA + at, 12 + frames[i].length, 20 + i, avail);
        }
        PacketBatch b = new PacketBatch();
        vq.lock();
        try {
            assertEquals(4, vq.dequeue(pool, b));
        } finally {
            vq.unlock();
        }
        try {
            int[] delivered = {0, 1, 2, 4};
            for (int i = 0; i < delivered.length; i++) {
                assertArrayEquals(frames[delivered[i]], b.get(i).toByteArray());
            }
            assertEquals(1, b.get(1).segments());
            assertEquals(2, b.get(2).segments());
        } finally {
            b.freeAll();
        }
        assertEquals(1, vq.counter(Virtqueue.C_ERRORS));
        for (int i = 0; i < frames.length; i++) {
            assertEquals("used descriptor " + i, PackedRing.usedFlags(true), flags(i));
            assertEquals(20 + i, g.getShort(16 * i + 12));
        }
    }
}
