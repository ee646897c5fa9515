package io.pvio.vhost.ring;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import io.pvio.vhostuser.SplitRing;
import java.nio.ByteBuffer;

/**
 * Guest to host on a split ring (DPDK's virtio_dev_tx_split / desc_to_mbuf): walks each transmit chain,
 * checks it and its virtio-net header, fills one of the burst's packets (allocated first) and hands its
 * pieces and used element to a {@link CopySink}. Lock holder only.
 */
final class SplitDequeue extends SplitWalker {
    SplitDequeue(Virtqueue q, BufVec vec, NetHeader hdr) {
        super(q, vec, hdr, true);
    }

    /**
     * Takes up to {@code max} chains of the guest's transmit ring into packets of {@code pool} (chained when
     * larger than one buffer), without the virtio-net header, copied by the CPU into {@code staging} (the
     * sink's delivery batch), where each packet filled stays. Stops early when the pool is empty or the ring
     * breaks. Used elements go to the sink, unpublished.
     *
     * <p>The burst's packets are allocated into {@code staging} before it touches guest memory past avail->idx
     * (see {@link #stage}). After a fault the burst's packets are all freed (their bytes are undefined).
     * Staged packets not used go back to the pool after a fence.
     *
     * @return ring entries consumed
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
            max = burst(max);
            if (max == 0) {
                return 0;
            }
            stage(pool, staging, max);
            prefetch(q.lastAvail, max, true);
            int oneMax = pool.bufferSize() - pool.defaultHeadroom();
            for (int k = 0; k < max; k++) {
                int head = Le.getShort(q.avail, q.availOff + SplitRing.availRing(q.lastAvail & q.mask)) & 0xffff;
                long plen = txOne(head, oneMax);
                boolean one = plen > 0;
                if (!one) {
                    plen = txChain(head);
                    if (plen < 0) {
                        break;
                    }
                }
                Packet p = txPacket(pool, staging, next, plen); // null: the buffer is used, nothing delivered
                if (poolEmpty) {
                    break; // leave the rest in the ring
                }
                int mark = q.nUsed;
                sink.fromGuestBegin(p);
                sink.used(head, 0);
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
                        q.lastAvail = (q.lastAvail + 1) & 0xffff;
                        taken++;
                    } else {
                        q.nUsed = mark; // the descriptor is not consumed
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
     * {@link #run} into an asynchronous sink, which owns each packet from its {@code fromGuestBegin} on
     * ({@code staging} ends empty). The burst's chains are walked and checked first, then one fence, then
     * each is handed to the sink in ring order. A fault that the fence raises (a late one of the walk's reads)
     * is the burst's: nothing is handed over, the staged packets go back to the pool, the ring breaks. When the
     * CPU copied out of guest memory during the hand-over (the tracker's copies below its threshold), a second
     * fence follows it: a fault of those copies breaks the ring, the packets handed over stay the sink's. A
     * burst whose frames would need more than {@link #MAX_PIECES} pieces ends at the chain that does not fit.
     *
     * @return ring entries consumed
     */
    int runAsync(PacketPool pool, int max, CopySink sink, PacketBatch staging) {
        Virtqueue q = this.q;
        int taken = 0;
        int got = 0;
        long bytes = 0;
        int base = staging.size();
        int next = base; // staging[base, next): the sink's; [next, size): staged, not handed over
        int begun = 0; // recorded chains begun with the sink
        boolean fault = false;
        q.burstStart();
        sink.burst();
        startRecord();
        try {
            max = burst(max);
            if (max == 0) {
                return 0;
            }
            stage(pool, staging, max);
            // descriptors only: a DMA engine reads the frames itself, and a load here of a buffer the front end
            // truncated would fault on this thread instead of the engine's
            prefetch(q.lastAvail, max, false);
            int filled = next;
            for (int k = 0; k < max; k++) {
                int head = Le.getShort(q.avail, q.availOff + SplitRing.availRing((q.lastAvail + k) & q.mask)) & 0xffff;
                long plen = txChain(head);
                if (plen < 0) {
                    break;
                }
                Packet p = txPacket(pool, staging, filled, plen); // null: the buffer is used, nothing delivered
                if (poolEmpty) {
                    break; // leave the rest in the ring
                }
                if (p != null) {
                    filled++;
                }
                if (!record(head, 1, p, plen)) {
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
                int mark = q.nUsed;
                sink.fromGuestBegin(p);
                begun++;
                if (p != null) {
                    next++; // the sink's now
                }
                sink.used(recId[i], 0);
                boolean ok = false;
                boolean consumed;
                try {
                    recordedFrame(i, sink);
                    ok = true;
                } finally {
                    consumed = sink.fromGuestEnd(ok);
                    if (consumed) {
                        q.lastAvail = (q.lastAvail + 1) & 0xffff;
                        taken++;
                    } else {
                        q.nUsed = mark; // the descriptor is not consumed
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

    /**
     * How many chains this burst takes: up to {@code max} of those the guest made available; 0 when it made
     * none (an idle poll, which owes no fence) or the ring broke.
     */
    private int burst(int max) {
        int availIdx = q.availIndex();
        if (availIdx < 0) {
            return 0;
        }
        q.availSeen = availIdx;
        int pending = (availIdx - q.lastAvail) & 0xffff;
        if (pending == 0) {
            q.burstIdle();
            return 0;
        }
        return Math.min(pending, max);
    }

    /**
     * Walks and checks the transmit chain at {@code head} (into the vector); returns the frame's length
     * without the virtio-net header, or -1 to stop (the queue is broken when the chain is).
     */
    /**
     * The common transmit buffer without the general chain walk: the frame's length when the avail entry
     * {@code head} is one read-only descriptor (no next, not indirect) that {@link #oneTxBuffer} takes; else 0
     * and nothing was touched (the chain walk decides, and checks everything).
     */
    private long txOne(int head, int oneMax) {
        Virtqueue q = this.q;
        if (head >= q.size) {
            return 0;
        }
        ByteBuffer d = q.desc;
        int o = q.descOff + SplitRing.desc(head);
        if (Le.getShort(d, o + SplitRing.DESC_FLAGS) != 0) {
            return 0;
        }
        return oneTxBuffer(Le.getLong(d, o + SplitRing.DESC_ADDR), Le.getInt(d, o + SplitRing.DESC_LEN) & 0xffffffffL,
                oneMax);
    }

    private long txChain(int head) {
        vec.clear();
        return txFrameLength(walkChain(head, false));
    }
}
