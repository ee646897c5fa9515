package io.pvio.vhost.async;

import io.pvio.packet.Packet;
import io.pvio.vhost.ring.CopySink;
import io.pvio.vhost.ring.GuestMemory;
import io.pvio.vhost.ring.NetHeader;

/**
 * Hands a queue's copies to its {@link CopyTracker} (DPDK's async_fill_seg): done by a DMA channel or, below
 * the tracker's threshold, by the CPU at once; used elements and packets are retired by the tracker in order
 * once every copy of a packet and of the packets before it is complete. A packet begun is the tracker's,
 * even if a copy throws. The caller rings the doorbell ({@link CopyTracker#submit}) after the burst.
 */
public final class AsyncCopySink implements CopySink {
    private final CopyTracker tracker;

    public AsyncCopySink(CopyTracker tracker) {
        this.tracker = tracker;
    }

    /** The tracker's packets begun when the burst started. */
    private long burstMark;

    @Override
    public void burst() {
        burstMark = tracker.begun();
    }

    @Override
    public int taken(int counted) {
        return (int) (tracker.begun() - burstMark);
    }

    @Override
    public boolean hasRoom(int packets, int elems) {
        return tracker.hasRoom(packets, elems);
    }

    @Override
    public void toGuestBegin(Packet p) {
        tracker.begin(p);
    }

    @Override
    public void used(int id, int len) {
        tracker.used(id, len);
    }

    /** The header goes into the packet's headroom when the packet is ours alone: one copy, no CPU store. */
    @Override
    public boolean headerInFrame(Packet p, int hdrLen, int heads) {
        return NetHeader.intoHeadroom(p, hdrLen, heads);
    }

    @Override
    public void toGuest(Packet seg, int srcOff, GuestMemory m, int slice, int off, int len) {
        tracker.copy(seg.address() + srcOff, m.address(slice) + off, len);
    }

    @Override
    public void toGuestEnd() {
        tracker.end();
    }

    @Override
    public void flush() {
    }

    @Override
    public boolean abandon() {
        return true;
    }

    @Override
    public void fromGuestBegin(Packet p) {
        tracker.begin(p);
    }

    @Override
    public void fromGuest(GuestMemory m, int slice, int off, Packet seg, int dstOff, int len) {
        tracker.copy(m.address(slice) + off, seg.address() + dstOff, len);
    }

    @Override
    public boolean fromGuestEnd(boolean ok) {
        tracker.end();
        return true;
    }
}
