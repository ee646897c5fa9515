package io.pvio.packet;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Offloads done in software for a port that cannot take them (OVS's {@code netdev_send_prepare} and
 * {@code dp-packet-gso.c}): completion of a partial L4 checksum, and TCP segmentation of a TSO packet into
 * packets of its pool. Nothing here allocates on the heap; every offset a packet's metadata gives is checked
 * against the packet before it is used, so a hostile header makes a method return false, never throw.
 */
public final class SoftOffloads {
    private static final VarHandle BE32 = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);

    static final int ETH_HLEN = 14;
    static final int ETH_P_IP = 0x0800;
    static final int ETH_P_IPV6 = 0x86dd;
    static final int ETH_P_8021Q = 0x8100;
    static final int ETH_P_8021AD = 0x88a8;
    static final int IPPROTO_TCP = 6;
    static final int TCP_FIN = 0x01;
    static final int TCP_PSH = 0x08;
    static final int TCP_CWR = 0x80;

    /**
     * Most segments one TSO packet may be cut into: a 64 KiB packet at Linux's smallest MSS (88) makes 745.
     * A packet that would make more (a hostile tiny segment size) is refused rather than drain the pool.
     */
    public static final int MAX_SEGMENTS = 1024;

    /** Receives the segments {@link #segment} makes, in order; each one is the sink's from then on. */
    public interface SegmentSink {
        void accept(Packet segment);
    }

    private SoftOffloads() {
    }

    /**
     * Completes the partial checksum of {@code p} ({@link Packet#OL_CSUM_PARTIAL}): sums the bytes from
     * csum_start to the end (the field holds the pseudo-header's sum), stores the result and clears the
     * flag. The packet must be its holder's alone (one reference): the bytes change. Returns false, leaving
     * the packet as it was, when csum_start/csum_offset point outside the packet.
     */
    public static boolean completeChecksum(Packet p) {
        int start = p.csumStart();
        long field = (long) start + p.csumOffset();
        if (start < 0 || p.csumOffset() < 0 || field > p.length() - 2) {
            return false;
        }
        int sum = fold(sum(p, start, p.length() - start));
        int csum = ~sum & 0xffff;
        putU16(p, (int) field, csum == 0 ? 0xffff : csum); // 0 means "no checksum" to UDP; same value for TCP
        p.setOffloads(p.offloads() & ~Packet.OL_CSUM_PARTIAL);
        return true;
    }

    /**
     * Finds the L3 and L4 headers of a TCP TSO packet (Ethernet, up to two VLAN tags, IPv4 without fragments
     * or IPv6 with TCP as next header) and records them ({@link Packet#setLayerOffsets}). Returns the length
     * of all headers (through TCP's options), or -1 when the packet is not such a packet, its headers are not
     * all in its first segment, or they do not match its TSO flag.
     */
    public static int parseTcp(Packet p) {
        ByteBuffer b = p.buffer();
        int d = p.dataOffset();
        int seg = p.dataLength();
        if (seg < ETH_HLEN) {
            return -1;
        }
        int l3 = ETH_HLEN;
        int type = u16(b, d + 12);
        for (int tags = 0; (type == ETH_P_8021Q || type == ETH_P_8021AD) && tags < 2; tags++) {
            if (seg < l3 + 4) {
                return -1;
            }
            type = u16(b, d + l3 + 2);
            l3 += 4;
        }
        int l4;
        if (type == ETH_P_IP && (p.offloads() & Packet.OL_TSO_TCPV4) != 0) {
            if (seg < l3 + 20) {
                return -1;
            }
            int vihl = b.get(d + l3) & 0xff;
            int ihl = (vihl & 15) * 4;
            int frag = u16(b, d + l3 + 6);
            if (vihl >> 4 != 4 || ihl < 20 || (b.get(d + l3 + 9) & 0xff) != IPPROTO_TCP
                    || (frag & 0x3fff) != 0) { // MF or an offset: a fragment
                return -1;
            }
            l4 = l3 + ihl;
        } else if (type == ETH_P_IPV6 && (p.offloads() & Packet.OL_TSO_TCPV6) != 0) {
            if (seg < l3 + 40 || (b.get(d + l3) & 0xf0) != 0x60 || (b.get(d + l3 + 6) & 0xff) != IPPROTO_TCP) {
                return -1;
            }
            l4 = l3 + 40;
        } else {
            return -1;
        }
        if (seg < l4 + 20) {
            return -1;
        }
        int hdrs = l4 + ((b.get(d + l4 + 12) & 0xf0) >> 2);
        if (hdrs < l4 + 20 || hdrs > seg) {
            return -1;
        }
        p.setLayerOffsets(l3, l4);
        return hdrs;
    }

    /**
     * Number of segments {@link #segment} makes of {@code p}, or -1 when it cannot segment it (not a valid
     * TCP TSO packet, a segment size of 0, more than {@link #MAX_SEGMENTS} segments).
     */
    public static int segmentCount(Packet p) {
        int hdrs = parseTcp(p);
        if (hdrs < 0 || p.gsoSize() <= 0) {
            return -1;
        }
        int payload = p.length() - hdrs;
        int n = payload <= 0 ? 1 : (payload + p.gsoSize() - 1) / p.gsoSize();
        return n > MAX_SEGMENTS ? -1 : n;
    }

    /**
     * TCP segmentation (as Linux's tcp_gso_segment): cuts the TSO packet {@code p} into packets of
     * {@code p.pool()} of at most {@code gsoSize} payload bytes each and hands them to {@code sink} in order.
     * Each segment gets p's headers with the IP length (IPv4: identifier + k and a new header checksum), the
     * TCP sequence number advanced, FIN and PSH on the last segment only, CWR on the first only, and a complete
     * TCP checksum; no offload flag. {@code p} is not changed nor freed (the caller frees it).
     *
     * @return segments handed to the sink; -1 when {@code p} cannot be segmented (nothing handed over), also
     *         when it would make more than {@link #MAX_SEGMENTS};
     *         fewer than {@link #segmentCount} when the pool ran out (the rest is missing)
     */
    public static int segment(Packet p, SegmentSink sink) {
        int hdrs = parseTcp(p);
        int mss = p.gsoSize();
        if (hdrs < 0 || mss <= 0) {
            return -1;
        }
        boolean v4 = (p.buffer().get(p.dataOffset() + p.l3Offset()) & 0xf0) == 0x40; // as parseTcp found it
        int l3 = p.l3Offset();
        int l4 = p.l4Offset();
        ByteBuffer src = p.buffer();
        int so = p.dataOffset();
        int payload = p.length() - hdrs;
        int n = payload <= 0 ? 1 : (payload + mss - 1) / mss;
        if (n > MAX_SEGMENTS) {
            return -1;
        }
        int ipId = v4 ? u16(src, so + l3 + 4) : 0;
        long seq0 = (int) BE32.get(src, so + l4 + 4) & 0xffffffffL;
        int flags0 = src.get(so + l4 + 13) & 0xff;
        // pseudo-header without the length: addresses and protocol
        long pseudo = v4 ? sumFlat(src, so + l3 + 12, 8) : sumFlat(src, so + l3 + 8, 32);
        pseudo += IPPROTO_TCP;
        for (int k = 0; k < n; k++) {
            int off = k * mss;
            int chunk = Math.max(0, Math.min(mss, payload - off));
            Packet s = p.pool().allocChain(hdrs + chunk);
            if (s == null) {
                return k;
            }
            // headers, then this segment's payload
            copy(p, 0, s, 0, hdrs);
            copy(p, hdrs + off, s, hdrs, chunk);
            ByteBuffer b = s.buffer();
            int d = s.dataOffset();
            int l4len = hdrs - l4 + chunk;
            if (v4) {
                int ihl = l4 - l3;
                putU16(b, d + l3 + 2, hdrs - l3 + chunk);
                putU16(b, d + l3 + 4, (ipId + k) & 0xffff);
                putU16(b, d + l3 + 10, 0);
                putU16(b, d + l3 + 10, ~fold(sumFlat(b, d + l3, ihl)) & 0xffff);
            } else {
                putU16(b, d + l3 + 4, l4len);
            }
            long seq = (seq0 + off) & 0xffffffffL;
            putU16(b, d + l4 + 4, (int) (seq >>> 16));
            putU16(b, d + l4 + 6, (int) seq & 0xffff);
            int fl = flags0;
            if (k < n - 1) {
                fl &= ~(TCP_FIN | TCP_PSH);
            }
            if (k > 0) {
                fl &= ~TCP_CWR;
            }
            b.put(d + l4 + 13, (byte) fl);
            putU16(b, d + l4 + 16, 0);
            long sum = pseudo + l4len + sum(s, l4, l4len);
            putU16(s, l4 + 16, ~fold(sum) & 0xffff);
            s.setPort(p.port());
            s.setHash(p.hash());
            s.setLayerOffsets(l3, l4);
            sink.accept(s);
        }
        return n;
    }

    /**
     * A private copy of {@code p} (all its bytes and offload metadata, port and hash) in packets of its pool,
     * for a change to a packet other holders share; null when the pool is empty.
     */
    public static Packet copy(Packet p) {
        Packet c = p.pool().allocChain(p.length());
        if (c == null) {
            return null;
        }
        copy(p, 0, c, 0, p.length());
        c.setPort(p.port());
        c.setHash(p.hash());
        c.copyOffloads(p);
        return c;
    }

    /** Copies {@code len} bytes from packet {@code a} at data offset {@code ao} to {@code b} at {@code bo}. */
    static void copy(Packet a, int ao, Packet b, int bo, int len) {
        Packet sa = a;
        while (sa != null && ao >= sa.dataLength()) {
            ao -= sa.dataLength();
            sa = sa.next();
        }
        Packet sb = b;
        while (sb != null && bo >= sb.dataLength()) {
            bo -= sb.dataLength();
            sb = sb.next();
        }
        while (len > 0) {
            int chunk = Math.min(len, Math.min(sa.dataLength() - ao, sb.dataLength() - bo));
            sb.buffer().put(sb.dataOffset() + bo, sa.buffer(), sa.dataOffset() + ao, chunk);
            len -= chunk;
            ao += chunk;
            bo += chunk;
            if (ao == sa.dataLength()) {
                sa = sa.next();
                ao = 0;
            }
            if (bo == sb.dataLength()) {
                sb = sb.next();
                bo = 0;
            }
        }
    }

    /**
     * Ones' complement sum (unfolded, in a long) of {@code len} bytes of packet {@code p} from data offset
     * {@code off}, across segments, as big-endian 16-bit words.
     */
    static long sum(Packet p, int off, int len) {
        Packet s = p;
        while (s != null && off >= s.dataLength()) {
            off -= s.dataLength();
            s = s.next();
        }
        long acc = 0;
        boolean odd = false; // an odd number of bytes summed so far: this piece's bytes are shifted by one
        while (len > 0 && s != null) {
            int chunk = Math.min(len, s.dataLength() - off);
            int part = fold(sumFlat(s.buffer(), s.dataOffset() + off, chunk));
            acc += odd ? Integer.reverseBytes(part) >>> 16 : part;
            odd ^= (chunk & 1) != 0;
            len -= chunk;
            s = s.next();
            off = 0;
        }
        return acc;
    }

    /** Unfolded ones' complement sum of {@code len} bytes of {@code b} at {@code at} (big-endian words). */
    static long sumFlat(ByteBuffer b, int at, int len) {
        long acc = 0;
        int end = at + len;
        int i = at;
        for (; i + 4 <= end; i += 4) {
            acc += (int) BE32.get(b, i) & 0xffffffffL;
        }
        if (i + 2 <= end) {
            acc += ((b.get(i) & 0xff) << 8) | (b.get(i + 1) & 0xff);
            i += 2;
        }
        if (i < end) {
            acc += (b.get(i) & 0xff) << 8;
        }
        return acc;
    }

    /** Folds an unfolded sum to 16 bits (end-around carries). */
    static int fold(long acc) {
        while ((acc >>> 16) != 0) {
            acc = (acc & 0xffff) + (acc >>> 16);
        }
        return (int) acc;
    }

    private static int u16(ByteBuffer b, int at) {
        return ((b.get(at) & 0xff) << 8) | (b.get(at + 1) & 0xff);
    }

    private static void putU16(ByteBuffer b, int at, int v) {
        b.put(at, (byte) (v >>> 8));
        b.put(at + 1, (byte) v);
    }

    /** Stores a big-endian 16-bit word at data offset {@code off} of a packet, across a segment boundary. */
    private static void putU16(Packet p, int off, int v) {
        Packet s = p;
        while (off >= s.dataLength()) {
            off -= s.dataLength();
            s = s.next();
        }
        if (off + 1 < s.dataLength()) {
            putU16(s.buffer(), s.dataOffset() + off, v);
        } else {
            s.buffer().put(s.dataOffset() + off, (byte) (v >>> 8));
            Packet t = s.next();
            t.buffer().put(t.dataOffset(), (byte) v);
        }
    }
}
