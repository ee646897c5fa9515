package io.pvio.dummy.pktgen;

import java.nio.ByteBuffer;

/**
 * The pktgen frame: Ethernet + IPv4 + UDP, then at {@link #MAGIC_OFF} the magic, the source id (generator
 * and rx queue), the 64-bit sequence number, and from {@link #PATTERN_OFF} to the end a payload pattern:
 * the byte at frame offset {@code o} is {@code (byte) (o + seq)}.
 */
final class Frame {
    static final int ETH_TYPE_OFF = 12;
    static final int IP_OFF = 14;
    static final int UDP_OFF = 34;
    static final int MAGIC_OFF = 42;
    static final int SRC_ID_OFF = 46;
    static final int SEQ_OFF = 50;
    static final int PATTERN_OFF = 58;
    static final int MAGIC = 0x5056494f; // "PVIO"
    static final int UDP_SRC_BASE = 1024;
    static final int UDP_DST = 5001;
    static final int MIN_SIZE = 60;
    static final int MAX_SIZE = 9000;

    /** PATTERN[k] = (byte) k for k in 0..511: the pattern at seq+o is a window of it. */
    static final byte[] PATTERN = new byte[512];
    static final ByteBuffer PATTERN_BUF;

    static {
        for (int k = 0; k < PATTERN.length; k++) {
            PATTERN[k] = (byte) k;
        }
        PATTERN_BUF = ByteBuffer.wrap(PATTERN).asReadOnlyBuffer();
    }

    private Frame() {
    }

    /** The 42 header bytes for frames of {@code size} bytes (flow 0). */
    static byte[] template(long dstMac, long srcMac, int size, int srcIp, int dstIp) {
        ByteBuffer b = ByteBuffer.allocate(MAGIC_OFF);
        putMac(b, 0, dstMac);
        putMac(b, 6, srcMac);
        b.putShort(ETH_TYPE_OFF, (short) 0x0800);
        b.put(IP_OFF, (byte) 0x45);
        b.putShort(IP_OFF + 2, (short) (size - IP_OFF));
        b.putShort(IP_OFF + 6, (short) 0x4000); // DF
        b.put(IP_OFF + 8, (byte) 64);
        b.put(IP_OFF + 9, (byte) 17);
        b.putInt(IP_OFF + 12, srcIp);
        b.putInt(IP_OFF + 16, dstIp);
        int sum = 0;
        for (int i = 0; i < 20; i += 2) {
            sum += b.getShort(IP_OFF + i) & 0xffff;
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        b.putShort(IP_OFF + 10, (short) ~sum);
        b.putShort(UDP_OFF, (short) UDP_SRC_BASE);
        b.putShort(UDP_OFF + 2, (short) UDP_DST);
        b.putShort(UDP_OFF + 4, (short) (size - UDP_OFF));
        return b.array();
    }

    static void putMac(ByteBuffer b, int off, long mac) {
        b.putShort(off, (short) (mac >>> 32));
        b.putInt(off + 2, (int) mac);
    }
}
