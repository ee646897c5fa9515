package io.pvio.ofproto.codec;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.FlowEntry;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Decoding and encoding of the OpenFlow 1.0 / 1.3 structures pvio's flow table can express: matches on
 * in_port, dl_src, dl_dst, dl_type; output actions (ports, NORMAL, FLOOD); flow-mods and flow statistics.
 * Everything else in a request is refused with the error OVS would send. Buffers are big-endian and hold
 * exactly one message.
 */
public final class OfCodec {
    private static final int ANY = FlowEntry.ANY;

    private OfCodec() {
    }

    /** A decoded flow-mod; {@code outPort} is null for "any" (also for filters). */
    public record FlowMod(int command, long cookieMask, int tableId, int idle, int hard, int flags,
            long bufferId, Integer outPort, boolean anyGroup, FlowEntry flow) {
    }

    /**
     * A decoded port-mod: {@code port} is a port number or {@link FlowEntry#LOCAL} (-1: another reserved
     * port); {@code config} has only bits of {@code mask}, both OpenFlow 1.0's OFPPC_* values (1.1+'s are
     * the same bits).
     */
    public record PortMod(int port, long hwAddr, int config, int mask, long advertise) {
    }

    /**
     * A decoded packet-out: {@code inPort} is a port number, {@link FlowEntry#LOCAL}, or 0 for none (OFPP_NONE,
     * OFPP_CONTROLLER); actions as a flow's plus Dpif.OUT_ALL, OUT_IN_PORT and OUT_TABLE.
     */
    public record PacketOut(long bufferId, int inPort, List<Integer> actions, byte[] packet) {
    }

    /** A decoded queue statistics request: {@code port} -1 for any port, {@code queue} {@link Of#QUEUE_ALL} for all. */
    public record QueueStatsRequest(int port, long queue) {
    }

    /** A decoded flow or aggregate statistics request. */
    public record FlowStatsRequest(int tableId, Integer outPort, long cookie, long cookieMask, FlowEntry match) {
    }

    /** The fields of a match; everything else was wildcarded. */
    private record Match(int inPort, long dlSrc, long dlDst, int dlType, long cookie, long cookieMask) {
        Match(int inPort, long dlSrc, long dlDst, int dlType) {
            this(inPort, dlSrc, dlDst, dlType, 0, 0);
        }
    }

    // ------------------------------------------------------------------ flow-mod

    public static FlowMod decodeFlowMod(int version, ByteBuffer b) throws OfException {
        return decodeFlowMod(version, b, false);
    }

    /** @param nxTableId OpenFlow 1.0 with NXT_FLOW_MOD_TABLE_ID on: the command's high byte is the table id */
    public static FlowMod decodeFlowMod(int version, ByteBuffer b, boolean nxTableId) throws OfException {
        try {
            return version == Of.V10 ? flowMod10(b, nxTableId) : flowMod13(b);
        } catch (BufferUnderflowException e) {
            throw new OfException(OfError.BAD_LEN, "flow_mod truncated");
        }
    }

    private static FlowMod flowMod10(ByteBuffer b, boolean nxTableId) throws OfException {
        b.position(Of.HEADER);
        Match m = match10(b);
        long cookie = b.getLong();
        int command = u16(b);
        int idle = u16(b);
        int hard = u16(b);
        int priority = u16(b);
        long buffer = u32(b);
        int outPort = u16(b);
        int flags = u16(b);
        List<Integer> acts = actions(Of.V10, b, b.limit());
        Integer out = outPort == Of.P10_NONE ? null : port10(outPort, false);
        int table = 0;
        if (nxTableId) {
            table = command >>> 8;
            command &= 0xff;
        }
        return new FlowMod(command, 0, table, idle, hard, flags, buffer, out, true,
                FlowEntry.of(cookie, priority, m.inPort, m.dlSrc, m.dlDst, m.dlType, acts)
                        .withTimeouts(idle, hard, flags10(flags, command)));
    }

    /**
     * A 1.0 flow-mod's flags as the flow keeps them (OpenFlow 1.3's bits): send_flow_rem and check_overlap, and
     * reset_counts on an add, as OVS's ofputil_decode_flow_mod_flags (1.0's adds always reset the counters).
     */
    private static int flags10(int flags, int command) {
        int f = flags & (Of.FF_SEND_FLOW_REM | Of.FF_CHECK_OVERLAP);
        return (command & 0xff) == Of.FC_ADD ? f | FlowEntry.FF_RESET_COUNTS : f;
    }

    private static FlowMod flowMod13(ByteBuffer b) throws OfException {
        b.position(Of.HEADER);
        long cookie = b.getLong();
        long cookieMask = b.getLong();
        int table = u8(b);
        int command = u8(b);
        int idle = u16(b);
        int hard = u16(b);
        int priority = u16(b);
        long buffer = u32(b);
        long outPort = u32(b);
        long outGroup = u32(b);
        int flags = u16(b);
        skip(b, 2);
        Match m = match13(b);
        List<Integer> acts = instructions(b);
        Integer out = outPort == Of.P13_ANY ? null : port13(outPort, false);
        return new FlowMod(command, cookieMask, table, idle, hard, flags, buffer, out, outGroup == Of.P13_ANY,
                FlowEntry.of(cookie, priority, m.inPort, m.dlSrc, m.dlDst, m.dlType, acts)
                        .withTimeouts(idle, hard, flags & 0x1f));
    }

    /**
     * A Nicira NXT_FLOW_MOD (OpenFlow 1.0 with the NXM flow format): 1.0's fields, an NXM match (which may
     * select by cookie) padded to 8 bytes, then 1.0 actions. The flow's cookie is the match's when a cookie
     * mask is given (modify and delete select by it), else the new cookie.
     *
     * @param nxTableId NXT_FLOW_MOD_TABLE_ID is on: the command's high byte is the table id
     */
    public static FlowMod decodeNxFlowMod(ByteBuffer b, boolean nxTableId) throws OfException {
        try {
            b.position(Of.NX_HEADER);
            long cookie = b.getLong();
            int command = u16(b);
            int idle = u16(b);
            int hard = u16(b);
            int priority = u16(b);
            long buffer = u32(b);
            int outPort = u16(b);
            int flags = u16(b);
            int matchLen = u16(b);
            skip(b, 6);
            int start = b.position();
            if (matchLen > b.remaining()) {
                throw new OfException(OfError.BAD_MATCH_LEN, "NXM match of " + matchLen + " bytes overruns the message");
            }
            Match m = tlvMatch(b, start + matchLen, NXM_FIELDS, "NXM");
            skip(b, start + (matchLen + 7) / 8 * 8 - b.position());
            List<Integer> acts = actions(Of.V10, b, b.limit());
            Integer out = outPort == Of.P10_NONE ? null : port10(outPort, false);
            int table = 0;
            if (nxTableId) {
                table = command >>> 8;
                command &= 0xff;
            }
            if (command == Of.FC_ADD && m.cookieMask != 0) { // OVS: NXBRC_NXM_INVALID, (1, 0x100) in 1.0
                throw new OfException(OfError.BAD_MATCH_TYPE, "an add cannot match a cookie");
            }
            return new FlowMod(command, m.cookieMask, table, idle, hard, flags, buffer, out, true,
                    FlowEntry.of(m.cookieMask != 0 ? m.cookie : cookie, priority, m.inPort, m.dlSrc, m.dlDst,
                            m.dlType, acts).withTimeouts(idle, hard, flags10(flags, command)));
        } catch (BufferUnderflowException e) {
            throw new OfException(OfError.BAD_LEN, "flow_mod truncated");
        }
    }

    // ------------------------------------------------------------------ port-mod, packet-out, queue stats

    /** OFPT_PORT_MOD: 1.0's ofp10_port_mod or 1.1+'s ofp11_port_mod; config bits outside the version's are dropped. */
    public static PortMod decodePortMod(int version, ByteBuffer b) throws OfException {
        try {
            b.position(Of.HEADER);
            int port;
            if (version == Of.V10) {
                port = reservedAsLocal(u16(b));
            } else {
                port = reservedAsLocal(port11(u32(b)));
                skip(b, 4);
            }
            long hw = mac(b);
            if (version != Of.V10) {
                skip(b, 2);
            }
            int all = version == Of.V10 ? Of.PC_ALL_10 : Of.PC_ALL_13;
            int config = b.getInt() & all;
            int mask = b.getInt() & all;
            long advertise = u32(b);
            return new PortMod(port, hw, config & mask, mask, advertise);
        } catch (BufferUnderflowException e) {
            throw new OfException(OfError.BAD_LEN, "port_mod truncated");
        }
    }

    /** A 1.1+ port number as 1.0's (ofputil_port_from_ofp11): reserved ones move down to 0xff00.. */
    private static int port11(long p) throws OfException {
        if (p < Of.P10_MAX) {
            return (int) p;
        }
        if (p >= Of.P13_MAX) {
            return (int) (p - Of.P13_MAX + Of.P10_MAX);
        }
        throw new OfException(OfError.BAD_OUT_PORT, String.format("port 0x%x is outside OpenFlow 1.0's range", p));
    }

    /** A 1.0 port number: LOCAL as {@link FlowEntry#LOCAL}, other reserved ones -1. */
    private static int reservedAsLocal(int p) {
        return p == Of.P10_LOCAL ? FlowEntry.LOCAL : p >= Of.P10_MAX ? -1 : p;
    }

    /** OFPT_PACKET_OUT: buffer id, input port, actions, then the packet (OVS's checks of the input port). */
    public static PacketOut decodePacketOut(int version, ByteBuffer b) throws OfException {
        try {
            b.position(Of.HEADER);
            long buffer = u32(b);
            int in = version == Of.V10 ? u16(b) : port11(u32(b));
            int actionsLen = u16(b);
            if (version != Of.V10) {
                skip(b, 6);
            }
            if (actionsLen > b.remaining()) {
                throw new OfException(OfError.BAD_LEN, "packet_out actions of " + actionsLen + " bytes");
            }
            if (in >= Of.P10_MAX && in != Of.P10_LOCAL && in != Of.P10_NONE && in != Of.P10_CONTROLLER) {
                throw new OfException(OfError.BAD_PORT, String.format("packet-out has bad input port 0x%x", in));
            }
            int inPort = in == Of.P10_LOCAL ? FlowEntry.LOCAL : in >= Of.P10_MAX ? 0 : in;
            List<Integer> acts = actions(version, b, b.position() + actionsLen, true);
            byte[] packet = new byte[b.remaining()];
            b.get(packet);
            return new PacketOut(buffer, inPort, acts, packet);
        } catch (BufferUnderflowException e) {
            throw new OfException(OfError.BAD_LEN, "packet_out truncated");
        }
    }

    /** The body of an OFPST_QUEUE request ({@code b} after the statistics header). */
    public static QueueStatsRequest decodeQueueStatsRequest(int version, ByteBuffer b) throws OfException {
        try {
            int p;
            if (version == Of.V10) {
                p = u16(b);
                skip(b, 2);
            } else {
                p = port11(u32(b));
            }
            long queue = u32(b);
            // 1.0 asks for any port with OFPP_ALL, 1.1+ with OFPP_ANY (1.0's NONE); other reserved ports: none
            int port = p == Of.P10_ALL || p == Of.P10_NONE ? -1 : p == Of.P10_LOCAL ? FlowEntry.LOCAL
                    : p >= Of.P10_MAX ? 0 : p;
            return new QueueStatsRequest(port, queue);
        } catch (BufferUnderflowException e) {
            throw new OfException(OfError.BAD_LEN, "queue statistics request truncated");
        }
    }

    // ------------------------------------------------------------------ flow stats request

    /** Body of an OFPST_FLOW / OFPST_AGGREGATE request, {@code b} positioned after the stats header. */
    public static FlowStatsRequest decodeFlowStatsRequest(int version, ByteBuffer b) throws OfException {
        try {
            if (version == Of.V10) {
                Match m = match10(b);
                int table = u8(b);
                b.get();
                int out = u16(b);
                return new FlowStatsRequest(table, out == Of.P10_NONE ? null : port10(out, false), 0, 0,
                        FlowEntry.of(0, 0, m.inPort, m.dlSrc, m.dlDst, m.dlType, List.of()));
            }
            int table = u8(b);
            skip(b, 3);
            long out = u32(b);
            u32(b); // out_group: pvio has no groups, so no flow is in one
            skip(b, 4);
            long cookie = b.getLong();
            long cookieMask = b.getLong();
            Match m = match13(b);
            return new FlowStatsRequest(table, out == Of.P13_ANY ? null : port13(out, false), cookie, cookieMask,
                    FlowEntry.of(0, 0, m.inPort, m.dlSrc, m.dlDst, m.dlType, List.of()));
        } catch (BufferUnderflowException e) {
            throw new OfException(OfError.BAD_LEN, "flow statistics request truncated");
        }
    }

    // ------------------------------------------------------------------ matches

    private static Match match10(ByteBuffer b) throws OfException {
        int w = b.getInt();
        int inPort = u16(b);
        long src = mac(b);
        long dst = mac(b);
        skip(b, 4); // dl_vlan, dl_vlan_pcp, pad
        int type = u16(b);
        skip(b, 4 + 8 + 4); // nw_tos, nw_proto, pad, nw_src, nw_dst, tp_src, tp_dst
        int unsupported = Of.FW_DL_VLAN | Of.FW_NW_PROTO | Of.FW_TP_SRC | Of.FW_TP_DST | Of.FW_DL_VLAN_PCP | Of.FW_NW_TOS;
        if ((w & unsupported) != unsupported || (w >>> 8 & 0x3f) < 32 || (w >>> 14 & 0x3f) < 32) {
            throw new OfException(OfError.BAD_WILDCARDS, String.format("match wildcards 0x%x: pvio matches only "
                    + "in_port, dl_src, dl_dst and dl_type", w));
        }
        if ((w & Of.FW_IN_PORT) == 0) {
            inPort = checkPort(inPort == Of.P10_LOCAL ? FlowEntry.LOCAL : inPort, false);
        }
        return new Match((w & Of.FW_IN_PORT) != 0 ? ANY : inPort, (w & Of.FW_DL_SRC) != 0 ? ANY : src,
                (w & Of.FW_DL_DST) != 0 ? ANY : dst, (w & Of.FW_DL_TYPE) != 0 ? ANY : type);
    }

    private static Match match13(ByteBuffer b) throws OfException {
        int start = b.position();
        int type = u16(b);
        int len = u16(b);
        if (type != 1) {
            throw new OfException(OfError.BAD_MATCH_TYPE, "match type " + type + " (only OXM, 1)");
        }
        if (len < 4 || start + len > b.limit()) {
            throw new OfException(OfError.BAD_MATCH_LEN, "match length " + len);
        }
        Match m = tlvMatch(b, start + len, OXM_FIELDS, "OXM");
        int padded = start + (len + 7) / 8 * 8;
        if (padded > b.limit()) {
            throw new OfException(OfError.BAD_MATCH_LEN, "match padding overruns the message");
        }
        b.position(padded);
        return m;
    }

    /** A match field pvio supports, by its TLV header without the mask bit and length: (class << 7 | field). */
    private enum Field { IN_PORT, ETH_DST, ETH_SRC, ETH_TYPE, COOKIE }

    /** OpenFlow 1.3 OXM (class OPENFLOW_BASIC): in_port is 32 bits. */
    private static final Map<Integer, Field> OXM_FIELDS = Map.of(
            Of.OXM_BASIC << 7 | Of.OXM_IN_PORT, Field.IN_PORT, Of.OXM_BASIC << 7 | Of.OXM_ETH_DST, Field.ETH_DST,
            Of.OXM_BASIC << 7 | Of.OXM_ETH_SRC, Field.ETH_SRC, Of.OXM_BASIC << 7 | Of.OXM_ETH_TYPE, Field.ETH_TYPE);
    /** Nicira NXM (class 0x0000, NXM_OF_*): in_port is 16 bits; NXM_NX_COOKIE (class 1, field 30) selects. */
    private static final Map<Integer, Field> NXM_FIELDS = Map.of(
            0, Field.IN_PORT, 1, Field.ETH_DST, 2, Field.ETH_SRC, 3, Field.ETH_TYPE, 1 << 7 | 30, Field.COOKIE);

    /**
     * The fields of an OXM or NXM match (4-byte TLV headers: class, field, has-mask bit, length) from the
     * current position to {@code end}.
     */
    private static Match tlvMatch(ByteBuffer b, int end, Map<Integer, Field> fields, String what)
            throws OfException {
        int inPort = ANY;
        long src = ANY;
        long dst = ANY;
        int ethType = ANY;
        long cookie = 0;
        long cookieMask = 0;
        java.util.EnumSet<Field> seen = java.util.EnumSet.noneOf(Field.class);
        boolean nxm = fields == NXM_FIELDS;
        while (b.position() < end) {
            if (end - b.position() < 4) {
                throw new OfException(OfError.BAD_MATCH_LEN, "truncated " + what + " header");
            }
            int hdr = b.getInt();
            int id = hdr >>> 9;
            boolean hasMask = (hdr & 0x100) != 0;
            int flen = hdr & 0xff;
            if (end - b.position() < flen) {
                throw new OfException(OfError.BAD_MATCH_LEN, what + " field " + (id & 0x7f) + " overruns the match");
            }
            int next = b.position() + flen;
            Field f = fields.get(id);
            if (f == null) {
                throw new OfException(OfError.BAD_FIELD, String.format("%s class 0x%04x field %d: pvio matches only "
                        + "in_port, eth_src, eth_dst and eth_type", what, id >>> 7, id & 0x7f));
            }
            if (!seen.add(f)) {
                throw new OfException(OfError.DUP_FIELD, what + " field " + f + " twice");
            }
            int vlen = f == Field.IN_PORT ? (nxm ? 2 : 4) : f == Field.ETH_TYPE ? 2 : f == Field.COOKIE ? 8 : 6;
            if (flen != (hasMask ? 2 * vlen : vlen)) {
                throw new OfException(OfError.BAD_MATCH_LEN, what + " field " + f + " has length " + flen);
            }
            if (f == Field.COOKIE) {
                cookie = b.getLong();
                cookieMask = hasMask ? b.getLong() : -1L;
            } else if (f == Field.IN_PORT) {
                if (hasMask) {
                    throw new OfException(OfError.BAD_MASK, "in_port cannot be masked");
                }
                inPort = nxm ? port10(u16(b), false) : port13(u32(b), false);
                if (inPort < 0) {
                    throw new OfException(OfError.BAD_VALUE, "match in_port NORMAL or FLOOD");
                }
            } else if (f == Field.ETH_TYPE) {
                if (hasMask) {
                    throw new OfException(OfError.BAD_MASK, "eth_type cannot be masked");
                }
                ethType = u16(b);
            } else {
                long v = mac(b);
                if (hasMask) {
                    long mask = mac(b);
                    if (mask == 0) {
                        v = ANY;
                    } else if (mask != 0xffff_ffff_ffffL) {
                        throw new OfException(OfError.BAD_MASK, "pvio matches whole MAC addresses only");
                    }
                }
                if (f == Field.ETH_SRC) {
                    src = v;
                } else {
                    dst = v;
                }
            }
            b.position(next);
        }
        return new Match(inPort, src, dst, ethType, cookie, cookieMask);
    }

    /**
     * Body of a Nicira NXST_FLOW / NXST_AGGREGATE request ({@code b} after the 24-byte Nicira stats
     * header): out_port, match_len, table_id, pad, then an NXM match padded to 8 bytes.
     */
    public static FlowStatsRequest decodeNxFlowStatsRequest(ByteBuffer b) throws OfException {
        try {
            int out = u16(b);
            int matchLen = u16(b);
            int table = u8(b);
            skip(b, 3);
            if (matchLen > b.remaining()) {
                throw new OfException(OfError.BAD_MATCH_LEN, "NXM match of " + matchLen + " bytes overruns the message");
            }
            Match m = tlvMatch(b, b.position() + matchLen, NXM_FIELDS, "NXM");
            return new FlowStatsRequest(table, out == Of.P10_NONE ? null : port10(out, false), m.cookie, m.cookieMask,
                    FlowEntry.of(0, 0, m.inPort, m.dlSrc, m.dlDst, m.dlType, List.of()));
        } catch (BufferUnderflowException e) {
            throw new OfException(OfError.BAD_LEN, "flow statistics request truncated");
        }
    }

    /** One Nicira nx_flow_stats entry: as OpenFlow 1.0's, with an NXM match and the idle and hard ages. */
    public static void nxFlowStats(OfWriter w, FlowEntry f) {
        int at = w.length();
        long ms = f.durationNanos() / 1_000_000;
        w.u16(0).u8(0).u8(0).u32(ms / 1000).u32(ms % 1000 * 1_000_000).u16(f.priority()).u16(f.idleTimeout())
                .u16(f.hardTimeout());
        int matchLenAt = w.length();
        // idle_age + 1 and hard_age + 1 (0: unknown); ovs-ofctl prints hard_age where it is not the duration
        w.u16(0).u16(Math.min(f.idleSeconds(), 0xfffe) + 1).u16(Math.min(f.hardAgeSeconds(), 0xfffe) + 1);
        w.u64(f.cookie()).u64(f.packets()).u64(f.bytes());
        int m = w.length();
        nxMatch(w, f);
        w.putU16(matchLenAt, w.length() - m);
        w.padTo8();
        actions(Of.V10, w, f);
        w.putU16(at, w.length() - at);
    }

    /**
     * A flow's removal as OVS's ofputil_encode_flow_removed writes it for the connection's protocol: OFPT_FLOW_REMOVED
     * with a 1.0 match or a 1.3 OXM match, or NXT_FLOW_REMOVED with an NXM match (OpenFlow 1.0, NXM flow format).
     * Durations in milliseconds, as OVS's; table 0.
     */
    public static byte[] flowRemoved(int version, boolean nxm, FlowEntry f, int reason) {
        long ms = f.durationNanos() / 1_000_000;
        long sec = ms / 1000;
        long nsec = ms % 1000 * 1_000_000;
        if (version == Of.V10 && nxm) {
            OfWriter w = OfWriter.message(Of.V10, Of.VENDOR, 0).u32(Of.NX_VENDOR).u32(Of.NXT_FLOW_REMOVED);
            w.u64(f.cookie()).u16(f.priority()).u8(reason).u8(1).u32(sec).u32(nsec).u16(f.idleTimeout());
            int matchLenAt = w.length();
            w.u16(0).u64(f.packets()).u64(f.bytes());
            int m = w.length();
            nxMatch(w, f);
            w.putU16(matchLenAt, w.length() - m);
            w.padTo8();
            return w.finish();
        }
        OfWriter w = OfWriter.message(version, Of.FLOW_REMOVED, 0);
        if (version == Of.V10) {
            match10(w, f);
            w.u64(f.cookie()).u16(f.priority()).u8(reason).u8(0).u32(sec).u32(nsec).u16(f.idleTimeout()).zeros(2);
            w.u64(f.packets()).u64(f.bytes());
        } else {
            w.u64(f.cookie()).u16(f.priority()).u8(reason).u8(0).u32(sec).u32(nsec).u16(f.idleTimeout())
                    .u16(f.hardTimeout()).u64(f.packets()).u64(f.bytes());
            match13(w, f);
        }
        return w.finish();
    }

    /**
     * A packet-in as OVS's ofputil_encode_packet_in_private writes it: no buffer, the whole packet, table 0, in
     * {@code format} (NXT_SET_PACKET_IN_FORMAT's: 0 standard, 1 NXT_PACKET_IN, 2 NXT_PACKET_IN2). The reason is
     * action, but no_match for a table-miss flow's packet from 1.3 on (OVS's explicit miss); the metadata is the
     * in_port.
     */
    public static byte[] packetIn(int version, int format, io.pvio.dpif.PacketIn pin) {
        byte[] data = pin.packet();
        // OVS's encode_packet_in_reason: an explicit miss is no_match from 1.3 on, an implicit one always
        int reason = pin.reason() == io.pvio.dpif.PacketIn.IMPLICIT_MISS
                || pin.reason() == io.pvio.dpif.PacketIn.EXPLICIT_MISS && version >= Of.V13 ? Of.PR_NO_MATCH : Of.PR_ACTION;
        if (format == 2) { // properties: packet, table, cookie, reason, metadata (OXM in_port)
            OfWriter w = OfWriter.message(version, Of.VENDOR, 0).u32(Of.NX_VENDOR).u32(Of.NXT_PACKET_IN2);
            w.u16(0).u16(4 + data.length).bytes(data, 0, data.length).padTo8();
            w.u16(3).u16(5).u8(0).padTo8();
            w.u16(4).u16(16).zeros(4).u64(pin.cookie());
            w.u16(5).u16(5).u8(reason).padTo8();
            w.u16(6).u16(12).u32(oxm(Of.OXM_IN_PORT, 4)).u32(port13Wire(pin.inPort())).padTo8();
            return w.finish();
        }
        if (format == 1) { // nx_packet_in, an NXM in_port, 2 bytes of padding, the packet
            OfWriter w = OfWriter.message(version, Of.VENDOR, 0).u32(Of.NX_VENDOR).u32(Of.NXT_PACKET_IN);
            w.u32(Of.NO_BUFFER).u16(Math.min(data.length, 0xffff)).u8(reason).u8(0).u64(pin.cookie()).u16(6).zeros(6);
            w.u32(nxm(0, 2)).u16(pin.inPort() == FlowEntry.LOCAL ? Of.P10_LOCAL : pin.inPort()).padTo8().zeros(2);
            w.bytes(data, 0, data.length);
            return w.finish();
        }
        OfWriter w = OfWriter.message(version, Of.PACKET_IN, 0).u32(Of.NO_BUFFER).u16(Math.min(data.length, 0xffff));
        if (version == Of.V10) {
            w.u16(pin.inPort() == FlowEntry.LOCAL ? Of.P10_LOCAL : pin.inPort()).u8(reason).u8(0);
        } else {
            w.u8(reason).u8(0).u64(pin.cookie());
            int at = w.length();
            w.u16(1).u16(0).u32(oxm(Of.OXM_IN_PORT, 4)).u32(port13Wire(pin.inPort()));
            w.putU16(at + 2, w.length() - at);
            w.padTo8();
            w.zeros(2);
        }
        w.bytes(data, 0, data.length);
        return w.finish();
    }

    /** A flow's match as NXM entries (in_port, eth_dst, eth_src, eth_type), not padded. */
    private static void nxMatch(OfWriter w, FlowEntry f) {
        if (f.inPort() != ANY) {
            w.u32(nxm(0, 2)).u16(f.inPort());
        }
        if (f.dlDst() != ANY) {
            w.u32(nxm(1, 6)).mac(f.dlDst());
        }
        if (f.dlSrc() != ANY) {
            w.u32(nxm(2, 6)).mac(f.dlSrc());
        }
        if (f.dlType() != ANY) {
            w.u32(nxm(3, 2)).u16(f.dlType());
        }
    }

    private static long nxm(int field, int len) {
        return field << 9 | len;
    }

    // ------------------------------------------------------------------ actions

    private static List<Integer> instructions(ByteBuffer b) throws OfException {
        List<Integer> out = new ArrayList<>();
        boolean apply = false;
        while (b.position() < b.limit()) {
            if (b.remaining() < 8) {
                throw new OfException(OfError.BAD_INST_LEN, "truncated instruction");
            }
            int start = b.position();
            int type = u16(b);
            int len = u16(b);
            if (len < 8 || len % 8 != 0 || start + len > b.limit()) {
                throw new OfException(OfError.BAD_INST_LEN, "instruction length " + len);
            }
            if (type != Of.IT_APPLY_ACTIONS || apply) {
                throw new OfException(OfError.UNSUP_INST, "instruction type " + type
                        + ": pvio supports one apply_actions");
            }
            apply = true;
            b.position(start + 8);
            out.addAll(actions(Of.V13, b, start + len));
            b.position(start + len);
        }
        return out;
    }

    private static List<Integer> actions(int version, ByteBuffer b, int end) throws OfException {
        return actions(version, b, end, false);
    }

    /** @param packetOut also ALL, IN_PORT and TABLE (Dpif's OUT_*), which only a packet-out may use */
    private static List<Integer> actions(int version, ByteBuffer b, int end, boolean packetOut) throws OfException {
        List<Integer> out = new ArrayList<>();
        while (b.position() < end) {
            if (end - b.position() < 8) {
                throw new OfException(OfError.BAD_ACTION_LEN, "truncated action");
            }
            int start = b.position();
            int type = u16(b);
            int len = u16(b);
            if (len < 8 || len % 8 != 0 || start + len > end) {
                throw new OfException(OfError.BAD_ACTION_LEN, "action length " + len);
            }
            if (type == Of.AT_VENDOR) {
                throw new OfException(OfError.BAD_ACTION_VENDOR, "vendor actions are not supported");
            }
            if (type != Of.AT_OUTPUT) {
                throw new OfException(OfError.BAD_ACTION_TYPE, "action type " + type + ": pvio supports output only");
            }
            int wanted = version == Of.V10 ? 8 : 16;
            if (len != wanted) {
                throw new OfException(OfError.BAD_ACTION_LEN, "output action of length " + len);
            }
            int p = version == Of.V10 ? u16(b) : port11(u32(b));
            int maxLen = u16(b);
            if (!packetOut && p == Of.P10_CONTROLLER) {
                out.add(FlowEntry.controller(maxLen)); // a packet-in, of the whole packet (as OVS: no buffers)
            } else if (packetOut && (p == Of.P10_ALL || p == Of.P10_IN_PORT || p == Of.P10_TABLE)) {
                out.add(p == Of.P10_ALL ? Dpif.OUT_ALL : p == Of.P10_IN_PORT ? Dpif.OUT_IN_PORT : Dpif.OUT_TABLE);
            } else {
                out.add(port10(p, true));
            }
            b.position(start + len);
        }
        return out;
    }

    private static int port10(int p, boolean action) throws OfException {
        if (p == Of.P10_NORMAL) {
            return FlowEntry.NORMAL;
        }
        if (p == Of.P10_FLOOD) {
            return FlowEntry.FLOOD;
        }
        return checkPort(p == Of.P10_LOCAL ? FlowEntry.LOCAL : p, action);
    }

    private static int port13(long p, boolean action) throws OfException {
        if (p == Of.P13_NORMAL) {
            return FlowEntry.NORMAL;
        }
        if (p == Of.P13_FLOOD) {
            return FlowEntry.FLOOD;
        }
        return checkPort(p == Of.P13_LOCAL ? FlowEntry.LOCAL : p, action);
    }

    private static int checkPort(long p, boolean action) throws OfException {
        if ((p < 1 || p > Of.MAX_PORT) && p != FlowEntry.LOCAL) {
            throw new OfException(action ? OfError.BAD_OUT_PORT : OfError.BAD_VALUE, String.format(
                    "port 0x%x: pvio knows switch ports, LOCAL, NORMAL and FLOOD only", p));
        }
        return (int) p;
    }

    /** A port number as OpenFlow 1.3 carries it (OFPP_LOCAL is 0xfffffffe there, 0xfffe in 1.0). */
    public static long port13Wire(int port) {
        return port == FlowEntry.LOCAL ? Of.P13_LOCAL : port;
    }

    // ------------------------------------------------------------------ encoding

    /**
     * A flow-mod as ovs-ofctl sends it (no buffer, any out_port, table 0 / all for deletes), with the flow's
     * timeouts and send_flow_rem.
     */
    public static byte[] encodeFlowMod(int version, int xid, int command, FlowEntry f) {
        OfWriter w = OfWriter.message(version, Of.FLOW_MOD, xid);
        boolean delete = command == Of.FC_DELETE || command == Of.FC_DELETE_STRICT;
        int flags = version == Of.V10 ? f.flags() & (Of.FF_SEND_FLOW_REM | Of.FF_CHECK_OVERLAP) : f.flags();
        if (version == Of.V10) {
            match10(w, f);
            w.u64(f.cookie()).u16(command).u16(f.idleTimeout()).u16(f.hardTimeout()).u16(f.priority())
                    .u32(Of.NO_BUFFER).u16(Of.P10_NONE).u16(flags);
            actions(version, w, f);
        } else {
            w.u64(f.cookie()).u64(0).u8(delete ? Of.TABLE_ALL : 0).u8(command).u16(f.idleTimeout())
                    .u16(f.hardTimeout()).u16(f.priority()).u32(Of.NO_BUFFER).u32(Of.P13_ANY).u32(Of.P13_ANY)
                    .u16(flags).zeros(2);
            match13(w, f);
            instructions(w, f);
        }
        return w.finish();
    }

    private static void instructions(OfWriter w, FlowEntry f) {
        if (!f.actions().isEmpty()) {
            int ia = w.length();
            w.u16(Of.IT_APPLY_ACTIONS).u16(0).zeros(4);
            actions(Of.V13, w, f);
            w.putU16(ia + 2, w.length() - ia);
        }
    }

    /** One ofp_flow_stats entry (1.0 or 1.3). */
    public static void flowStats(int version, OfWriter w, FlowEntry f) {
        int at = w.length();
        long ms = f.durationNanos() / 1_000_000; // OVS reports milliseconds: "duration=1.234s"
        long sec = ms / 1000;
        long nsec = ms % 1000 * 1_000_000;
        if (version == Of.V10) {
            w.u16(0).u8(0).u8(0);
            match10(w, f);
            w.u32(sec).u32(nsec).u16(f.priority()).u16(f.idleTimeout()).u16(f.hardTimeout()).zeros(6);
            w.u64(f.cookie()).u64(f.packets()).u64(f.bytes());
            actions(version, w, f);
        } else {
            w.u16(0).u8(0).u8(0).u32(sec).u32(nsec).u16(f.priority()).u16(f.idleTimeout()).u16(f.hardTimeout())
                    .u16(f.flags()).zeros(4);
            w.u64(f.cookie()).u64(f.packets()).u64(f.bytes());
            match13(w, f);
            instructions(w, f);
        }
        w.putU16(at, w.length() - at);
    }

    /**
     * Table 0's ofp_table_features (1.3) with the eight properties OVS requires: apply_actions is the one
     * instruction, output the one action, in_port/eth_dst/eth_src/eth_type the match fields (all
     * wildcardable), no next tables, no set-field.
     */
    public static OfWriter tableFeatures(OfWriter w) {
        int at = w.length();
        w.u16(0).u8(0).zeros(5).zeros(32).u64(0).u64(0).u32(0).u32(1_000_000); // no name, as OVS's tables
        int[] oxms = {Of.OXM_IN_PORT, Of.OXM_ETH_DST, Of.OXM_ETH_SRC, Of.OXM_ETH_TYPE};
        int[] lens = {4, 6, 6, 2};
        for (int prop = 0; prop <= 14; prop += 2) {
            int p = w.length();
            w.u16(prop).u16(0);
            switch (prop) {
                case 0: // OFPTFPT_INSTRUCTIONS
                    w.u16(Of.IT_APPLY_ACTIONS).u16(4);
                    break;
                case 6: // OFPTFPT_APPLY_ACTIONS
                    w.u16(Of.AT_OUTPUT).u16(4);
                    break;
                case 8: // OFPTFPT_MATCH
                case 10: // OFPTFPT_WILDCARDS
                    for (int i = 0; i < oxms.length; i++) {
                        w.u32(oxm(oxms[i], lens[i]));
                    }
                    break;
                default: // NEXT_TABLES, WRITE_ACTIONS, WRITE_SETFIELD, APPLY_SETFIELD: none
                    break;
            }
            w.putU16(p + 2, w.length() - p);
            w.padTo8();
        }
        w.putU16(at, w.length() - at);
        return w;
    }

    public static void match10(OfWriter w, FlowEntry f) {
        int wc = Of.FW_ALL;
        if (f.inPort() != ANY) {
            wc &= ~Of.FW_IN_PORT;
        }
        if (f.dlSrc() != ANY) {
            wc &= ~Of.FW_DL_SRC;
        }
        if (f.dlDst() != ANY) {
            wc &= ~Of.FW_DL_DST;
        }
        if (f.dlType() != ANY) {
            wc &= ~Of.FW_DL_TYPE;
        }
        w.u32(wc & 0xffff_ffffL).u16(f.inPort() == ANY ? 0 : f.inPort());
        w.mac(f.dlSrc() == ANY ? 0 : f.dlSrc()).mac(f.dlDst() == ANY ? 0 : f.dlDst());
        w.u16(0).u8(0).u8(0).u16(f.dlType() == ANY ? 0 : f.dlType()).zeros(4 + 8 + 4);
    }

    public static void match13(OfWriter w, FlowEntry f) {
        int at = w.length();
        w.u16(1).u16(0);
        if (f.inPort() != ANY) {
            w.u32(oxm(Of.OXM_IN_PORT, 4)).u32(port13Wire(f.inPort()));
        }
        if (f.dlDst() != ANY) {
            w.u32(oxm(Of.OXM_ETH_DST, 6)).mac(f.dlDst());
        }
        if (f.dlSrc() != ANY) {
            w.u32(oxm(Of.OXM_ETH_SRC, 6)).mac(f.dlSrc());
        }
        if (f.dlType() != ANY) {
            w.u32(oxm(Of.OXM_ETH_TYPE, 2)).u16(f.dlType());
        }
        w.putU16(at + 2, w.length() - at);
        w.padTo8();
    }

    private static long oxm(int field, int len) {
        return (long) Of.OXM_BASIC << 16 | field << 9 | len;
    }

    private static void actions(int version, OfWriter w, FlowEntry f) {
        for (int a : f.actions()) {
            boolean ctl = FlowEntry.isController(a);
            if (version == Of.V10) {
                int p = a == FlowEntry.NORMAL ? Of.P10_NORMAL : a == FlowEntry.FLOOD ? Of.P10_FLOOD
                        : ctl ? Of.P10_CONTROLLER : a;
                w.u16(Of.AT_OUTPUT).u16(8).u16(p).u16(ctl ? FlowEntry.controllerMaxLen(a) : 0);
            } else {
                long p = a == FlowEntry.NORMAL ? Of.P13_NORMAL : a == FlowEntry.FLOOD ? Of.P13_FLOOD
                        : ctl ? Of.P13_CONTROLLER : port13Wire(a);
                w.u16(Of.AT_OUTPUT).u16(16).u32(p).u16(ctl ? FlowEntry.controllerMaxLen(a) : 0xffff).zeros(6);
            }
        }
    }

    /**
     * An error reply to {@code request} (the whole request as data, as OVS 3.1's ofperr_encode_reply sends it,
     * cut only where the reply would pass OpenFlow's 65535-byte limit), or with {@code text} as data when the
     * request is null (hello failures).
     */
    public static byte[] error(int version, int xid, OfError e, ByteBuffer request, String text) {
        OfWriter w = OfWriter.message(version, Of.ERROR, xid);
        if (version == Of.V10 && e.nx10) {
            w.u16(0xb0c2).u16(0).u32(Of.NX_VENDOR).u16(e.type10).u16(e.code10);
        } else if (version == Of.V10) {
            w.u16(e.type10).u16(e.code10);
        } else {
            w.u16(e.type13).u16(e.code13);
        }
        if (request != null) {
            int n = Math.min(request.limit(), 0xffff - w.length());
            byte[] data = new byte[n];
            request.get(0, data);
            w.bytes(data, 0, n);
        } else if (text != null) {
            byte[] t = text.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            w.bytes(t, 0, t.length);
        }
        return w.finish();
    }

    // ------------------------------------------------------------------ reading helpers

    /** Skips {@code n} bytes; a message too short for them underflows like a read. */
    static void skip(ByteBuffer b, int n) {
        if (n > b.remaining()) {
            throw new BufferUnderflowException();
        }
        b.position(b.position() + n);
    }

    static int u8(ByteBuffer b) {
        return b.get() & 0xff;
    }

    static int u16(ByteBuffer b) {
        return b.getShort() & 0xffff;
    }

    static long u32(ByteBuffer b) {
        return b.getInt() & 0xffff_ffffL;
    }

    static long mac(ByteBuffer b) {
        long m = 0;
        for (int i = 0; i < 6; i++) {
            m = m << 8 | (b.get() & 0xff);
        }
        return m;
    }
}
