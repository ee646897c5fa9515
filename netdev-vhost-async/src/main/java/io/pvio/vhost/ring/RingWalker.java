package io.pvio.vhost.ring;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * What every ring walker shares, whatever the layout (split: {@link SplitWalker}, packed:
 * {@link PackedWalker}): the queue, its buffer vector and header, and the copies between the vector and a
 * packet handed to a {@link CopySink}. Lock holder only.
 */
abstract class RingWalker {
    final Virtqueue q;
    final BufVec vec;
    final NetHeader hdr;
    private final ByteBuffer scratch = ByteBuffer.allocateDirect(12).order(ByteOrder.LITTLE_ENDIAN);
    // enqueue: the guest buffer of the last inLastSlice, its memory slice and offset in that slice's view
    int oneRegion;
    int oneAt;

    // The dequeue's frame prefetch: first the frames' offsets, then their loads back to back; a loop this
    // short keeps as many misses in flight as the core allows (frames in one slice only: the common case).
    /** Sum of what the prefetch loaded: stored, so that the JIT keeps the loads. */
    private long touched;
    /** View offsets of the lines to load: two per frame of a burst. */
    private final int[] frameAt = new int[2 * PacketBatch.MAX + 2];
    private int frameCnt;
    private int frameSlice;

    /** Starts a list of frames to load. */
    final void startFrames() {
        frameSlice = -1;
        frameCnt = 0;
    }

    final boolean frameRoom() {
        return frameCnt < frameAt.length - 1;
    }

    /** Adds the first two lines of guest buffer [addr, addr+len) when in the list's slice (or the first). */
    final void frame(GuestMemory m, long addr, long len) {
        int r = vec.region(addr);
        if (r < 0 || len == 0 || (frameSlice >= 0 && r != frameSlice)) {
            return;
        }
        frameSlice = r;
        int off = m.gpaOffset(r, addr);
        frameAt[frameCnt++] = off;
        if (Math.min(len, m.gpaRoom(r, addr)) > 64) {
            frameAt[frameCnt++] = off + 64;
        }
    }

    /** Loads the listed lines; returns their sum (for {@link #touch}). */
    final long loadFrames(GuestMemory m) {
        if (frameSlice < 0) {
            return 0;
        }
        ByteBuffer v = m.view(frameSlice);
        int lim = v.limit() - 2;
        long sum = 0;
        int[] at = frameAt;
        for (int k = 0; k < frameCnt; k++) {
            sum += Le.getShort(v, Math.min(at[k], lim)); // two bytes from at[k] (the view's last two at its end)
        }
        return sum;
    }

    final void touch(long sum) {
        touched += sum;
    }

    /** {@code dequeue}: the walker records asynchronous dequeue bursts ({@link #record}). */
    RingWalker(Virtqueue q, BufVec vec, NetHeader hdr, boolean dequeue) {
        this.q = q;
        this.vec = vec;
        this.hdr = hdr;
        int packets = dequeue ? PacketBatch.MAX : 0;
        int pieces = dequeue ? MAX_PIECES : 0;
        recId = new int[packets];
        recCount = new int[packets];
        recPkt = new Packet[packets];
        recLen = new long[packets];
        recFrom = new int[packets];
        recTo = new int[packets];
        pcSlice = new int[pieces];
        pcOff = new int[pieces];
        pcSeg = new Packet[pieces];
        pcDst = new int[pieces];
        pcLen = new int[pieces];
    }

    /**
     * Single-segment {@code p} into one guest buffer at (slice {@code r}, view offset {@code at}) that holds
     * header and frame ({@code need} bytes): used element {@code id}, header, frame.
     */
    final void placeOne(Packet p, int id, int need, int r, int at, CopySink sink) {
        GuestMemory m = q.mem;
        int plen = p.dataLength();
        int off = p.dataOffset();
        sink.toGuestBegin(p);
        try {
            sink.used(id, need);
            if (sink.headerInFrame(p, 12, 1)) {
                sink.toGuest(p, off - 12, m, r, at, plen + 12);
            } else {
                GuestWrites.header(m, r, at, p, 1, q.log);
                if (plen > 0) {
                    sink.toGuest(p, off, m, r, at + 12, plen);
                }
            }
        } finally {
            sink.toGuestEnd();
        }
    }

    /**
     * Enqueue: true when {@code p} carries offloads the guest did not negotiate (its features changed): it is
     * dropped, counted as an error.
     */
    final boolean offloadsRefused(Packet p) {
        if (p.offloads() != 0 && !hdr.takes(p.offloads())) {
            q.add(Virtqueue.C_ERRORS, 1);
            return true;
        }
        return false;
    }

    /**
     * Enqueue: moves {@code p} (batch[i]) to batch[sent] and batch[sent] to batch[i], so that delivered
     * packets stay first in the batch when a packet before {@code p} was skipped. One swap: a late fault
     * raised here must not leave a packet twice in the batch (freed twice by the caller) and another out of it.
     */
    static void keepFirst(PacketBatch batch, Packet p, int i, int sent) {
        if (sent != i) {
            batch.swap(i, sent);
        }
    }

    /**
     * Enqueue, the end of a walker's single-buffer check: true when the guest buffer at {@code addr} of
     * {@code len} bytes lies in the guest memory slice of the vector's previous lookup; then sets
     * {@link #oneRegion} and {@link #oneAt} and moves {@code p} (batch[i]) to batch[sent]. False: nothing was
     * touched.
     */
    final boolean inLastSlice(PacketBatch batch, Packet p, int i, int sent, long addr, long len) {
        GuestMemory m = q.mem;
        int r = vec.lastRegion;
        if (r >= m.slices() || !m.inSlice(r, addr) || m.gpaRoom(r, addr) < len) {
            return false;
        }
        keepFirst(batch, p, i, sent);
        oneRegion = r;
        oneAt = m.gpaOffset(r, addr);
        return true;
    }

    /**
     * Enqueue: hands {@code p} ({@code need} bytes with its virtio-net header) to the sink across the guest
     * buffers of {@code heads}, walked into the vector in that order: their used elements (packed: each
     * spanning its ring positions, {@link Virtqueue#pushUsedCount}), then header and frame.
     */
    final void placeVec(Packet p, Heads heads, long need, CopySink sink) {
        int hdrLen = hdr.len;
        int n = heads.n;
        boolean packed = q.packed;
        sink.toGuestBegin(p);
        try {
            long left = need;
            for (int h = 0; h < n; h++) {
                long l = Math.min(heads.len[h], left);
                if (packed) {
                    q.pushUsedCount(heads.count[h]);
                }
                sink.used(heads.id[h], (int) l);
                left -= l;
            }
            vec.rewind();
            Packet s = p;
            if (sink.headerInFrame(p, hdrLen, n)) {
                writeVec(sink, p, p.dataOffset() - hdrLen, hdrLen + p.dataLength());
                s = p.next();
            } else {
                writeHeader(p, hdrLen, n);
            }
            for (; s != null; s = s.next()) {
                writeVec(sink, s, s.dataOffset(), s.dataLength());
            }
        } finally {
            sink.toGuestEnd();
        }
    }

    /** Writes the virtio-net header ({@code len} bytes of it) at the vector's cursor, on the CPU. */
    final void writeHeader(Packet p, int len, int heads) {
        GuestMemory m = q.mem;
        if (len == 12 && vec.piece(12) == 12) {
            GuestWrites.header(m, vec.pieceSlice, vec.pieceOff, p, heads, q.log);
            vec.advance(12);
            return;
        }
        NetHeader.fill(scratch, p, heads);
        int at = 0;
        while (len > 0) {
            int chunk = vec.piece(len);
            GuestWrites.copy(m, vec.pieceSlice, vec.pieceOff, scratch, at, chunk, q.log);
            at += chunk;
            len -= chunk;
            vec.advance(chunk);
        }
    }

    /** Hands {@code len} bytes of segment {@code seg} from {@code off} to the sink, piece by piece. */
    final void writeVec(CopySink sink, Packet seg, int off, int len) {
        GuestMemory m = q.mem;
        while (len > 0) {
            int chunk = vec.piece(len);
            sink.toGuest(seg, off, m, vec.pieceSlice, vec.pieceOff, chunk);
            off += chunk;
            len -= chunk;
            vec.advance(chunk);
        }
    }

    /**
     * The dequeue's common case, a transmit buffer of one descriptor holding the virtio-net header and the
     * frame ([addr, addr+len), read once by the caller): the frame's length when that is 1 to {@code oneMax}
     * bytes (one pool buffer) and the buffer lies in the guest memory slice of the previous lookup; then
     * {@link #oneRegion} and {@link #oneAt} locate the buffer (and the vector holds it when the header is
     * read). Else 0, nothing touched.
     */
    final long oneTxBuffer(long addr, long len, int oneMax) {
        int hdrLen = hdr.len;
        if (len <= hdrLen || len - hdrLen > oneMax) {
            return 0;
        }
        GuestMemory m = q.mem;
        int r = vec.lastRegion;
        if (r >= m.slices() || !m.inSlice(r, addr) || m.gpaRoom(r, addr) < len) {
            return 0;
        }
        oneRegion = r;
        oneAt = m.gpaOffset(r, addr);
        if (hdr.hostCsum) {
            vec.clear();
            vec.push(addr, len, r);
        }
        return len - hdrLen;
    }

    /** Hands the frame ({@code plen} bytes) of the buffer {@link #oneTxBuffer} took to the sink, into {@code p}. */
    final void readOne(Packet p, long plen, CopySink sink) {
        if (p == null) {
            return;
        }
        GuestMemory m = q.mem;
        if (p.next() == null) {
            sink.fromGuest(m, oneRegion, oneAt + hdr.len, p, p.dataOffset(), (int) plen);
            return;
        }
        vec.clear(); // a chain (a pool of smaller buffers): the one buffer as a vector
        vec.push(m.gpaAt(oneRegion, oneAt), plen + hdr.len, oneRegion);
        readFrame(p, sink);
    }

    /** Hands the frame of the buffer walked last (after its virtio-net header) to the sink, segment by segment. */
    final void readFrame(Packet p, CopySink sink) {
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

    /**
     * Adds up to {@code n} fresh single-segment packets of {@code pool} to {@code staging} (fewer when the
     * pool runs short). Called before the burst touches guest memory past avail->idx, which
     * {@link Virtqueue#availIndex} reads without leaving a fault pending: HotSpot raises the SIGBUS of an
     * access to a truncated file late, at the thread's next safepoint poll or runtime call, and one raised
     * inside the pool's bookkeeping, or between an allocation and the batch, would lose buffers (issue 15).
     */
    final void stage(PacketPool pool, PacketBatch staging, int n) {
        if (pool.allocBulk(staging, n)) {
            return;
        }
        for (int k = 0; k < n; k++) {
            Packet p = pool.alloc();
            if (p == null) {
                return;
            }
            staging.add(p);
        }
    }

    /**
     * The staged packet {@code staging[slot]} sized for {@code plen} bytes, or null (left as it is) when it
     * needs a chain and the pool is empty. A chain is allocated only after a fence (the rare case): a fault
     * of the burst so far surfaces there, before the pool operation.
     */
    final Packet shape(PacketPool pool, PacketBatch staging, int slot, int plen) {
        Packet p = staging.get(slot);
        int room = pool.defaultHeadroom();
        if (p.next() == null && plen <= p.capacity() - room) {
            p.setData(room, plen);
            return p;
        }
        q.fenceNow();
        Packet c = pool.allocChain(plen);
        if (c == null) {
            return null;
        }
        p.free();
        staging.set(slot, c);
        return c;
    }

    /**
     * Dequeue: the frame's length in a transmit buffer of {@code total} bytes as walked into the vector (-2:
     * more pieces than the vector holds) without its virtio-net header, or -1 to stop (the queue is broken
     * when the buffer is, or was already).
     */
    final long txFrameLength(long total) {
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

    /** Set by {@link #txPacket} when the pool could not give a chain: the burst stops, the rest stays in the ring. */
    boolean poolEmpty;

    /**
     * Dequeue: the staged packet {@code staging[next]} shaped for a frame of {@code plen} bytes, with the
     * offloads its virtio-net header asks for; null when the buffer delivers nothing (a header without a
     * frame, counted as an error; a bad header, counted, the packet staying staged for the next buffer) or,
     * with {@link #poolEmpty} set, when the pool is empty.
     */
    final Packet txPacket(PacketPool pool, PacketBatch staging, int next, long plen) {
        poolEmpty = false;
        if (plen == 0) {
            q.add(Virtqueue.C_ERRORS, 1);
            return null;
        }
        Packet p = next < staging.size() ? shape(pool, staging, next, (int) plen) : null;
        if (p == null) {
            poolEmpty = true;
            return null;
        }
        String bad = hdr.hostCsum ? hdr.read(vec, q.mem, p, plen) : null;
        if (bad != null) {
            clearOffloads(p);
            q.badHeader(bad);
            return null;
        }
        return p;
    }

    static void clearOffloads(Packet p) {
        p.setOffloads(0);
        p.setCsum(0, 0);
        p.setLayerOffsets(-1, -1);
        p.setGsoSize(0);
    }

    // Asynchronous dequeue (split and packed): the burst's buffers are walked and checked first, each recorded
    // here (used element, packet, its frame's pieces as the vector yields them), then one fence, then each is
    // handed to the sink.

    /** Most frame pieces recorded per burst: a buffer whose pieces do not fit ends the walk. */
    static final int MAX_PIECES = 256;
    final int[] recId;
    /** Packed: the ring positions of the buffer. */
    final int[] recCount;
    final Packet[] recPkt;
    final long[] recLen;
    /** Pieces [recFrom, recTo) of each buffer; recFrom -1: its pieces are in the vector. */
    private final int[] recFrom;
    private final int[] recTo;
    private final int[] pcSlice;
    private final int[] pcOff;
    private final Packet[] pcSeg;
    private final int[] pcDst;
    private final int[] pcLen;
    /** Buffers and pieces recorded in this burst. */
    int recorded;
    private int pieces;

    /**
     * Records the buffer walked last (in the vector): used element {@code id} spanning {@code count} ring
     * positions, packet {@code p} (null: nothing to deliver) of {@code plen} bytes. Returns false when its
     * pieces do not fit: they stay in the vector, where {@link #recordedFrame} reads them, so the walk must end
     * with this buffer.
     */
    final boolean record(int id, int count, Packet p, long plen) {
        int r = recorded++;
        recId[r] = id;
        recCount[r] = count;
        recPkt[r] = p;
        recLen[r] = plen;
        int from = pieces;
        int n = from;
        if (p != null) {
            vec.rewind();
            vec.skip(hdr.len);
            for (Packet s = p; s != null; s = s.next()) {
                int off = s.dataOffset();
                int len = s.dataLength();
                while (len > 0) {
                    if (n == MAX_PIECES) {
                        recFrom[r] = -1;
                        return false;
                    }
                    int chunk = vec.piece(len);
                    pcSlice[n] = vec.pieceSlice;
                    pcOff[n] = vec.pieceOff;
                    pcSeg[n] = s;
                    pcDst[n] = off;
                    pcLen[n] = chunk;
                    n++;
                    off += chunk;
                    len -= chunk;
                    vec.advance(chunk);
                }
            }
        }
        recFrom[r] = from;
        recTo[r] = n;
        pieces = n;
        return true;
    }

    /** Hands recorded buffer {@code i}'s frame to the sink (fromGuest per piece), from the record or the vector. */
    final void recordedFrame(int i, CopySink sink) {
        Packet p = recPkt[i];
        if (p == null) {
            return;
        }
        if (recFrom[i] < 0) {
            readFrame(p, sink);
            return;
        }
        GuestMemory m = q.mem;
        for (int k = recFrom[i], end = recTo[i]; k < end; k++) {
            sink.fromGuest(m, pcSlice[k], pcOff[k], pcSeg[k], pcDst[k], pcLen[k]);
        }
    }

    /** Staged packets (non-null) among the first {@code n} recorded buffers. */
    final int packetsIn(int n) {
        int c = 0;
        for (int i = 0; i < n && i < recorded; i++) {
            if (recPkt[i] != null) {
                c++;
            }
        }
        return c;
    }

    /**
     * A new burst's record. The previous one's packet references stay (pool packets): clearing them would be a
     * loop after the hand-over, whose safepoint poll could raise a pending fault outside the burst's catch.
     */
    final void startRecord() {
        recorded = 0;
        pieces = 0;
    }

    /**
     * The end of a dequeue burst, split or packed: a late fault surfaces (fence) before the pool takes back
     * the staged packets the burst did not fill, [next, size) of {@code staging}; after a faulting copy on
     * the CPU path nothing of the burst is delivered (its bytes are undefined), counted as dropped; then the
     * burst's packet and byte counters.
     */
    final void endDequeue(PacketBatch staging, int base, int next, int got, long bytes, boolean fault,
            boolean inPlace) {
        if (fault || next < staging.size()) {
            try {
                q.fenceNow(); // a late fault of the burst surfaces before the pool takes packets back
            } catch (InternalError e) {
                q.markBroken("unexpected " + e);
                fault = true;
            }
            if (fault && inPlace) { // a faulting copy leaves its packet's bytes undefined: none is delivered
                q.add(Virtqueue.C_DROPPED, got);
                next = base;
                got = 0;
                bytes = 0;
            }
            for (int i = next; i < staging.size(); i++) {
                staging.get(i).free();
            }
            staging.truncate(next);
        }
        if (!inPlace) {
            staging.clear(); // the sink's
        }
        q.add(Virtqueue.C_PACKETS, got);
        q.add(Virtqueue.C_BYTES, bytes);
    }
}
