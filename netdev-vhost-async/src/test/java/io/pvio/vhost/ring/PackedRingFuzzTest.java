package io.pvio.vhost.ring;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.pvio.vhostuser.PackedRing;
import java.nio.ByteBuffer;

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
class PackedRingFuzzTest extends RingFuzz {
    static final int DRIVER_EVENT = 0x1000;
    static final int DEVICE_EVENT = 0x1400;

    @FuzzTest(maxDuration = "30m")
    void rings(FuzzedDataProvider d) throws Exception {
        mem();
        ByteBuffer g = guest();
        int num = 1 << d.consumeInt(0, 8);
        boolean guestTx = d.consumeBoolean();
        long features = features(d, VirtioFeatures.bit(VirtioFeatures.F_VERSION_1)
                | VirtioFeatures.bit(VirtioFeatures.F_RING_PACKED));
        int basePos = d.consumeBoolean() ? 0 : d.consumeInt(0, num - 1);
        boolean baseWrap = d.consumeBoolean();
        int base = d.consumeInt(0, 9) == 0 ? d.consumeInt(0, 0xffff) : PackedRing.offWrap(basePos, baseWrap);
        // guest memory: a pattern, then the guest's descriptor ring, indirect tables and driver event area
        pattern(g, d);
        for (int i = 0; i < num; i++) {
            // mostly available in the lap the base says, at the position the base says or after it
            boolean wrap = i >= basePos ? baseWrap : !baseWrap;
            writeDesc(g, DESC + 16 * i, d, wrap, true);
        }
        tables(d, (at, entries) -> writeDesc(g, at, d, true, false));
        g.putShort(DRIVER_EVENT + PackedRing.EVENT_OFF_WRAP, (short) d.consumeInt(0, 0xffff));
        g.putShort(DRIVER_EVENT + PackedRing.EVENT_FLAGS, (short) d.consumeInt(0, 3));
        run(d, guestTx, features, num, DESC, DEVICE_EVENT, DRIVER_EVENT, () -> base, writableBytes(g, num),
                "the ring's used fields, the device event area and the device-writable buffers");
    }

    private static void writeDesc(ByteBuffer g, int at, FuzzedDataProvider d, boolean wrap, boolean ring) {
        long addr = address(d);
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
        markWritable(g, w, DESC, num, true, PackedRing.DESC_FLAGS);
        return w;
    }
}
