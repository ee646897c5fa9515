package io.pvio.vhost.ring;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.ByteBuffer;

/**
 * Coverage-guided fuzzing of the split-ring walkers: a guest writes arbitrary descriptor tables (chains,
 * loops, indirect tables, lengths, addresses in and out of its memory), avail rings and event indexes; pvio
 * dequeues (guest TX) and enqueues (guest RX, mergeable or not). Contract checked for every input: nothing
 * escapes the walkers (a bad ring marks the queue broken), no byte is written outside the used ring and
 * the buffers the guest posted as device-writable, no packet buffer is lost.
 *
 * <p>Regression mode (every {@code mvn verify}): the inputs in
 * {@code src/test/resources/io/pvio/vhost/ring/SplitRingFuzzTestInputs/rings}. Fuzzing: see FUZZING.md.
 */
class SplitRingFuzzTest extends RingFuzz {
    static final int AVAIL = 0x1000;
    static final int USED = 0x1400;
    static final int USED_MAX = 4 + 8 * 256 + 2;

    @FuzzTest(maxDuration = "30m")
    void rings(FuzzedDataProvider d) throws Exception {
        mem();
        ByteBuffer g = guest();
        int num = 1 << d.consumeInt(0, 8);
        boolean guestTx = d.consumeBoolean();
        long features = features(d, VirtioFeatures.bit(VirtioFeatures.F_VERSION_1));
        // guest memory: a pattern, then the guest's descriptors, avail ring and indirect tables
        pattern(g, d);
        for (int i = 0; i < num; i++) {
            writeDesc(g, DESC + 16 * i, d, num);
        }
        tables(d, (at, entries) -> writeDesc(g, at, d, entries));
        g.putShort(AVAIL, (short) (d.consumeBoolean() ? 0 : 1));
        int availIdx = d.consumeBoolean() ? d.consumeInt(0, num) : d.consumeInt(0, 0xffff);
        g.putShort(AVAIL + 2, (short) availIdx);
        for (int i = 0; i < num; i++) {
            g.putShort(AVAIL + 4 + 2 * i, (short) (d.consumeBoolean() ? d.consumeInt(0, num - 1) : d.consumeInt(0, 0xffff)));
        }
        g.putShort(AVAIL + 4 + 2 * num, (short) d.consumeInt(0, 0xffff)); // used_event
        run(d, guestTx, features, num, DESC, USED, AVAIL, () -> d.consumeBoolean() ? 0 : d.consumeInt(0, 0xffff),
                writableBytes(g, num), "the used ring and the device-writable buffers");
    }

    private static void writeDesc(ByteBuffer g, int at, FuzzedDataProvider d, int n) {
        long addr = address(d);
        int len = d.consumeBoolean() ? d.consumeInt(0, 4096) : d.consumeInt();
        int flags = d.consumeInt(0, 7);
        int next = d.consumeBoolean() ? d.consumeInt(0, n - 1) : d.consumeInt(0, 0xffff);
        g.putLong(at, addr);
        g.putInt(at + 8, len);
        g.putShort(at + 12, (short) flags);
        g.putShort(at + 14, (short) next);
    }

    /** Bytes pvio may write: the used ring, every device-writable descriptor's buffer (direct or in a table). */
    private static boolean[] writableBytes(ByteBuffer g, int num) {
        boolean[] w = new boolean[MEM];
        for (int i = USED; i < USED + USED_MAX; i++) {
            w[i] = true;
        }
        markWritable(g, w, DESC, num, true, 12);
        return w;
    }
}
