package io.pvio.vhost.ring;

import io.pvio.packet.Packet;
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

    RingWalker(Virtqueue q, BufVec vec, NetHeader hdr) {
        this.q = q;
        this.vec = vec;
        this.hdr = hdr;
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
                GuestWrites.header(m, r, at, p, 1);
                if (plen > 0) {
                    sink.toGuest(p, off, m, r, at + 12, plen);
                }
            }
        } finally {
            sink.toGuestEnd();
        }
    }

    /** Writes the virtio-net header ({@code len} bytes of it) at the vector's cursor, on the CPU. */
    final void writeHeader(Packet p, int len, int heads) {
        GuestMemory m = q.mem;
        if (len == 12 && vec.piece(12) == 12) {
            GuestWrites.header(m, vec.pieceSlice, vec.pieceOff, p, heads);
            vec.advance(12);
            return;
        }
        NetHeader.fill(scratch, p, heads);
        int at = 0;
        while (len > 0) {
            int chunk = vec.piece(len);
            GuestWrites.copy(m, vec.pieceSlice, vec.pieceOff, scratch, at, chunk);
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
}
