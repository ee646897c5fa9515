package io.pvio.vhost.ring;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import io.pvio.posix.SharedMemory;
import io.pvio.vhost.async.AutoDma;
import io.pvio.vhostuser.PackedRing;
import io.pvio.vhostuser.SplitRing;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * Issues 19/21: the asynchronous dequeue of unsealed guest memory (DPDK virtio-user, testpmd --no-huge) walks
 * a whole burst, fences once and only then hands its packets to the copy tracker; a late fault of the walk
 * is the burst's (nothing handed over, nothing lost, the ring broken). Split and packed rings, the test as
 * the driver; the tracker's copies by the CPU (no channel) or by a DMA channel that copies when polled.
 */
public class AsyncDequeueFenceTest {
    private static final long GPA = 0x100000;
    private static final long UVA = 0x7000_0000L;
    private static final int SIZE = 1 << 20;
    private static final int RING = 64;
    private static final int DRIVER = 0x1000; // split: avail ring; packed: driver event area
    private static final int DEVICE = 0x2000; // split: used ring; packed: device event area
    private static final int FRAMES = 0x10000; // 4 KiB per buffer: [0x10000, 0x30000) for 32
    private static final int TABLES = 0x40000; // indirect tables, 0x200 each
    private static final int HDR = 12;

    private SharedMemory file;
    private GuestMemory mem;
    private ByteBuffer g;
    private final PacketPool pool = new PacketPool("afence", 128);
    private Virtqueue vq;
    private boolean packed;

    @Before
    public void setUp() throws Exception {
        file = SharedMemory.createMemfd("afence", SIZE);
        mem = GuestMemory.map(new GuestMemory.Region[] {new GuestMemory.Region(GPA, SIZE, UVA, 0)},
                new int[] {file.fd()});
        g = file.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        assertFalse("a plain memfd is not sealed: the fence is paid", mem.sealed());
    }

    @After
    public void tearDown() {
        mem.unmap();
        file.close();
        assertEquals("packet buffers in use", 0, pool.inUse());
    }

    private void queue(boolean packedRing) {
        packed = packedRing;
        long f = VirtioFeatures.bit(VirtioFeatures.F_VERSION_1) | VirtioFeatures.bit(VirtioFeatures.RING_F_INDIRECT_DESC);
        if (packed) {
            f |= VirtioFeatures.bit(VirtioFeatures.F_RING_PACKED);
        }
        vq = new Virtqueue("afence", 1);
        vq.lock();
        try {
            vq.setFeatures(f);
            vq.setMemory(mem);
            vq.setNum(RING);
            vq.setAddr(UVA, UVA + DEVICE, UVA + DRIVER);
            vq.setBase(packed ? PackedRing.offWrap(0, true) : 0);
            vq.start(null);
            vq.setEnabled(true);
            assertTrue(vq.ready());
        } finally {
            vq.unlock();
        }
    }

    private static byte payload(int i, int j) {
        return (byte) (i * 7 + j * 3 + 1);
    }

    /** Buffer {@code i}'s header and frame of {@code len} bytes at guest offset {@code at}. */
    private void frame(int i, int at, int len) {
        for (int j = 0; j < HDR; j++) {
            g.put(at + j, (byte) 0);
        }
        for (int j = 0; j < len; j++) {
            g.put(at + HDR + j, payload(i, j));
        }
    }

    /** Makes buffer {@code i} (ring slot or position i, first lap) available: one descriptor, header and frame. */
    private void postDirect(int i, int len) {
        int at = FRAMES + 0x1000 * i;
        frame(i, at, len);
        ringDesc(i, GPA + at, HDR + len, 0);
    }

    /**
     * Makes buffer {@code i} available as an indirect table at {@code table}: the header alone, then the frame
     * in {@code piece}-byte descriptors (128 bytes apart).
     */
    private void postIndirect(int i, int len, int piece, int table) {
        int at = FRAMES + 0x1000 * i;
        frame(i, at, len);
        int n = 1 + (len + piece - 1) / piece;
        for (int k = 0; k < n; k++) {
            long addr = k == 0 ? GPA + at : GPA + at + HDR + (long) (k - 1) * piece;
            int l = k == 0 ? HDR : Math.min(piece, len - (k - 1) * piece);
            int o = table + 16 * k;
            g.putLong(o, addr).putInt(o + 8, l);
            if (packed) {
                g.putShort(o + 12, (short) 0).putShort(o + 14, (short) 0);
            } else {
                g.putShort(o + 12, (short) (k + 1 < n ? Virtqueue.DESC_F_NEXT : 0)).putShort(o + 14, (short) (k + 1));
            }
        }
        ringDesc(i, GPA + table, 16 * n, Virtqueue.DESC_F_INDIRECT);
    }

    private void ringDesc(int i, long addr, int len, int flags) {
        int o = 16 * i;
        if (packed) {
            g.putLong(o, addr).putInt(o + 8, len).putShort(o + 12, (short) (100 + i));
            g.putShort(o + 14, (short) (flags | PackedRing.availFlags(true)));
        } else {
            g.putLong(o, addr).putInt(o + 8, len).putShort(o + 12, (short) flags).putShort(o + 14, (short) 0);
            g.putShort(DRIVER + SplitRing.availRing(i), (short) i);
            g.putShort(DRIVER + SplitRing.AVAIL_IDX, (short) (i + 1));
        }
    }

    private int dequeueAsync(PacketBatch batch) {
        vq.lock();
        try {
            return vq.dequeueAsync(pool, batch);
        } finally {
            vq.unlock();
        }
    }

    private static void assertFrame(int i, int len, Packet p) {
        assertEquals("packet " + i + " length", len, p.length());
        byte[] got = new byte[len];
        int at = 0;
        for (Packet s = p; s != null; s = s.next()) {
            s.buffer().get(s.dataOffset(), got, at, s.dataLength());
            at += s.dataLength();
        }
        byte[] want = new byte[len];
        for (int j = 0; j < len; j++) {
            want[j] = payload(i, j);
        }
        assertArrayEquals("packet " + i + " bytes", want, got);
    }

    /**
     * A burst of 32 on unsealed memory: one fence after the walk and, when the CPU made copies out of guest
     * memory during the hand-over (the tracker's copies below its threshold), one after them.
     */
    private void fencesPerBurst(boolean packedRing, boolean dma) {
        queue(packedRing);
        if (dma) {
            AutoDma.attach(vq);
        }
        for (int i = 0; i < PacketBatch.MAX; i++) {
            postDirect(i, 60 + i);
        }
        PacketBatch batch = new PacketBatch();
        int before = vq.fences();
        assertEquals(PacketBatch.MAX, dequeueAsync(batch));
        assertEquals("fences in a burst of " + PacketBatch.MAX + " packets", dma ? 1 : 2, vq.fences() - before);
        assertEquals("copies by " + (dma ? "DMA" : "the CPU"), PacketBatch.MAX,
                dma ? vq.tracker().dmaCopies() : vq.tracker().cpuCopies());
        assertNull(vq.broken());
        for (int i = 0; i < PacketBatch.MAX; i++) {
            assertFrame(i, 60 + i, batch.get(i));
        }
        batch.freeAll();
        assertEquals(PacketBatch.MAX, vq.counter(Virtqueue.C_PACKETS));
        if (!packed) {
            assertEquals("used->idx", PacketBatch.MAX, g.getShort(DEVICE + SplitRing.USED_IDX));
        } else {
            assertEquals("the last buffer's used id", 100 + PacketBatch.MAX - 1, g.getShort(16 * (PacketBatch.MAX - 1) + 12));
        }
        before = vq.fences();
        assertEquals("an empty poll", 0, dequeueAsync(batch));
        assertEquals("an empty poll fences nothing", 0, vq.fences() - before);
    }

    @Test
    public void splitBurstOf32ByDmaFencesOnce() {
        fencesPerBurst(false, true);
    }

    @Test
    public void packedBurstOf32ByDmaFencesOnce() {
        fencesPerBurst(true, true);
    }

    @Test
    public void splitBurstOf32ByCpuFencesTwice() {
        fencesPerBurst(false, false);
    }

    @Test
    public void packedBurstOf32ByCpuFencesTwice() {
        fencesPerBurst(true, false);
    }

    /**
     * Frames of 10 descriptors each and one of 3000 bytes (a chained packet): more pieces than a burst records.
     * Each burst ends at the buffer that does not fit, which is handed over too; the rest follows, in order.
     */
    private void burstsEndWhereTheirPiecesDoNotFit(boolean packedRing) {
        queue(packedRing);
        int[] len = new int[PacketBatch.MAX];
        for (int i = 0; i < PacketBatch.MAX; i++) {
            len[i] = i == 5 ? 3000 : 1000;
            postIndirect(i, len[i], 100, TABLES + 0x200 * i);
        }
        PacketBatch batch = new PacketBatch();
        int calls = 0;
        int first = -1;
        while (batch.size() < PacketBatch.MAX && calls < 8) {
            int n = dequeueAsync(batch);
            first = first < 0 ? n : first;
            calls++;
        }
        assertNull(vq.broken());
        assertTrue("the first burst ended early: " + first, first > 0 && first < PacketBatch.MAX);
        assertEquals(PacketBatch.MAX, batch.size());
        for (int i = 0; i < PacketBatch.MAX; i++) {
            assertFrame(i, len[i], batch.get(i));
        }
        batch.freeAll();
        assertEquals(PacketBatch.MAX, vq.counter(Virtqueue.C_PACKETS));
        long bytes = 0;
        for (int l : len) {
            bytes += l;
        }
        assertEquals(bytes, vq.counter(Virtqueue.C_BYTES));
    }

    @Test
    public void splitBurstsEndWhereTheirPiecesDoNotFit() {
        burstsEndWhereTheirPiecesDoNotFit(false);
    }

    @Test
    public void packedBurstsEndWhereTheirPiecesDoNotFit() {
        burstsEndWhereTheirPiecesDoNotFit(true);
    }

    /**
     * The front end truncates its memory file under the indirect tables of buffers 5 on (issue 15): buffers
     * 0-4 walk fine, buffer 5's table read faults late. The fence after the walk raises it: nothing of the
     * burst is handed over, every staged packet goes back to the pool, the ring is broken, nothing counted
     * as received, and no fault is left pending for whatever the thread runs next.
     */
    private void faultMidBurstLosesNothing(boolean packedRing) throws Exception {
        queue(packedRing);
        for (int i = 0; i < PacketBatch.MAX; i++) {
            if (i < 5) {
                postDirect(i, 200);
            } else {
                postIndirect(i, 200, 100, TABLES + 0x200 * i);
            }
        }
        try (RandomAccessFile f = new RandomAccessFile("/proc/self/fd/" + file.fd(), "rw")) {
            f.setLength(TABLES); // rings and frames stay, the tables are gone
        }
        PacketBatch batch = new PacketBatch();
        int got;
        try {
            got = dequeueAsync(batch);
        } catch (InternalError e) {
            throw new AssertionError("the fault escaped the queue's burst", e);
        }
        try {
            GuestMemory.deliverPendingFault();
        } catch (InternalError e) {
            fail("a fault was left pending after the burst: " + e);
        }
        assertEquals("nothing of the burst is handed over", 0, got);
        assertEquals(0, batch.size());
        assertNotNull("the ring is broken", vq.broken());
        assertEquals(1, vq.counter(Virtqueue.C_BROKEN));
        assertEquals(0, vq.counter(Virtqueue.C_PACKETS));
        assertEquals(0, vq.counter(Virtqueue.C_BYTES));
        assertEquals("nothing in flight", 0, vq.tracker().inFlight());
        assertEquals("every staged packet is back in the pool", 0, pool.inUse());
        if (!packed) {
            assertEquals("no used element published", 0, g.getShort(DEVICE + SplitRing.USED_IDX));
        } else {
            assertEquals("buffer 0 not used", PackedRing.availFlags(true), g.getShort(14) & 0xffff);
        }
    }

    @Test
    public void splitFaultMidBurstLosesNothing() throws Exception {
        faultMidBurstLosesNothing(false);
    }

    @Test
    public void packedFaultMidBurstLosesNothing() throws Exception {
        faultMidBurstLosesNothing(true);
    }
}
