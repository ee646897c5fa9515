package io.pvio.virtio.user;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.posix.EventFd;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.After;
import org.junit.Test;

/** Ring logic without a back end: the test plays the device on the same memory. */
public class VirtqueueTest {
    static final long GPA = 0x40000000L;
    private final ByteBuffer mem = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
    private EventFd kick;
    private EventFd call;

    @After
    public void tearDown() {
        if (kick != null) {
            kick.close();
            call.close();
        }
    }

    private Virtqueue queue(int index, int size, int k, int slotBytes, int segSize, TxShape shape, boolean mrg)
            throws Exception {
        kick = EventFd.create();
        call = EventFd.create();
        int used = RingMath.alignUp(16 * size + 6 + 2 * size, 4096);
        Virtqueue q = new Virtqueue(index, mem, GPA, 0, 16 * size, used, size, k, 65536, slotBytes, segSize,
                32768, shape, mrg, kick, call);
        q.init();
        q.ready = true;
        return q;
    }

    // ---- device side helpers
    private int devAvailIdx(Virtqueue q) {
        return mem.getShort(q.availOff + 2) & 0xffff;
    }

    private int devAvailHead(Virtqueue q, int i) {
        return mem.getShort(q.availOff + 4 + 2 * (i & q.mask)) & 0xffff;
    }

    private void devPushUsed(Virtqueue q, int usedIdx, int id, int len) {
        mem.putInt(q.usedOff + 4 + 8 * (usedIdx & q.mask), id);
        mem.putInt(q.usedOff + 8 + 8 * (usedIdx & q.mask), len);
    }

    private void devSetUsedIdx(Virtqueue q, int idx) {
        mem.putShort(q.usedOff + 2, (short) idx);
    }

    private int off(long gpa) {
        return (int) (gpa - GPA);
    }

    /** Reads a TX chain like a device does (following NEXT and INDIRECT); returns header + data bytes. */
    private byte[] devReadChain(Virtqueue q, int head) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int table = q.descOff;
        int i = head;
        int flags = mem.getShort(table + 16 * i + 12);
        if ((flags & VhostUser.VRING_DESC_F_INDIRECT) != 0) {
            table = off(mem.getLong(table + 16 * i));
            i = 0;
        }
        for (int n = 0; n < 16; n++) {
            int d = table + 16 * i;
            long addr = mem.getLong(d);
            int len = mem.getInt(d + 8);
            flags = mem.getShort(d + 12);
            byte[] b = new byte[len];
            mem.get(off(addr), b);
            out.write(b, 0, len);
            if ((flags & VhostUser.VRING_DESC_F_NEXT) == 0) {
                return out.toByteArray();
            }
            i = mem.getShort(d + 14);
        }
        throw new AssertionError("chain too long");
    }

    private static byte[] frame(int seq, int len) {
        byte[] f = new byte[len];
        for (int i = 0; i < len; i++) {
            f[i] = (byte) (seq + i * 13);
        }
        return f;
    }

    @Test
    public void txShapesProduceHeaderAndFrameAcrossIndexWrap() throws Exception {
        for (TxShape shape : TxShape.values()) {
            int k = VirtioUserDevice.txDescsPerSlot(shape);
            Virtqueue q = queue(1, 8, k, 4096, 4096, shape, true);
            int used = 0;
            // 70000 frames through an 8-entry ring: the avail and used indices wrap past 2^16
            int total = shape == TxShape.PUSH ? 70000 : 3000;
            for (int seq = 0; seq < total; seq++) {
                int len = 1 + (seq * 37) % 1500;
                byte[] f = frame(seq, len);
                q.sourceBytes(f, 0);
                assertTrue(shape + " seq " + seq, q.enqueue(len));
                q.publish();
                int availIdx = devAvailIdx(q);
                assertEquals((seq + 1) & 0xffff, availIdx);
                int head = devAvailHead(q, seq);
                byte[] got = devReadChain(q, head);
                assertEquals(12 + len, got.length);
                for (int i = 0; i < 12; i++) {
                    assertEquals(0, got[i]);
                }
                byte[] data = new byte[len];
                System.arraycopy(got, 12, data, 0, len);
                assertArrayEquals(shape + " seq " + seq, f, data);
                devPushUsed(q, used, head, 0);
                used = (used + 1) & 0xffff;
                devSetUsedIdx(q, used);
            }
            assertEquals(0, q.reclaim());
            assertEquals(0, q.counter(Virtqueue.C_ERRORS));
            tearDown();
        }
    }

    @Test
    public void txRingFullThenReclaim() throws Exception {
        Virtqueue q = queue(1, 8, 2, 4096, 4096, TxShape.CHAIN, true); // 4 slots of 2 descriptors
        byte[] f = frame(1, 100);
        for (int i = 0; i < 4; i++) {
            q.sourceBytes(f, 0);
            assertTrue(q.enqueue(100));
        }
        q.sourceBytes(f, 0);
        assertFalse(q.enqueue(100));
        assertEquals(1, q.counter(Virtqueue.C_RING_FULL));
        q.publish();
        devPushUsed(q, 0, devAvailHead(q, 2), 0); // out of order completion
        devSetUsedIdx(q, 1);
        q.sourceBytes(f, 0);
        assertTrue(q.enqueue(100));
        assertEquals(4, q.inFlight());
        // a hostile used entry naming a descriptor that is not a head in flight
        devPushUsed(q, 1, 3, 0);
        devSetUsedIdx(q, 2);
        assertEquals(4, q.reclaim());
        assertEquals(1, q.counter(Virtqueue.C_ERRORS));
    }

    /** A frame whose source is shorter than its length is refused without losing its slot. */
    @Test
    public void aRefusedCopyGivesItsSlotBack() throws Exception {
        Virtqueue q = queue(1, 8, 1, 4096, 4096, TxShape.PUSH, true); // 8 slots
        byte[] shortSource = frame(1, 10);
        for (int i = 0; i < 8; i++) {
            q.sourceBytes(shortSource, 0);
            try {
                q.enqueue(100);
                fail("a 10-byte source enqueued as 100 bytes");
            } catch (IndexOutOfBoundsException expected) {
                // refused
            }
        }
        byte[] f = frame(2, 100);
        for (int i = 0; i < 8; i++) {
            q.sourceBytes(f, 0);
            assertTrue("slot " + i + " still free", q.enqueue(100));
        }
        q.publish();
        assertEquals(8, devAvailIdx(q));
    }

    @Test
    public void kicksFollowNoNotifyFlag() throws Exception {
        Virtqueue q = queue(1, 8, 1, 4096, 4096, TxShape.PUSH, true);
        byte[] f = frame(1, 60);
        q.sourceBytes(f, 0);
        q.enqueue(60);
        q.publish();
        assertEquals(1, q.counter(Virtqueue.C_KICKS));
        assertEquals(1, kick.drain());
        mem.putShort(q.usedOff, (short) VhostUser.VRING_USED_F_NO_NOTIFY);
        q.sourceBytes(f, 0);
        q.enqueue(60);
        q.publish();
        assertEquals(1, q.counter(Virtqueue.C_KICKS));
        assertEquals(0, kick.drain());
    }

    @Test
    public void kicksFollowAvailEventWithEventIdx() throws Exception {
        Virtqueue q = queue(1, 8, 1, 4096, 4096, TxShape.PUSH, true);
        q.eventIdx = true;
        mem.putShort(q.usedOff, (short) VhostUser.VRING_USED_F_NO_NOTIFY); // ignored with EVENT_IDX
        int availEvent = q.usedOff + 4 + 8 * 8;
        mem.putShort(availEvent, (short) 2); // wake me when entry 2 is published
        byte[] f = frame(1, 60);
        int kicks = 0;
        for (int i = 0; i < 5; i++) {
            q.sourceBytes(f, 0);
            q.enqueue(60);
            q.publish(); // avail idx becomes i + 1
            if (i == 2) {
                kicks++;
            }
            assertEquals("after publishing " + (i + 1), kicks, q.counter(Virtqueue.C_KICKS));
        }
        // a batch that jumps over the event index kicks once
        mem.putShort(availEvent, (short) 6);
        for (int i = 0; i < 3; i++) {
            q.sourceBytes(f, 0);
            if (!q.enqueue(60)) {
                break;
            }
        }
        q.publish();
        assertEquals(kicks + 1, q.counter(Virtqueue.C_KICKS));
    }

    @Test
    public void rxMergeableAssemblesNumBuffers() throws Exception {
        Virtqueue q = queue(0, 8, 1, 512, 512, TxShape.PUSH, true);
        assertEquals(8, devAvailIdx(q));
        byte[] f = frame(7, 1200); // 12 + 1200 = 1212 bytes: 3 buffers of 512
        int[] heads = {devAvailHead(q, 0), devAvailHead(q, 1), devAvailHead(q, 2)};
        int at = 0;
        byte[] wire = new byte[1212];
        System.arraycopy(f, 0, wire, 12, 1200);
        wire[10] = 3; // num_buffers
        for (int j = 0; j < 3; j++) {
            int n = Math.min(512, 1212 - at);
            long addr = mem.getLong(q.descOff + 16 * heads[j]);
            mem.put(off(addr), wire, at, n);
            devPushUsed(q, j, heads[j], n);
            at += n;
        }
        devSetUsedIdx(q, 2); // only two of three published: not complete yet
        assertEquals(-1, q.rxNext());
        devSetUsedIdx(q, 3);
        assertEquals(1200, q.rxNext());
        byte[] got = new byte[1200];
        assertEquals(1200, q.copyOut(got, 0, 1200));
        assertArrayEquals(f, got);
        q.rxRelease();
        q.publish();
        assertEquals(11, devAvailIdx(q));
        assertEquals(-1, q.rxNext());
    }

    @Test
    public void rxRejectsHostileCompletions() throws Exception {
        Virtqueue q = queue(0, 8, 1, 512, 512, TxShape.PUSH, true);
        int h0 = devAvailHead(q, 0);
        devPushUsed(q, 0, 77, 100); // unknown id
        devPushUsed(q, 1, h0, 100000); // length beyond the buffer
        mem.putShort(off(mem.getLong(q.descOff + 16 * devAvailHead(q, 1))) + 10, (short) 9999);
        devPushUsed(q, 2, devAvailHead(q, 1), 100); // num_buffers beyond the ring
        devSetUsedIdx(q, 3);
        assertEquals(-1, q.rxNext());
        assertEquals(3, q.counter(Virtqueue.C_ERRORS));
        devSetUsedIdx(q, 3 + 20000); // used idx far beyond what was posted
        assertEquals(-1, q.rxNext());
        assertEquals(4, q.counter(Virtqueue.C_ERRORS));
    }

    @Test
    public void rxNonMergeableChainsCoverTheLargestFrame() throws Exception {
        // 65562 bytes in 4096-byte descriptors: chains of 17, one posted chain fits in 32 descriptors
        Virtqueue q = queue(0, 32, 17, 17 * 4096, 4096, TxShape.PUSH, false);
        assertEquals(1, devAvailIdx(q));
        int head = devAvailHead(q, 0);
        int n = 0;
        for (int i = head; ; i = mem.getShort(q.descOff + 16 * i + 14)) {
            n++;
            int flags = mem.getShort(q.descOff + 16 * i + 12);
            assertTrue((flags & VhostUser.VRING_DESC_F_WRITE) != 0);
            if ((flags & VhostUser.VRING_DESC_F_NEXT) == 0) {
                break;
            }
        }
        assertEquals(17, n);
        byte[] f = frame(3, 65550);
        mem.put(off(mem.getLong(q.descOff + 16 * head)) + 12, f);
        devPushUsed(q, 0, head, 65562);
        devSetUsedIdx(q, 1);
        assertEquals(65550, q.rxNext());
        byte[] got = new byte[65550];
        q.copyOut(got, 0, got.length);
        assertArrayEquals(f, got);
    }
}
