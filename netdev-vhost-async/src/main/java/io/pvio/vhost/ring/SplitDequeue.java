package io.pvio.vhost.ring;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import io.pvio.vhostuser.SplitRing;

/**
 * Guest to host on a split ring (DPDK's virtio_dev_tx_split / desc_to_mbuf): walks each transmit chain,
 * checks it and its virtio-net header, allocates the packet and hands its pieces and used element to a
 * {@link CopySink}. Lock holder only.
 */
final class SplitDequeue extends SplitWalker {
    /** Packets allocated for the burst in one pool operation (DPDK's rte_pktmbuf_alloc_bulk); burst only. */
    private final Packet[] pre = new Packet[PacketBatch.MAX];

    SplitDequeue(Virtqueue q, BufVec vec, NetHeader hdr) {
        super(q, vec, hdr);
    }

    /**
     * Takes up to {@code max} chains of the guest's transmit ring into packets of {@code pool} (chained when
     * larger than one buffer), without the virtio-net header. Stops early when the pool is empty or the ring
     * breaks. Used elements go to the sink, unpublished.
     *
     * @return ring entries consumed
     */
    int run(PacketPool pool, int max, CopySink sink) {
        Virtqueue q = this.q;
        int taken = 0;
        int got = 0;
        long bytes = 0;
        int nPre = 0;
        int usedPre = 0;
        try {
            int availIdx = q.availIndex();
            if (availIdx < 0) {
                return 0;
            }
            int pending = (availIdx - q.lastAvail) & 0xffff;
            max = Math.min(pending, max);
            if (max == 0) {
                return 0; // an empty poll: nothing more to read, nothing to allocate
            }
            // the frames only when this CPU copies them: a DMA engine reads them itself, and a load here of
            // a buffer the front end truncated would fault on this thread instead of the engine's; the
            // asynchronous path keeps its allocation per packet (its packets are the tracker's at once)
            boolean cpu = sink instanceof CpuCopySink;
            prefetch(q.lastAvail, max, cpu);
            if (cpu && max <= pre.length && pool.allocBulk(pre, 0, max)) {
                nPre = max; // one buffer per chain; larger frames and a short pool take allocChain's way
            }
            for (int k = 0; k < max; k++) {
                int head = q.avail.getShort(q.availOff + SplitRing.availRing(q.lastAvail & q.mask)) & 0xffff;
                long plen = txChain(head);
                if (plen < 0) {
                    break;
                }
                Packet p = null;
                if (plen == 0) {
                    q.add(Virtqueue.C_ERRORS, 1); // a header without a frame
                } else {
                    if (usedPre < nPre && plen <= pre[usedPre].tailroom()) {
                        p = pre[usedPre];
                        pre[usedPre++] = null;
                        p.setData(p.headroom(), (int) plen);
                    } else {
                        p = pool.allocChain((int) plen);
                    }
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
                        p = null; // the descriptor is used, nothing is delivered
                        q.badHeader(bad);
                    }
                }
                int mark = q.nUsed;
                sink.fromGuestBegin(p);
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
                    got++;
                    bytes += plen;
                }
            }
        } catch (RuntimeException | InternalError e) { // InternalError: a fault on a guest mapping
            q.markBroken("unexpected " + e);
        } finally {
            for (; usedPre < nPre; usedPre++) { // the burst ended early: what it did not use goes back
                pre[usedPre].free();
                pre[usedPre] = null;
            }
        }
        q.add(Virtqueue.C_PACKETS, got);
        q.add(Virtqueue.C_BYTES, bytes);
        return taken;
    }

    /**
     * Walks and checks the transmit chain at {@code head} (into the vector); returns the frame's length
     * without the virtio-net header, or -1 to stop (the queue is broken when the chain is).
     */
    private long txChain(int head) {
        vec.clear();
        long total = walkChain(head, false);
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

    /** Hands the frame of the chain walked last (after its virtio-net header) to the sink, segment by segment. */
    private void readFrame(Packet p, CopySink sink) {
        GuestMemory m = q.mem;
        vec.rewind();
        vec.skip(hdr.len);
        for (Packet s = p; s != null; s = s.next()) {
            int off = s.dataOffset();
            int len = s.dataLength();
            while (len > 0) {
                int chunk = vec.piece(len);
                sink.fromGuest(m, vec.pieceSlice, vec.pieceOff, s, off, chunk);
                off += chunk;
                len -= chunk;
                vec.advance(chunk);
            }
        }
    }
}
