package io.pvio.vhost.ring;

import io.pvio.vhostuser.PackedRing;
import java.nio.ByteBuffer;

/**
 * What the packed-ring walkers share besides {@link RingWalker} (DPDK's fill_vec_buf_packed): the walk of
 * one available buffer (a chain of consecutive ring descriptors, or one indirect descriptor) into the
 * vector. Lock holder only.
 */
abstract class PackedWalker extends RingWalker {
    /** Largest indirect table accepted, in descriptors. */
    static final int MAX_INDIRECT = 1024;

    /** Results of the last {@link #walkBuffer}: the buffer id and the ring positions it spans. */
    int bufId;
    int bufCount;

    PackedWalker(Virtqueue q, BufVec vec, NetHeader hdr, boolean dequeue) {
        super(q, vec, hdr, dequeue);
    }

    /**
     * True when ring position {@code pos} holds a descriptor the driver made available in the lap of wrap
     * counter {@code wrap} (acquire: the descriptors of its buffer are read after).
     */
    final boolean available(int pos, boolean wrap) {
        return PackedRing.isAvail(q.descFlagsAcquire(pos, PackedRing.availFlags(!wrap)), wrap);
    }

    /**
     * Loads, back to back, the descriptors of up to {@code n} available buffers from ring position {@code pos}
     * (wrap counter {@code wrap}) and the first one or two cache lines of their frames, as
     * {@link SplitWalker#prefetch} does: the lines the guest's core wrote last are fetched in parallel instead
     * of one miss after another in the walk. Stops at the first position not available and at the first
     * chain or indirect buffer. Reads only, each bounds-checked; the walk reads and checks everything again.
     */
    final void prefetch(int pos, boolean wrap, int n) {
        if (!SplitWalker.PREFETCH) {
            return;
        }
        Virtqueue q = this.q;
        ByteBuffer d = q.desc;
        int descOff = q.descOff;
        int size = q.size;
        GuestMemory m = q.mem;
        startFrames();
        for (int k = 0; k < n && frameRoom(); k++) {
            int o = descOff + PackedRing.desc(pos);
            int flags = Le.getShort(d, o + PackedRing.DESC_FLAGS) & 0xffff;
            if (!PackedRing.isAvail(flags, wrap)
                    || (flags & (PackedRing.DESC_F_NEXT | PackedRing.DESC_F_INDIRECT)) != 0) {
                break;
            }
            frame(m, Le.getLong(d, o + PackedRing.DESC_ADDR), Le.getInt(d, o + PackedRing.DESC_LEN) & 0xffffffffL);
            if (++pos == size) {
                pos = 0;
                wrap = !wrap;
            }
        }
        touch(loadFrames(m));
    }

    /** {@link #available} by a plain load: inside a burst that fences ({@link Virtqueue#descFlagsInBurst}). */
    final boolean availableInBurst(int pos, boolean wrap) {
        return PackedRing.isAvail(q.descFlagsInBurst(pos), wrap);
    }

    /**
     * Appends the buffers of the available buffer starting at ring position {@code pos} (wrap counter
     * {@code wrap}) to the vector, checking every descriptor; sets {@link #bufId} (from its last ring
     * descriptor) and {@link #bufCount}.
     *
     * @return total bytes, -1 when the queue was marked broken, -2 when the vector is full
     */
    final long walkBuffer(int pos, boolean write) {
        Virtqueue q = this.q;
        GuestMemory mem = q.mem;
        ByteBuffer ring = q.desc;
        int size = q.size;
        int count = 0;
        long total = 0;
        for (;;) {
            if (++count > size) {
                return q.markBroken("descriptor chain longer than the ring (" + size + ")");
            }
            int o = q.descOff + PackedRing.desc(pos);
            long addr = Le.getLong(ring, o + PackedRing.DESC_ADDR);
            long len = Le.getInt(ring, o + PackedRing.DESC_LEN) & 0xffffffffL;
            int flags = Le.getShort(ring, o + PackedRing.DESC_FLAGS) & 0xffff;
            bufId = Le.getShort(ring, o + PackedRing.DESC_ID) & 0xffff;
            if (++pos == size) {
                pos = 0;
            }
            if ((flags & PackedRing.DESC_F_INDIRECT) != 0) {
                if (!q.indirect) {
                    return q.markBroken("indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC");
                }
                if (count != 1 || (flags & PackedRing.DESC_F_NEXT) != 0) {
                    return q.markBroken("indirect descriptor inside a chain");
                }
                long t = walkIndirect(addr, len, write);
                if (t < 0) {
                    return t;
                }
                bufCount = 1;
                return t;
            }
            long r = push(addr, len, flags, write, total);
            if (r < 0) {
                return r;
            }
            total = r;
            if ((flags & PackedRing.DESC_F_NEXT) == 0) {
                bufCount = count;
                return total;
            }
        }
    }

    /** The descriptors of an indirect table: consecutive, WRITE their only flag (2.8.19 "Indirect Flag"). */
    private long walkIndirect(long addr, long len, boolean write) {
        Virtqueue q = this.q;
        GuestMemory mem = q.mem;
        if (len == 0 || len % PackedRing.DESC_SIZE != 0 || len / PackedRing.DESC_SIZE > MAX_INDIRECT) {
            return q.markBroken("indirect table of bad size " + len);
        }
        int r = mem.regionOfGpa(addr);
        if (r < 0 || mem.gpaRoom(r, addr) < len) {
            return q.markBroken(String.format("indirect table at 0x%x+%d outside guest memory", addr, len));
        }
        ByteBuffer tbl = mem.view(r);
        int tblOff = mem.gpaOffset(r, addr);
        int n = (int) (len / PackedRing.DESC_SIZE);
        long total = 0;
        for (int i = 0; i < n; i++) {
            int o = tblOff + PackedRing.desc(i);
            int flags = Le.getShort(tbl, o + PackedRing.DESC_FLAGS) & 0xffff;
            if ((flags & PackedRing.DESC_F_INDIRECT) != 0) {
                return q.markBroken("indirect descriptor inside an indirect table");
            }
            total = push(Le.getLong(tbl, o + PackedRing.DESC_ADDR),
                    Le.getInt(tbl, o + PackedRing.DESC_LEN) & 0xffffffffL, flags, write, total);
            if (total < 0) {
                return total;
            }
        }
        return total;
    }

    /** Checks one buffer and appends it; returns the new total, -1 (broken) or -2 (vector full). */
    private long push(long addr, long len, int flags, boolean write, long total) {
        if (write != ((flags & PackedRing.DESC_F_WRITE) != 0)) {
            return q.markBroken(write ? "read-only descriptor in a receive buffer"
                    : "write-only descriptor in a transmit buffer");
        }
        if (len == 0) {
            return total;
        }
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
        return total;
    }
}
