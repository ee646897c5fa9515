package io.pvio.vhost.ring;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import io.pvio.posix.SharedMemory;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.Test;

/**
 * Issue 15: a poll of an idle queue on unsealed memory reads avail->idx only, in a way that leaves no fault
 * pending, so it needs no fault fence; once the front end truncated the rings away, that read faults inside
 * the queue's own burst (the queue breaks) and nothing is left for whatever the thread runs next.
 */
public class IdlePollFaultTest {
    private static final long GPA = 0x100000;
    private static final long UVA = 0x7000_0000L;
    private static final int SIZE = 1 << 20;
    private static final int RINGS = 0x10000; // desc, avail (+0x1000), used (+0x2000): pages 16-18
    private static final int RING = 8;

    @Test
    public void idlePollNeedsNoFenceAndATruncatedRingFaultsInItsQueue() throws Exception {
        PacketPool pool = new PacketPool("idle", 64);
        try (SharedMemory file = SharedMemory.createMemfd("idle", SIZE)) {
            GuestMemory mem = GuestMemory.map(new GuestMemory.Region[] {new GuestMemory.Region(GPA, SIZE, UVA, 0)},
                    new int[] {file.fd()});
            try {
                assertFalse("a plain memfd is not sealed", mem.sealed());
                ByteBuffer g = file.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
                Virtqueue vq = new Virtqueue("idle", 1);
                vq.lock();
                try {
                    vq.setFeatures(VirtioFeatures.bit(VirtioFeatures.F_VERSION_1));
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
                PacketBatch batch = new PacketBatch();
                // one frame from the guest: a burst that touched memory past the index owes its fence
                int d = RINGS;
                g.putLong(d, GPA + 0x40000).putInt(d + 8, 12 + 100).putShort(d + 12, (short) 0).putShort(d + 14,
                        (short) 0);
                g.putShort(RINGS + 0x1000 + 4, (short) 0);
                g.putShort(RINGS + 0x1000 + 2, (short) 1);
                vq.lock();
                try {
                    assertEquals(1, vq.dequeue(pool, batch));
                    assertTrue("a burst with a frame owes its fence", vq.fenceDue());
                    vq.faultFence();
                    assertFalse(vq.fenceDue());
                } finally {
                    vq.unlock();
                }
                batch.freeAll();
                for (int i = 0; i < 30_000; i++) { // compiled by now
                    vq.lock();
                    try {
                        assertEquals(0, vq.dequeue(pool, batch));
                        assertFalse("an idle poll owes no fence", vq.fenceDue());
                    } finally {
                        vq.unlock();
                    }
                }
                try (RandomAccessFile f = new RandomAccessFile("/proc/self/fd/" + file.fd(), "rw")) {
                    f.setLength(4096); // the rings are gone
                }
                int got;
                try {
                    got = poll(vq, pool, batch);
                } catch (InternalError e) {
                    throw new AssertionError("the fault escaped the queue's burst", e);
                }
                assertEquals(0, got);
                assertNotNull("the queue broke on its own fault", vq.broken());
                assertTrue(vq.broken(), vq.broken().contains("InternalError"));
                // nothing is left pending for whatever this thread runs next
                GuestMemory.deliverPendingFault();
                assertEquals(0, pool.inUse());
            } finally {
                mem.unmap();
            }
        }
    }

    /** One poll as VhostPort.rxqRecv makes it: the burst, then the fence (which does nothing when not due). */
    private static int poll(Virtqueue vq, PacketPool pool, PacketBatch batch) {
        vq.lock();
        try {
            int n = vq.dequeue(pool, batch);
            vq.faultFence();
            return n;
        } finally {
            vq.unlock();
        }
    }
}
