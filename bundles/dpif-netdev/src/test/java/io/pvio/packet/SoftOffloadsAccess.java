package io.pvio.packet;

/** Test helpers beside SoftOffloads: frames as a Linux guest sends them, and a checksum check. */
public final class SoftOffloadsAccess {
    private SoftOffloadsAccess() {
    }

    /** A packet chain of {@code pool} holding {@code f}. */
    public static Packet chain(PacketPool pool, byte[] f) {
        Packet p = pool.allocChain(f.length);
        int at = 0;
        for (Packet s = p; s != null; s = s.next()) {
            s.buffer().put(s.dataOffset(), f, at, s.dataLength());
            at += s.dataLength();
        }
        return p;
    }

    /** Ethernet + IPv4/IPv6 + TCP (with {@code opt} bytes of NOP options); TCP checksum left partial. */
    public static byte[] tcpFrame(boolean v6, int payloadLen, int flags, int opt) {
        int l3 = 14;
        int l4 = l3 + (v6 ? 40 : 20);
        int thl = 20 + opt;
        byte[] f = new byte[l4 + thl + payloadLen];
        for (int i = 6; i < 12; i++) {
            f[i] = (byte) (0x50 + i);
        }
        if (v6) {
            put16(f, 12, 0x86dd);
            f[l3] = 0x60;
            put16(f, l3 + 4, thl + payloadLen);
            f[l3 + 6] = 6;
            f[l3 + 7] = 64;
            for (int i = 0; i < 32; i++) {
                f[l3 + 8 + i] = (byte) (0xfd + i * 7);
            }
        } else {
            put16(f, 12, 0x0800);
            f[l3] = 0x45;
            put16(f, l3 + 2, 20 + thl + payloadLen);
            f[l3 + 8] = 64;
            f[l3 + 9] = 6;
            byte[] a = {10, 0, 0, 1, 10, 0, 0, 2};
            System.arraycopy(a, 0, f, l3 + 12, 8);
            put16(f, l3 + 10, ~SoftOffloads.fold(sumBytes(f, l3, 20)) & 0xffff);
        }
        put16(f, l4, 40000);
        put16(f, l4 + 2, 5001);
        put16(f, l4 + 4, 0x1234);
        f[l4 + 12] = (byte) ((thl / 4) << 4);
        f[l4 + 13] = (byte) flags;
        for (int i = l4 + 20; i < l4 + thl; i++) {
            f[i] = 1;
        }
        for (int i = l4 + thl; i < f.length; i++) {
            f[i] = (byte) (i * 13 + (i >> 8));
        }
        long ps = v6 ? sumBytes(f, l3 + 8, 32) : sumBytes(f, l3 + 12, 8);
        put16(f, l4 + 16, SoftOffloads.fold(ps + 6 + f.length - l4));
        return f;
    }

    /** Sum over pseudo header and TCP segment of a frame: 0xffff when its TCP checksum is right. */
    public static int tcpChecksumCheck(byte[] f, boolean v6) {
        int l3 = 14;
        int l4 = l3 + (v6 ? 40 : 20);
        long ps = v6 ? sumBytes(f, l3 + 8, 32) : sumBytes(f, l3 + 12, 8);
        return SoftOffloads.fold(ps + 6 + f.length - l4 + sumBytes(f, l4, f.length - l4));
    }

    static long sumBytes(byte[] f, int off, int len) {
        long s = 0;
        for (int i = 0; i < len; i++) {
            s += (i & 1) == 0 ? (f[off + i] & 0xff) << 8 : f[off + i] & 0xff;
        }
        return s;
    }

    static void put16(byte[] f, int at, int v) {
        f[at] = (byte) (v >>> 8);
        f[at + 1] = (byte) v;
    }
}
