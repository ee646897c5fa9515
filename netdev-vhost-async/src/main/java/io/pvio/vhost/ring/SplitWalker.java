package io.pvio.vhost.ring;

import io.pvio.packet.PacketBatch;
import io.pvio.vhostuser.SplitRing;
import java.nio.ByteBuffer;

/**
 * What the split-ring walkers share besides {@link RingWalker}: the descriptor chain walk (the queue's ring
 * state is read and written by the queue's lock holder only).
 */
abstract class SplitWalker extends RingWalker {
    /** Largest indirect table accepted, in descriptors. */
    static final int MAX_INDIRECT = 1024;

    SplitWalker(Virtqueue q, BufVec vec, NetHeader hdr, boolean dequeue) {
        super(q, vec, hdr, dequeue);
    }

    /**
     * {@code -Dpvio.vhost.prefetch=false} turns {@link #prefetch} off, to compare on a given machine: it costs
     * about 8 ns per packet of instructions when every line is in this core's cache already (one thread), and
     * saves misses only when the guest runs on another core.
     */
    static final boolean PREFETCH = !"false".equals(System.getProperty("pvio.vhost.prefetch"));

    /**
     * {@code -Dpvio.vhost.enqueuePrefetch=true} makes the enqueue load its burst's descriptors up front too.
     * Off by default: against DPDK's receive-only testpmd it cost 5-6 % (bench-ab.sh, 4 rounds, 64 and
     * 1518 B); the dequeue's pass, which also loads the frames, gains 4-10 %.
     */
    static final boolean ENQUEUE_PREFETCH = PREFETCH && Boolean.getBoolean("pvio.vhost.enqueuePrefetch");


    /**
     * Loads, back to back, the head descriptor of each of the {@code n} chains from avail slot {@code from}
     * on and, with {@code frames}, the first one or two cache lines of each head's buffer: the lines the
     * guest's core wrote last are then fetched in parallel, as DPDK's rte_prefetch0 of descriptors and
     * buffers, instead of one miss after another in the walk. Reads only, each bounds-checked (guest memory
     * through its views); the walk reads and checks everything again. The caller has read avail->idx.
     */
    final void prefetch(int from, int n, boolean frames) {
        if (!PREFETCH) {
            return;
        }
        Virtqueue q = this.q;
        ByteBuffer a = q.avail;
        ByteBuffer d = q.desc;
        int availOff = q.availOff;
        int descOff = q.descOff;
        int mask = q.mask;
        int size = q.size;
        long sum = 0;
        for (int k = 0; k < n; k++) {
            int head = Le.getShort(a, availOff + SplitRing.availRing((from + k) & mask)) & 0xffff;
            if (head < size) {
                sum += Le.getLong(d, descOff + SplitRing.desc(head) + SplitRing.DESC_ADDR);
            }
        }
        if (frames) {
            GuestMemory m = q.mem;
            startFrames();
            for (int k = 0; k < n && frameRoom(); k++) {
                int head = Le.getShort(a, availOff + SplitRing.availRing((from + k) & mask)) & 0xffff;
                if (head < size) {
                    int o = descOff + SplitRing.desc(head);
                    frame(m, Le.getLong(d, o + SplitRing.DESC_ADDR),
                            Le.getInt(d, o + SplitRing.DESC_LEN) & 0xffffffffL);
                }
            }
            sum += loadFrames(m);
        }
        touch(sum);
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
            long addr = Le.getLong(tbl, o + SplitRing.DESC_ADDR);
            long len = Le.getInt(tbl, o + SplitRing.DESC_LEN) & 0xffffffffL;
            int flags = Le.getShort(tbl, o + SplitRing.DESC_FLAGS) & 0xffff;
            int next = Le.getShort(tbl, o + SplitRing.DESC_NEXT) & 0xffff;
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
