package io.pvio.ofproto.codec;

/**
 * The errors pvio sends, with their (type, code) in OpenFlow 1.0 and 1.3 as OVS encodes them. Match errors
 * have no OpenFlow 1.0 code: OVS sends them as Nicira vendor errors (type 0xb0c2, vendor 0x2320), so does
 * pvio ({@link #nx10}).
 */
public enum OfError {
    HELLO_INCOMPATIBLE(0, 0, 0, 0),
    BAD_VERSION(1, 0, 1, 0),
    BAD_TYPE(1, 1, 1, 1),
    BAD_STAT(1, 2, 1, 2),
    BAD_VENDOR(1, 3, 1, 3),
    /** A Nicira message or statistics type pvio does not implement (OFPBRC_BAD_SUBTYPE / BAD_EXP_TYPE). */
    BAD_SUBTYPE(1, 4, 1, 4),
    BAD_LEN(1, 6, 1, 6),
    BUFFER_UNKNOWN(1, 8, 1, 8),
    /** OFPBRC_EPERM: a request pvio refuses (an unknown flow format). */
    REQUEST_EPERM(1, 5, 1, 5),
    BAD_ACTION_TYPE(2, 0, 2, 0),
    BAD_ACTION_LEN(2, 1, 2, 1),
    BAD_ACTION_VENDOR(2, 2, 2, 2),
    BAD_OUT_PORT(2, 4, 2, 4),
    /** 1.3 only (1.0 has no instructions). */
    UNSUP_INST(2, 0, 3, 1),
    BAD_INST_LEN(1, 6, 3, 7),
    BAD_MATCH_TYPE(1, 0x100, 4, 0, true),
    BAD_MATCH_LEN(1, 6, 4, 1),
    BAD_WILDCARDS(1, 0x106, 4, 5, true),
    /** In 1.0 OVS calls it NXBRC_NXM_BAD_TYPE. */
    BAD_FIELD(1, 0x101, 4, 6, true),
    BAD_VALUE(1, 0x102, 4, 7, true),
    BAD_MASK(1, 0x103, 4, 8, true),
    DUP_FIELD(1, 0x105, 4, 10, true),
    /** A request asks what pvio's flow table cannot do (change the table features). */
    FLOW_MOD_UNSUPPORTED(3, 5, 5, 5),
    OVERLAP(3, 1, 5, 3),
    BAD_COMMAND(3, 4, 5, 6),
    /** OFPBRC_BAD_TABLE_ID, as OVS answers a flow-mod for a table it lacks. */
    BAD_TABLE_ID(1, 0x200, 1, 9, true),
    /** OFPBRC_BAD_PORT: a packet-out's bad input port (OVS's NX error (1,514) in 1.0). */
    BAD_PORT(1, 514, 1, 11, true),
    /** OFPPMFC_BAD_PORT: a port-mod for a port that does not exist. */
    PORT_MOD_BAD_PORT(4, 0, 7, 0),
    /** OFPPMFC_BAD_HW_ADDR: a port-mod whose address is not the port's. */
    PORT_MOD_BAD_HW_ADDR(4, 1, 7, 1),
    /** OFPPMFC_BAD_CONFIG, 1.1+ only: 1.0 gets OVS's NXBRC_UNENCODABLE_ERROR (1,521), as OVS sends it. */
    PORT_MOD_BAD_CONFIG(1, 521, 7, 2, true),
    /** OFPQOFC_BAD_PORT: queue statistics of a port that does not exist. */
    QUEUE_BAD_PORT(5, 0, 9, 0),
    /** OFPQOFC_BAD_QUEUE: a queue that does not exist (pvio's ports have none). */
    QUEUE_BAD_QUEUE(5, 1, 9, 1),
    /** The datapath refused the flow (or the bridge is gone). */
    EPERM(3, 2, 5, 4);

    public final int type10;
    public final int code10;
    public final int type13;
    public final int code13;
    /** In 1.0, sent as a Nicira vendor error with (type10, code10). */
    public final boolean nx10;

    OfError(int type10, int code10, int type13, int code13) {
        this(type10, code10, type13, code13, false);
    }

    OfError(int type10, int code10, int type13, int code13, boolean nx10) {
        this.type10 = type10;
        this.code10 = code10;
        this.type13 = type13;
        this.code13 = code13;
        this.nx10 = nx10;
    }
}
