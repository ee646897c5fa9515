package io.pvio.virtio.user;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.pvio.posix.EventFd;
import io.pvio.vhostuser.PackedRing;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.After;
import org.junit.Test;

/** Packed ring logic without a back end: the test plays the device on the same memory. */
public class PackedVirtqueueTest {
    static final long GPA = 0x40000000L;
    private final ByteBuffer mem = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
    private EventFd kick;
    private EventFd call;

    // the device's side: next position to read (and its wrap counter), next position to write used
    private int devAvail;
    private boolean devAvailWrap = true;
    private int devUsed;
    private boolean devUsedWrap = true;

    @After
    public void tearDown() {
        if (kick != null) {
            kick.close();
            call.close();
            kick = null;
        }
    }

    private Virtqueue queue(int index, int size, int k, int slotBytes, int segSize, TxShape shape, boolean mrg)
            throws Exception {
        tearDown();
        kick = EventFd.create();
        call = EventFd.create();
        devAvail = devUsed = 0;
        devAvailWrap = devUsedWrap = true;
        mem.clear();
        for (int i = 0; i < mem.capacity(); i += 8) {
            mem.putLong(i, 0);
        }
        int used = RingMath.alignUp(16 * size + 6 + 2 * size, 4096);
        Virtqueue q = new Virtqueue(index, mem, GPA, 0, 16 * size, used, size, k, 65536, slotBytes, segSize,
                32768, shape, mrg, true, kick, call);
        q.init();
        q.ready = true;
        return q;
    }

    private int off(long gpa) {
        return (int) (gpa - GPA);
    }

    private int flags(int pos) {
        return mem.getShort(16 * pos + PackedRing.DESC_FLAGS) & 0xffff;
    }

    /** A buffer the device took: its id, its descriptor count and its bytes (readable) or capacity (writable). */
    private static final class Buf {
        int id;
        int count;
        byte[] data;
        int[] addrs = new int[64];
        int[] lens = new int[64];
        int n;
    }

    /** Reads the next available buffer as a device does (ring chain, or an indirect table); null if none. */
    private Buf devTake(Virtqueue q) {
        if (!PackedRing.isAvail(flags(devAvail), devAvailWrap)) {
            return null;
        }
        Buf b = new Buf();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (;;) {
            int d = 16 * devAvail;
            int f = flags(devAvail);
            assertTrue("descriptor " + devAvail + " of a chain is available", PackedRing.isAvail(f, devAvailWrap));
            long addr = mem.getLong(d);
            int len = mem.getInt(d + 8);
            b.id = mem.getShort(d + 12) & 0xffff;
            b.count++;
            if (++devAvail == q.size) {
                devAvail = 0;
                devAvailWrap = !devAvailWrap;
            }
            if ((f & PackedRing.DESC_F_INDIRECT) != 0) {
                assertEquals("INDIRECT with NEXT", 0, f & PackedRing.DESC_F_NEXT);
                for (int t = 0; t < len / 16; t++) {
                    int td = off(addr) + 16 * t;
                    add(b, out, mem.getLong(td), mem.getInt(td + 8), mem.getShort(td + 14));
                }
                break;
            }
            add(b, out, addr, len, f);
            if ((f & PackedRing.DESC_F_NEXT) == 0) {
                break;
            }
        }
        b.data = out.toByteArray();
        return b;
    }

    private void add(Buf b, ByteArrayOutputStream out, long addr, int len, int f) {
        b.addrs[b.n] = off(addr);
        b.lens[b.n++] = len;
        if ((f & PackedRing.DESC_F_WRITE) == 0) {
            byte[] x = new byte[len];
            mem.get(off(addr), x);
            out.write(x, 0, len);
        }
    }

    /** Writes a used descriptor (id, len, then flags) at the device's used position and moves it on by count. */
    private void devUse(Virtqueue q, int id, int len, int count) {
        int d = 16 * devUsed;
        mem.putInt(d + 8, len);
        mem.putShort(d + 12, (short) id);
        mem.putShort(d + 14, (short) PackedRing.usedFlags(devUsedWrap));
        devUsed += count;
        if (devUsed >= q.size) {
            devUsed -= q.size;
            devUsedWrap = !devUsedWrap;
        }
    }

    private static byte[] frame(int seq, int len) {
        byte[] f = new byte[len];
        for (int i = 0; i < len; i++) {
            f[i] = (byte) (seq + i * 13);
        }
        return f;
    }

    @Test
    public void txShapesAcrossManyWraps() throws Exception {
        for (TxShape shape : TxShape.values()) {
            int k = VirtioUserDevice.txDescsPerSlot(shape);
            Virtqueue q = queue(1, 8, k, 4096, 4096, shape, true);
            int total = shape == TxShape.PUSH ? 20000 : 3000;
            for (int seq = 0; seq < total; seq++) {
                int len = 1 + (seq * 37) % 1500;
                byte[] f = frame(seq, len);
                q.sourceBytes(f, 0);
                assertTrue(shape + " seq " + seq, q.enqueue(len));
                q.publish();
                Buf b = devTake(q);
                assertEquals(shape + " seq " + seq + ": one buffer per frame", 12 + len, b.data.length);
                for (int i = 0; i < 12; i++) {
                    assertEquals(0, b.data[i]);
                }
                byte[] data = new byte[len];
                System.arraycopy(b.data, 12, data, 0, len);
                assertArrayEquals(shape + " seq " + seq, f, data);
                assertEquals("nothing else available", null, devTake(q));
                devUse(q, b.id, 0, b.count);
                assertEquals(0, q.reclaim());
            }
            assertEquals(0, q.counter(Virtqueue.C_ERRORS));
        }
    }

    @Test
    public void txOutOfOrderCompletionAndRingFull() throws Exception {
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
        Buf[] b = new Buf[4];
        for (int i = 0; i < 4; i++) {
            b[i] = devTake(q);
            assertEquals(2, b[i].count);
        }
        assertEquals(null, devTake(q));
        devUse(q, b[2].id, 0, b[2].count); // out of order: the third buffer first
        assertEquals(3, q.reclaim());
        q.sourceBytes(f, 0);
        assertTrue("the freed slot is reused", q.enqueue(100));
        q.publish();
        Buf again = devTake(q);
        assertEquals(b[2].id, again.id);
        devUse(q, b[0].id, 0, 2);
        devUse(q, b[3].id, 0, 2);
        devUse(q, b[1].id, 0, 2);
        devUse(q, again.id, 0, 2);
        assertEquals(0, q.reclaim());
        assertEquals(0, q.counter(Virtqueue.C_ERRORS));
    }

    @Test
    public void txUsedDescriptorsOfTheWrongLapAreNotUsed() throws Exception {
        Virtqueue q = queue(1, 8, 1, 4096, 4096, TxShape.PUSH, true);
        byte[] f = frame(1, 60);
        q.sourceBytes(f, 0);
        q.enqueue(60);
        q.publish();
        Buf b = devTake(q);
        devUsedWrap = false; // a device that writes the wrong wrap counter
        devUse(q, b.id, 0, 1);
        assertEquals(1, q.reclaim());
        // a used descriptor naming a buffer that is not in flight
        devUsed = 0;
        devUsedWrap = true;
        devUse(q, 5, 0, 1);
        assertEquals(1, q.reclaim());
        assertEquals(1, q.counter(Virtqueue.C_ERRORS));
    }

    @Test
    public void kicksFollowDeviceEventSuppression() throws Exception {
        Virtqueue q = queue(1, 8, 1, 4096, 4096, TxShape.PUSH, true);
        int ev = q.usedOff;
        byte[] f = frame(1, 60);
        q.sourceBytes(f, 0);
        q.enqueue(60);
        q.publish();
        assertEquals("ENABLE (zeroed) kicks", 1, q.counter(Virtqueue.C_KICKS));
        assertEquals(1, kick.drain());
        mem.putShort(ev + PackedRing.EVENT_FLAGS, (short) PackedRing.EVENT_FLAG_DISABLE);
        q.sourceBytes(f, 0);
        q.enqueue(60);
        q.publish();
        assertEquals(1, q.counter(Virtqueue.C_KICKS));
        // DESC: wake me when position 4 of this lap is made available
        mem.putShort(ev + PackedRing.EVENT_OFF_WRAP, (short) PackedRing.offWrap(4, true));
        mem.putShort(ev + PackedRing.EVENT_FLAGS, (short) PackedRing.EVENT_FLAG_DESC);
        int kicks = 1;
        for (int pos = 2; pos < 6; pos++) {
            q.sourceBytes(f, 0);
            q.enqueue(60);
            q.publish();
            if (pos == 4) {
                kicks++;
            }
            assertEquals("after position " + pos, kicks, q.counter(Virtqueue.C_KICKS));
        }
        for (int i = 0; i < 6; i++) {
            devUse(q, devTake(q).id, 0, 1);
        }
        q.reclaim();
        // across the wrap: event at position 1 of the next lap (wrap 0), a batch 6, 7, 0, 1, 2
        mem.putShort(ev + PackedRing.EVENT_OFF_WRAP, (short) PackedRing.offWrap(1, false));
        for (int i = 0; i < 5; i++) {
            q.sourceBytes(f, 0);
            assertTrue(q.enqueue(60));
        }
        q.publish();
        assertEquals(kicks + 1, q.counter(Virtqueue.C_KICKS));
    }

    @Test
    public void rxMergeableAssemblesNumBuffersAndReposts() throws Exception {
        Virtqueue q = queue(0, 8, 1, 512, 512, TxShape.PUSH, true);
        Buf[] posted = new Buf[8];
        for (int i = 0; i < 8; i++) {
            posted[i] = devTake(q);
            assertEquals(1, posted[i].count);
            assertEquals(512, posted[i].lens[0]);
        }
        assertEquals("8 buffers posted, no more", null, devTake(q));
        assertEquals("interrupts disabled", PackedRing.EVENT_FLAG_DISABLE,
                mem.getShort(q.availOff + PackedRing.EVENT_FLAGS));
        for (int round = 0; round < 40; round++) { // 40 frames of 3 buffers: 15 laps of the ring
            byte[] f = frame(round, 1200); // 12 + 1200 bytes: 3 buffers of 512
            byte[] wire = new byte[1212];
            System.arraycopy(f, 0, wire, 12, 1200);
            wire[10] = 3;
            Buf[] bufs = new Buf[3];
            int at = 0;
            for (int j = 0; j < 3; j++) {
                bufs[j] = round == 0 ? posted[j] : devTake(q);
                int n = Math.min(512, 1212 - at);
                mem.put(bufs[j].addrs[0], wire, at, n);
                at += n;
            }
            devUse(q, bufs[0].id, 512, 1);
            devUse(q, bufs[1].id, 512, 1);
            assertEquals("two of three used: not complete", -1, q.rxNext());
            devUse(q, bufs[2].id, 1212 - 1024, 1);
            assertEquals(1200, q.rxNext());
            byte[] got = new byte[1200];
            assertEquals(1200, q.copyOut(got, 0, 1200));
            assertArrayEquals("frame " + round, f, got);
            q.rxRelease();
            q.publish();
            assertEquals(-1, q.rxNext());
            if (round == 0) {
                for (int j = 3; j < 8; j++) {
                    devUse(q, posted[j].id, 0, 1); // give the others back empty (errors) to start a clean cycle
                    assertEquals(-1, q.rxNext());
                }
            }
        }
        assertEquals(5, q.counter(Virtqueue.C_ERRORS)); // the five empty buffers (shorter than a header)
    }

    @Test
    public void rxRejectsHostileCompletions() throws Exception {
        Virtqueue q = queue(0, 8, 1, 512, 512, TxShape.PUSH, true);
        Buf[] posted = new Buf[8];
        for (int i = 0; i < 8; i++) {
            posted[i] = devTake(q);
        }
        devUse(q, 77, 100, 1); // unknown id
        devUse(q, posted[0].id, 100000, 1); // length beyond the buffer
        mem.putShort(posted[1].addrs[0] + 10, (short) 9999);
        devUse(q, posted[1].id, 100, 1); // num_buffers beyond the ring
        assertEquals(-1, q.rxNext());
        assertEquals(3, q.counter(Virtqueue.C_ERRORS));
        // a used descriptor with the other lap's bits is not used yet
        int d = 16 * devUsed;
        mem.putShort(d + 12, (short) posted[2].id);
        mem.putInt(d + 8, 100);
        mem.putShort(d + 14, (short) PackedRing.usedFlags(!devUsedWrap));
        assertEquals(-1, q.rxNext());
        assertEquals(3, q.counter(Virtqueue.C_ERRORS));
        // the two good buffers went back and a frame still arrives through them
        Buf again = devTake(q);
        assertEquals(posted[0].id, again.id);
        byte[] wire = new byte[112];
        wire[10] = 1;
        wire[50] = 42;
        mem.put(posted[2].addrs[0], wire);
        devUse(q, posted[2].id, 112, 1);
        assertEquals(100, q.rxNext());
        byte[] got = new byte[100];
        q.copyOut(got, 0, 100);
        assertEquals(42, got[38]);
    }

    @Test
    public void rxNonMergeableChainsAndResumeBase() throws Exception {
        // 65562 bytes in 4096-byte segments: 17 segments, and the header alone first (as Linux's big
        // buffers): chains of 18 ring positions, one chain in a 32-entry ring
        Virtqueue q = queue(0, 32, 17, 17 * 4096, 4096, TxShape.PUSH, false);
        Buf b = devTake(q);
        assertEquals(18, b.count);
        assertEquals(12, b.lens[0]);
        assertEquals(4096 - 12, b.lens[1]);
        for (int j = 1; j < 18; j++) {
            assertEquals("contiguous", b.addrs[j - 1] + b.lens[j - 1], b.addrs[j]);
        }
        assertEquals(12 + 17 * 4096 - 12, b.addrs[17] + b.lens[17] - b.addrs[0] - 12 + 12);
        assertEquals(null, devTake(q));
        assertEquals(PackedRing.offWrap(0, true), q.resumeBase());
        byte[] f = frame(3, 65550);
        mem.put(b.addrs[0] + 12, f);
        devUse(q, b.id, 65562, 18);
        assertEquals("a used chain not yet read: a new back end resumes after it",
                PackedRing.offWrap(18, true), q.resumeBase());
        assertEquals(65550, q.rxNext());
        byte[] got = new byte[65550];
        q.copyOut(got, 0, got.length);
        // the frame is contiguous in the slot's buffer (segments are adjacent)
        assertArrayEquals(f, got);
        q.rxRelease();
        q.publish();
        Buf again = devTake(q);
        assertEquals(18, again.count);
        devUse(q, again.id, 12, 18); // positions 18..31 and 0..3: the used side wraps
        assertEquals(PackedRing.offWrap(4, false), q.resumeBase());
        assertEquals(0, q.rxNext());
        q.rxRelease();
        assertEquals(PackedRing.offWrap(4, false), q.resumeBase());
    }
}
