package io.pvio.virtio.user;

import io.pvio.vhostuser.PackedRing;
import io.pvio.vhostuser.SplitRing;

/**
 * Raw access to one virtqueue, for robustness tests of back ends: write any descriptor, publish any head,
 * set any avail index, read the used ring (split); write any descriptor with any flags at any ring
 * position and read what the device wrote back (packed: {@link #writePacked}, {@link #flags}). While a queue is raw, the normal data path skips it
 * ({@link VirtioUserDevice#transmit} returns false, {@link VirtioUserDevice#receive} returns nothing); the
 * normal slot bookkeeping is not restored afterwards, so use a raw queue for raw traffic only.
 *
 * <p>Addresses are guest physical addresses (see {@link VirtioUserDevice#scratchGpa()} for memory a test may
 * use freely). One thread at a time.
 */
public final class RawQueue {
    private final Virtqueue q;

    RawQueue(Virtqueue q) {
        this.q = q;
    }

    /** Queue index (RX 0,2,4..; TX 1,3,5..). */
    public int index() {
        return q.index;
    }

    public int size() {
        return q.size;
    }

    /** True for a packed virtqueue (the device negotiated VIRTIO_F_RING_PACKED). */
    public boolean packed() {
        return q.packed;
    }

    private void split() {
        if (q.packed) {
            throw new IllegalStateException("queue " + q.index + " is packed: use writePacked");
        }
    }

    private void packedOnly(int pos) {
        if (!q.packed) {
            throw new IllegalStateException("queue " + q.index + " is a split ring");
        }
        if (pos < 0 || pos >= q.size) {
            throw new IndexOutOfBoundsException("ring position " + pos + " of " + q.size);
        }
    }

    /**
     * Packed: writes ring position {@code pos} (0 &le; pos &lt; size): address, length and id, then
     * {@code flags} as given (NEXT, WRITE, INDIRECT and the AVAIL/USED bits, see
     * {@link PackedRing#availFlags}) with a release store, so a descriptor made available is complete when
     * the device sees it. Does not kick.
     */
    public void writePacked(int pos, long addr, int len, int id, int flags) {
        packedOnly(pos);
        int o = q.descOff + PackedRing.desc(pos);
        q.mem.putLong(o + PackedRing.DESC_ADDR, addr);
        q.mem.putInt(o + PackedRing.DESC_LEN, len);
        q.mem.putShort(o + PackedRing.DESC_ID, (short) id);
        Virtqueue.U16.setRelease(q.mem, o + PackedRing.DESC_FLAGS, (short) flags);
    }

    /** Packed: the flags at ring position {@code pos} (acquire), e.g. to see whether the device used it. */
    public int flags(int pos) {
        packedOnly(pos);
        return (short) Virtqueue.U16.getAcquire(q.mem, q.descOff + PackedRing.desc(pos) + PackedRing.DESC_FLAGS)
                & 0xffff;
    }

    /** Packed: the id at ring position {@code pos}. */
    public int id(int pos) {
        packedOnly(pos);
        return q.mem.getShort(q.descOff + PackedRing.desc(pos) + PackedRing.DESC_ID) & 0xffff;
    }

    /** Packed: the length at ring position {@code pos}. */
    public int length(int pos) {
        packedOnly(pos);
        return q.mem.getInt(q.descOff + PackedRing.desc(pos) + PackedRing.DESC_LEN);
    }

    /** Guest physical addresses of the descriptor table, avail ring and used ring. */
    public long descGpa() {
        return q.gpa(q.descOff);
    }

    public long availGpa() {
        return q.gpa(q.availOff);
    }

    public long usedGpa() {
        return q.gpa(q.usedOff);
    }

    /** Writes descriptor {@code i} (0 &le; i &lt; size) with arbitrary contents. */
    public void writeDescriptor(int i, long addr, int len, int flags, int next) {
        split();
        if (i < 0 || i >= q.size) {
            throw new IndexOutOfBoundsException("descriptor " + i + " of " + q.size);
        }
        q.writeDesc(i, addr, len, flags, next);
    }

    /**
     * Puts {@code head} (any 16-bit value, also out of range) into the next avail entry and publishes the
     * new avail index with a release store; kicks when the back end asks for it.
     */
    public void publish(int head) {
        split();
        q.pushAvail(head & 0xffff);
        q.publish();
    }

    /** Stores an arbitrary avail index (release), e.g. far beyond what was posted. */
    public void setAvailIdx(int idx) {
        split();
        Virtqueue.U16.setRelease(q.mem, q.availOff + SplitRing.AVAIL_IDX, (short) idx);
    }

    /** The avail index the driver has published. */
    public int availIdx() {
        return q.availIdx();
    }

    /** The used index as the back end wrote it (acquire). */
    public int usedIdx() {
        return q.usedIdxAcquire();
    }

    /** The id of used entry {@code i} (mod size). */
    public int usedId(int i) {
        return q.mem.getInt(q.usedOff + SplitRing.usedElem(i & q.mask) + SplitRing.USED_ELEM_ID);
    }

    /** The length of used entry {@code i} (mod size). */
    public int usedLen(int i) {
        return q.mem.getInt(q.usedOff + SplitRing.usedElem(i & q.mask) + SplitRing.USED_ELEM_LEN);
    }

    /** Signals the kick eventfd regardless of the back end's notification wishes. */
    public void kick() {
        q.kickFd.signal();
    }
}
