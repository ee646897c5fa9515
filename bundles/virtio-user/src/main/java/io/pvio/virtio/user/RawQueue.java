package io.pvio.virtio.user;

import io.pvio.vhostuser.SplitRing;

/**
 * Raw access to one virtqueue, for robustness tests of back ends: write any descriptor, publish any head,
 * set any avail index, read the used ring. While a queue is raw, the normal data path skips it
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
        q.pushAvail(head & 0xffff);
        q.publish();
    }

    /** Stores an arbitrary avail index (release), e.g. far beyond what was posted. */
    public void setAvailIdx(int idx) {
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
