package io.pvio.vhost.ring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import io.pvio.posix.PosixException;
import io.pvio.posix.SharedMemory;
import io.pvio.vhostuser.PackedRing;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Coverage-guided fuzzing of the packed-ring walkers: a guest writes an arbitrary descriptor ring (flags
 * with any AVAIL/USED bits, chains, indirect tables, lengths, ids, addresses in and out of its memory), a
 * ring base with any position and wrap counter and a driver event suppression structure; pvio dequeues
 * (guest TX) and enqueues (guest RX, mergeable or not). Contract checked for every input: nothing escapes
 * the walkers (a bad ring marks the queue broken), no byte is written outside the ring's id/len/flags
 * fields, the device event suppression structure and the buffers the guest posted as device-writable, and
 * no packet buffer is lost.
 *
 * <p>Regression mode (every {@code mvn verify}): the inputs in
 * {@code src/test/resources/io/pvio/vhost/ring/PackedRingFuzzTestInputs/rings}. Fuzzing: see FUZZING.md.
 */
class PackedRingFuzzTest {
    private static final java.util.logging.Logger[] MUTED = {java.util.logging.Logger.getLogger("netdev_dpdk"),
        java.util.logging.Logger.getLogger("dpdk")};

    @org.junit.jupiter.api.BeforeAll
    static void mute() {
        for (java.util.logging.Logger l : MUTED) {
            l.setLevel(java.util.logging.Level.OFF);
        }
    }

    @org.junit.jupiter.api.AfterAll
    static void unmute() {
        for (java.util.logging.Logger l : MUTED) {
            l.setLevel(null);
        }
    }

    static final long GPA = 0x10000;
    static final long UVA = 0x7000_0000L;
    static final int MEM = 0x4000;
    static final int DESC = 0x0000;
    static final int DRIVER_EVENT = 0x1000;
    static final int DEVICE_EVENT = 0x1400;
    static final int TABLES = 0x2000;
    static final int BUFFERS = 0x2800;
    private static SharedMemory file;
    private static GuestMemory mem;
    private static final PacketPool POOL = new PacketPool("fuzz-packed", 512);
    private static final Virtqueue[] QUEUES = {new Virtqueue("fuzz", 0), new Virtqueue("fuzz", 1)};

    private static synchronized GuestMemory mem() throws PosixException {
        if (mem == null) {
            file = SharedMemory.createMemfd("fuzz-packed", MEM);
            mem = GuestMemory.map(new GuestMemory.Region[] {new GuestMemory.Region(GPA, MEM, UVA, 0)},
                    new int[] {file.fd()});
        }
        return mem;
    }

    @FuzzTest(maxDuration = "30m")
    void rings(FuzzedDataProvider d) throws Exception {
        GuestMemory m = mem();
        ByteBuffer g = file.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int num = 1 << d.consumeInt(0, 8);
        boolean guestTx = d.consumeBoolean();
        long features = VirtioFeatures.bit(VirtioFeatures.F_VERSION_1) | VirtioFeatures.bit(VirtioFeatures.F_RING_PACKED);
        if (d.consumeBoolean()) {
            features |= VirtioFeatures.bit(VirtioFeatures.NET_F_MRG_RXBUF);
        }
        if (d.consumeBoolean()) {
            features |= VirtioFeatures.bit(VirtioFeatures.RING_F_INDIRECT_DESC);
        }
        if (d.consumeBoolean()) {
            features |= VirtioFeatures.bit(VirtioFeatures.RING_F_EVENT_IDX);
        }
        int basePos = d.consumeBoolean() ? 0 : d.consumeInt(0, num - 1);
        boolean baseWrap = d.consumeBoolean();
        int base = d.consumeInt(0, 9) == 0 ? d.consumeInt(0, 0xffff) : PackedRing.offWrap(basePos, baseWrap);
        // guest memory: a pattern, then the guest's descriptor ring, indirect tables and driver event area
        byte[] pattern = new byte[MEM];
        java.util.Arrays.fill(pattern, d.consumeByte());
        g.put(0, pattern);
        for (int i = 0; i < num; i++) {
            // mostly available in the lap the base says, at the position the base says or after it
            boolean wrap = i >= basePos ? baseWrap : !baseWrap;
            writeDesc(g, DESC + 16 * i, d, wrap, true);
        }
        int tables = d.consumeInt(0, 3);
        for (int t = 0; t < tables; t++) {
            int at = TABLES + 0x100 * d.consumeInt(0, 7);
            int entries = d.consumeInt(1, 16);
            for (int i = 0; i < entries; i++) {
                writeDesc(g, at + 16 * i, d, true, false);
            }
        }
        g.putShort(DRIVER_EVENT + PackedRing.EVENT_OFF_WRAP, (short) d.consumeInt(0, 0xffff));
        g.putShort(DRIVER_EVENT + PackedRing.EVENT_FLAGS, (short) d.consumeInt(0, 3));
        byte[] before = new byte[MEM];
        g.get(0, before);
        boolean[] writable = writableBytes(g, num);

        Virtqueue vq = QUEUES[guestTx ? 1 : 0]; // reused, as a port's queue is across front ends
        vq.lock();
        try {
            vq.reset();
            vq.setFeatures(features);
            vq.setMemory(m);
            vq.setNum(num);
            vq.setAddr(UVA + DESC, UVA + DEVICE_EVENT, UVA + DRIVER_EVENT);
            vq.setBase(base);
            vq.start(null);
            vq.setEnabled(true);
            for (int round = 0; round < 3 && vq.ready(); round++) {
                PacketBatch b = new PacketBatch();
                if (guestTx) {
                    vq.dequeue(POOL, b);
                    for (int i = 0; i < b.size(); i++) {
                        Packet p = b.get(i);
                        if (p.length() <= 0 || p.length() > Virtqueue.MAX_PACKET) {
                            fail("dequeued a packet of " + p.length() + " bytes");
                        }
                    }
                    b.freeAll();
                } else {
                    int n = d.consumeInt(0, 8);
                    for (int k = 0; k < n; k++) {
                        b.add(Frames0.packet(POOL, d.consumeInt(1, 9000), d.consumeInt(512, 2048)));
                    }
                    vq.enqueue(b);
                    b.freeAll();
                }
                m.faultFence();
            }
            vq.stop();
        } finally {
            vq.unlock();
        }
        for (int i = 0; i < MEM; i++) {
            if (!writable[i] && g.get(i) != before[i]) {
                fail(String.format("byte 0x%x written outside the ring's used fields, the device event area and"
                        + " the device-writable buffers", i));
            }
        }
        assertEquals(0, POOL.inUse(), "packet buffers lost");
    }

    private static void writeDesc(ByteBuffer g, int at, FuzzedDataProvider d, boolean wrap, boolean ring) {
        long addr;
        switch (d.consumeInt(0, 3)) {
            case 0:
                addr = GPA + BUFFERS + d.consumeInt(0, MEM - BUFFERS);
                break;
            case 1:
                addr = GPA + TABLES + 0x100 * d.consumeInt(0, 7); // an indirect table
                break;
            case 2:
                addr = GPA + d.consumeInt(0, MEM + 64) - 32; // near and across the edges
                break;
            default:
                addr = d.consumeLong();
        }
        int len = d.consumeBoolean() ? d.consumeInt(0, 4096) : d.consumeInt();
        int flags = d.consumeInt(0, 7);
        if (ring) {
            switch (d.consumeInt(0, 3)) {
                case 0:
                case 1:
                    flags |= PackedRing.availFlags(wrap);
                    break;
                case 2:
                    flags |= PackedRing.availFlags(!wrap); // the other lap's
                    break;
                default:
                    flags |= d.consumeInt(0, 0xffff) & (PackedRing.DESC_F_AVAIL | PackedRing.DESC_F_USED);
            }
        }
        g.putLong(at + PackedRing.DESC_ADDR, addr);
        g.putInt(at + PackedRing.DESC_LEN, len);
        g.putShort(at + PackedRing.DESC_ID, (short) d.consumeInt(0, 0xffff));
        g.putShort(at + PackedRing.DESC_FLAGS, (short) flags);
    }

    /**
     * Bytes pvio may write: each ring descriptor's len, id and flags (used descriptors), the device event
     * suppression structure, every device-writable descriptor's buffer (in the ring or in a table).
     */
    private static boolean[] writableBytes(ByteBuffer g, int num) {
        boolean[] w = new boolean[MEM];
        for (int i = 0; i < num; i++) {
            for (int b = PackedRing.DESC_LEN; b < PackedRing.DESC_SIZE; b++) {
                w[DESC + 16 * i + b] = true;
            }
        }
        for (int i = DEVICE_EVENT; i < DEVICE_EVENT + PackedRing.EVENT_SIZE; i++) {
            w[i] = true;
        }
        markWritable(g, w, DESC, num, true);
        return w;
    }

    private static void markWritable(ByteBuffer g, boolean[] w, int table, int n, boolean top) {
        for (int i = 0; i < n; i++) {
            int o = table + 16 * i;
            if (o + 16 > MEM) {
                return;
            }
            long addr = g.getLong(o + PackedRing.DESC_ADDR);
            long len = g.getInt(o + PackedRing.DESC_LEN) & 0xffffffffL;
            int flags = g.getShort(o + PackedRing.DESC_FLAGS);
            long start = addr - GPA;
            if ((flags & PackedRing.DESC_F_INDIRECT) != 0 && top) {
                if (start >= 0 && start < MEM) {
                    markWritable(g, w, (int) start, (int) Math.min((MEM - start) / 16, len / 16), false);
                }
            } else if ((flags & PackedRing.DESC_F_WRITE) != 0) {
                for (long b = Math.max(0, start); b < Math.min(MEM, start + len); b++) {
                    w[(int) b] = true;
                }
            }
        }
    }
}
