package io.pvio.vhost.ring;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import io.pvio.posix.SharedMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Set;
import java.util.TreeSet;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * The dirty page log and the CPU data path's marks: every write into guest memory (headers, payloads
 * copied at once or deferred, chains across pages and regions, used elements and index) marks exactly its
 * pages, reads mark nothing, and nothing is marked without VHOST_F_LOG_ALL. The log is read and cleared as
 * QEMU reads it (64-bit words, bit p%64 of word p/64).
 */
public class DirtyLogTest {
    static final long GPA_A = 0x100000;
    static final long GPA_B = 0x200000; // right after A: a buffer may span the two
    static final long UVA_A = 0x7000_0000L;
    static final long UVA_B = 0x7010_0000L;
    static final int SIZE = 1 << 20;
    static final int RING = 8;
    static final long LOG_ALL = VirtioFeatures.bit(VirtioFeatures.F_LOG_ALL);
    static final long BASE_FEATURES = VirtioFeatures.bit(VirtioFeatures.F_VERSION_1)
            | VirtioFeatures.bit(VirtioFeatures.NET_F_MRG_RXBUF);
    /** Pages of the rings of {@link #queue}: descriptors, avail, used. */
    static final long DESC_PAGE = GPA_A >>> 12;
    static final long USED_PAGE = (GPA_A + 0x2000) >>> 12;

    private SharedMemory a;
    private SharedMemory b;
    private GuestMemory mem;
    private ByteBuffer ga;
    private int logFd;
    private DirtyLog log;
    /** The front end's view of the log file. */
    private SharedMemory qemu;
    private final PacketPool pool = new PacketPool("dl", 64);

    @Before
    public void setUp() throws Exception {
        a = SharedMemory.createMemfd("a", SIZE);
        b = SharedMemory.createMemfd("b", SIZE);
        mem = GuestMemory.map(new GuestMemory.Region[] {new GuestMemory.Region(GPA_A, SIZE, UVA_A, 0),
            new GuestMemory.Region(GPA_B, SIZE, UVA_B, 0)}, new int[] {a.fd(), b.fd()});
        ga = a.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        logFd = SealedMemfd.create(4096, true);
        log = DirtyLog.map(logFd, DirtyLog.bytesFor(GPA_B + SIZE), 0);
        qemu = SharedMemory.map(logFd, 4096, 0);
    }

    @After
    public void tearDown() {
        mem.unmap();
        log.unmap();
        qemu.unmap();
        SealedMemfd.close(logFd);
        a.close();
        b.close();
        assertEquals(0, pool.inUse());
    }

    /** The pages marked since the last call, cleared (QEMU's atomic exchange of each word). */
    private Set<Long> takeDirty() {
        ByteBuffer v = qemu.buffer().order(ByteOrder.LITTLE_ENDIAN);
        Set<Long> pages = new TreeSet<>();
        for (int w = 0; w < 4096 / 8; w++) {
            long word = v.getLong(8 * w);
            v.putLong(8 * w, 0);
            for (int bit = 0; bit < 64; bit++) {
                if ((word & (1L << bit)) != 0) {
                    pages.add(64L * w + bit);
                }
            }
        }
        return pages;
    }

    private static Set<Long> pages(long... p) {
        Set<Long> s = new TreeSet<>();
        for (long x : p) {
            s.add(x);
        }
        return s;
    }

    /** Pages of guest physical [gpa, gpa+len). */
    private static Set<Long> range(long gpa, long len) {
        Set<Long> s = new TreeSet<>();
        for (long p = gpa >>> 12; p <= (gpa + len - 1) >>> 12; p++) {
            s.add(p);
        }
        return s;
    }

    private static Set<Long> union(Set<Long> x, Set<Long> y) {
        Set<Long> s = new TreeSet<>(x);
        s.addAll(y);
        return s;
    }

    /** Queue {@code idx}: descriptors at A+0, avail at A+0x1000, used at A+0x2000 (logged unless usedLog < 0). */
    private Virtqueue queue(int idx, long features, boolean usedLog) {
        Virtqueue vq = new Virtqueue("t", idx);
        vq.lock();
        try {
            vq.setFeatures(features);
            vq.setMemory(mem);
            vq.setLog(log);
            vq.setNum(RING);
            vq.setAddr(UVA_A, UVA_A + 0x2000, UVA_A + 0x1000, usedLog ? GPA_A + 0x2000 : -1);
            vq.setBase(0);
            vq.start(null);
            vq.setEnabled(true);
            assertTrue(vq.ready());
        } finally {
            vq.unlock();
        }
        takeDirty(); // the used flags written when the ring became ready
        return vq;
    }

    private void desc(int i, long addr, int len, int flags, int next) {
        int o = 16 * i;
        ga.putLong(o, addr).putInt(o + 8, len).putShort(o + 12, (short) flags).putShort(o + 14, (short) next);
    }

    private void post(int slot, int head) {
        ga.putShort(0x1000 + 4 + 2 * (slot % RING), (short) head);
        ga.putShort(0x1000 + 2, (short) (slot + 1));
    }

    private int enqueue(Virtqueue vq, int len) {
        PacketBatch batch = new PacketBatch();
        Packet p = pool.alloc();
        int at = p.append(len);
        for (int i = 0; i < len; i++) {
            p.buffer().put(at + i, (byte) i);
        }
        batch.add(p);
        vq.lock();
        try {
            return vq.enqueue(batch);
        } finally {
            vq.unlock();
            batch.freeAll();
        }
    }

    @Test
    public void markSetsExactlyThePagesOfARange() {
        log.mark(0x1000, 1);
        assertEquals(pages(1), takeDirty());
        log.mark(0x1fff, 2);
        assertEquals(pages(1, 2), takeDirty());
        log.mark(63 * 4096 + 100, 2 * 4096);
        assertEquals("across a word boundary", pages(63, 64, 65), takeDirty());
        log.mark(0, 64 * 4096);
        assertEquals("one whole word", range(0, 64 * 4096), takeDirty());
        log.mark(0x5000, 0);
        assertEquals(pages(), takeDirty());
        assertTrue(log.covers() >= GPA_B + SIZE);
        log.mark(log.covers() - 4096, 8192);
        assertEquals("the part inside the log", pages((log.covers() >>> 12) - 1), takeDirty());
        assertEquals(1, log.outside());
        log.mark(-1, 10);
        log.mark(Long.MAX_VALUE - 10, 100);
        assertEquals(3, log.outside());
        assertEquals(pages(), takeDirty());
    }

    @Test
    public void aLogAtAnOffsetOfItsFile() throws Exception {
        DirtyLog l = DirtyLog.map(logFd, 64, 2048 + 8);
        try {
            l.mark(4096 * 65, 1); // word 1, bit 1
            assertEquals(2L, qemu.buffer().order(ByteOrder.LITTLE_ENDIAN).getLong(2048 + 8 + 8));
            assertTrue(l.marked(4096 * 65));
            assertFalse(l.marked(4096 * 64));
        } finally {
            l.unmap();
        }
    }

    @Test
    public void logsThatCannotBeUsedAreRefused() throws Exception {
        int plain = SealedMemfd.create(4096, false);
        try {
            refused(plain, 64, 0, "not sealed against shrinking");
        } finally {
            SealedMemfd.close(plain);
        }
        refused(logFd, 8192, 0, "runs past the end of its file");
        refused(logFd, 64, 4096 - 8, "runs past the end of its file");
        refused(logFd, 64, 4, "not a multiple of 8");
        refused(logFd, 0, 0, "not a positive multiple of 8");
        refused(logFd, 12, 0, "not a positive multiple of 8");
        refused(logFd, -8, 0, "is larger than");
        assertEquals(8, DirtyLog.bytesFor(1));
        assertEquals(8, DirtyLog.bytesFor(64 * 4096));
        assertEquals(16, DirtyLog.bytesFor(64 * 4096 + 1));
    }

    private static void refused(int fd, long size, long off, String why) throws Exception {
        try {
            DirtyLog.map(fd, size, off).unmap();
            fail("a log of " + size + " bytes at " + off + " was accepted");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(why));
        }
    }

    /** One buffer across a page boundary, a small packet (deferred copy) and a large one (copied at once). */
    @Test
    public void cpuEnqueueMarksHeaderPayloadAndUsedRing() {
        Virtqueue vq = queue(0, BASE_FEATURES | LOG_ALL, true);
        long buf = GPA_A + 0x10ff0; // 16 bytes before a page boundary
        desc(0, buf, 2048, Virtqueue.DESC_F_WRITE, 0);
        post(0, 0);
        assertEquals(1, enqueue(vq, 100));
        assertEquals(union(range(buf, 112), pages(USED_PAGE)), takeDirty());
        long big = GPA_A + 0x20000;
        desc(1, big, 4096, Virtqueue.DESC_F_WRITE, 0);
        post(1, 1);
        assertEquals(1, enqueue(vq, 1000));
        assertEquals(union(range(big, 1012), pages(USED_PAGE)), takeDirty());
        assertEquals(0, log.outside());
        assertNull(vq.broken());
    }

    /**
     * Packed rings: the device event area's flags written when the ring becomes ready, the header and
     * payload, and the descriptor written back (at the descriptor ring's guest address: a packed ring has no
     * used ring) are marked.
     */
    @Test
    public void packedEnqueueMarksPayloadAndTheDescriptorWrittenBack() {
        Virtqueue vq = new Virtqueue("t", 0);
        vq.lock();
        try {
            vq.setFeatures(BASE_FEATURES | LOG_ALL | VirtioFeatures.bit(VirtioFeatures.F_RING_PACKED));
            vq.setMemory(mem);
            vq.setLog(log);
            vq.setNum(RING);
            vq.setAddr(UVA_A, UVA_A + 0x2000, UVA_A + 0x1000, GPA_A + 0x2000);
            vq.setBase(1 << 15); // position 0, wrap counter 1
            vq.start(null);
            vq.setEnabled(true);
            assertTrue(vq.ready());
        } finally {
            vq.unlock();
        }
        assertEquals("the device event flags written when the ring became ready", pages(USED_PAGE), takeDirty());
        long buf = GPA_A + 0x30ff0; // across a page boundary
        ga.putLong(0, buf).putInt(8, 2048).putShort(12, (short) 5)
                .putShort(14, (short) (io.pvio.vhostuser.PackedRing.DESC_F_WRITE
                        | io.pvio.vhostuser.PackedRing.availFlags(true)));
        assertEquals(1, enqueue(vq, 100));
        assertEquals("written back as used", io.pvio.vhostuser.PackedRing.DESC_F_WRITE
                | io.pvio.vhostuser.PackedRing.usedFlags(true), ga.getShort(14) & 0xffff);
        assertEquals(union(range(buf, 112), pages(DESC_PAGE)), takeDirty());
        assertEquals(0, log.outside());
        assertNull(vq.broken());
    }

    /** A chain over two regions and three pages: the pages written are marked, the unused buffer's are not. */
    @Test
    public void chainsMarkOnlyThePagesWritten() {
        Virtqueue vq = queue(0, BASE_FEATURES | LOG_ALL, true);
        long first = GPA_B - 256; // 256 bytes in A, 256 in B
        long second = GPA_A + 0x50000;
        long third = GPA_A + 0x60000;
        int chain = Virtqueue.DESC_F_WRITE | Virtqueue.DESC_F_NEXT;
        desc(0, first, 512, chain, 1);
        desc(1, second, 4096, chain, 2);
        desc(2, third, 4096, Virtqueue.DESC_F_WRITE, 0);
        post(0, 0);
        assertEquals(1, enqueue(vq, 600)); // 612 bytes: 512 + 100, copied at once
        assertEquals(union(union(range(first, 512), range(second, 100)), pages(USED_PAGE)), takeDirty());
        desc(3, first, 64, chain, 4);
        desc(4, second + 4090, 4096, Virtqueue.DESC_F_WRITE, 0);
        post(1, 3);
        assertEquals(1, enqueue(vq, 100)); // 112 bytes: 64 + 48 across a page boundary, deferred
        assertEquals(union(union(range(first, 64), range(second + 4090, 48)), pages(USED_PAGE)), takeDirty());
        assertNull(vq.broken());
    }

    /**
     * The used ring across a page boundary: each flush marks the pages of the elements it wrote and of
     * used->idx; a ring without VHOST_VRING_F_LOG marks no used page.
     */
    @Test
    public void usedRingMarksTheElementsWrittenAndTheIndex() {
        Virtqueue vq = new Virtqueue("t", 0);
        long usedGpa = GPA_A + 0x3000 - 12; // flags, idx and element 0 before the boundary, element 1 after
        vq.lock();
        try {
            vq.setFeatures(BASE_FEATURES | LOG_ALL);
            vq.setMemory(mem);
            vq.setLog(log);
            vq.setNum(RING);
            vq.setAddr(UVA_A, UVA_A + 0x3000 - 12, UVA_A + 0x1000, usedGpa);
            vq.setBase(0);
            vq.start(null);
            vq.setEnabled(true);
        } finally {
            vq.unlock();
        }
        assertEquals("used->flags written when the ring became ready", pages(0x102), takeDirty());
        long buf = GPA_A + 0x40000;
        desc(0, buf, 2048, Virtqueue.DESC_F_WRITE, 0);
        desc(1, buf + 0x1000, 2048, Virtqueue.DESC_F_WRITE, 0);
        post(0, 0);
        assertEquals(1, enqueue(vq, 60));
        assertEquals(pages(buf >>> 12, 0x102), takeDirty());
        post(1, 1);
        assertEquals(1, enqueue(vq, 60));
        assertEquals("element 1 on the next page, idx on this one", pages((buf >>> 12) + 1, 0x102, 0x103),
                takeDirty());

        Virtqueue unlogged = queue(2, BASE_FEATURES | LOG_ALL, false);
        desc(0, buf, 2048, Virtqueue.DESC_F_WRITE, 0);
        post(0, 0);
        assertEquals(1, enqueue(unlogged, 60));
        assertEquals("no log address: only the buffer", pages(buf >>> 12), takeDirty());
    }

    /** Dequeue reads the guest's buffers: only the used ring is written, and marked. */
    @Test
    public void dequeueMarksOnlyTheUsedRing() {
        Virtqueue vq = queue(1, BASE_FEATURES | LOG_ALL, true);
        long buf = GPA_A + 0x70000;
        ga.put((int) (buf - GPA_A) + 12, (byte) 0x42);
        desc(0, buf, 12 + 100, 0, 0);
        post(0, 0);
        PacketBatch batch = new PacketBatch();
        vq.lock();
        try {
            assertEquals(1, vq.dequeue(pool, batch));
        } finally {
            vq.unlock();
        }
        assertEquals(100, batch.get(0).length());
        batch.freeAll();
        assertEquals(pages(USED_PAGE), takeDirty());
    }

    /** With a log but without VHOST_F_LOG_ALL nothing is marked; negotiating it starts the marks. */
    @Test
    public void nothingIsMarkedWithoutLogAll() {
        Virtqueue vq = queue(0, BASE_FEATURES, true);
        Virtqueue tx = queue(1, BASE_FEATURES, true);
        assertFalse(vq.logging());
        long buf = GPA_A + 0x10000;
        desc(0, buf, 2048, Virtqueue.DESC_F_WRITE, 0);
        desc(1, buf + 0x1000, 2048, Virtqueue.DESC_F_WRITE, 0);
        post(0, 0);
        assertEquals(1, enqueue(vq, 100));
        post(1, 1);
        assertEquals(1, enqueue(vq, 1000));
        assertEquals(pages(), takeDirty());
        vq.lock();
        try {
            vq.setFeatures(BASE_FEATURES | LOG_ALL); // migration starts (QEMU: SET_FEATURES with LOG_ALL)
        } finally {
            vq.unlock();
        }
        assertTrue(vq.logging());
        desc(2, buf + 0x2000, 2048, Virtqueue.DESC_F_WRITE, 0);
        post(2, 2);
        assertEquals(1, enqueue(vq, 100));
        assertEquals(pages((buf >>> 12) + 2, USED_PAGE), takeDirty());
        vq.lock();
        try {
            vq.setFeatures(BASE_FEATURES); // migration cancelled
        } finally {
            vq.unlock();
        }
        post(3, 0);
        assertEquals(1, enqueue(vq, 100));
        assertEquals(pages(), takeDirty());
        assertFalse(tx.logging());
    }
}
