package io.pvio.vhost.ring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import io.pvio.posix.PosixException;
import io.pvio.posix.SharedMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * What {@link SplitRingFuzzTest} and {@link PackedRingFuzzTest} share: a guest memory of {@link #MEM} bytes
 * (descriptors at {@link #DESC}, indirect tables at {@link #TABLES}, buffers from {@link #BUFFERS}), the
 * choices of features, indirect tables and buffer addresses an input makes, and the run of one input: up to
 * three bursts on a queue reused across inputs (as a port's queue is across front ends), then the checks
 * (no byte written where the guest did not allow it, no packet buffer lost).
 */
abstract class RingFuzz {
    static final long GPA = 0x10000;
    static final long UVA = 0x7000_0000L;
    static final int MEM = 0x4000;
    static final int DESC = 0x0000;
    static final int TABLES = 0x2000;
    static final int BUFFERS = 0x2800;
    static final PacketPool POOL = new PacketPool("fuzz-ring", 512);
    private static final Virtqueue[] QUEUES = {new Virtqueue("fuzz", 0), new Virtqueue("fuzz", 1)};
    private static SharedMemory file;
    private static GuestMemory mem;

    /** Every input breaks a queue or refuses a message: the warnings would cost more than the input. */
    private static final java.util.logging.Logger[] MUTED = {java.util.logging.Logger.getLogger("netdev_dpdk"),
        java.util.logging.Logger.getLogger("dpdk")};

    @BeforeAll
    static void mute() {
        for (java.util.logging.Logger l : MUTED) {
            l.setLevel(java.util.logging.Level.OFF);
        }
    }

    @AfterAll
    static void unmute() {
        for (java.util.logging.Logger l : MUTED) {
            l.setLevel(null);
        }
    }

    static synchronized GuestMemory mem() throws PosixException {
        if (mem == null) {
            file = SharedMemory.createMemfd("fuzz-ring", MEM);
            mem = GuestMemory.map(new GuestMemory.Region[] {new GuestMemory.Region(GPA, MEM, UVA, 0)},
                    new int[] {file.fd()});
        }
        return mem;
    }

    /** The guest memory's bytes, little-endian. */
    static ByteBuffer guest() {
        return file.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** {@code base} and, as the input says, mergeable buffers, indirect descriptors, event index. */
    static long features(FuzzedDataProvider d, long base) {
        long features = base;
        if (d.consumeBoolean()) {
            features |= VirtioFeatures.bit(VirtioFeatures.NET_F_MRG_RXBUF);
        }
        if (d.consumeBoolean()) {
            features |= VirtioFeatures.bit(VirtioFeatures.RING_F_INDIRECT_DESC);
        }
        if (d.consumeBoolean()) {
            features |= VirtioFeatures.bit(VirtioFeatures.RING_F_EVENT_IDX);
        }
        return features;
    }

    /** Fills the guest memory with one byte of the input. */
    static void pattern(ByteBuffer g, FuzzedDataProvider d) {
        byte[] pattern = new byte[MEM];
        java.util.Arrays.fill(pattern, d.consumeByte());
        g.put(0, pattern);
    }

    /** Writes one descriptor of an indirect table: at {@code at}, of a table of {@code entries}. */
    interface TableEntry {
        void write(int at, int entries);
    }

    /** Up to 3 indirect tables of 1..16 entries at the input's table slots. */
    static void tables(FuzzedDataProvider d, TableEntry entry) {
        int tables = d.consumeInt(0, 3);
        for (int t = 0; t < tables; t++) {
            int at = TABLES + 0x100 * d.consumeInt(0, 7);
            int entries = d.consumeInt(1, 16);
            for (int i = 0; i < entries; i++) {
                entry.write(at + 16 * i, entries);
            }
        }
    }

    /** A descriptor's address: in the buffers, at an indirect table, near and across the edges, or anything. */
    static long address(FuzzedDataProvider d) {
        switch (d.consumeInt(0, 3)) {
            case 0:
                return GPA + BUFFERS + d.consumeInt(0, MEM - BUFFERS);
            case 1:
                return GPA + TABLES + 0x100 * d.consumeInt(0, 7); // an indirect table
            case 2:
                return GPA + d.consumeInt(0, MEM + 64) - 32; // near and across the edges
            default:
                return d.consumeLong();
        }
    }

    /**
     * Marks the buffers of the device-writable descriptors of the table at {@code table} ({@code n} entries,
     * flags at {@code flagsOff}; at the {@code top}, indirect tables too) as writable.
     */
    static void markWritable(ByteBuffer g, boolean[] w, int table, int n, boolean top, int flagsOff) {
        for (int i = 0; i < n; i++) {
            int o = table + 16 * i;
            if (o + 16 > MEM) {
                return;
            }
            long addr = g.getLong(o);
            long len = g.getInt(o + 8) & 0xffffffffL;
            int flags = g.getShort(o + flagsOff);
            long start = addr - GPA;
            if ((flags & Virtqueue.DESC_F_INDIRECT) != 0 && top) {
                if (start >= 0 && start < MEM) {
                    markWritable(g, w, (int) start, (int) Math.min((MEM - start) / 16, len / 16), false, flagsOff);
                }
            } else if ((flags & Virtqueue.DESC_F_WRITE) != 0) {
                for (long b = Math.max(0, start); b < Math.min(MEM, start + len); b++) {
                    w[(int) b] = true;
                }
            }
        }
    }

    /**
     * One input's run on the guest memory as written: the queue of the input's direction set up ({@code num}
     * entries, areas at the guest offsets {@code desc}, {@code used}, {@code avail}, the base {@code base}
     * gives when asked), up to three bursts, stop; then no byte may differ outside {@code writable} (fails
     * naming {@code allowed}) and no packet buffer may be in use.
     */
    static void run(FuzzedDataProvider d, boolean guestTx, long features, int num, int desc, int used, int avail,
            IntSupplier base, boolean[] writable, String allowed) throws Exception {
        GuestMemory m = mem();
        ByteBuffer g = guest();
        byte[] before = new byte[MEM];
        g.get(0, before);
        Virtqueue vq = QUEUES[guestTx ? 1 : 0];
        vq.lock();
        try {
            vq.reset();
            vq.setFeatures(features);
            vq.setMemory(m);
            vq.setNum(num);
            vq.setAddr(UVA + desc, UVA + used, UVA + avail);
            vq.setBase(base.getAsInt());
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
                        b.add(Frames0.packet(POOL, d.consumeInt(1, 9000), d.consumeInt(512, 2048))); // at most 8 x 18 buffers
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
                fail(String.format("byte 0x%x written outside %s", i, allowed));
            }
        }
        assertEquals(0, POOL.inUse(), "packet buffers lost");
    }
}
