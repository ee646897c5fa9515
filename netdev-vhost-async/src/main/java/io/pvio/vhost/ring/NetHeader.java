package io.pvio.vhost.ring;

import io.pvio.packet.Packet;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The virtio-net header (struct virtio_net_hdr) of one queue: the offloads its guest negotiated, encoding
 * a packet's offloads for the guest (DPDK's virtio_enqueue_offload) and checking the guest's
 * (vhost_dequeue_offload). Ring-layout agnostic; configured by the control thread with the queue's lock held.
 */
public final class NetHeader {
    static final int F_NEEDS_CSUM = 1;
    static final int F_DATA_VALID = 2;
    static final int F_RSC_INFO = 4;
    static final int GSO_NONE = 0;
    static final int GSO_TCPV4 = 1;
    static final int GSO_TCPV6 = 4;
    static final int GSO_ECN = 0x80;

    /** Eight bytes as they are (one order for both sides). */

    /** Header length: 12 with VERSION_1 or MRG_RXBUF, else 10. */
    int len = 12;
    /** Offloads the guest negotiated: it sends them (CSUM, HOST_TSO4/6), it takes them (GUEST_*). */
    boolean hostCsum;
    private boolean hostTso4;
    private boolean hostTso6;
    private boolean guestCsum;
    private boolean guestTso4;
    private boolean guestTso6;
    /** A header read across buffers (lock holder only). */
    private final ByteBuffer scratch = ByteBuffer.allocateDirect(12).order(ByteOrder.LITTLE_ENDIAN);

    void setFeatures(long features) {
        boolean mrg = VirtioFeatures.has(features, VirtioFeatures.NET_F_MRG_RXBUF);
        len = VirtioFeatures.has(features, VirtioFeatures.F_VERSION_1) || mrg ? 12 : 10;
        hostCsum = VirtioFeatures.has(features, VirtioFeatures.NET_F_CSUM);
        hostTso4 = hostCsum && VirtioFeatures.has(features, VirtioFeatures.NET_F_HOST_TSO4);
        hostTso6 = hostCsum && VirtioFeatures.has(features, VirtioFeatures.NET_F_HOST_TSO6);
        guestCsum = VirtioFeatures.has(features, VirtioFeatures.NET_F_GUEST_CSUM);
        guestTso4 = guestCsum && VirtioFeatures.has(features, VirtioFeatures.NET_F_GUEST_TSO4);
        guestTso6 = guestCsum && VirtioFeatures.has(features, VirtioFeatures.NET_F_GUEST_TSO6);
    }

    /** True when the guest negotiated every offload of {@code ol} (packet flags). */
    boolean takes(int ol) {
        if ((ol & Packet.OL_CSUM_PARTIAL) != 0 && !guestCsum) {
            return false;
        }
        if ((ol & Packet.OL_TSO_TCPV4) != 0 && !guestTso4) {
            return false;
        }
        return (ol & Packet.OL_TSO_TCPV6) == 0 || guestTso6;
    }

    /**
     * The first 8 bytes of the header for {@code p}'s offloads (as a little-endian long): flags, gso_type,
     * hdr_len, gso_size, csum_start. Only for packets the guest {@link #takes}; hdr_len is the headers' length
     * through TCP for TSO, where the guest reads it as a hint.
     */
    static long word(Packet p) {
        int ol = p.offloads();
        long flags = (ol & Packet.OL_CSUM_PARTIAL) != 0 ? F_NEEDS_CSUM : 0;
        long w = flags | (long) (p.csumStart() & 0xffff) << 48;
        if ((ol & Packet.OL_TSO) != 0) {
            int type = (ol & Packet.OL_TSO_TCPV4) != 0 ? GSO_TCPV4 : GSO_TCPV6;
            if ((ol & Packet.OL_TSO_ECN) != 0) {
                type |= GSO_ECN;
            }
            int l4 = p.csumStart();
            int hdrLen = l4 + 20;
            if (l4 + 12 < p.dataLength()) {
                hdrLen = l4 + ((p.buffer().get(p.dataOffset() + l4 + 12) & 0xf0) >> 2);
            }
            w |= (long) type << 8 | (long) (hdrLen & 0xffff) << 16 | (long) (p.gsoSize() & 0xffff) << 32;
        }
        return w;
    }

    /**
     * The 12-byte header ({@code p}'s offloads, {@code heads} in num_buffers) at {@code v[at]}: two plain
     * stores. Not DPDK's ASSIGN_UNLESS_EQUAL (load, compare, store if different): where the front end wrote
     * the line last (a forwarding guest's transmit header sits in the same headroom) the load waits a whole
     * cache-line transfer before the core goes on, while a store waits in the store buffer (V2V 64 B: about
     * +10 %; a receive-only front end showed no difference). Guest memory: only through {@link GuestWrites#header}.
     */
    static void put(ByteBuffer v, int at, Packet p, int heads) {
        long h0 = 0; // flags, gso_type, hdr_len, gso_size, csum_start
        int h1 = heads << 16; // csum_offset, num_buffers (little-endian)
        if (p.offloads() != 0) {
            h0 = word(p);
            h1 |= p.csumOffset() & 0xffff;
        }
        Le.putLong(v, at, h0);
        Le.putInt(v, at + 8, h1);
    }

    /** The first {@code len} bytes of {@code p}'s header into {@code dst} (a scratch buffer, little-endian). */
    static void fill(ByteBuffer dst, Packet p, int heads) {
        dst.putLong(0, p.offloads() == 0 ? 0 : word(p));
        dst.putShort(8, (short) (p.offloads() == 0 ? 0 : p.csumOffset()));
        dst.putShort(10, (short) heads);
    }

    /**
     * Writes the first {@code len} bytes of {@code p}'s header into the {@code len} bytes before its data,
     * when {@code p} is ours alone (one reference) and has that much headroom, so that header and first
     * segment are one copy with no CPU store into the guest's lines. False (nothing written) otherwise.
     */
    public static boolean intoHeadroom(Packet p, int len, int heads) {
        if (p.refcnt() != 1 || p.dataOffset() < len) {
            return false;
        }
        ByteBuffer b = p.buffer();
        int at = p.dataOffset() - len;
        if (p.offloads() == 0) {
            b.putLong(at, 0);
            b.putShort(at + 8, (short) 0);
        } else {
            Le.U64.set(b, at, word(p));
            int co = p.csumOffset();
            b.put(at + 8, (byte) co);
            b.put(at + 9, (byte) (co >>> 8));
        }
        if (len == 12) {
            b.put(at + 10, (byte) heads); // num_buffers, little-endian whatever b's order
            b.put(at + 11, (byte) (heads >>> 8));
        }
        return true;
    }

    /**
     * Reads the header at the start of {@code vec} into {@code p}'s offload metadata, checking it against
     * what the guest negotiated and the frame's length {@code plen}. Returns null when it is valid, else why
     * not (the packet is then dropped and counted). Moves the vector's cursor.
     */
    String read(BufVec vec, GuestMemory mem, Packet p, long plen) {
        vec.rewind();
        ByteBuffer h;
        int at;
        if (vec.piece(10) == 10) {
            h = mem.view(vec.pieceSlice);
            at = vec.pieceOff;
        } else {
            for (int k = 0; k < 10;) { // the header spans buffers
                int chunk = vec.piece(10 - k);
                scratch.put(k, mem.view(vec.pieceSlice), vec.pieceOff, chunk);
                k += chunk;
                vec.advance(chunk);
            }
            h = scratch;
            at = 0;
        }
        long w = Le.getLong(h, at); // flags, gso_type, hdr_len, gso_size, csum_start
        int flags = (int) w & 0xff;
        int gso = (int) (w >>> 8) & 0xff;
        int gsoSize = (int) (w >>> 32) & 0xffff;
        int start = (int) (w >>> 48);
        int off = Le.getShort(h, at + 8) & 0xffff;
        if ((flags & ~(F_NEEDS_CSUM | F_DATA_VALID | F_RSC_INFO)) != 0) {
            return "unknown flags 0x" + Integer.toHexString(flags);
        }
        int ol = 0;
        if ((flags & F_NEEDS_CSUM) != 0) {
            if (!hostCsum) {
                return "NEEDS_CSUM without VIRTIO_NET_F_CSUM";
            }
            if (start + off + 2L > plen) {
                return "checksum at " + start + "+" + off + " outside the " + plen + "-byte frame";
            }
            ol = Packet.OL_CSUM_PARTIAL;
            p.setCsum(start, off);
            p.setLayerOffsets(-1, start);
        }
        switch (gso & ~GSO_ECN) {
            case GSO_NONE:
                if (gso != GSO_NONE) {
                    return "GSO_ECN without a GSO type";
                }
                break;
            case GSO_TCPV4:
            case GSO_TCPV6: {
                boolean v4 = (gso & ~GSO_ECN) == GSO_TCPV4;
                if (v4 ? !hostTso4 : !hostTso6) {
                    return "TSO" + (v4 ? "4" : "6") + " without VIRTIO_NET_F_HOST_TSO" + (v4 ? "4" : "6");
                }
                if (ol == 0 || off != 16 || gsoSize == 0) {
                    return "TSO without a TCP checksum to complete or with segment size 0";
                }
                ol |= v4 ? Packet.OL_TSO_TCPV4 : Packet.OL_TSO_TCPV6;
                if ((gso & GSO_ECN) != 0) {
                    ol |= Packet.OL_TSO_ECN;
                }
                p.setGsoSize(gsoSize);
                break;
            }
            default:
                return "GSO type " + gso + " not offered";
        }
        p.setOffloads(ol);
        return null;
    }
}
