package io.pvio.dpif.netdev;

import io.pvio.dpif.netdev.flow.PortVlans;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketPool;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A frame's outer VLAN header changed as NORMAL's output needs (OVS's pop_vlan / push_vlan datapath
 * actions): headers as {@link PortVlans#output} encodes them. The header and the MACs before it are in the
 * packet's first segment (the caller has checked 18 bytes there for a tagged frame).
 */
final class Vlans {
    private static final VarHandle BE16 = MethodHandles.byteBufferViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle BE32 = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle BE64 = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    private Vlans() {
    }

    /**
     * Gives {@code p} (owned by the caller, not shared) the VLAN header {@code header} (0: none) in place of
     * its own; false, with {@code p} untouched, when a header to push finds no headroom.
     */
    static boolean rewrite(Packet p, int header) {
        ByteBuffer b = p.buffer();
        int off = p.dataOffset();
        int type = (short) BE16.get(b, off + 12) & 0xffff;
        boolean tagged = (type == 0x8100 || type == 0x88a8) && p.dataLength() >= 18;
        if (tagged && header != 0) {
            BE16.set(b, off + 12, (short) tpid(header));
            BE16.set(b, off + 14, (short) (header & 0xefff)); // vid and PCP; DEI clear, as OVS's push_vlan
            return true;
        }
        if (tagged) {
            long macs = (long) BE64.get(b, off);
            int last = (int) BE32.get(b, off + 8);
            p.adj(4);
            BE64.set(b, off + 4, macs);
            BE32.set(b, off + 12, last);
            shiftOffloads(p, -4);
            return true;
        }
        if (header != 0) {
            if (p.headroom() < 4) {
                return false;
            }
            long macs = (long) BE64.get(b, off);
            int last = (int) BE32.get(b, off + 8);
            int at = p.prepend(4);
            BE64.set(b, at, macs);
            BE32.set(b, at + 8, last);
            BE16.set(b, at + 12, (short) tpid(header));
            BE16.set(b, at + 14, (short) (header & 0xefff));
            shiftOffloads(p, 4);
        }
        return true;
    }

    /** A copy of {@code p} with VLAN header {@code header}, from p's pool; null when the pool has none left. */
    static Packet copyWith(Packet p, int header) {
        PacketPool pool = p.pool();
        Packet q = pool.allocChain(p.length());
        if (q == null) {
            return null;
        }
        copyData(p, q);
        q.copyOffloads(p);
        q.setPort(p.port());
        q.setHash(p.hash());
        if (!rewrite(q, header)) { // cannot happen: a fresh head has the pool's headroom
            q.free();
            return null;
        }
        return q;
    }

    private static int tpid(int header) {
        return (header & PortVlans.AD) != 0 ? 0x88a8 : 0x8100;
    }

    private static void shiftOffloads(Packet p, int by) {
        if ((p.offloads() & Packet.OL_CSUM_PARTIAL) != 0) {
            p.setCsum(p.csumStart() + by, p.csumOffset());
        }
        int l3 = p.l3Offset();
        int l4 = p.l4Offset();
        if (l3 >= 0 || l4 >= 0) {
            p.setLayerOffsets(l3 >= 0 ? l3 + by : l3, l4 >= 0 ? l4 + by : l4);
        }
    }

    /** Copies the data of chain {@code src} into chain {@code dst}, which is as long. */
    private static void copyData(Packet src, Packet dst) {
        Packet s = src;
        Packet d = dst;
        int so = s.dataOffset();
        int sl = s.dataLength();
        int dof = d.dataOffset();
        int dl = d.dataLength();
        while (true) {
            if (sl == 0) {
                s = s.next();
                if (s == null) {
                    return;
                }
                so = s.dataOffset();
                sl = s.dataLength();
                continue;
            }
            if (dl == 0) {
                d = d.next();
                if (d == null) {
                    return;
                }
                dof = d.dataOffset();
                dl = d.dataLength();
                continue;
            }
            int n = Math.min(sl, dl);
            d.buffer().put(dof, s.buffer(), so, n);
            so += n;
            sl -= n;
            dof += n;
            dl -= n;
        }
    }
}
