package io.pvio.vhost.async;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import io.pvio.posix.SharedMemory;
import io.pvio.vhost.ring.DirtyLog;
import io.pvio.vhost.ring.GuestMemory;
import io.pvio.vhost.ring.SealedMemfd;
import io.pvio.vhost.ring.VirtioFeatures;
import io.pvio.vhost.ring.Virtqueue;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Set;
import java.util.TreeSet;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * Dirty page logging of asynchronous enqueues: a DMA copy is marked when its completion is collected, not
 * when it is submitted (QEMU could copy the page in between and miss the write), a copy the channel failed
 * and the CPU redid likewise, a copy the CPU did at once right away; the used ring once it is published.
 */
public class AsyncDirtyLogTest {
    private static final long GPA = 0x100000;
    private static final long UVA = 0x7000_0000L;
    private static final int SIZE = 1 << 20;
    private static final int RING = 8;
    private static final int AVAIL = 0x1000;
    private static final int USED = 0x2000;
    private static final long USED_PAGE = (GPA + USED) >>> 12;

    private SharedMemory region;
    private GuestMemory mem;
    private ByteBuffer g;
    private int logFd;
    private DirtyLog log;
    private SharedMemory qemu;
    private final PacketPool pool = new PacketPool("adl", 64);
    private final ManualDma dma = new ManualDma(64);
    private Virtqueue vq;

    @Before
    public void setUp() throws Exception {
        region = SharedMemory.createMemfd("guest", SIZE);
        mem = GuestMemory.map(new GuestMemory.Region[] {new GuestMemory.Region(GPA, SIZE, UVA, 0)},
                new int[] {region.fd()});
        g = region.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        logFd = SealedMemfd.create(4096, true);
        log = DirtyLog.map(logFd, DirtyLog.bytesFor(GPA + SIZE), 0);
        qemu = SharedMemory.map(logFd, 4096, 0);
        vq = new Virtqueue("t", 0);
        vq.lock();
        try {
            vq.setFeatures(VirtioFeatures.bit(VirtioFeatures.F_VERSION_1)
                    | VirtioFeatures.bit(VirtioFeatures.NET_F_MRG_RXBUF)
                    | VirtioFeatures.bit(VirtioFeatures.F_LOG_ALL));
            vq.setMemory(mem);
            vq.setLog(log);
            vq.setNum(RING);
            vq.setAddr(UVA, UVA + USED, UVA + AVAIL, GPA + USED);
            vq.setBase(0);
            vq.start(null);
            vq.setEnabled(true);
        } finally {
            vq.unlock();
        }
        takeDirty();
    }

    private void bind(int threshold) {
        vq.lock();
        try {
            DmaChannel ch = new DmaChannel(dma, "0000:00:04.0", "manual");
            vq.tracker().attach(ch, ch.register(vq.tracker()), threshold);
        } finally {
            vq.unlock();
        }
    }

    @After
    public void tearDown() {
        vq.lock();
        try {
            vq.reset();
        } finally {
            vq.unlock();
        }
        mem.unmap();
        log.unmap();
        qemu.unmap();
        SealedMemfd.close(logFd);
        region.close();
        assertEquals("buffers in use", 0, pool.inUse());
    }

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

    private void desc(int i, long addr, int len, int flags, int next) {
        int o = 16 * i;
        g.putLong(o, addr).putInt(o + 8, len).putShort(o + 12, (short) flags).putShort(o + 14, (short) next);
    }

    private void post(int slot, int head) {
        g.putShort(AVAIL + 4 + 2 * (slot % RING), (short) head);
        g.putShort(AVAIL + 2, (short) (slot + 1));
    }

    private int send(int len) {
        PacketBatch b = new PacketBatch();
        Packet p = pool.alloc();
        int at = p.append(len);
        for (int i = 0; i < len; i++) {
            p.buffer().put(at + i, (byte) (i + 1));
        }
        b.add(p);
        vq.lock();
        try {
            int sent = vq.enqueueAsync(b);
            for (int i = sent; i < b.size(); i++) {
                b.get(i).free();
            }
            return sent;
        } finally {
            vq.unlock();
        }
    }

    private void complete() {
        vq.lock();
        try {
            vq.completeAsync();
        } finally {
            vq.unlock();
        }
    }

    /** One buffer, header in the packet's headroom: the guest's only write is the DMA copy. */
    @Test
    public void aDmaCopyIsMarkedWhenItsCompletionIsCollected() {
        bind(0);
        long buf = GPA + 0x10ff0; // across a page boundary
        desc(0, buf, 2048, 2, 0);
        post(0, 0);
        assertEquals(1, send(300));
        assertEquals(1, vq.tracker().dmaInFlight());
        complete();
        assertEquals("submitted, not done: nothing written, nothing marked", pages(), takeDirty());
        dma.run(Integer.MAX_VALUE);
        assertEquals("done by the engine, not yet collected", pages(), takeDirty());
        complete();
        assertEquals(pages(buf >>> 12, (buf >>> 12) + 1, USED_PAGE), takeDirty());
        assertEquals((byte) 1, g.get((int) (buf - GPA) + 12));
        assertEquals(1, g.getShort(USED + 2));
    }

    /** A chain over two pages: each DMA segment marks its own page when it completes. */
    @Test
    public void aChainsSegmentsAreMarkedWhenTheyComplete() {
        bind(0);
        long first = GPA + 0x30000;
        long second = GPA + 0x50000;
        long unused = GPA + 0x60000;
        desc(0, first, 100, 2 | 1, 1);
        desc(1, second, 2048, 2 | 1, 2);
        desc(2, unused, 2048, 2, 0);
        post(0, 0);
        assertEquals(1, send(500));
        assertEquals(2, vq.tracker().dmaInFlight());
        dma.run(1);
        complete();
        assertEquals("the first segment only; the used element waits for the second", pages(first >>> 12),
                takeDirty());
        dma.run(1);
        complete();
        assertEquals(pages(second >>> 12, USED_PAGE), takeDirty());
        assertNull(vq.broken());
    }

    /** A copy the channel failed is redone by the CPU when its completion is collected, and marked then. */
    @Test
    public void aFailedCopyRedoneByTheCpuIsMarked() {
        bind(0);
        long buf = GPA + 0x40000;
        desc(0, buf, 2048, 2, 0);
        post(0, 0);
        dma.failNext = 1;
        assertEquals(1, send(200));
        dma.run(Integer.MAX_VALUE);
        assertEquals(pages(), takeDirty());
        complete();
        assertEquals(1L, vq.tracker().dmaErrors());
        assertEquals(pages(buf >>> 12, USED_PAGE), takeDirty());
        assertEquals((byte) 2, g.get((int) (buf - GPA) + 13));
    }

    /**
     * QEMU stops the source (GET_VRING_BASE) with a copy in flight: the stop completes it, marks its pages
     * and the used ring, and only then reports the base, so that QEMU's last log sync sees them.
     */
    @Test
    public void aCopyInFlightAtTheSwitchOverIsMarkedBeforeGetVringBaseAnswers() {
        bind(0);
        long buf = GPA + 0x60000;
        desc(0, buf, 2048, 2, 0);
        post(0, 0);
        assertEquals(1, send(1000));
        assertEquals(1, vq.tracker().dmaInFlight());
        assertEquals(pages(), takeDirty());
        dma.auto = true; // the engine works on while the control thread waits for it
        int base;
        vq.lock();
        try {
            base = vq.stop();
        } finally {
            vq.unlock();
        }
        assertEquals(1, base);
        assertEquals(1, g.getShort(USED + 2));
        assertEquals(pages(buf >>> 12, USED_PAGE), takeDirty());
    }

    /** Below the threshold the tracker copies on the CPU at once: marked at once, the used ring on retiring. */
    @Test
    public void cpuCopiesOfTheTrackerAreMarkedAtOnce() {
        bind(Integer.MAX_VALUE);
        long buf = GPA + 0x20000;
        desc(0, buf, 2048, 2, 0);
        desc(1, buf + 0x1000, 2048, 2, 0);
        post(0, 0);
        post(1, 1);
        vq.lock();
        try {
            PacketBatch b = new PacketBatch();
            for (int k = 0; k < 2; k++) {
                Packet p = pool.alloc();
                p.append(100);
                b.add(p);
            }
            assertEquals(2, vq.enqueueAsync(b));
        } finally {
            vq.unlock();
        }
        assertEquals(pages(buf >>> 12, (buf >>> 12) + 1, USED_PAGE), takeDirty());
        assertEquals(0, vq.tracker().inFlight());
    }
}
