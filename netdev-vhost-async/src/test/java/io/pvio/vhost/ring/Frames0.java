package io.pvio.vhost.ring;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketPool;

/** Packets of a given length and segment size for the fuzz tests (any package). */
public final class Frames0 {
    private Frames0() {
    }

    /** A packet of {@code len} bytes (a counting pattern) in segments of at most {@code segMax} bytes. */
    public static Packet packet(PacketPool pool, int len, int segMax) {
        Packet h = null;
        int off = 0;
        while (off < len || h == null) {
            Packet s = pool.alloc();
            if (s == null) {
                if (h != null) {
                    h.free();
                }
                throw new IllegalStateException("pool empty");
            }
            int n = Math.min(Math.min(segMax, s.tailroom()), len - off);
            int at = s.append(n);
            for (int i = 0; i < n; i++) {
                s.buffer().put(at + i, (byte) (off + i));
            }
            off += n;
            if (h == null) {
                h = s;
            } else {
                h.chain(s);
            }
        }
        return h;
    }
}
