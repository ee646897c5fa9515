package io.pvio.vhost.ring;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;

/**
 * Guest to host on a packed ring (DPDK's virtio_dev_tx_packed / desc_to_mbuf): walks each available
 * transmit buffer in ring order, checks it and its virtio-net header, fills one of the burst's packets
 * (allocated first) and hands its pieces and used element to a {@link CopySink}, as {@link SplitDequeue}
 * does. Lock holder only.
 */
final class PackedDequeue extends PackedWalker {
    PackedDequeue(Virtqueue q, BufVec vec, NetHeader hdr) {
        super(q, vec, hdr);
    }

    /**
     * Takes up to {@code max} available buffers of the guest's transmit ring into packets of {@code pool}
     * (chained when larger than one buffer), without the virtio-net header. Stops early when the pool is
     * empty or the ring breaks. Used elements go to the sink, unpublished. {@code staging} and
     * {@code inPlace} as in {@link SplitDequeue#run}: the burst's packets are allocated before it reads past
     * the first available descriptor's flags.
     *
     * @return buffers consumed
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
            if (q.inFlightDescs >= q.size || !available(q.lastAvail, q.availWrap)) {
                q.burstIdle();
                return 0;
            }
            stage(pool, staging, max);
            for (int k = 0; k < max; k++) {
                if (k > 0 && (q.inFlightDescs >= q.size || !available(q.lastAvail, q.availWrap))) {
                    break;
                }
                long plen = txBuffer();
                if (plen < 0 || q.inFlightDescs + bufCount > q.size) {
                    break;
                }
                Packet p = txPacket(pool, staging, next, plen); // null: the buffer is used, nothing delivered
                if (poolEmpty) {
                    break; // leave the rest in the ring
                }
                if (!inPlace) {
                    q.fenceNow(); // no late fault of this buffer's reads may cut the hand-over (unsealed only)
                }
                int mark = q.nUsed;
                long counts = q.usedCountMark();
                int id = bufId;
                int count = bufCount;
                q.inFlightDescs += count;
                sink.fromGuestBegin(p);
                if (p != null && !inPlace) {
                    next++; // the sink's now
                }
                q.pushUsedCount(count);
                sink.used(id, 0);
                boolean ok = false;
                try {
                    if (p != null) {
                        readFrame(p, sink);
                    }
                    ok = true;
                } finally {
                    if (sink.fromGuestEnd(ok)) {
                        q.lastAvail += count;
                        if (q.lastAvail >= q.size) {
                            q.lastAvail -= q.size;
                            q.availWrap = !q.availWrap;
                        }
                        taken++;
                    } else {
                        q.nUsed = mark; // the buffer is not consumed
                        q.resetUsedCounts(counts);
                        q.inFlightDescs -= count;
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
     * Walks and checks the transmit buffer at the queue's next available position (into the vector); returns
     * the frame's length without the virtio-net header, or -1 to stop (the queue is broken when the buffer is).
     */
    private long txBuffer() {
        vec.clear();
        return txFrameLength(walkBuffer(q.lastAvail, false));
    }
}
