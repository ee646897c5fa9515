package io.pvio.vhostuser;

/**
 * vhost-user request codes, header layout and flags (qemu docs/interop/vhost-user.rst). The back end's and
 * the front end's protocol classes extend this one, so both name the codes the same way.
 */
public class VhostUserProtocol {
    protected VhostUserProtocol() {
    }

    /** Size of a message header: request, flags, size (three little-endian u32). */
    public static final int HEADER_SIZE = 12;
    /** Largest payload sent or accepted; more is broken framing. */
    public static final int MAX_PAYLOAD = 4096;

    // front-end requests
    public static final int GET_FEATURES = 1;
    public static final int SET_FEATURES = 2;
    public static final int SET_OWNER = 3;
    public static final int RESET_OWNER = 4;
    public static final int SET_MEM_TABLE = 5;
    public static final int SET_LOG_BASE = 6;
    public static final int SET_LOG_FD = 7;
    public static final int SET_VRING_NUM = 8;
    public static final int SET_VRING_ADDR = 9;
    public static final int SET_VRING_BASE = 10;
    public static final int GET_VRING_BASE = 11;
    public static final int SET_VRING_KICK = 12;
    public static final int SET_VRING_CALL = 13;
    public static final int SET_VRING_ERR = 14;
    public static final int GET_PROTOCOL_FEATURES = 15;
    public static final int SET_PROTOCOL_FEATURES = 16;
    public static final int GET_QUEUE_NUM = 17;
    public static final int SET_VRING_ENABLE = 18;
    public static final int SEND_RARP = 19;
    public static final int NET_SET_MTU = 20;

    // header flags
    public static final int FLAG_VERSION = 0x1;
    public static final int VERSION_MASK = 0x3;
    public static final int FLAG_REPLY = 0x4;
    public static final int FLAG_NEED_REPLY = 0x8;

    /** Vring index word of SET_VRING_KICK/CALL/ERR: the index mask and the "no descriptor" flag. */
    public static final long VRING_IDX_MASK = 0xff;
    public static final long VRING_NOFD_MASK = 0x100;

    // protocol feature bits
    public static final int PROTOCOL_F_MQ = 0;
    public static final int PROTOCOL_F_LOG_SHMFD = 1;
    public static final int PROTOCOL_F_RARP = 2;
    public static final int PROTOCOL_F_REPLY_ACK = 3;
    public static final int PROTOCOL_F_MTU = 4;

    private static final String[] NAMES = {"NONE", "GET_FEATURES", "SET_FEATURES", "SET_OWNER", "RESET_OWNER",
        "SET_MEM_TABLE", "SET_LOG_BASE", "SET_LOG_FD", "SET_VRING_NUM", "SET_VRING_ADDR", "SET_VRING_BASE",
        "GET_VRING_BASE", "SET_VRING_KICK", "SET_VRING_CALL", "SET_VRING_ERR", "GET_PROTOCOL_FEATURES",
        "SET_PROTOCOL_FEATURES", "GET_QUEUE_NUM", "SET_VRING_ENABLE", "SEND_RARP", "NET_SET_MTU"};

    /** A request's name without the VHOST_USER_ prefix ("GET_FEATURES"), or "REQUEST_n" for an unknown one. */
    public static String requestName(int request) {
        return request > 0 && request < NAMES.length ? NAMES[request] : "REQUEST_" + request;
    }
}
