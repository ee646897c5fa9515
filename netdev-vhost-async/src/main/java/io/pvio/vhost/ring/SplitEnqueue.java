package io.pvio.vhost.ring;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.vhostuser.SplitRing;
import java.nio.ByteBuffer;

/**
 * Host to guest on a split ring (DPDK's virtio_dev_rx_split / mbuf_to_desc): reserves the guest's receive
 * chains for each packet (several with mergeable buffers), then hands header, payload pieces and used
 * elements to a {@link CopySink}. Lock holder only.
 */
final class SplitEnqueue extends SplitWalker {
    /** Chains reserved for the packet being placed (the queue's, sized with the ring). */
    private final Heads heads;

    SplitEnqueue(Virtqueue q, BufVec vec, NetHeader hdr, Heads heads) {
        super(q, vec, hdr, false);
        this.heads = heads;
    }

    /**
     * Places the packets of {@code batch}, in order, until one finds no room; a packet whose offloads the
     * guest does not take, or that cannot fit even in an empty ring, is skipped. Delivered packets are moved
     * to the front of the batch. Used elements go to the sink, unpublished.
     *
     * @return number of leading packets of the batch handed to the sink
     */
    int run(PacketBatch batch, CopySink sink) {
        Virtqueue q = this.q;
        q.enqueueStop = batch.size();
        if (!q.ready) {
            return 0;
        }
        sink.burst();
        int usedAtEntry = q.nUsed;
        int sent = 0;
        int consumed = 0;
        try {
            int availIdx = q.availIndex();
            if (availIdx < 0) {
                return 0;
            }
            int n = batch.size();
            if (ENQUEUE_PREFETCH) { // the descriptors only: the buffers are written
                prefetch(q.lastAvail, Math.min(n, (availIdx - q.lastAvail) & 0xffff), false);
            }
            long bytes = 0;
            int hdrLen = hdr.len;
            boolean fast = hdrLen == 12;
            boolean mrg = q.mrg;
            int i;
            for (i = 0; i < n; i++) {
                Packet p = batch.get(i);
                if (offloadsRefused(p)) {
                    continue;
                }
                long need = hdrLen + (long) p.length();
                if (fast && p.next() == null) {
                    int slot = (q.lastAvail + consumed) & 0xffff;
                    if (slot == availIdx) {
                        break; // the guest has no more buffers: the rest is dropped
                    }
                    int head = Le.getShort(q.avail, q.availOff + SplitRing.availRing(slot & q.mask)) & 0xffff;
                    if (sink.hasRoom(1, 1) && fitsOne(batch, p, i, sent, need, head)) {
                        consumed++; // counted first: an asynchronous sink owns the descriptor even if a copy throws
                        sent++;
                        placeOne(p, head, (int) need, oneRegion, oneAt, sink);
                        bytes += p.length();
                        continue;
                    }
                }
                vec.clear();
                Heads heads = this.heads;
                heads.n = 0;
                long got = 0;
                boolean overflow = false;
                while (got < need) {
                    int slot = (q.lastAvail + consumed + heads.n) & 0xffff;
                    if (slot == availIdx) {
                        break;
                    }
                    int head = Le.getShort(q.avail, q.availOff + SplitRing.availRing(slot & q.mask)) & 0xffff;
                    long len = walkChain(head, true);
                    if (len == -1) {
                        return abandon(sink, usedAtEntry, consumed, sent); // the ring is broken now
                    }
                    if (len == -2) {
                        overflow = true;
                        break;
                    }
                    heads.add(head, len, 1);
                    got += len;
                    if (!mrg) {
                        break;
                    }
                }
                if (got < need) {
                    if (overflow || (!mrg && heads.n == 1)) {
                        continue; // this packet does not fit (dropped by the caller); try the next one
                    }
                    break; // the guest has no more buffers: the rest is dropped
                }
                if (!sink.hasRoom(1, heads.n)) {
                    break; // cannot happen while the tracker is as large as the ring
                }
                keepFirst(batch, p, i, sent);
                sent++;
                consumed += heads.n; // counted first: an asynchronous sink owns the chains even if a copy throws
                placeVec(p, heads, need, sink);
                bytes += p.length();
            }
            sink.flush();
            q.enqueueStop = i;
            q.lastAvail = (q.lastAvail + consumed) & 0xffff;
            q.add(Virtqueue.C_PACKETS, sent);
            q.add(Virtqueue.C_BYTES, bytes);
            return sent;
        } catch (RuntimeException | InternalError e) { // InternalError: a fault on a guest mapping
            q.markBroken("unexpected " + e);
            return abandon(sink, usedAtEntry, consumed, sent);
        }
    }

    /**
     * Ends a burst the ring broke in the middle of: nothing of it is published. With a sink that keeps the
     * packets begun (asynchronous), their descriptors stay consumed and are used when their copies are done,
     * so they count as sent; otherwise the caller keeps and frees every packet.
     */
    private int abandon(CopySink sink, int usedAtEntry, int consumed, int sent) {
        q.nUsed = usedAtEntry;
        if (sink.abandon()) {
            q.lastAvail = (q.lastAvail + consumed) & 0xffff;
            return sink.taken(sent);
        }
        return 0;
    }

    /**
     * The common case without the general chain walk: true when the avail entry {@code head} is one
     * write-only descriptor (no next, not indirect) large enough for header and frame ({@code need}), in the
     * guest memory slice of the previous lookup ({@link #oneRegion}, {@link #oneAt}); then {@code p}
     * (batch[i]) is moved to batch[sent]. False: nothing was touched (the general path decides, and checks
     * everything).
     */
    private boolean fitsOne(PacketBatch batch, Packet p, int i, int sent, long need, int head) {
        Virtqueue q = this.q;
        if (head >= q.size) {
            return false;
        }
        ByteBuffer d = q.desc;
        int o = q.descOff + SplitRing.desc(head);
        long addr = Le.getLong(d, o + SplitRing.DESC_ADDR);
        long len = Le.getInt(d, o + SplitRing.DESC_LEN) & 0xffffffffL;
        if ((Le.getShort(d, o + SplitRing.DESC_FLAGS) & 0xffff) != Virtqueue.DESC_F_WRITE || len < need) {
            return false;
        }
        return inLastSlice(batch, p, i, sent, addr, len);
    }
}
