package io.pvio.vhost.ring;

import io.pvio.vhostuser.SplitRing;
import java.nio.ByteBuffer;

/**
 * What the split-ring walkers share: the queue whose ring they walk (its state, read and written by the
 * queue's lock holder only), its buffer vector and header, and the descriptor chain walk.
 */
abstract class SplitWalker {
    /** Largest indirect table accepted, in descriptors. */
    static final int MAX_INDIRECT = 1024;

    final Virtqueue q;
    final BufVec vec;
    final NetHeader hdr;

    SplitWalker(Virtqueue q, BufVec vec, NetHeader hdr) {
        this.q = q;
        this.vec = vec;
        this.hdr = hdr;
    }

    /**
     * Appends the buffers of the chain at {@code head} to the buffer vector, checking every descriptor.
     *
     * @return total bytes, -1 when the queue was marked broken, -2 when the vector is full
     */
    final long walkChain(int head, boolean write) {
        Virtqueue q = this.q;
        GuestMemory mem = q.mem;
        ByteBuffer tbl = q.desc;
        int tblOff = q.descOff;
        int tblSize = q.size;
        int idx = head;
        int hops = 0;
        boolean inIndirect = false;
        long total = 0;
        for (;;) {
            if (idx >= tblSize) {
                return q.markBroken("descriptor index " + idx + " out of range (table of " + tblSize + ")");
            }
            if (++hops > tblSize) {
                return q.markBroken("descriptor chain loops or is longer than its table (" + tblSize + ")");
            }
            int o = tblOff + SplitRing.desc(idx);
            long addr = tbl.getLong(o + SplitRing.DESC_ADDR);
            long len = tbl.getInt(o + SplitRing.DESC_LEN) & 0xffffffffL;
            int flags = tbl.getShort(o + SplitRing.DESC_FLAGS) & 0xffff;
            int next = tbl.getShort(o + SplitRing.DESC_NEXT) & 0xffff;
            if ((flags & Virtqueue.DESC_F_INDIRECT) != 0) {
                if (!q.indirect) {
                    return q.markBroken("indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC");
                }
                if (inIndirect || hops != 1 || (flags & Virtqueue.DESC_F_NEXT) != 0) {
                    return q.markBroken("indirect descriptor inside a chain");
                }
                if (len == 0 || len % SplitRing.DESC_SIZE != 0 || len / SplitRing.DESC_SIZE > MAX_INDIRECT) {
                    return q.markBroken("indirect table of bad size " + len);
                }
                int r = mem.regionOfGpa(addr);
                if (r < 0 || mem.gpaRoom(r, addr) < len) {
                    return q.markBroken(String.format("indirect table at 0x%x+%d outside guest memory", addr, len));
                }
                tbl = mem.view(r);
                tblOff = mem.gpaOffset(r, addr);
                tblSize = (int) (len / SplitRing.DESC_SIZE);
                idx = 0;
                hops = 0;
                inIndirect = true;
                continue;
            }
            if (write != ((flags & Virtqueue.DESC_F_WRITE) != 0)) {
                return q.markBroken(write ? "read-only descriptor in a receive chain"
                        : "write-only descriptor in a transmit chain");
            }
            if (len > 0) {
                int r = vec.locate(addr, len);
                if (r == -2) {
                    return q.markBroken(String.format("descriptor 0x%x+%d points outside guest memory", addr, len));
                }
                total += len;
                if (total > Integer.MAX_VALUE) {
                    return q.markBroken("descriptor chain of more than 2 GiB");
                }
                if (!vec.push(addr, len, r)) {
                    return -2;
                }
            }
            if ((flags & Virtqueue.DESC_F_NEXT) == 0) {
                return total;
            }
            idx = next;
        }
    }
}
