package io.pvio.vhost.ring;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
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

/** A virtqueue over a memory table of two regions, with guest buffers that span both. */
public class VirtqueueTest {
    static final long GPA_A = 0x100000;
    static final long GPA_B = 0x200000; // right after A: a buffer may span the two
    static final long UVA_A = 0x7000_0000L;
    static final long UVA_B = 0x7010_0000L;
    static final int SIZE = 1 << 20;
    static final int RING = 8;

    private SharedMemory a;
    private SharedMemory b;
    private GuestMemory mem;
    private final PacketPool pool = new PacketPool("vq", 64);
    private ByteBuffer ga;
    private ByteBuffer gb;

    @Before
    public void setUp() throws Exception {
        a = SharedMemory.createMemfd("a", SIZE);
        b = SharedMemory.createMemfd("b", SIZE);
        mem = GuestMemory.map(new GuestMemory.Region[] {new GuestMemory.Region(GPA_A, SIZE, UVA_A, 0),
            new GuestMemory.Region(GPA_B, SIZE, UVA_B, 0)}, new int[] {a.fd(), b.fd()});
        ga = a.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        gb = b.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    @After
    public void tearDown() {
        mem.unmap();
        a.close();
        b.close();
        assertEquals(0, pool.inUse());
    }

    /** Queue {@code idx} with its rings at offset {@code base} of region A. */
    private Virtqueue queue(int idx, int base) {
        return queue(idx, base, VirtioFeatures.bit(VirtioFeatures.F_VERSION_1)
                | VirtioFeatures.bit(VirtioFeatures.NET_F_MRG_RXBUF));
    }

    private Virtqueue queue(int idx, int base, long features) {
        return configure(new Virtqueue("t", idx), base, features);
    }

    private Virtqueue configure(Virtqueue vq, int base, long features) {
        vq.lock();
        try {
            vq.setFeatures(features);
            vq.setMemory(mem);
            vq.setNum(RING);
            vq.setAddr(UVA_A + base, UVA_A + base + 0x2000, UVA_A + base + 0x1000);
            vq.setBase(0);
            vq.start(null);
            vq.setEnabled(true);
            assertTrue(vq.ready());
        } finally {
            vq.unlock();
        }
        return vq;
    }

    private void desc(int base, int i, long addr, int len, int flags, int next) {
        int o = base + 16 * i;
        ga.putLong(o, addr).putInt(o + 8, len).putShort(o + 12, (short) flags).putShort(o + 14, (short) next);
    }

    private static byte[] frame(int len, int mul, int add) {
        byte[] f = new byte[len];
        for (int i = 0; i < f.length; i++) {
            f[i] = (byte) (i * mul + add);
        }
        return f;
    }

    /** Enqueues one packet holding {@code f} (lock taken and released here); returns packets sent. */
    private int enqueueOne(Virtqueue vq, byte[] f) {
        return enqueueAll(vq, f);
    }

    private void post(int base, int slot, int head) {
        ga.putShort(base + 0x1000 + 4 + 2 * slot, (short) head);
        ga.putShort(base + 0x1000 + 2, (short) (slot + 1));
    }

    @Test
    public void enqueueIntoABufferSpanningTwoRegions() {
        Virtqueue vq = queue(0, 0);
        long addr = GPA_B - 256; // 256 bytes in A, the rest in B
        desc(0, 0, addr, 2048, Virtqueue.DESC_F_WRITE, 0);
        post(0, 0, 0);
        byte[] f = frame(600, 13, 1);
        assertEquals(1, enqueueOne(vq, f));
        assertNull(vq.broken());
        // used ring: one element, id 0, 12 + 600 bytes
        assertEquals(1, ga.getShort(0x2000 + 2));
        assertEquals(0, ga.getInt(0x2000 + 4));
        assertEquals(612, ga.getInt(0x2000 + 8));
        byte[] got = new byte[612];
        ga.get((int) (addr - GPA_A), got, 0, 256);
        gb.get(0, got, 256, 356);
        assertEquals("num_buffers", 1, got[10]);
        byte[] payload = new byte[600];
        System.arraycopy(got, 12, payload, 0, 600);
        assertArrayEquals(f, payload);
        assertEquals(1, vq.counter(Virtqueue.C_PACKETS));
    }

    /** pmd-perf-metrics: a burst's copy phase is timed; an empty poll is not counted as copying. */
    @Test
    public void copyPhaseIsTimedOnlyWhenSwitchedOnAndOnlyForWork() {
        Virtqueue tx = queue(0, 0);
        Virtqueue rx = queue(1, 0x10000);
        desc(0, 0, GPA_A + 0x8000, 2048, Virtqueue.DESC_F_WRITE, 0);
        desc(0, 1, GPA_A + 0x9000, 2048, Virtqueue.DESC_F_WRITE, 0);
        post(0, 0, 0);
        byte[] f = frame(1000, 3, 1);
        try {
            assertEquals(1, enqueueOne(tx, f)); // timing off: nothing counted
            assertEquals(0, tx.counter(Virtqueue.C_COPY_NS));
            Virtqueue.setCopyTiming(true);
            post(0, 1, 1);
            assertEquals(1, enqueueOne(tx, f));
            assertTrue(tx.counter(Virtqueue.C_COPY_NS) > 0);
            PacketBatch batch = new PacketBatch();
            assertTrue(rx.tryLock());
            try {
                for (int i = 0; i < 100; i++) {
                    assertEquals(0, rx.dequeue(pool, batch)); // nothing posted: idle polls
                }
            } finally {
                rx.unlock();
            }
            assertEquals(0, rx.counter(Virtqueue.C_COPY_NS));
        } finally {
            Virtqueue.setCopyTiming(false);
        }
    }

    @Test
    public void dequeueFromABufferSpanningTwoRegions() {
        Virtqueue vq = queue(1, 0x10000);
        long addr = GPA_B - 100;
        byte[] f = new byte[3000]; // larger than one pool buffer: a chained packet
        for (int i = 0; i < f.length; i++) {
            f[i] = (byte) (i * 7 + 3);
        }
        byte[] wire = new byte[12 + f.length];
        System.arraycopy(f, 0, wire, 12, f.length);
        ga.put((int) (addr - GPA_A), wire, 0, 100);
        gb.put(0, wire, 100, wire.length - 100);
        desc(0x10000, 2, addr, wire.length, 0, 0);
        post(0x10000, 0, 2);
        PacketBatch batch = new PacketBatch();
        assertTrue(vq.tryLock());
        try {
            assertEquals(1, vq.dequeue(pool, batch));
        } finally {
            vq.unlock();
        }
        Packet p = batch.get(0);
        assertEquals(f.length, p.length());
        assertTrue(p.segments() > 1);
        assertArrayEquals(f, p.toByteArray());
        batch.freeAll();
        assertEquals(1, ga.getShort(0x10000 + 0x2000 + 2));
        assertEquals(2, ga.getInt(0x10000 + 0x2000 + 4));
    }

    /**
     * The guest transmits {@code frames} on the queue with rings at {@code base}: each after a zeroed header in
     * one descriptor (descriptor and slot i), the buffers {@code step} bytes apart from {@code at} in region A.
     */
    private void transmit(int base, long at, int step, byte[]... frames) {
        for (int i = 0; i < frames.length; i++) {
            byte[] wire = new byte[12 + frames[i].length];
            System.arraycopy(frames[i], 0, wire, 12, frames[i].length);
            ga.put((int) (at - GPA_A), wire);
            desc(base, i, at, wire.length, 0, 0);
            post(base, i, i);
            at += step;
        }
    }

    /**
     * A dequeue burst takes its packets from the pool in one operation: frames of one buffer use them,
     * a frame larger than a buffer is chained on its own, and what a burst that ends early (the ring broke
     * at its third chain) did not use goes back to the pool (tearDown checks that nothing leaked).
     */
    @Test
    public void aBurstsBulkAllocatedPacketsCarryEachFrameAndNoneIsLost() {
        Virtqueue vq = queue(1, 0x30000);
        byte[][] frames = {frame(100, 3, 1), frame(3000, 7, 2), frame(60, 5, 3)};
        transmit(0x30000, GPA_A + 0x40000, 4096, frames);
        PacketBatch batch = new PacketBatch();
        assertTrue(vq.tryLock());
        try {
            assertEquals(3, vq.dequeue(pool, batch));
        } finally {
            vq.unlock();
        }
        for (int i = 0; i < frames.length; i++) {
            assertArrayEquals(frames[i], batch.get(i).toByteArray());
        }
        assertTrue(batch.get(1).segments() > 1);
        batch.freeAll();
        assertEquals(0, pool.inUse());
        // three more chains; the second runs off the end of guest memory
        desc(0x30000, 3, GPA_A + 0x50000, 12 + 64, 0, 0);
        desc(0x30000, 4, GPA_B + SIZE - 50, 100, 0, 0);
        desc(0x30000, 5, GPA_A + 0x51000, 12 + 64, 0, 0);
        post(0x30000, 3, 3);
        post(0x30000, 4, 4);
        post(0x30000, 5, 5);
        assertTrue(vq.tryLock());
        try {
            assertEquals(1, vq.dequeue(pool, batch));
        } finally {
            vq.unlock();
        }
        assertTrue(vq.broken(), vq.broken().contains("outside guest memory"));
        assertEquals(64, batch.get(0).length());
        assertEquals(1, pool.inUse());
        batch.freeAll();
    }

    /**
     * The one-descriptor transmit buffer (the common case, copied without the general chain walk) at its
     * limits: a 1-byte frame, a frame of exactly one pool buffer and one byte more (chained, by the walk),
     * a buffer holding only the header (used, counted as an error, nothing delivered), each byte-exact.
     */
    @Test
    public void oneDescriptorFramesAtThePoolBuffersLimits() {
        Virtqueue vq = queue(1, 0x60000);
        int oneMax = pool.bufferSize() - pool.defaultHeadroom();
        byte[][] frames = {frame(1, 3, 1), frame(oneMax, 7, 2), frame(oneMax + 1, 5, 3), frame(0, 1, 1),
            frame(64, 11, 4)};
        transmit(0x60000, GPA_A + 0x70000, 8192, frames);
        PacketBatch batch = new PacketBatch();
        assertTrue(vq.tryLock());
        try {
            assertEquals(4, vq.dequeue(pool, batch)); // the empty one is used, not delivered
        } finally {
            vq.unlock();
        }
        int[] delivered = {0, 1, 2, 4};
        for (int i = 0; i < delivered.length; i++) {
            assertArrayEquals(frames[delivered[i]], batch.get(i).toByteArray());
        }
        assertEquals(1, batch.get(1).segments());
        assertEquals(2, batch.get(2).segments());
        assertEquals(1, vq.counter(Virtqueue.C_ERRORS));
        assertEquals(4, vq.counter(Virtqueue.C_PACKETS));
        assertNull(vq.broken());
        assertEquals(5, ga.getShort(0x60000 + 0x2000 + 2));
        for (int i = 0; i < frames.length; i++) {
            assertEquals("used element " + i, i, ga.getInt(0x60000 + 0x2000 + 4 + 8 * i));
        }
        batch.freeAll();
    }

    @Test
    public void aDescriptorRunningOffTheEndOfGuestMemoryBreaksTheQueue() {
        Virtqueue vq = queue(1, 0x20000);
        desc(0x20000, 0, GPA_B + SIZE - 50, 100, 0, 0); // past the end of B
        post(0x20000, 0, 0);
        PacketBatch batch = new PacketBatch();
        assertTrue(vq.tryLock());
        try {
            assertEquals(0, vq.dequeue(pool, batch));
        } finally {
            vq.unlock();
        }
        assertTrue(vq.broken(), vq.broken().contains("outside guest memory"));
        assertEquals(1, vq.counter(Virtqueue.C_BROKEN));
        // the control thread restarts the ring: clean again
        vq.lock();
        try {
            vq.stop();
            vq.start(null);
        } finally {
            vq.unlock();
        }
        assertNull(vq.broken());
    }

    /** A frame is waiting, but the control path holds the queue: the data path backs off, then takes it. */
    @Test
    public void theDataPathBacksOffWhileTheControlPathHoldsTheQueue() throws Exception {
        int base = 0x30000;
        Virtqueue vq = queue(1, base);
        desc(base, 0, GPA_A + 0x80000, 112, 0, 0);
        ga.putShort(base + 0x1000 + 4, (short) 0);
        ga.putShort(base + 0x1000 + 2, (short) 1); // one frame posted
        java.util.concurrent.atomic.AtomicInteger got = new java.util.concurrent.atomic.AtomicInteger(-1);
        PacketBatch batch = new PacketBatch();
        Runnable rxqRecv = () -> { // what VhostPort.rxqRecv does
            if (vq.tryLock()) {
                try {
                    got.set(vq.dequeue(pool, batch));
                } finally {
                    vq.unlock();
                }
            } else {
                got.set(-2); // backed off
            }
        };
        vq.lock();
        try {
            Thread t = new Thread(rxqRecv);
            t.start();
            t.join();
        } finally {
            vq.unlock();
        }
        assertEquals("backed off", -2, got.get());
        assertTrue(batch.isEmpty());
        Thread t = new Thread(rxqRecv);
        t.start();
        t.join();
        assertEquals("took the frame once the queue was free", 1, got.get());
        batch.freeAll();
    }

    /** Sends one 100-byte frame through TX queue {@code vq} (rings at {@code base}), slot {@code n}. */
    private void oneFrame(Virtqueue vq, int base, int n) {
        desc(base, n % RING, GPA_A + 0x80000, 112, 0, 0);
        ga.putShort(base + 0x1000 + 4 + 2 * (n % RING), (short) (n % RING));
        ga.putShort(base + 0x1000 + 2, (short) (n + 1));
        PacketBatch batch = new PacketBatch();
        assertTrue(vq.tryLock());
        try {
            assertEquals(1, vq.dequeue(pool, batch));
        } finally {
            vq.unlock();
        }
        batch.freeAll();
    }

    /** One used->idx update per burst that used something; a poll that found nothing publishes nothing. */
    @Test
    public void countsUsedIndexUpdates() {
        int base = 0x60000;
        Virtqueue vq = queue(1, base, VirtioFeatures.bit(VirtioFeatures.F_VERSION_1));
        oneFrame(vq, base, 0);
        oneFrame(vq, base, 1);
        PacketBatch batch = new PacketBatch();
        assertTrue(vq.tryLock());
        try {
            assertEquals(0, vq.dequeue(pool, batch)); // the guest made nothing more available
        } finally {
            vq.unlock();
        }
        assertEquals(2, vq.counter(Virtqueue.C_USED_UPDATES));
        assertEquals(2, vq.counter(Virtqueue.C_PACKETS));
    }

    @Test
    public void callsOnlyWhenTheGuestWantsThem() throws Exception {
        try (io.pvio.posix.EventFd call = io.pvio.posix.EventFd.create()) {
            int base = 0x40000;
            Virtqueue vq = queue(1, base, VirtioFeatures.bit(VirtioFeatures.F_VERSION_1));
            vq.lock();
            vq.setCall(io.pvio.posix.EventFd.adopt(io.pvio.posix.Fd.dup(call.fd())));
            vq.unlock();
            assertEquals("we poll: the guest need not kick", 1, ga.getShort(base + 0x2000) & 1);
            oneFrame(vq, base, 0);
            assertEquals("interrupts wanted", 1, call.drain());
            ga.putShort(base + 0x1000, (short) 1); // VRING_AVAIL_F_NO_INTERRUPT: a polling guest
            oneFrame(vq, base, 1);
            oneFrame(vq, base, 2);
            assertEquals(0, call.drain());
            assertEquals(1, vq.counter(Virtqueue.C_NOTIFICATIONS));
        }
        try (io.pvio.posix.EventFd call = io.pvio.posix.EventFd.create()) {
            int base = 0x50000;
            Virtqueue vq = queue(1, base, VirtioFeatures.bit(VirtioFeatures.F_VERSION_1)
                    | VirtioFeatures.bit(VirtioFeatures.RING_F_EVENT_IDX));
            vq.lock();
            vq.setCall(io.pvio.posix.EventFd.adopt(io.pvio.posix.Fd.dup(call.fd())));
            vq.unlock();
            ga.putShort(base + 0x1000 + 4 + 2 * RING, (short) 3); // used_event: wake me after entry 3
            for (int n = 0; n < 3; n++) {
                oneFrame(vq, base, n);
                assertEquals("used idx " + (n + 1), 0, call.drain());
            }
            oneFrame(vq, base, 3);
            assertEquals("used idx crossed used_event", 1, call.drain());
            oneFrame(vq, base, 4);
            assertEquals(0, call.drain());
        }
    }

    /** A region larger than one view is mapped in overlapping slices; rings and buffers may cross slices. */
    @Test
    public void regionsMappedInSlices() throws Exception {
        mem.unmap();
        mem = GuestMemory.map(new GuestMemory.Region[] {new GuestMemory.Region(GPA_A, SIZE, UVA_A, 0)},
                new int[] {a.fd()}, 0x10000, 0x2000);
        assertEquals(1, mem.regions());
        assertEquals(16, mem.slices());
        int base = 0xffc0; // the descriptor table crosses the first slice boundary
        Virtqueue vq = queue(0, base);
        long addr = GPA_A + 0x20000 - 100;
        desc(base, 0, addr, 4096, Virtqueue.DESC_F_WRITE, 0);
        post(base, 0, 0);
        byte[] f = frame(1500, 5, 2);
        assertEquals(1, enqueueOne(vq, f));
        assertNull(vq.broken());
        byte[] got = new byte[1500];
        ga.get((int) (addr - GPA_A) + 12, got);
        assertArrayEquals(f, got);
        assertEquals(1512, ga.getInt(base + 0x2000 + 8));
        assertTrue(mem.containsGpa(GPA_A, SIZE));
        assertTrue(!mem.containsGpa(GPA_A, SIZE + 1));
    }

    /**
     * The ring breaks on the second packet of a burst whose first packet's copy was deferred: nothing of the
     * burst is published, and the deferred copy is forgotten with it (not run into that buffer by the next
     * burst, after the ring is set up again).
     */
    @Test
    public void aBurstTheRingBreaksInForgetsItsDeferredCopies() {
        Virtqueue vq = queue(0, 0);
        int a = 0x10000;
        int b = 0x20000;
        desc(0, 0, GPA_A + a, 2048, Virtqueue.DESC_F_WRITE, 0);
        desc(0, 1, 0x10, 2048, Virtqueue.DESC_F_WRITE, 0); // below guest memory
        post(0, 0, 0);
        post(0, 1, 1);
        assertEquals(0, enqueueAll(vq, frame(100, 3, 1), frame(100, 5, 2)));
        assertTrue(vq.broken().contains("outside guest memory"));
        assertEquals("nothing published", 0, ga.getShort(0x2000 + 2));
        // the front end sets the ring up again (as after GET_VRING_BASE), with buffer b at slot 0
        vq.lock();
        vq.reset();
        vq.unlock();
        for (int i = 0; i < 2048; i++) {
            ga.put(a + i, (byte) 0);
        }
        ga.putShort(0x1000 + 2, (short) 0);
        configure(vq, 0, VirtioFeatures.bit(VirtioFeatures.F_VERSION_1) | VirtioFeatures.bit(VirtioFeatures.NET_F_MRG_RXBUF));
        desc(0, 0, GPA_A + b, 2048, Virtqueue.DESC_F_WRITE, 0);
        post(0, 0, 0);
        byte[] f = frame(100, 7, 3);
        assertEquals(1, enqueueAll(vq, f));
        byte[] got = new byte[100];
        ga.get(b + 12, got);
        assertArrayEquals(f, got);
        for (int i = 0; i < 2048; i++) {
            assertEquals("byte " + i + " of the old buffer", 0, ga.get(a + i));
        }
    }

    /** A memory table that would take thousands of mappings is refused before anything is mapped. */
    @Test
    public void aTableNeedingTooManyMappingsIsRefused() throws Exception {
        try {
            GuestMemory.map(new GuestMemory.Region[] {new GuestMemory.Region(GPA_A, SIZE, UVA_A, 0)},
                    new int[] {a.fd()}, 128, 0); // 8192 slices of 128 bytes
            org.junit.Assert.fail("refused");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("more than " + GuestMemory.MAX_SLICES + " mappings"));
        }
    }

    /** Enqueues one batch holding the frames (lock taken and released here); returns packets sent. */
    private int enqueueAll(Virtqueue vq, byte[]... frames) {
        PacketBatch batch = new PacketBatch();
        for (byte[] f : frames) {
            Packet p = pool.alloc();
            p.buffer().put(p.append(f.length), f);
            batch.add(p);
        }
        assertTrue(vq.tryLock());
        try {
            return vq.enqueue(batch);
        } finally {
            vq.unlock();
            batch.freeAll();
        }
    }

    /**
     * Receive buffers are recycled: whatever a buffer held (an old header, old bytes), the guest gets a clean
     * header (no offloads, num_buffers 1) and the frame, for small frames (copies deferred to the end of the
     * burst) and large ones (copied in place) in the same burst.
     */
    @Test
    public void recycledBuffersGetACleanHeaderAndTheirFrame() {
        Virtqueue vq = queue(0, 0);
        int[] sizes = {60, 300, 64, 1000, 256, 0};
        byte[][] frames = new byte[sizes.length][];
        for (int k = 0; k < sizes.length; k++) {
            int at = 0x10000 + 0x1000 * k;
            for (int j = 0; j < 2048; j++) {
                ga.put(at + j, (byte) 0xaa); // a previous tenant's bytes
            }
            if (k == 2) {
                ga.putLong(at, 0).putInt(at + 8, 1 << 16); // already the right header
            }
            desc(0, k, GPA_A + at, 2048, Virtqueue.DESC_F_WRITE, 0);
            post(0, k, k);
            frames[k] = frame(sizes[k], 7 + k, k);
        }
        assertEquals(sizes.length, enqueueAll(vq, frames));
        assertNull(vq.broken());
        assertEquals(sizes.length, ga.getShort(0x2000 + 2));
        for (int k = 0; k < sizes.length; k++) {
            int at = 0x10000 + 0x1000 * k;
            assertEquals("used id " + k, k, ga.getInt(0x2000 + 4 + 8 * k));
            assertEquals("used len " + k, 12 + sizes[k], ga.getInt(0x2000 + 8 + 8 * k));
            assertEquals("header " + k, 0, ga.getLong(at));
            assertEquals("csum_offset " + k, 0, ga.getShort(at + 8));
            assertEquals("num_buffers " + k, 1, ga.getShort(at + 10));
            byte[] got = new byte[sizes[k]];
            ga.get(at + 12, got);
            assertArrayEquals("frame " + k, frames[k], got);
            assertEquals("byte after frame " + k, (byte) 0xaa, ga.get(at + 12 + sizes[k]));
        }
    }

    /**
     * Small frames scattered over many tiny buffers (indirect tables of 8-byte buffers): more pieces in one
     * burst than the deferred-copy list holds, so it is run in the middle of the burst too; every byte lands.
     */
    @Test
    public void aBurstOfMorePiecesThanTheCopyListHoldsLandsWhole() {
        Virtqueue vq = queue(0, 0, VirtioFeatures.bit(VirtioFeatures.F_VERSION_1)
                | VirtioFeatures.bit(VirtioFeatures.NET_F_MRG_RXBUF) | VirtioFeatures.bit(VirtioFeatures.RING_F_INDIRECT_DESC));
        int n = 6;
        int len = 250; // 262 bytes with the header: 33 buffers of 8 bytes each, 6 x 33 > 128 pieces
        int per = (12 + len + 7) / 8;
        byte[][] frames = new byte[n][];
        for (int k = 0; k < n; k++) {
            int table = 0x10000 + 0x1000 * k;
            for (int j = 0; j < per; j++) {
                long buf = GPA_A + 0x40000 + 0x1000 * k + 8 * j;
                int o = table + 16 * j;
                ga.putLong(o, buf).putInt(o + 8, 8)
                        .putShort(o + 12, (short) (Virtqueue.DESC_F_WRITE | (j + 1 < per ? Virtqueue.DESC_F_NEXT : 0)))
                        .putShort(o + 14, (short) (j + 1));
            }
            desc(0, k, GPA_A + table, 16 * per, Virtqueue.DESC_F_INDIRECT, 0);
            post(0, k, k);
            frames[k] = frame(len, 3, 11 * k);
        }
        assertEquals(n, enqueueAll(vq, frames));
        assertNull(vq.broken());
        for (int k = 0; k < n; k++) {
            int at = 0x40000 + 0x1000 * k; // the 8-byte buffers of packet k are contiguous here
            assertEquals("used len " + k, 12 + len, ga.getInt(0x2000 + 8 + 8 * k));
            assertEquals("num_buffers " + k, 1, ga.getShort(at + 10));
            byte[] got = new byte[len];
            ga.get(at + 12, got);
            assertArrayEquals("frame " + k, frames[k], got);
        }
    }
}
