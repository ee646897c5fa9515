package io.pvio.vhost.async;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import io.pvio.posix.SharedMemory;
import io.pvio.vhost.ring.GuestMemory;
import io.pvio.vhost.ring.VirtioFeatures;
import io.pvio.vhost.ring.Virtqueue;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * A receive virtqueue whose copies go through a DMA channel the test drives ({@link ManualDma}), against a
 * guest that misbehaves in the middle of a burst or while copies are in flight. Packets are owned exactly
 * once: the pool ends empty, and nothing throws.
 */
public class AsyncVirtqueueTest {
    private static final long GPA = 0x100000;
    private static final long UVA = 0x7000_0000L;
    private static final int SIZE = 1 << 20;
    private static final int RING = 8;
    private static final int AVAIL = 0x1000;
    private static final int USED = 0x2000;

    private SharedMemory region;
    private GuestMemory mem;
    private ByteBuffer g;
    private final PacketPool pool = new PacketPool("avq", 64);
    private final ManualDma dma = new ManualDma(64);
    private Virtqueue vq;

    @Before
    public void setUp() throws Exception {
        region = SharedMemory.createMemfd("guest", SIZE);
        mem = GuestMemory.map(new GuestMemory.Region[] {new GuestMemory.Region(GPA, SIZE, UVA, 0)},
                new int[] {region.fd()});
        g = region.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        vq = new Virtqueue("t", 0);
        vq.lock();
        try {
            vq.setFeatures(VirtioFeatures.bit(VirtioFeatures.F_VERSION_1)
                    | VirtioFeatures.bit(VirtioFeatures.NET_F_MRG_RXBUF));
            vq.setMemory(mem);
            vq.setNum(RING);
            vq.setAddr(UVA, UVA + USED, UVA + AVAIL);
            vq.setBase(0);
            vq.start(null);
            vq.setEnabled(true);
            DmaChannel ch = new DmaChannel(dma, "0000:00:04.0", "manual");
            vq.tracker().attach(ch, ch.register(vq.tracker()), 0); // every copy by DMA
        } finally {
            vq.unlock();
        }
    }

    @After
    public void tearDown() {
        mem.unmap();
        region.close();
        assertEquals("buffers in use", 0, pool.inUse());
    }

    private void desc(int i, long addr, int len) {
        int o = 16 * i;
        g.putLong(o, addr).putInt(o + 8, len).putShort(o + 12, (short) 2) // VRING_DESC_F_WRITE
                .putShort(o + 14, (short) 0);
    }

    /** Puts {@code head} in avail slot {@code slot} and moves avail->idx past it. */
    private void post(int slot, int head) {
        g.putShort(AVAIL + 4 + 2 * (slot % RING), (short) head);
        g.putShort(AVAIL + 2, (short) (slot + 1));
    }

    private PacketBatch batch(int n, int len) {
        PacketBatch b = new PacketBatch();
        for (int k = 0; k < n; k++) {
            Packet p = pool.alloc();
            int at = p.append(len);
            for (int i = 0; i < len; i++) {
                p.buffer().put(at + i, (byte) (k + i));
            }
            b.add(p);
        }
        return b;
    }

    /** As VhostPort.send: the first {@code sent} packets are the queue's, the caller frees the rest. */
    private int send(PacketBatch b) {
        vq.lock();
        try {
            int sent = vq.enqueueAsync(b);
            for (int i = sent; i < b.size(); i++) {
                b.get(i).free();
            }
            b.clear();
            return sent;
        } finally {
            vq.unlock();
        }
    }

    private void completeAll() {
        dma.run(Integer.MAX_VALUE);
        vq.lock();
        try {
            vq.completeAsync();
        } finally {
            vq.unlock();
        }
    }

    /**
     * The second descriptor of a burst points outside guest memory: the ring breaks, the packet already
     * submitted stays the queue's (sent = 1) and is retired once, after its copy; the other is the caller's.
     */
    @Test
    public void ringBreakingInTheMiddleOfABurstKeepsTheSubmittedPacketOwnedOnce() {
        desc(0, GPA + 0x10000, 2048);
        desc(1, 0x10, 2048); // below guest memory
        post(0, 0);
        post(1, 1);
        assertEquals(1, send(batch(2, 300)));
        assertNotNull(vq.broken());
        assertEquals(1, vq.tracker().inFlight());
        completeAll();
        assertEquals(0, vq.tracker().inFlight());
        assertEquals("the submitted packet's buffer is used", 1, g.getShort(USED + 2));
        assertEquals(0, g.getInt(USED + 4));
        assertEquals(312, g.getInt(USED + 8));
        assertEquals((byte) 7, g.get(0x10000 + 12 + 7)); // its bytes landed
    }

    /**
     * A guest that posts the same heads again while their copies are in flight gets more used elements
     * retired at once than its ring has entries: they are published in ring-sized steps, nothing throws.
     */
    @Test
    public void moreUsedElementsInFlightThanTheRingHasAreRetiredWithoutOverflow() {
        for (int i = 0; i < RING; i++) {
            desc(i, GPA + 0x10000 + 0x100 * i, 64);
        }
        for (int slot = 0; slot < RING; slot++) {
            post(slot, slot);
        }
        assertEquals(1, send(batch(1, 400))); // 412 bytes: 7 buffers of 64
        for (int slot = RING; slot < 2 * RING - 1; slot++) {
            post(slot, slot - RING); // the same heads again, their copies not done (avail 8 ahead at most)
        }
        assertEquals(1, send(batch(1, 400)));
        assertEquals(2, vq.tracker().inFlight());
        completeAll();
        assertNull(vq.broken());
        assertEquals(0, vq.tracker().inFlight());
        assertEquals("14 used elements published", 14, g.getShort(USED + 2));
    }

    /**
     * VIRTIO_F_IN_ORDER, which the back end offers: buffers are used in the order they were made available,
     * whoever copies. Heads posted out of table order, DMA copies (400 B) and CPU copies (64 B, below the
     * threshold) alternating: with only the first DMA copy done, the used ring holds the first two buffers
     * (the CPU-copied one waits behind the DMA one before it); then all four, in avail order.
     */
    @Test
    public void buffersAreUsedInTheOrderTheyWereMadeAvailableWhoeverCopies() {
        vq.lock();
        try {
            DmaChannel ch = new DmaChannel(dma, "0000:00:04.1", "manual");
            vq.tracker().attach(ch, ch.register(vq.tracker()), 256);
        } finally {
            vq.unlock();
        }
        int[] heads = {3, 0, 2, 1};
        for (int i = 0; i < 4; i++) {
            desc(i, GPA + 0x10000 + 0x800 * i, 2048);
        }
        for (int slot = 0; slot < 4; slot++) {
            post(slot, heads[slot]);
        }
        PacketBatch b = new PacketBatch();
        for (int k = 0; k < 4; k++) {
            b.add(batch(1, k % 2 == 0 ? 400 : 64).get(0));
        }
        assertEquals(4, send(b));
        assertEquals("all four in flight: two DMA copies, each CPU-copied packet behind one", 4, vq.tracker().inFlight());
        dma.run(1);
        vq.lock();
        try {
            vq.completeAsync();
        } finally {
            vq.unlock();
        }
        assertEquals("the first DMA copy and the CPU copy after it", 2, g.getShort(USED + 2));
        completeAll();
        assertEquals(4, g.getShort(USED + 2));
        for (int k = 0; k < 4; k++) {
            assertEquals("used element " + k, heads[k], g.getInt(USED + 4 + 8 * k));
            assertEquals("its length", 12 + (k % 2 == 0 ? 400 : 64), g.getInt(USED + 8 + 8 * k));
        }
    }
}
