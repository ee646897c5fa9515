package io.pvio.vhost;

import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevStats;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;

/** Test frames and helpers. */
final class Frames {
    private Frames() {
    }

    /** A frame of {@code len} bytes: broadcast, source 52:54:00:00:00:01, type 0x88b5, then seq and a pattern. */
    static void fill(byte[] f, int seq) {
        for (int i = 0; i < 6; i++) {
            f[i] = (byte) 0xff;
        }
        byte[] src = {0x52, 0x54, 0, 0, 0, 1};
        System.arraycopy(src, 0, f, 6, 6);
        f[12] = (byte) 0x88;
        f[13] = (byte) 0xb5;
        if (f.length >= 18) {
            f[14] = (byte) (seq >>> 24);
            f[15] = (byte) (seq >>> 16);
            f[16] = (byte) (seq >>> 8);
            f[17] = (byte) seq;
        }
        for (int i = 18; i < f.length; i++) {
            f[i] = (byte) (i * 7 + seq);
        }
    }

    /** A packet from the pool holding {@code bytes}, in segments of at most {@code segMax} bytes. */
    static Packet packet(PacketPool pool, byte[] bytes, int segMax) {
        Packet h = null;
        int off = 0;
        while (off < bytes.length || h == null) {
            Packet s = pool.alloc();
            if (s == null) {
                throw new IllegalStateException("pool empty");
            }
            int n = Math.min(Math.min(segMax, s.tailroom()), bytes.length - off);
            int at = s.append(n);
            s.buffer().put(at, bytes, off, n);
            off += n;
            if (h == null) {
                h = s;
            } else {
                h.chain(s);
            }
        }
        return h;
    }

    static NetdevStats stats(Netdev d) {
        NetdevStats s = new NetdevStats();
        d.getStats(s);
        return s;
    }

    /**
     * Sends until exactly {@code n} packets of {@code len} bytes have been transmitted (the ring may be full
     * at times: those attempts are counted as tx_dropped and retried).
     */
    static void sendExactly(Netdev d, PacketPool pool, int n, int len, long timeoutMs) throws InterruptedException {
        sendExactly(d, pool, 0, n, len, timeoutMs);
    }

    static void sendExactly(Netdev d, PacketPool pool, int qid, int n, int len, long timeoutMs)
            throws InterruptedException {
        PacketBatch b = new PacketBatch();
        byte[] f = new byte[len];
        long base = stats(d).txPackets;
        long end = System.currentTimeMillis() + timeoutMs;
        long sent;
        while ((sent = stats(d).txPackets - base) < n) {
            if (System.currentTimeMillis() > end) {
                throw new AssertionError("only " + sent + " of " + n + " packets sent in " + timeoutMs + " ms");
            }
            int k = (int) Math.min(PacketBatch.MAX, n - sent);
            for (int i = 0; i < k; i++) {
                fill(f, (int) (sent + i));
                b.add(packet(pool, f, Integer.MAX_VALUE));
            }
            d.send(qid, b, false);
            if (stats(d).txPackets - base == sent) {
                Thread.sleep(1);
            }
        }
    }
}
