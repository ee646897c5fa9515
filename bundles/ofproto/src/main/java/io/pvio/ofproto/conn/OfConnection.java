package io.pvio.ofproto.conn;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.DpifException;
import io.pvio.dpif.FlowEntry;
import io.pvio.dpif.FlowRemoval;
import io.pvio.dpif.PortInfo;
import io.pvio.ofproto.codec.Of;
import io.pvio.ofproto.codec.OfCodec;
import io.pvio.ofproto.codec.OfCodec.FlowMod;
import io.pvio.ofproto.codec.OfCodec.FlowStatsRequest;
import io.pvio.ofproto.codec.OfCodec.PacketOut;
import io.pvio.ofproto.codec.OfCodec.PortMod;
import io.pvio.ofproto.codec.OfCodec.QueueStatsRequest;
import io.pvio.ofproto.codec.OfError;
import io.pvio.ofproto.codec.OfException;
import io.pvio.ofproto.codec.OfWriter;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One OpenFlow session with a controller (ovs-ofctl) on a bridge: version negotiation, then each request
 * answered in order, and the bridge's port changes and flow removals sent as OFPT_PORT_STATUS and
 * FLOW_REMOVED, as OVS sends them to its management connections (ovs-ofctl monitor prints them).
 * Transport-free: {@link #handle} takes one whole message and returns the replies, so a barrier is answered
 * after everything before it is done; {@link #portStatus} and {@link #flowRemoved} return the asynchronous
 * messages. All are synchronized: a transport that writes what they return while holding the session's
 * monitor keeps messages whole and in order.
 */
public final class OfConnection {
    static final Logger LOG = Logger.getLogger("ofproto");
    /**
     * FLOW_STATS, TABLE_STATS, PORT_STATS and QUEUE_STATS (the same bits in OpenFlow 1.0 and 1.3): the
     * statistics pvio answers. Not ARP_MATCH_IP (pvio matches no ARP field) nor IP_REASM or STP.
     */
    static final int CAPABILITIES = 1 | 2 | 4 | 64;

    /** The versions pvio speaks, as a HELLO version bitmap. */
    static final int BITMAP = 1 << Of.V10 | 1 << Of.V13;

    private final String bridge;
    private final Supplier<Dpif> dpif;
    private int version; // 0 until the peer's HELLO
    /** NXT_FLOW_MOD_TABLE_ID is on (OpenFlow 1.0 with ovs-ofctl's {@code table=N}). */
    private boolean nxTableId;
    private int adds;
    private int modifies;
    private int deletes;
    private boolean closed;
    /**
     * The miss_send_len the peer set (OFPT_SET_CONFIG): as in OVS, a service connection gets asynchronous
     * messages (here port status; pvio sends no packet-ins) only while it is not 0.
     */
    private int missSendLen;
    /** Per OpenFlow port: the PORT_STATUS (MODIFY) message that describes it as last sent; null: none are sent. */
    private Map<Integer, byte[]> seen;
    /** The last flow removal reported ({@link Dpif#flowRemovalSeq}), -1 while none are sent (miss_send_len 0). */
    private long removalsSeen = -1;
    /** The peer chose the NXM flow format (NXT_SET_FLOW_FORMAT 2): flow removals go as NXT_FLOW_REMOVED. */
    private boolean nxm;
    /** NXT_SET_PACKET_IN_FORMAT: 0 standard, 1 NXT_PACKET_IN, 2 NXT_PACKET_IN2 (ovs-ofctl monitor asks for 2). */
    private int packetInFormat;

    /** A controller connection (OVS's OFCONN_PRIMARY), not a management one: asynchronous messages from the start. */
    private final boolean primary;

    public OfConnection(String bridge, Supplier<Dpif> dpif) {
        this(bridge, dpif, false);
    }

    /**
     * @param primary a connection to a controller (set-controller): as OVS, its miss_send_len is 128 from the
     *                start, so it gets port status, flow removals and packet-ins without asking
     */
    public OfConnection(String bridge, Supplier<Dpif> dpif, boolean primary) {
        this.bridge = bridge;
        this.dpif = dpif;
        this.primary = primary;
    }

    /** Our HELLO, sent first: OpenFlow 1.3 with a version bitmap of 1.0 and 1.3. */
    public static byte[] hello() {
        OfWriter w = OfWriter.message(Of.V13, Of.HELLO, 0);
        return w.u16(1).u16(8).u32(BITMAP).finish();
    }

    /**
     * Whether this session wants a packet-in for a table miss: as OVS's update_want_packet_in_on_miss, one
     * below OpenFlow 1.3 (or not negotiated yet).
     */
    public synchronized boolean wantsPacketInOnMiss() {
        return !closed && version < Of.V13;
    }

    /** The negotiated version, 0 before the peer's HELLO. */
    public int version() {
        return version;
    }

    /**
     * The flow-mods this session applied, as OVS's connmgr logs them ("3 flow_mods (2 adds, 1 deletes)"),
     * or null when there were none.
     */
    public String flowModSummary() {
        int n = adds + modifies + deletes;
        if (n == 0) {
            return null;
        }
        List<String> parts = new ArrayList<>();
        if (adds > 0) {
            parts.add(adds + " adds");
        }
        if (modifies > 0) {
            parts.add(modifies + " modifications");
        }
        if (deletes > 0) {
            parts.add(deletes + " deletes");
        }
        return n + " flow_mods (" + String.join(", ", parts) + ")";
    }

    /** Whether the session must end (failed negotiation); send the replies first. */
    public boolean closed() {
        return closed;
    }

    /**
     * Handles one message (big-endian, exactly its length, at least a header) and returns the replies.
     * Never throws for bad input: it becomes an error reply.
     */
    public synchronized List<byte[]> handle(ByteBuffer msg) {
        List<byte[]> out = new ArrayList<>(1);
        int v = msg.get(0) & 0xff;
        int type = msg.get(1) & 0xff;
        int xid = msg.getInt(4);
        if (version == 0) {
            if (type != Of.HELLO) {
                fail(out, v, xid, "first message is type " + type + ", not HELLO");
            } else {
                negotiate(out, msg, v, xid);
            }
            return out;
        }
        try {
            if (v != version) {
                throw new OfException(OfError.BAD_VERSION, "version " + v + " on a " + Of.version(version) + " session");
            }
            request(out, msg, type, xid);
        } catch (OfException e) {
            LOG.log(e.error() == OfError.BAD_VENDOR || e.error() == OfError.BAD_SUBTYPE ? Level.FINE : Level.INFO,
                    () -> bridge + ": " + e.getMessage() + " (" + e.error() + ")");
            out.clear();
            out.add(OfCodec.error(version, xid, e.error(), msg, null));
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, bridge + ": cannot handle message type " + type, e); // a bug: bad input is an OfException
            out.clear();
            out.add(OfCodec.error(version, xid, OfError.REQUEST_EPERM, msg, null));
        }
        return out;
    }

    private void negotiate(List<byte[]> out, ByteBuffer msg, int v, int xid) {
        int peer = 0;
        for (int p = Of.HEADER; p + 4 <= msg.limit(); ) {
            int etype = msg.getShort(p) & 0xffff;
            int elen = msg.getShort(p + 2) & 0xffff;
            if (elen < 4 || p + elen > msg.limit()) {
                break;
            }
            if (etype == 1 && elen >= 8) {
                peer = msg.getInt(p + 4);
            }
            p += (elen + 7) / 8 * 8;
        }
        int common = peer != 0 ? peer & BITMAP : 1 << Math.min(v, Of.V13) & BITMAP;
        if (common == 0) {
            fail(out, Math.min(v, Of.V13), xid, "we support versions 0x01 and 0x04, peer supports "
                    + (peer != 0 ? String.format("bitmap 0x%x", peer) : String.format("version 0x%02x", v)));
            return;
        }
        version = 31 - Integer.numberOfLeadingZeros(common);
        LOG.fine(() -> bridge + ": negotiated " + Of.version(version));
        if (primary) { // OVS: a primary connection's miss_send_len is OFP_DEFAULT_MISS_SEND_LEN
            seen = describe(null);
            Dpif d = dpif.get();
            removalsSeen = d == null ? 0 : d.flowRemovalSeq();
            missSendLen = 128;
        }
    }

    private void fail(List<byte[]> out, int v, int xid, String why) {
        LOG.info(() -> bridge + ": version negotiation failed: " + why);
        int ev = v == Of.V10 ? Of.V10 : Of.V13;
        out.add(OfCodec.error(ev, xid, OfError.HELLO_INCOMPATIBLE, null, why));
        closed = true;
    }

    private void request(List<byte[]> out, ByteBuffer msg, int type, int xid) throws OfException {
        boolean v10 = version == Of.V10;
        switch (type) {
            case Of.HELLO:
            case Of.ECHO_REPLY:
                return;
            case Of.ERROR:
                LOG.info(() -> bridge + ": peer sent an error");
                return;
            case Of.ECHO_REQUEST: {
                OfWriter w = OfWriter.message(version, Of.ECHO_REPLY, xid);
                byte[] body = new byte[msg.limit() - Of.HEADER];
                msg.get(Of.HEADER, body);
                out.add(w.bytes(body, 0, body.length).finish());
                return;
            }
            case Of.VENDOR:
                if (msg.limit() == 24 && msg.getInt(8) == Of.NX_VENDOR && msg.getInt(12) == Of.NXT_FLOW_MOD_TABLE_ID) {
                    nxTableId = msg.get(16) != 0; // 1.0 flow-mods then carry a table id in the command's high byte
                    return;
                }
                if (v10 && msg.limit() == 20 && msg.getInt(8) == Of.NX_VENDOR && msg.getInt(12) == Of.NXT_SET_FLOW_FORMAT) {
                    int format = msg.getInt(16);
                    if (format != 0 && format != 2) {
                        throw new OfException(OfError.REQUEST_EPERM, "flow format " + format + " (OpenFlow10 0, NXM 2)");
                    }
                    nxm = format == 2;
                    return; // requests are answered in the format they come in (OFPT_FLOW_MOD, NXT_FLOW_MOD)
                }
                if (msg.limit() == 20 && msg.getInt(8) == Of.NX_VENDOR && msg.getInt(12) == Of.NXT_SET_PACKET_IN_FORMAT) {
                    int format = msg.getInt(16);
                    if (format < 0 || format > 2) { // OVS: OFPBRC_EPERM for a format it does not know
                        throw new OfException(OfError.REQUEST_EPERM, "packet-in format " + format);
                    }
                    packetInFormat = format;
                    return;
                }
                if (msg.limit() >= Of.NX_HEADER && msg.getInt(8) == Of.NX_VENDOR && msg.getInt(12) == Of.NXT_FLOW_MOD) {
                    flowMod(OfCodec.decodeNxFlowMod(msg, nxTableId));
                    return;
                }
                if (msg.limit() >= 16 && msg.getInt(8) == Of.NX_VENDOR) {
                    throw new OfException(OfError.BAD_SUBTYPE, "Nicira message " + msg.getInt(12));
                }
                throw new OfException(OfError.BAD_VENDOR, String.format("vendor 0x%x message",
                        msg.limit() >= 12 ? msg.getInt(8) : 0));
            case Of.FEATURES_REQUEST:
                out.add(features(xid));
                return;
            case Of.GET_CONFIG_REQUEST:
                // miss_send_len 0 until set, as OVS's for a service connection (ovs-ofctl)
                out.add(OfWriter.message(version, Of.GET_CONFIG_REPLY, xid).u16(0).u16(missSendLen).finish());
                return;
            case Of.SET_CONFIG:
                setConfig(msg);
                return;
            case Of.FLOW_MOD:
                flowMod(OfCodec.decodeFlowMod(version, msg, nxTableId));
                return;
            case Of.PACKET_OUT:
                packetOut(OfCodec.decodePacketOut(version, msg));
                return;
            default:
                break;
        }
        if (type == (v10 ? Of.STATS_REQUEST_10 : Of.MULTIPART_REQUEST_13)) {
            stats(out, msg, xid);
        } else if (type == (v10 ? Of.PORT_MOD_10 : Of.PORT_MOD_13)) {
            portMod(OfCodec.decodePortMod(version, msg));
        } else if (type == (v10 ? Of.BARRIER_REQUEST_10 : Of.BARRIER_REQUEST_13)) {
            out.add(OfWriter.message(version, v10 ? Of.BARRIER_REPLY_10 : Of.BARRIER_REPLY_13, xid).finish());
        } else {
            throw new OfException(OfError.BAD_TYPE, "message type " + type + " is not supported");
        }
    }

    // ------------------------------------------------------------------ features and ports

    private Dpif dp() throws OfException {
        Dpif d = dpif.get();
        if (d == null) {
            throw new OfException(OfError.EPERM, "no datapath");
        }
        return d;
    }

    /** The datapath ID, the Bridge's datapath_id: the bridge's MAC (its local port's), see Dpif#datapathId. */
    long datapathId() throws OfException {
        return dp().datapathId(bridge);
    }

    private List<PortInfo> ports() throws OfException {
        return dp().ports(bridge);
    }

    private byte[] features(int xid) throws OfException {
        OfWriter w = OfWriter.message(version, Of.FEATURES_REPLY, xid);
        w.u64(datapathId()).u32(0).u8(1);
        if (version == Of.V10) {
            w.zeros(3).u32(CAPABILITIES).u32(1 << Of.AT_OUTPUT); // output only
            for (PortInfo p : ports()) {
                port(w, p);
            }
        } else {
            w.u8(0).zeros(2).u32(CAPABILITIES).u32(0);
        }
        return w.finish();
    }

    /** The port's address as OpenFlow describes it: the netdev's MAC, LOCAL's the bridge's, else zero. */
    private long portMac(PortInfo p) throws OfException {
        long mac = PortInfo.macBits(p.mac());
        if (mac < 0) {
            mac = p.ofport() == Of.P10_LOCAL ? datapathId() : 0; // LOCAL: the bridge's MAC
        }
        return mac;
    }

    /**
     * A port as ofport_open describes it: the netdev's MAC (zero when none), its config (PORT_DOWN when not
     * up, the bits port-mod set; 1.1+ shows only its four), LINK_DOWN, LIVE.
     */
    private void port(OfWriter w, PortInfo p) throws OfException {
        boolean carrier = p.carrier();
        long mac = portMac(p);
        int config = dp().portConfig(p.name()) | (p.adminUp() ? 0 : Dpif.PC_PORT_DOWN);
        config &= version == Of.V10 ? Of.PC_ALL_10 : Of.PC_ALL_13;
        int state = carrier ? 0 : 1; // OFPPS_LINK_DOWN
        if (version == Of.V10) {
            w.u16(p.ofport()).mac(mac).string(p.name(), 16).u32(config).u32(state).zeros(16);
        } else {
            int live = carrier && p.adminUp() ? 4 : 0; // OFPPS_LIVE, as normalize_state
            w.u32(OfCodec.port13Wire(p.ofport())).zeros(4).mac(mac).zeros(2).string(p.name(), 16).u32(config)
                    .u32(state | live).zeros(24);
        }
    }

    // ------------------------------------------------------------------ port-mod, packet-out

    /** As OVS's handle_port_mod: the port must exist and have the given address; advertise is ignored. */
    private void portMod(PortMod pm) throws OfException {
        PortInfo port = null;
        for (PortInfo p : ports()) {
            if (p.ofport() == pm.port()) {
                port = p;
            }
        }
        if (port == null) {
            throw new OfException(OfError.PORT_MOD_BAD_PORT, "port-mod of port " + pm.port() + ": no such port");
        }
        if (portMac(port) != pm.hwAddr()) {
            throw new OfException(OfError.PORT_MOD_BAD_HW_ADDR, "port-mod of " + port.name() + ": address "
                    + PortInfo.formatMac(pm.hwAddr()) + " is not the port's");
        }
        if (pm.mask() == 0) {
            return;
        }
        try {
            dp().setPortConfig(port.name(), pm.config(), pm.mask());
        } catch (DpifException e) {
            throw new OfException(OfError.PORT_MOD_BAD_CONFIG, e.getMessage());
        }
        // before OpenFlow 1.5 a port-mod's sender gets no PORT_STATUS for it (OVS's connmgr_send_port_status)
        if (seen != null) {
            seen.putAll(describe(List.of(dp().port(port.name()))));
        }
    }

    /**
     * OFPT_SET_CONFIG: the frag flags are not kept (pvio handles fragments as OVS's default, normally); a
     * miss_send_len that is not 0 turns port status on from the ports as they are now, 0 turns it off.
     */
    private void setConfig(ByteBuffer msg) throws OfException {
        if (msg.limit() < Of.HEADER + 4) {
            throw new OfException(OfError.BAD_LEN, "set-config of " + msg.limit() + " bytes");
        }
        int len = msg.getShort(Of.HEADER + 2) & 0xffff;
        if (len != 0 && seen == null) {
            seen = describe(null); // what the peer finds now is no change
            Dpif d = dpif.get();
            removalsSeen = d == null ? 0 : d.flowRemovalSeq();
        } else if (len == 0) {
            seen = null;
            removalsSeen = -1;
        }
        missSendLen = len;
    }

    /**
     * The OFPT_PACKET_IN for {@code pin}, or null when this session does not want it: as OVS, a management
     * connection gets packet-ins only while it has set a miss_send_len (ovs-ofctl monitor br0 65534).
     */
    public synchronized byte[] packetIn(io.pvio.dpif.PacketIn pin) {
        if (missSendLen == 0 || closed || version == 0) {
            return null;
        }
        if (pin.reason() == io.pvio.dpif.PacketIn.IMPLICIT_MISS && version >= Of.V13) {
            return null; // OVS's default async config: implicit misses for OpenFlow 1.2 and before only
        }
        return OfCodec.packetIn(version, packetInFormat, pin);
    }

    /**
     * OFPT_FLOW_REMOVED (or NXT_FLOW_REMOVED, with the NXM flow format) for the bridge's flows with send_flow_rem
     * removed since the last call (idle or hard timeout, or a delete from any connection), oldest first; as OVS,
     * only while the peer has set a miss_send_len. Empty before negotiation and when the datapath is gone.
     */
    public synchronized List<byte[]> flowRemoved() {
        Dpif d = dpif.get();
        if (removalsSeen < 0 || closed || d == null) {
            return List.of();
        }
        long latest = d.flowRemovalSeq();
        if (latest < removalsSeen) {
            removalsSeen = 0; // another datapath (a bundle update): its removals are numbered from 1
        }
        if (latest == removalsSeen) {
            return List.of();
        }
        List<FlowRemoval> rs;
        try {
            rs = d.flowRemovals(bridge, removalsSeen);
        } catch (DpifException | RuntimeException e) {
            LOG.log(Level.FINE, bridge + ": cannot read the flow removals", e);
            removalsSeen = latest;
            return List.of();
        }
        List<byte[]> out = new ArrayList<>(rs.size());
        for (FlowRemoval r : rs) {
            out.add(OfCodec.flowRemoved(version, nxm, r.flow(), r.reason()));
            latest = Math.max(latest, r.seq());
        }
        removalsSeen = latest;
        return out;
    }

    /**
     * OFPT_PORT_STATUS messages for what changed among the bridge's ports since the last call (or since the
     * peer set a miss_send_len): ADD for a new port, DELETE for one gone (as last described), MODIFY for one whose
     * description (address, config, link state) changed; in port order. Empty before negotiation, after a
     * failed one, and when the datapath is gone.
     */
    public synchronized List<byte[]> portStatus() {
        if (seen == null || closed) {
            return List.of();
        }
        Map<Integer, byte[]> now;
        try {
            now = describe(null);
        } catch (RuntimeException e) {
            LOG.log(Level.FINE, bridge + ": cannot read the ports", e);
            return List.of();
        }
        if (now.isEmpty() && dpif.get() == null) {
            return List.of(); // no datapath for a moment (a bundle update): no port is gone
        }
        List<byte[]> out = new ArrayList<>();
        for (Map.Entry<Integer, byte[]> e : seen.entrySet()) {
            if (!now.containsKey(e.getKey())) {
                out.add(reason(e.getValue(), Of.PR_DELETE));
            }
        }
        for (Map.Entry<Integer, byte[]> e : now.entrySet()) {
            byte[] before = seen.get(e.getKey());
            if (before == null) {
                out.add(reason(e.getValue(), Of.PR_ADD));
            } else if (!Arrays.equals(before, e.getValue())) {
                out.add(e.getValue());
            }
        }
        seen = now;
        return out;
    }

    /** Per OpenFlow port of {@code ports} (null: the bridge's), its PORT_STATUS MODIFY message, in port order. */
    private Map<Integer, byte[]> describe(List<PortInfo> ports) {
        Map<Integer, byte[]> m = new TreeMap<>();
        try {
            for (PortInfo p : ports != null ? ports : ports()) {
                if (p != null && p.ofport() > 0) {
                    OfWriter w = OfWriter.message(version, Of.PORT_STATUS, 0).u8(Of.PR_MODIFY).zeros(7);
                    port(w, p);
                    m.put(p.ofport(), w.finish());
                }
            }
        } catch (OfException e) { // no datapath: no ports
            LOG.fine(() -> bridge + ": " + e.getMessage());
        }
        return m;
    }

    private static byte[] reason(byte[] portStatus, int reason) {
        byte[] b = portStatus.clone();
        b[Of.HEADER] = (byte) reason;
        return b;
    }

    private void packetOut(PacketOut po) throws OfException {
        if (po.bufferId() != Of.NO_BUFFER) {
            throw new OfException(OfError.BUFFER_UNKNOWN, "buffer " + po.bufferId() + ": pvio buffers no packets");
        }
        try {
            dp().packetOut(bridge, po.inPort(), po.actions(), po.packet());
        } catch (DpifException e) {
            throw new OfException(OfError.REQUEST_EPERM, e.getMessage());
        }
    }

    // ------------------------------------------------------------------ statistics

    private OfWriter statsReply(int xid, int stType, int flags) {
        OfWriter w = OfWriter.message(version, version == Of.V10 ? Of.STATS_REPLY_10 : Of.MULTIPART_REPLY_13, xid);
        w.u16(stType).u16(flags);
        if (version == Of.V13) {
            w.zeros(4);
        }
        return w;
    }

    private void stats(List<byte[]> out, ByteBuffer msg, int xid) throws OfException {
        int hdr = version == Of.V10 ? 12 : 16;
        if (msg.limit() < hdr) {
            throw new OfException(OfError.BAD_LEN, "statistics request of " + msg.limit() + " bytes");
        }
        int stType = msg.getShort(8) & 0xffff;
        msg.position(hdr);
        switch (stType) {
            case Of.ST_DESC: {
                OfWriter w = statsReply(xid, stType, 0);
                w.string("pvio", 256).string("pvio userspace datapath", 256).string("pvio 0.1.0", 256)
                        .string("None", 32).string(bridge, 256);
                out.add(w.finish());
                return;
            }
            case Of.ST_FLOW:
                flowStats(out, xid, OfCodec.decodeFlowStatsRequest(version, msg));
                return;
            case Of.ST_AGGREGATE: {
                long packets = 0;
                long bytes = 0;
                List<FlowEntry> sel = select(OfCodec.decodeFlowStatsRequest(version, msg));
                for (FlowEntry f : sel) {
                    packets += f.packets();
                    bytes += f.bytes();
                }
                out.add(statsReply(xid, stType, 0).u64(packets).u64(bytes).u32(sel.size()).zeros(4).finish());
                return;
            }
            case Of.ST_TABLE: {
                int active = flows().size();
                Dpif.TableStats ts;
                try {
                    ts = dp().tableStats(bridge);
                } catch (DpifException e) {
                    throw new OfException(OfError.EPERM, e.getMessage());
                }
                OfWriter w = statsReply(xid, stType, 0);
                if (version == Of.V10) { // no name, as OVS's tables: ovs-ofctl then prints "table 0", "table=0"
                    w.u8(0).zeros(3).zeros(32).u32(Of.FW_IN_PORT | Of.FW_DL_SRC | Of.FW_DL_DST | Of.FW_DL_TYPE)
                            .u32(1_000_000).u32(active).u64(ts.lookups()).u64(ts.matched());
                } else {
                    w.u8(0).zeros(3).u32(active).u64(ts.lookups()).u64(ts.matched());
                }
                out.add(w.finish());
                return;
            }
            case Of.ST_PORT:
                portStats(out, msg, xid);
                return;
            case Of.ST_QUEUE:
                queueStats(out, OfCodec.decodeQueueStatsRequest(version, msg), xid);
                return;
            case Of.ST_PORT_DESC: {
                OfWriter w = statsReply(xid, stType, 0);
                for (PortInfo p : ports()) {
                    port(w, p);
                }
                out.add(w.finish());
                return;
            }
            default:
                break;
        }
        if (version == Of.V13 && stType == Of.ST_TABLE_FEATURES_13) {
            if (msg.remaining() > 0) {
                throw new OfException(OfError.FLOW_MOD_UNSUPPORTED, "table features cannot be changed");
            }
            out.add(OfCodec.tableFeatures(statsReply(xid, stType, 0)).finish());
            return;
        }
        if (version == Of.V10 && stType == Of.ST_VENDOR_10 && msg.limit() >= 24 && msg.getInt(12) == Of.NX_VENDOR) {
            int subtype = msg.getInt(16);
            msg.position(24);
            if (subtype == Of.NXST_FLOW) {
                nxFlowStats(out, xid, OfCodec.decodeNxFlowStatsRequest(msg));
                return;
            }
            if (subtype == Of.NXST_AGGREGATE) {
                long packets = 0;
                long bytes = 0;
                List<FlowEntry> sel = select(OfCodec.decodeNxFlowStatsRequest(msg));
                for (FlowEntry f : sel) {
                    packets += f.packets();
                    bytes += f.bytes();
                }
                out.add(nxStatsReply(xid, subtype, 0).u64(packets).u64(bytes).u32(sel.size()).zeros(4).finish());
                return;
            }
        }
        if (version == Of.V10 && stType == Of.ST_VENDOR_10 && msg.limit() >= 20 && msg.getInt(12) == Of.NX_VENDOR) {
            throw new OfException(OfError.BAD_SUBTYPE, "Nicira statistics " + msg.getInt(16));
        }
        throw new OfException(stType == Of.ST_VENDOR_10 ? OfError.BAD_VENDOR : OfError.BAD_STAT,
                "statistics type " + stType + " is not supported");
    }

    /** OVS's twelve port counters in OpenFlow order; a counter the port lacks is all-ones ("?"). */
    private static final String[] PORT_COUNTERS = {"rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_dropped",
        "tx_dropped", "rx_errors", "tx_errors", "rx_frame_err", "rx_over_err", "rx_crc_err", "collisions"};

    private void portStats(List<byte[]> out, ByteBuffer msg, int xid) throws OfException {
        if (msg.remaining() < 8) {
            throw new OfException(OfError.BAD_LEN, "port statistics request without a port");
        }
        long want = version == Of.V10 ? msg.getShort() & 0xffff : msg.getInt() & 0xffff_ffffL;
        want = want == Of.P10_LOCAL && version == Of.V10 || want == Of.P13_LOCAL ? FlowEntry.LOCAL : want;
        boolean all = want == (version == Of.V10 ? Of.P10_NONE : Of.P13_ANY);
        OfWriter w = statsReply(xid, Of.ST_PORT, 0);
        for (PortInfo p : ports()) {
            if (!all && p.ofport() != want) {
                continue;
            }
            if (version == Of.V10) {
                w.u16(p.ofport()).zeros(6);
            } else {
                w.u32(OfCodec.port13Wire(p.ofport())).zeros(4);
            }
            for (String k : PORT_COUNTERS) {
                Long v = p.statistics().get(k);
                w.u64(v == null ? -1L : v);
            }
            if (version == Of.V13) {
                w.u32(0xffff_ffffL).u32(0xffff_ffffL); // duration unknown
            }
        }
        out.add(w.finish());
    }

    /**
     * As OVS's handle_queue_stats_request for ports without queues (pvio has no QoS): every queue of a port,
     * or of every port, is an empty reply; a given queue is OFPQOFC_BAD_QUEUE; an unknown port OFPQOFC_BAD_PORT.
     */
    private void queueStats(List<byte[]> out, QueueStatsRequest r, int xid) throws OfException {
        if (r.port() != -1 && ports().stream().noneMatch(p -> p.ofport() == r.port())) {
            throw new OfException(OfError.QUEUE_BAD_PORT, "queue statistics of port " + r.port() + ": no such port");
        }
        if (r.queue() != Of.QUEUE_ALL) {
            throw new OfException(OfError.QUEUE_BAD_QUEUE, "queue " + r.queue() + ": pvio's ports have no queues");
        }
        out.add(statsReply(xid, Of.ST_QUEUE, 0).finish());
    }

    private List<FlowEntry> flows() throws OfException {
        try {
            return dp().flowEntries(bridge);
        } catch (DpifException e) {
            throw new OfException(OfError.EPERM, e.getMessage());
        }
    }

    private List<FlowEntry> select(FlowStatsRequest r) throws OfException {
        List<FlowEntry> sel = new ArrayList<>();
        if (r.tableId() != 0 && r.tableId() != Of.TABLE_ALL) {
            return sel;
        }
        for (FlowEntry f : flows()) {
            if (f.coveredBy(r.match()) && (r.outPort() == null || f.outputsTo(r.outPort()))
                    && ((f.cookie() ^ r.cookie()) & r.cookieMask()) == 0) {
                sel.add(f);
            }
        }
        return sel;
    }

    private OfWriter nxStatsReply(int xid, int subtype, int flags) {
        return OfWriter.message(Of.V10, Of.STATS_REPLY_10, xid).u16(Of.ST_VENDOR_10).u16(flags).u32(Of.NX_VENDOR)
                .u32(subtype).zeros(4);
    }

    /** NXST_FLOW: as {@link #flowStats}, with NXM matches (ovs-ofctl prints "NXST_FLOW reply"). */
    private void nxFlowStats(List<byte[]> out, int xid, FlowStatsRequest r) throws OfException {
        OfWriter w = nxStatsReply(xid, Of.NXST_FLOW, 0);
        for (FlowEntry f : select(r)) {
            OfWriter one = new OfWriter();
            OfCodec.nxFlowStats(one, f);
            byte[] entry = one.finishBody();
            if (w.length() + entry.length > Of.MAX_LEN) {
                w.putU16(10, Of.ST_REPLY_MORE);
                out.add(w.finish());
                w = nxStatsReply(xid, Of.NXST_FLOW, 0);
            }
            w.bytes(entry, 0, entry.length);
        }
        out.add(w.finish());
    }

    /** Flow statistics, split into replies of at most 64 KB with the MORE flag on all but the last. */
    private void flowStats(List<byte[]> out, int xid, FlowStatsRequest r) throws OfException {
        OfWriter w = statsReply(xid, Of.ST_FLOW, 0);
        int start = w.length();
        for (FlowEntry f : select(r)) {
            OfWriter one = new OfWriter();
            OfCodec.flowStats(version, one, f);
            byte[] entry = one.finishBody();
            if (w.length() + entry.length > Of.MAX_LEN) {
                w.putU16(start - (version == Of.V10 ? 2 : 6), Of.ST_REPLY_MORE);
                out.add(w.finish());
                w = statsReply(xid, Of.ST_FLOW, 0);
            }
            w.bytes(entry, 0, entry.length);
        }
        out.add(w.finish());
    }

    // ------------------------------------------------------------------ flow-mod

    private void flowMod(FlowMod fm) throws OfException {
        if (fm.bufferId() != Of.NO_BUFFER && fm.bufferId() != 0xffff_ffffL) {
            throw new OfException(OfError.BUFFER_UNKNOWN, "buffer " + fm.bufferId() + ": pvio buffers no packets");
        }
        boolean delete = fm.command() == Of.FC_DELETE || fm.command() == Of.FC_DELETE_STRICT;
        if (fm.tableId() != 0 && !(delete && fm.tableId() == Of.TABLE_ALL)) {
            throw new OfException(OfError.BAD_TABLE_ID, "table " + fm.tableId() + ": pvio has table 0 only");
        }
        Dpif d = dp();
        FlowEntry f = fm.flow();
        try {
            switch (fm.command()) {
                case Of.FC_ADD:
                    if ((fm.flags() & Of.FF_CHECK_OVERLAP) != 0) {
                        for (FlowEntry o : d.flowEntries(bridge)) {
                            if (o.overlaps(f) && !o.sameRule(f)) {
                                throw new OfException(OfError.OVERLAP, "flow overlaps " + o);
                            }
                        }
                    }
                    d.putFlow(bridge, f);
                    adds++;
                    return;
                case Of.FC_MODIFY:
                case Of.FC_MODIFY_STRICT: {
                    boolean strict = fm.command() == Of.FC_MODIFY_STRICT;
                    int n = 0;
                    if (fm.cookieMask() == 0) {
                        n = d.modifyFlows(bridge, f, strict);
                    } else {
                        for (FlowEntry o : selected(d, fm, strict)) {
                            n += d.modifyFlows(bridge, copy(o, f.actions()), true);
                        }
                    }
                    if (n == 0 && version == Of.V10 && fm.cookieMask() == 0) {
                        d.putFlow(bridge, f); // OpenFlow 1.0: a modify that selects nothing adds, unless by cookie
                    }
                    modifies++;
                    return;
                }
                case Of.FC_DELETE:
                case Of.FC_DELETE_STRICT: {
                    boolean strict = fm.command() == Of.FC_DELETE_STRICT;
                    deletes++;
                    if (!fm.anyGroup()) {
                        return; // no flow of pvio's outputs to a group
                    }
                    if (fm.cookieMask() == 0 && fm.outPort() == null) {
                        d.deleteFlows(bridge, f, strict, FlowEntry.ANY);
                    } else {
                        for (FlowEntry o : selected(d, fm, strict)) {
                            d.deleteFlows(bridge, o, true, FlowEntry.ANY);
                        }
                    }
                    return;
                }
                default:
                    throw new OfException(OfError.BAD_COMMAND, "flow_mod command " + fm.command());
            }
        } catch (DpifException e) {
            throw new OfException(OfError.EPERM, e.getMessage());
        }
    }

    /** The flows a modify/delete with a cookie mask or an out_port filter selects. */
    private List<FlowEntry> selected(Dpif d, FlowMod fm, boolean strict) throws DpifException {
        List<FlowEntry> sel = new ArrayList<>();
        FlowEntry c = fm.flow();
        for (FlowEntry o : d.flowEntries(bridge)) {
            if ((strict ? o.sameRule(c) : o.coveredBy(c)) && (fm.outPort() == null || o.outputsTo(fm.outPort()))
                    && ((o.cookie() ^ c.cookie()) & fm.cookieMask()) == 0) {
                sel.add(o);
            }
        }
        return sel;
    }

    /** {@code o}'s match with {@code actions} (a modify by cookie: the flow keeps its timeouts). */
    private static FlowEntry copy(FlowEntry o, List<Integer> actions) {
        return FlowEntry.of(o.cookie(), o.priority(), o.inPort(), o.dlSrc(), o.dlDst(), o.dlType(), actions);
    }
}
