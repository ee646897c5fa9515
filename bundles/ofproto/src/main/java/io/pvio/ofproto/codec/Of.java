package io.pvio.ofproto.codec;

/** OpenFlow 1.0 (wire version 1) and 1.3 (wire version 4) numbers pvio uses. */
public final class Of {
    public static final int V10 = 1;
    public static final int V13 = 4;
    public static final int HEADER = 8;
    public static final int MAX_LEN = 65535;

    // message types common to 1.0 and 1.3
    public static final int HELLO = 0;
    public static final int ERROR = 1;
    public static final int ECHO_REQUEST = 2;
    public static final int ECHO_REPLY = 3;
    public static final int VENDOR = 4;
    public static final int FEATURES_REQUEST = 5;
    public static final int FEATURES_REPLY = 6;
    public static final int GET_CONFIG_REQUEST = 7;
    public static final int GET_CONFIG_REPLY = 8;
    public static final int SET_CONFIG = 9;
    public static final int PORT_STATUS = 12;
    public static final int PACKET_OUT = 13;
    /** OFPT_PACKET_IN (1.0 and 1.3). */
    public static final int PACKET_IN = 10;
    /** OFPR_NO_MATCH and OFPR_ACTION, a packet-in's reasons. */
    public static final int PR_NO_MATCH = 0;
    public static final int PR_ACTION = 1;
    public static final int FLOW_MOD = 14;
    /** OFPT_FLOW_REMOVED (1.0 and 1.3). */
    public static final int FLOW_REMOVED = 11;
    public static final int PORT_MOD_10 = 15;
    public static final int PORT_MOD_13 = 16;
    // port-status reasons
    public static final int PR_ADD = 0;
    public static final int PR_DELETE = 1;
    public static final int PR_MODIFY = 2;
    // 1.0 only
    public static final int STATS_REQUEST_10 = 16;
    public static final int STATS_REPLY_10 = 17;
    public static final int BARRIER_REQUEST_10 = 18;
    public static final int BARRIER_REPLY_10 = 19;
    // 1.3 only
    public static final int MULTIPART_REQUEST_13 = 18;
    public static final int MULTIPART_REPLY_13 = 19;
    public static final int BARRIER_REQUEST_13 = 20;
    public static final int BARRIER_REPLY_13 = 21;

    // statistics / multipart types
    public static final int ST_DESC = 0;
    public static final int ST_FLOW = 1;
    public static final int ST_AGGREGATE = 2;
    public static final int ST_TABLE = 3;
    public static final int ST_PORT = 4;
    public static final int ST_QUEUE = 5;
    /** OFPQ_ALL: every queue of a port. */
    public static final long QUEUE_ALL = 0xffff_ffffL;
    public static final int ST_TABLE_FEATURES_13 = 12;
    public static final int ST_PORT_DESC = 13;
    public static final int ST_REPLY_MORE = 1;

    // flow-mod commands and flags
    public static final int FC_ADD = 0;
    public static final int FC_MODIFY = 1;
    public static final int FC_MODIFY_STRICT = 2;
    public static final int FC_DELETE = 3;
    public static final int FC_DELETE_STRICT = 4;
    public static final int FF_SEND_FLOW_REM = 1;
    public static final int FF_CHECK_OVERLAP = 2;
    public static final long NO_BUFFER = 0xffff_ffffL;

    // ports
    public static final int MAX_PORT = 65279;
    public static final int P10_NORMAL = 0xfffa;
    public static final int P10_FLOOD = 0xfffb;
    public static final int P10_NONE = 0xffff;
    public static final int P10_IN_PORT = 0xfff8;
    public static final int P10_TABLE = 0xfff9;
    public static final int P10_ALL = 0xfffc;
    public static final int P10_CONTROLLER = 0xfffd;
    /** OpenFlow 1.0's first reserved port number (OFPP_MAX). */
    public static final int P10_MAX = 0xff00;
    public static final int P10_LOCAL = 0xfffe;
    public static final long P13_LOCAL = 0xffff_fffeL;
    public static final long P13_CONTROLLER = 0xffff_fffdL;
    public static final long P13_NORMAL = 0xffff_fffaL;
    public static final long P13_FLOOD = 0xffff_fffbL;
    public static final long P13_ANY = 0xffff_ffffL;
    /** OpenFlow 1.1+'s first reserved port number: 0xffffff00 + n is 1.0's 0xff00 + n. */
    public static final long P13_MAX = 0xffff_ff00L;
    /** OFPPC_* bits OpenFlow 1.1+ has (PORT_DOWN, NO_RECV, NO_FWD, NO_PACKET_IN); 1.0 has seven. */
    public static final int PC_ALL_13 = 1 | 4 | 32 | 64;
    public static final int PC_ALL_10 = 0x7f;
    public static final int TABLE_ALL = 0xff;

    // 1.0 match wildcards
    public static final int FW_IN_PORT = 1;
    public static final int FW_DL_VLAN = 1 << 1;
    public static final int FW_DL_SRC = 1 << 2;
    public static final int FW_DL_DST = 1 << 3;
    public static final int FW_DL_TYPE = 1 << 4;
    public static final int FW_NW_PROTO = 1 << 5;
    public static final int FW_TP_SRC = 1 << 6;
    public static final int FW_TP_DST = 1 << 7;
    public static final int FW_DL_VLAN_PCP = 1 << 20;
    public static final int FW_NW_TOS = 1 << 21;
    public static final int FW_ALL = (1 << 22) - 1;
    public static final int MATCH_10_LEN = 40;

    // 1.3 OXM (class OPENFLOW_BASIC)
    public static final int OXM_BASIC = 0x8000;
    public static final int OXM_IN_PORT = 0;
    public static final int OXM_ETH_DST = 3;
    public static final int OXM_ETH_SRC = 4;
    public static final int OXM_ETH_TYPE = 5;
    public static final int IT_APPLY_ACTIONS = 4;
    public static final int AT_OUTPUT = 0;
    public static final int AT_VENDOR = 0xffff;

    public static final int NX_VENDOR = 0x2320;
    /** Nicira message: OpenFlow 1.0 flow-mods carry a table id in the high byte of their command. */
    public static final int NXT_FLOW_MOD_TABLE_ID = 15;
    /** Nicira message: the flow format of later messages, 0 = OpenFlow 1.0, 2 = NXM. */
    public static final int NXT_SET_FLOW_FORMAT = 12;
    /** Nicira message: a flow-mod with an NXM match (OpenFlow 1.0 with the NXM flow format). */
    public static final int NXT_FLOW_MOD = 13;
    /** Nicira message: the packet-in format of later packet-ins, 0 = standard, 1 = NXT_PACKET_IN, 2 = NXT_PACKET_IN2. */
    public static final int NXT_SET_PACKET_IN_FORMAT = 16;
    public static final int NXT_PACKET_IN = 17;
    public static final int NXT_PACKET_IN2 = 30;
    /** Nicira message: a flow removed, with an NXM match (the NXM flow format's FLOW_REMOVED). */
    public static final int NXT_FLOW_REMOVED = 14;
    /** Length of a Nicira message's header: OpenFlow header, vendor, subtype. */
    public static final int NX_HEADER = 16;
    public static final int NXST_FLOW = 0;
    public static final int NXST_AGGREGATE = 1;
    /** OFPST_VENDOR: a vendor's statistics. */
    public static final int ST_VENDOR_10 = 0xffff;

    private Of() {
    }

    public static String version(int v) {
        return v == V10 ? "OpenFlow10" : v == V13 ? "OpenFlow13" : "0x" + Integer.toHexString(v);
    }
}
