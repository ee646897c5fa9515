package io.pvio.vhost.ring;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.vhostuser.PackedRing;
import java.nio.ByteBuffer;

/**
 * Host to guest on a packed ring (DPDK's virtio_dev_rx_packed / vhost_enqueue_single_packed): takes the
 * guest's available receive buffers in ring order for each packet (several with mergeable buffers), then
 * hands header, payload pieces and used elements to a {@link CopySink}, as {@link SplitEnqueue} does. The
 * ring positions each used element spans go to the queue ({@link Virtqueue#pushUsedCount}) just before the
 * element, so that the used descriptors written later skip the right number of positions. Lock holder only.
 */
final class PackedEnqueue extends PackedWalker {
    /** Buffers reserved for the packet being placed (the queue's, sized with the ring). */
    private final Heads heads;

    PackedEnqueue(Virtqueue q, BufVec vec, NetHeader hdr, Heads heads) {
        super(q, vec, hdr, false);
        this.heads = heads;
    }

    /**
     * {@link SplitEnqueue#run} on the packed ring: the packets of {@code batch} in order until one finds no
     * buffer; one that cannot fit into a non-mergeable buffer is skipped.
     *
     * @return number of leading packets of the batch handed to the sink (moved to its front)
     */
    int run(PacketBatch batch, CopySink sink) {
        Virtqueue q = this.q;
        q.enqueueStop = batch.size();
        if (!q.ready) {
            return 0;
        }
        sink.burst();
        int usedAtEntry = q.nUsed;
        long countsAtEntry = q.usedCountMark();
        int inFlightAtEntry = q.inFlightDescs;
        int pos = q.lastAvail;
        boolean wrap = q.availWrap;
        int sent = 0;
        try {
            int n = batch.size();
            int size = q.size;
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
                if (fast && p.next() == null && q.inFlightDescs < size) {
                    int f = q.descFlagsInBurst(pos); // every enqueue burst fences at its end
                    if (!PackedRing.isAvail(f, wrap)) {
                        break; // the guest has no more buffers: the rest is dropped
                    }
                    if (sink.hasRoom(1, 1) && fitsOne(batch, p, i, sent, need, pos, f)) {
                        sent++;
                        q.inFlightDescs++; // consumed first: an asynchronous sink owns the buffer even if a copy throws
                        int id = bufId;
                        if (++pos == size) {
                            pos = 0;
                            wrap = !wrap;
                        }
                        q.pushUsedCount(1);
                        placeOne(p, id, (int) need, oneRegion, oneAt, sink);
                        bytes += p.length();
                        continue;
                    }
                }
                vec.clear();
                Heads heads = this.heads;
                heads.n = 0;
                long got = 0;
                int descs = 0;
                int hp = pos;
                boolean hw = wrap;
                boolean overflow = false;
                while (got < need) {
                    if (q.inFlightDescs + descs >= size || !available(hp, hw)) {
                        break; // no more buffers (or all the ring's positions await their used descriptor)
                    }
                    long len = walkBuffer(hp, true);
                    if (len == -1) {
                        return abandon(sink, usedAtEntry, countsAtEntry, inFlightAtEntry, pos, wrap, sent);
                    }
                    if (len == -2) {
                        overflow = true;
                        break;
                    }
                    if (q.inFlightDescs + descs + bufCount > size) {
                        break;
                    }
                    heads.add(bufId, len, bufCount);
                    descs += bufCount;
                    got += len;
                    hp += bufCount;
                    if (hp >= size) {
                        hp -= size;
                        hw = !hw;
                    }
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
                    break;
                }
                keepFirst(batch, p, i, sent);
                sent++;
                pos = hp; // consumed first: an asynchronous sink owns the buffers even if a copy throws
                wrap = hw;
                q.inFlightDescs += descs;
                placeVec(p, heads, need, sink);
                bytes += p.length();
            }
            sink.flush();
            q.enqueueStop = i;
            q.lastAvail = pos;
            q.availWrap = wrap;
            q.add(Virtqueue.C_PACKETS, sent);
            q.add(Virtqueue.C_BYTES, bytes);
            return sent;
        } catch (RuntimeException | InternalError e) { // InternalError: a fault on a guest mapping
            q.markBroken("unexpected " + e);
            return abandon(sink, usedAtEntry, countsAtEntry, inFlightAtEntry, pos, wrap, sent);
        }
    }

    /**
     * The common case without the general walk: true when ring position {@code pos} (available, flags
     * {@code flags}) is one write-only descriptor (no next, not indirect) large enough for header and frame
     * ({@code need}), in the guest memory slice of the previous lookup; sets {@link #bufId},
     * {@link #oneRegion}, {@link #oneAt} and moves {@code p} (batch[i]) to batch[sent]. False: nothing was
     * touched (the general path decides, and checks everything).
     */
    private boolean fitsOne(PacketBatch batch, Packet p, int i, int sent, long need, int pos, int flags) {
        if ((flags & (PackedRing.DESC_F_NEXT | PackedRing.DESC_F_INDIRECT | PackedRing.DESC_F_WRITE))
                != PackedRing.DESC_F_WRITE) {
            return false;
        }
        Virtqueue q = this.q;
        ByteBuffer d = q.desc;
        int o = q.descOff + PackedRing.desc(pos);
        long addr = Le.getLong(d, o + PackedRing.DESC_ADDR);
        long len = Le.getInt(d, o + PackedRing.DESC_LEN) & 0xffffffffL;
        if (len < need) {
            return false;
        }
        if (!inLastSlice(batch, p, i, sent, addr, len)) {
            return false;
        }
        bufId = Le.getShort(d, o + PackedRing.DESC_ID) & 0xffff;
        return true;
    }

    /**
     * Ends a burst the ring broke in the middle of: nothing of it is published. With a sink that keeps the
     * packets begun (asynchronous), their buffers stay consumed (up to {@code pos}, {@code wrap}) and are
     * used when their copies are done, so they count as sent; otherwise the caller keeps every packet.
     */
    private int abandon(CopySink sink, int usedAtEntry, long countsAtEntry, int inFlightAtEntry, int pos,
            boolean wrap, int sent) {
        q.nUsed = usedAtEntry;
        if (sink.abandon()) {
            q.lastAvail = pos;
            q.availWrap = wrap;
            return sink.taken(sent);
        }
        q.resetUsedCounts(countsAtEntry);
        q.inFlightDescs = inFlightAtEntry;
        return 0;
    }
}
