package io.pvio.vhost.ring;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import io.pvio.vhostuser.PackedRing;
import java.nio.ByteBuffer;

/**
 * Guest to host on a packed ring (DPDK's virtio_dev_tx_packed / desc_to_mbuf): walks each available
 * transmit buffer in ring order, checks it and its virtio-net header, fills one of the burst's packets
 * (allocated first) and hands its pieces and used element to a {@link CopySink}, as {@link SplitDequeue}
 * does. Lock holder only.
 */
final class PackedDequeue extends PackedWalker {
    PackedDequeue(Virtqueue q, BufVec vec, NetHeader hdr) {
        super(q, vec, hdr, true);
    }

    /**
     * Takes up to {@code max} available buffers of the guest's transmit ring into packets of {@code pool}
     * (chained when larger than one buffer), without the virtio-net header, copied by the CPU into
     * {@code staging}. Stops early when the pool is empty or the ring breaks. Used elements go to the sink,
     * unpublished. {@code staging} as in {@link SplitDequeue#run}: the burst's packets are allocated before it
     * reads past the first available descriptor's flags.
     *
     * @return buffers consumed
     */
    int run(PacketPool pool, int max, CopySink sink, PacketBatch staging) {
        Virtqueue q = this.q;
        int taken = 0;
        int got = 0;
        long bytes = 0;
        int base = staging.size();
        int next = base; // staging[base, next): filled in place; [next, size): staged, unused
        boolean fault = false;
        q.burstStart();
        try {
            if (idle()) {
                return 0;
            }
            stage(pool, staging, max);
            prefetch(q.lastAvail, q.availWrap, max);
            int oneMax = pool.bufferSize() - pool.defaultHeadroom();
            for (int k = 0; k < max; k++) {
                // past the first (idle() read it fault-safe) the burst owes its fence: plain loads
                if (k > 0 && (q.inFlightDescs >= q.size || !availableInBurst(q.lastAvail, q.availWrap))) {
                    break;
                }
                long plen = txOne(q.lastAvail, oneMax);
                boolean one = plen > 0;
                if (!one) {
                    plen = txBuffer(q.lastAvail);
                }
                if (plen < 0 || q.inFlightDescs + bufCount > q.size) {
                    break;
                }
                Packet p = txPacket(pool, staging, next, plen); // null: the buffer is used, nothing delivered
                if (poolEmpty) {
                    break; // leave the rest in the ring
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
                    if (one) {
                        readOne(p, plen, sink);
                    } else if (p != null) {
                        readFrame(p, sink);
                    }
                    ok = true;
                } finally {
                    if (sink.fromGuestEnd(ok)) {
                        consume(count);
                        taken++;
                    } else {
                        q.nUsed = mark; // the buffer is not consumed
                        q.resetUsedCounts(counts);
                        q.inFlightDescs -= count;
                    }
                }
                if (p != null) {
                    next++; // delivered where it was staged
                    got++;
                    bytes += plen;
                }
            }
        } catch (RuntimeException | InternalError e) { // InternalError: a fault on a guest mapping
            q.markBroken("unexpected " + e);
            fault = e instanceof InternalError;
        }
        endDequeue(staging, base, next, got, bytes, fault, true);
        return taken;
    }

    /**
     * {@link #run} into an asynchronous sink, as {@link SplitDequeue#runAsync}: the burst's buffers are walked
     * and checked first, then one fence, then each is handed to the sink in ring order (then a second fence
     * when the CPU copied out of guest memory meanwhile). A fault that the first fence raises is the burst's:
     * nothing is handed over, the staged packets go back to the pool, the ring breaks.
     *
     * @return buffers consumed
     */
    int runAsync(PacketPool pool, int max, CopySink sink, PacketBatch staging) {
        Virtqueue q = this.q;
        int taken = 0;
        int got = 0;
        long bytes = 0;
        int base = staging.size();
        int next = base; // staging[base, next): the sink's; [next, size): staged, not handed over
        int begun = 0; // recorded buffers begun with the sink
        boolean fault = false;
        q.burstStart();
        sink.burst();
        startRecord();
        try {
            if (idle()) {
                return 0;
            }
            stage(pool, staging, max);
            int filled = next;
            int pos = q.lastAvail;
            boolean wrap = q.availWrap;
            int descs = q.inFlightDescs;
            for (int k = 0; k < max; k++) {
                if (k > 0 && (descs >= q.size || !available(pos, wrap))) {
                    break;
                }
                long plen = txBuffer(pos);
                if (plen < 0 || descs + bufCount > q.size) {
                    break;
                }
                Packet p = txPacket(pool, staging, filled, plen); // null: the buffer is used, nothing delivered
                if (poolEmpty) {
                    break; // leave the rest in the ring
                }
                if (p != null) {
                    filled++;
                }
                int count = bufCount;
                descs += count;
                pos += count;
                if (pos >= q.size) {
                    pos -= q.size;
                    wrap = !wrap;
                }
                if (!record(bufId, count, p, plen)) {
                    break; // its pieces stay in the vector
                }
            }
            int n = recorded;
            if (n > 0) {
                q.fenceNow(); // a late fault of the walk is raised here, before anything is handed over
            }
            long cpuCopies = q.tracker().cpuCopies();
            for (int i = 0; i < n; i++) {
                Packet p = recPkt[i];
                int count = recCount[i];
                int mark = q.nUsed;
                long counts = q.usedCountMark();
                q.inFlightDescs += count;
                sink.fromGuestBegin(p);
                begun++;
                if (p != null) {
                    next++; // the sink's now
                }
                q.pushUsedCount(count);
                sink.used(recId[i], 0);
                boolean ok = false;
                boolean consumed;
                try {
                    recordedFrame(i, sink);
                    ok = true;
                } finally {
                    consumed = sink.fromGuestEnd(ok);
                    if (consumed) {
                        consume(count);
                        taken++;
                    } else {
                        q.nUsed = mark; // the buffer is not consumed
                        q.resetUsedCounts(counts);
                        q.inFlightDescs -= count;
                    }
                }
                if (!consumed) {
                    break; // the rest stays in the ring
                }
                if (p != null) {
                    got++;
                    bytes += recLen[i];
                }
            }
            if (q.tracker().cpuCopies() != cpuCopies) {
                q.fenceNow(); // and one of the copies the CPU made out of guest memory, before any retirement
            }
        } catch (RuntimeException | InternalError e) { // InternalError: a fault on a guest mapping
            q.markBroken("unexpected " + e);
            fault = e instanceof InternalError;
            next = base + packetsIn(sink.taken(begun)); // a late fault may cut a hand-over anywhere
        }
        endDequeue(staging, base, next, got, bytes, fault, false);
        return taken;
    }

    /** True (an idle poll, which owes no fence) when no buffer is available or the ring holds no more in flight. */
    private boolean idle() {
        if (q.inFlightDescs >= q.size || !available(q.lastAvail, q.availWrap)) {
            q.burstIdle();
            return true;
        }
        return false;
    }

    /** Moves the next available position past a consumed buffer of {@code count} ring positions. */
    private void consume(int count) {
        q.lastAvail += count;
        if (q.lastAvail >= q.size) {
            q.lastAvail -= q.size;
            q.availWrap = !q.availWrap;
        }
    }

    /**
     * The common transmit buffer without the general walk: the frame's length when ring position {@code pos}
     * (available) is one read-only descriptor (no next, not indirect) that {@link #oneTxBuffer} takes; then
     * {@link #bufId} and {@link #bufCount} are set. Else 0 and nothing was touched (the walk decides).
     */
    private long txOne(int pos, int oneMax) {
        Virtqueue q = this.q;
        ByteBuffer d = q.desc;
        int o = q.descOff + PackedRing.desc(pos);
        int flags = Le.getShort(d, o + PackedRing.DESC_FLAGS) & 0xffff;
        if ((flags & (PackedRing.DESC_F_NEXT | PackedRing.DESC_F_INDIRECT | PackedRing.DESC_F_WRITE)) != 0) {
            return 0;
        }
        long plen = oneTxBuffer(Le.getLong(d, o + PackedRing.DESC_ADDR),
                Le.getInt(d, o + PackedRing.DESC_LEN) & 0xffffffffL, oneMax);
        if (plen > 0) {
            bufId = Le.getShort(d, o + PackedRing.DESC_ID) & 0xffff;
            bufCount = 1;
        }
        return plen;
    }

    /**
     * Walks and checks the transmit buffer at ring position {@code pos} (into the vector); returns the frame's
     * length without the virtio-net header, or -1 to stop (the queue is broken when the buffer is).
     */
    private long txBuffer(int pos) {
        vec.clear();
        return txFrameLength(walkBuffer(pos, false));
    }
}
