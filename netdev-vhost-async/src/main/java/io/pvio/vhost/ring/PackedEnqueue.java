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
    /** Buffers reserved for the packet being placed: id, length, ring positions. */
    private int[] headId = new int[0];
    private long[] headLen = new long[0];
    private int[] headCount = new int[0];
    // fitsOne's result: the guest buffer's memory slice and offset in that slice's view
    private int oneRegion;
    private int oneAt;

    PackedEnqueue(Virtqueue q, BufVec vec, NetHeader hdr) {
        super(q, vec, hdr);
    }

    /** The ring has {@code num} entries now. */
    void resize(int num) {
        headId = new int[num];
        headLen = new long[num];
        headCount = new int[num];
    }

    /**
     * Places the packets of {@code batch}, in order, until one finds no room; a packet whose offloads the
     * guest does not take, or that cannot fit into one non-mergeable buffer, is skipped. Delivered packets
     * are moved to the front of the batch. Used elements go to the sink, unpublished.
     *
     * @return number of leading packets of the batch handed to the sink
     */
    int run(PacketBatch batch, CopySink sink) {
        Virtqueue q = this.q;
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
            for (int i = 0; i < n; i++) {
                Packet p = batch.get(i);
                if (p.offloads() != 0 && !hdr.takes(p.offloads())) {
                    q.add(Virtqueue.C_ERRORS, 1);
                    continue; // offloads the guest did not negotiate (its features changed): dropped
                }
                long need = hdrLen + (long) p.length();
                if (fast && p.next() == null && q.inFlightDescs < size) {
                    int f = q.descFlagsAcquire(pos, PackedRing.availFlags(!wrap));
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
                int heads = 0;
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
                    headId[heads] = bufId;
                    headLen[heads] = len;
                    headCount[heads] = bufCount;
                    heads++;
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
                    if (overflow || (!mrg && heads == 1)) {
                        continue; // this packet does not fit (dropped by the caller); try the next one
                    }
                    break; // the guest has no more buffers: the rest is dropped
                }
                if (!sink.hasRoom(1, heads)) {
                    break;
                }
                if (sent != i) {
                    // a packet before this one was skipped: keep delivered packets first in the batch
                    Packet t = batch.get(sent);
                    batch.set(sent, p);
                    batch.set(i, t);
                }
                sink.toGuestBegin(p);
                sent++;
                pos = hp; // consumed first: an asynchronous sink owns the buffers even if a copy throws
                wrap = hw;
                q.inFlightDescs += descs;
                try {
                    long left = need;
                    for (int h = 0; h < heads; h++) {
                        long l = Math.min(headLen[h], left);
                        q.pushUsedCount(headCount[h]);
                        sink.used(headId[h], (int) l);
                        left -= l;
                    }
                    vec.rewind();
                    Packet s = p;
                    if (sink.headerInFrame(p, hdrLen, heads)) {
                        writeVec(sink, p, p.dataOffset() - hdrLen, hdrLen + p.dataLength());
                        s = p.next();
                    } else {
                        writeHeader(p, hdrLen, heads);
                    }
                    for (; s != null; s = s.next()) {
                        writeVec(sink, s, s.dataOffset(), s.dataLength());
                    }
                } finally {
                    sink.toGuestEnd();
                }
                bytes += p.length();
            }
            sink.flush();
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
        long addr = d.getLong(o + PackedRing.DESC_ADDR);
        long len = d.getInt(o + PackedRing.DESC_LEN) & 0xffffffffL;
        if (len < need) {
            return false;
        }
        GuestMemory m = q.mem;
        int r = vec.lastRegion;
        if (r >= m.slices() || !m.inSlice(r, addr) || m.gpaRoom(r, addr) < len) {
            return false;
        }
        if (sent != i) {
            // a packet before this one was skipped: keep delivered packets first in the batch
            batch.set(i, batch.get(sent));
            batch.set(sent, p);
        }
        bufId = d.getShort(o + PackedRing.DESC_ID) & 0xffff;
        oneRegion = r;
        oneAt = m.gpaOffset(r, addr);
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
