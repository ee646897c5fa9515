package io.pvio.vhost.ring;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import io.pvio.vhostuser.SplitRing;

/**
 * Guest to host on a split ring (DPDK's virtio_dev_tx_split / desc_to_mbuf): walks each transmit chain,
 * checks it and its virtio-net header, fills one of the burst's packets (allocated first) and hands its
 * pieces and used element to a {@link CopySink}. Lock holder only.
 */
final class SplitDequeue extends SplitWalker {
    SplitDequeue(Virtqueue q, BufVec vec, NetHeader hdr) {
        super(q, vec, hdr);
    }

    /**
     * Takes up to {@code max} chains of the guest's transmit ring into packets of {@code pool} (chained when
     * larger than one buffer), without the virtio-net header. Stops early when the pool is empty or the ring
     * breaks. Used elements go to the sink, unpublished.
     *
     * <p>The burst's packets are allocated into {@code staging} before it touches guest memory past avail->idx
     * (see {@link #stage}). {@code inPlace} (a synchronous sink): {@code staging} is the sink's delivery batch
     * and a packet filled stays where it is (after a fault, the burst's packets are all freed: their bytes are
     * undefined); otherwise the sink takes each packet at {@code fromGuestBegin}, after a fence, and
     * {@code staging} is left empty. Staged packets not used go back to the pool after a fence.
     *
     * @return ring entries consumed
     */
    int run(PacketPool pool, int max, CopySink sink, PacketBatch staging, boolean inPlace) {
        Virtqueue q = this.q;
        int taken = 0;
        int got = 0;
        long bytes = 0;
        int base = staging.size();
        int next = base; // staging[base, next): filled in place or the sink's; [next, size): staged, unused
        boolean fault = false;
        q.burstStart();
        try {
            int availIdx = q.availIndex();
            if (availIdx < 0) {
                return 0;
            }
            int pending = (availIdx - q.lastAvail) & 0xffff;
            if (pending == 0) {
                q.burstIdle();
                return 0;
            }
            max = Math.min(pending, max);
            stage(pool, staging, max);
            // the frames only when this CPU copies them (inPlace): a DMA engine reads them itself, and a load
            // here of a buffer the front end truncated would fault on this thread instead of the engine's
            prefetch(q.lastAvail, max, inPlace);
            for (int k = 0; k < max; k++) {
                int head = q.avail.getShort(q.availOff + SplitRing.availRing(q.lastAvail & q.mask)) & 0xffff;
                long plen = txChain(head);
                if (plen < 0) {
                    break;
                }
                Packet p = txPacket(pool, staging, next, plen); // null: the buffer is used, nothing delivered
                if (poolEmpty) {
                    break; // leave the rest in the ring
                }
                if (!inPlace) {
                    q.fenceNow(); // no late fault of this entry's reads may cut the hand-over (unsealed only)
                }
                int mark = q.nUsed;
                sink.fromGuestBegin(p);
                if (p != null && !inPlace) {
                    next++; // the sink's now
                }
                sink.used(head, 0);
                boolean ok = false;
                try {
                    if (p != null) {
                        readFrame(p, sink);
                    }
                    ok = true;
                } finally {
                    if (sink.fromGuestEnd(ok)) {
                        q.lastAvail = (q.lastAvail + 1) & 0xffff;
                        taken++;
                    } else {
                        q.nUsed = mark; // the descriptor is not consumed
                    }
                }
                if (p != null) {
                    if (inPlace) {
                        next++; // delivered where it was staged
                    }
                    got++;
                    bytes += plen;
                }
            }
        } catch (RuntimeException | InternalError e) { // InternalError: a fault on a guest mapping
            q.markBroken("unexpected " + e);
            fault = e instanceof InternalError;
        }
        endDequeue(staging, base, next, got, bytes, fault, inPlace);
        return taken;
    }

    /**
     * Walks and checks the transmit chain at {@code head} (into the vector); returns the frame's length
     * without the virtio-net header, or -1 to stop (the queue is broken when the chain is).
     */
    private long txChain(int head) {
        vec.clear();
        return txFrameLength(walkChain(head, false));
    }
}
