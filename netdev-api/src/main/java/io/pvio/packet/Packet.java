package io.pvio.packet;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;

/**
 * One segment of a packet in an off-heap buffer of a {@link PacketPool}, shaped like DPDK's rte_mbuf:
 * a data room with headroom, a data offset and length, a reference count, and a chain of further segments.
 * The first segment (the head) carries the whole packet's length, segment count, input port and hash.
 *
 * <p>Ownership: whoever holds a packet must either hand it on (a batch passed to
 * {@code Netdev.send} gives it away) or {@link #free()} it exactly once. Packets are never
 * allocated per use: they are preallocated by their pool and recycled.
 *
 * <p>{@link #buffer()} is a bounds-checked view of the whole data room, indexed absolutely
 * (index 0 is the start of the headroom). {@link #address()} is the same memory's native address for
 * DMA engines.
 */
public final class Packet {
    private static final VarHandle REFCNT;

    static {
        try {
            REFCNT = MethodHandles.lookup().findVarHandle(Packet.class, "refcnt", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final PacketPool pool;
    private final int index;
    private final ByteBuffer buf;
    private final long address;

    private int dataOff;
    private int dataLen;
    private int pktLen;
    private int nbSegs;
    private Packet next;
    private volatile int refcnt;
    private int port;
    private int hash;
    private long meta;
    // offload metadata (head segment only), as DPDK's ol_flags/l2_len/l3_len/tso_segsz and virtio-net's header
    private int offloads;
    private int csumStart;
    private int csumOffset;
    private int l3Off;
    private int l4Off;
    private int gsoSize;

    Packet(PacketPool pool, int index, ByteBuffer buf, long address) {
        this.pool = pool;
        this.index = index;
        this.buf = buf;
        this.address = address;
    }

    void reset(int headroom) {
        dataOff = headroom;
        dataLen = 0;
        pktLen = 0;
        nbSegs = 1;
        next = null;
        port = -1;
        hash = 0;
        meta = 0;
        offloads = 0;
        csumStart = 0;
        csumOffset = 0;
        l3Off = -1;
        l4Off = -1;
        gsoSize = 0;
        REFCNT.setRelease(this, 1);
    }

    /** The pool this segment returns to. */
    public PacketPool pool() {
        return pool;
    }

    /** Index of this buffer in its pool, stable for the pool's life. */
    public int index() {
        return index;
    }

    /** Bounds-checked view of the whole data room (absolute indexing; do not change position/limit). */
    public ByteBuffer buffer() {
        return buf;
    }

    /** Native address of byte 0 of {@link #buffer()}. */
    public long address() {
        return address;
    }

    /** Size of the data room, headroom included. */
    public int capacity() {
        return buf.capacity();
    }

    /** Offset of this segment's data in {@link #buffer()}. */
    public int dataOffset() {
        return dataOff;
    }

    /** Bytes of data in this segment. */
    public int dataLength() {
        return dataLen;
    }

    /** Native address of this segment's first data byte. */
    public long dataAddress() {
        return address + dataOff;
    }

    public int headroom() {
        return dataOff;
    }

    public int tailroom() {
        return buf.capacity() - dataOff - dataLen;
    }

    /** Length of the whole packet (head segment only). */
    public int length() {
        return pktLen;
    }

    /** Number of segments (head segment only). */
    public int segments() {
        return nbSegs;
    }

    /** Next segment, or null. */
    public Packet next() {
        return next;
    }

    /** Last segment of this chain. */
    public Packet lastSegment() {
        Packet p = this;
        while (p.next != null) {
            p = p.next;
        }
        return p;
    }

    /**
     * Sets this single-segment packet's data window: {@code len} bytes at {@code off}.
     * Also sets the packet length; use on a head without further segments.
     */
    public Packet setData(int off, int len) {
        if (off < 0 || len < 0 || len > buf.capacity() - off) { // written so that off + len cannot overflow
            throw new IndexOutOfBoundsException("data window " + off + "+" + len + " outside " + buf.capacity());
        }
        if (next != null) {
            throw new IllegalStateException("setData on a chained packet");
        }
        dataOff = off;
        dataLen = len;
        pktLen = len;
        return this;
    }

    /**
     * Grows this segment's data by {@code len} bytes at its tail. On a head this also changes {@link
     * #length()}; on a later segment only the segment changes: call {@link #setTotals()} on the head after.
     * Returns the offset in {@link #buffer()} of the first new byte.
     */
    public int append(int len) {
        if (len < 0 || len > tailroom()) {
            throw new IndexOutOfBoundsException("append " + len + " with tailroom " + tailroom());
        }
        int at = dataOff + dataLen;
        dataLen += len;
        pktLen += len;
        return at;
    }

    /**
     * Grows this segment's data by {@code len} bytes at its front (into the headroom); returns the new data
     * offset. Lengths as for {@link #append}.
     */
    public int prepend(int len) {
        if (len < 0 || len > dataOff) {
            throw new IndexOutOfBoundsException("prepend " + len + " with headroom " + dataOff);
        }
        dataOff -= len;
        dataLen += len;
        pktLen += len;
        return dataOff;
    }

    /** Removes {@code len} bytes from the front of this segment. Lengths as for {@link #append}. */
    public void adj(int len) {
        if (len < 0 || len > dataLen) {
            throw new IndexOutOfBoundsException("adj " + len + " of " + dataLen);
        }
        dataOff += len;
        dataLen -= len;
        pktLen -= len;
    }

    /**
     * Appends segment {@code seg} (itself possibly a chain) to this head: the head's length and segment count
     * grow by the segment's.
     */
    public void chain(Packet seg) {
        if (seg == this) {
            throw new IllegalArgumentException("cannot chain a packet to itself");
        }
        int segLen = 0;
        int segs = 0;
        for (Packet s = seg; s != null; s = s.next) {
            segLen += s.dataLen;
            segs++;
        }
        lastSegment().next = seg;
        pktLen += segLen;
        nbSegs += segs;
        seg.pktLen = 0;
        seg.nbSegs = 1;
    }

    /**
     * Sets a segment's data length when filling a chain directly (the head's totals are not touched; call
     * {@link #setTotals} on the head afterwards).
     */
    public void setSegmentData(int off, int len) {
        if (off < 0 || len < 0 || len > buf.capacity() - off) {
            throw new IndexOutOfBoundsException("segment window " + off + "+" + len + " outside " + buf.capacity());
        }
        dataOff = off;
        dataLen = len;
    }

    /** Recomputes the head's length and segment count from its chain. */
    public void setTotals() {
        int len = 0;
        int segs = 0;
        for (Packet s = this; s != null; s = s.next) {
            len += s.dataLen;
            segs++;
        }
        pktLen = len;
        nbSegs = segs;
    }

    public int port() {
        return port;
    }

    public void setPort(int port) {
        this.port = port;
    }

    public int hash() {
        return hash;
    }

    public void setHash(int hash) {
        this.hash = hash;
    }

    /** A word of metadata for the packet's current owner (e.g. a sequence or completion tag). */
    public long meta() {
        return meta;
    }

    public void setMeta(long meta) {
        this.meta = meta;
    }

    // ---- offloads: what a receiver (a guest's virtio-net header) left for the transmitting port to finish

    /**
     * The L4 checksum is partial (virtio's NEEDS_CSUM, DPDK's TX_L4_CKSUM): the 16-bit ones' complement sum
     * of the bytes from {@link #csumStart()} to the end of the packet must be stored at csumStart +
     * {@link #csumOffset()}, where the field holds the pseudo-header's sum until then.
     */
    public static final int OL_CSUM_PARTIAL = 1;
    /** A TCP over IPv4 segment larger than the MTU, to be cut into {@link #gsoSize()}-byte payloads. */
    public static final int OL_TSO_TCPV4 = 2;
    /** A TCP over IPv6 segment larger than the MTU, to be cut into {@link #gsoSize()}-byte payloads. */
    public static final int OL_TSO_TCPV6 = 4;
    /** With a TSO flag: the sender uses ECN with CWR (virtio's GSO_ECN): CWR goes on the first segment only. */
    public static final int OL_TSO_ECN = 8;
    /** Either TSO flag. */
    public static final int OL_TSO = OL_TSO_TCPV4 | OL_TSO_TCPV6;

    /** The offload flags ({@code OL_*}); 0 (none) for a fresh packet. */
    public int offloads() {
        return offloads;
    }

    /** Sets the offload flags; the offsets and sizes they need are set with the setters below. */
    public void setOffloads(int flags) {
        this.offloads = flags;
    }

    /** With {@link #OL_CSUM_PARTIAL}: offset of the first byte summed, from the start of the packet's data. */
    public int csumStart() {
        return csumStart;
    }

    /** With {@link #OL_CSUM_PARTIAL}: offset of the checksum field from {@link #csumStart()}. */
    public int csumOffset() {
        return csumOffset;
    }

    public void setCsum(int start, int offset) {
        this.csumStart = start;
        this.csumOffset = offset;
    }

    /** Offset of the L3 (IP) header from the start of the data, or -1 when not parsed. */
    public int l3Offset() {
        return l3Off;
    }

    /** Offset of the L4 (TCP/UDP) header from the start of the data, or -1 when not parsed. */
    public int l4Offset() {
        return l4Off;
    }

    public void setLayerOffsets(int l3, int l4) {
        this.l3Off = l3;
        this.l4Off = l4;
    }

    /** With a TSO flag: the TCP payload bytes of each segment (the MSS). */
    public int gsoSize() {
        return gsoSize;
    }

    public void setGsoSize(int size) {
        this.gsoSize = size;
    }

    /** Copies the offload metadata of {@code from} (flags, offsets, segment size) to this packet. */
    public void copyOffloads(Packet from) {
        offloads = from.offloads;
        csumStart = from.csumStart;
        csumOffset = from.csumOffset;
        l3Off = from.l3Off;
        l4Off = from.l4Off;
        gsoSize = from.gsoSize;
    }

    public int refcnt() {
        return refcnt;
    }

    /** Adds a reference: each holder frees once. */
    public void retain() {
        REFCNT.getAndAdd(this, 1);
    }

    /**
     * Drops one reference to this packet (a head: the whole chain). The last reference returns every segment
     * to its pool. Freeing a packet more often than it was referenced throws.
     */
    public void free() {
        if (refcnt == 1) {
            REFCNT.setRelease(this, 0);
        } else {
            int left = (int) REFCNT.getAndAdd(this, -1) - 1;
            if (left > 0) {
                return;
            }
            if (left < 0) {
                REFCNT.getAndAdd(this, 1);
                throw new IllegalStateException("double free of packet " + index + " of pool " + pool.name());
            }
        }
        Packet s = this;
        while (s != null) {
            Packet n = s.next;
            s.next = null;
            if (s != this) {
                s.refcnt = 0;
            }
            s.pool.release(s);
            s = n;
        }
    }

    /**
     * The fast half of {@link #free()} for a batch: when this is a single-segment packet holding its last
     * reference, drops it and returns true (the caller returns the buffer to the pool); else false.
     */
    boolean dropIfSimple() {
        if (next == null && refcnt == 1) {
            REFCNT.setRelease(this, 0);
            return true;
        }
        return false;
    }

    /** Copies the whole packet's bytes (all segments) into {@code dst} at {@code off}; returns bytes copied. */
    public int copyTo(byte[] dst, int off) {
        int at = off;
        for (Packet s = this; s != null; s = s.next) {
            s.buf.get(s.dataOff, dst, at, s.dataLen);
            at += s.dataLen;
        }
        return at - off;
    }

    /** The whole packet's bytes as a new array (control path and tests only: allocates). */
    public byte[] toByteArray() {
        byte[] b = new byte[pktLen];
        copyTo(b, 0);
        return b;
    }

    @Override
    public String toString() {
        return "Packet[" + pool.name() + "#" + index + " len=" + pktLen + " segs=" + nbSegs + "]";
    }
}
