package io.pvio.vhost.ring;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketPool;

/**
 * Guest to host on a packed ring (DPDK's virtio_dev_tx_packed / desc_to_mbuf): walks each available
 * transmit buffer in ring order, checks it and its virtio-net header, allocates the packet and hands its
 * pieces and used element to a {@link CopySink}, as {@link SplitDequeue} does. Lock holder only.
 */
final class PackedDequeue extends PackedWalker {
    PackedDequeue(Virtqueue q, BufVec vec, NetHeader hdr) {
        super(q, vec, hdr);
    }

    /**
     * Takes up to {@code max} available buffers of the guest's transmit ring into packets of {@code pool}
     * (chained when larger than one buffer), without the virtio-net header. Stops early when the pool is
     * empty or the ring breaks. Used elements go to the sink, unpublished.
     *
     * @return buffers consumed
     */
    int run(PacketPool pool, int max, CopySink sink) {
        Virtqueue q = this.q;
        int taken = 0;
        int got = 0;
        long bytes = 0;
        try {
            for (int k = 0; k < max; k++) {
                if (q.inFlightDescs >= q.size || !available(q.lastAvail, q.availWrap)) {
                    break;
                }
                long plen = txBuffer();
                if (plen < 0 || q.inFlightDescs + bufCount > q.size) {
                    break;
                }
                Packet p = null;
                if (plen == 0) {
                    q.add(Virtqueue.C_ERRORS, 1); // a header without a frame
                } else {
                    p = pool.allocChain((int) plen);
                    if (p == null) {
                        break; // pool empty: leave the rest in the ring
                    }
                    String bad;
                    try {
                        bad = hdr.hostCsum ? hdr.read(vec, q.mem, p, plen) : null;
                    } catch (RuntimeException | InternalError e) {
                        p.free(); // nobody's yet
                        throw e;
                    }
                    if (bad != null) {
                        p.free();
                        p = null; // the buffer is used, nothing is delivered
                        q.badHeader(bad);
                    }
                }
                int mark = q.nUsed;
                long counts = q.usedCountMark();
                int id = bufId;
                int count = bufCount;
                q.inFlightDescs += count;
                sink.fromGuestBegin(p);
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
                    got++;
                    bytes += plen;
                }
            }
        } catch (RuntimeException | InternalError e) { // InternalError: a fault on a guest mapping
            q.markBroken("unexpected " + e);
        }
        q.add(Virtqueue.C_PACKETS, got);
        q.add(Virtqueue.C_BYTES, bytes);
        return taken;
    }

    /**
     * Walks and checks the transmit buffer at the queue's next available position (into the vector); returns
     * the frame's length without the virtio-net header, or -1 to stop (the queue is broken when the buffer is).
     */
    private long txBuffer() {
        vec.clear();
        long total = walkBuffer(q.lastAvail, false);
        if (total == -2) {
            q.markBroken("descriptor chain with more than " + BufVec.MAX + " buffers");
        }
        if (total < 0) {
            return -1;
        }
        if (total < hdr.len) {
            q.markBroken("descriptor chain of " + total + " bytes is shorter than the virtio-net header");
            return -1;
        }
        long plen = total - hdr.len;
        if (plen > Virtqueue.MAX_PACKET) {
            q.markBroken("packet of " + plen + " bytes does not fit (at most " + Virtqueue.MAX_PACKET + ")");
            return -1;
        }
        return plen;
    }
}
