package io.pvio.vhost.user;

/** vhost-user front-end request codes (qemu docs/interop/vhost-user.rst) and header flags. */
public final class Request {
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

    /** Header: request, flags, size (u32 each, little endian). */
    public static final int HEADER_SIZE = 12;
    /** Largest payload accepted; more is broken framing. */
    public static final int MAX_PAYLOAD = 4096;

    public static final int VERSION = 0x1;
    public static final int VERSION_MASK = 0x3;
    public static final int FLAG_REPLY = 0x4;
    public static final int FLAG_NEED_REPLY = 0x8;

    /** Protocol feature bits. */
    public static final int PROTOCOL_F_MQ = 0;
    public static final int PROTOCOL_F_REPLY_ACK = 3;
    public static final long PROTOCOL_OFFERED = (1L << PROTOCOL_F_MQ) | (1L << PROTOCOL_F_REPLY_ACK);

    /** Vring index word of SET_VRING_KICK/CALL/ERR: the index mask and the "no descriptor" flag. */
    public static final long VRING_IDX_MASK = 0xff;
    public static final long VRING_NOFD_MASK = 0x100;

    private static final String[] NAMES = {"NONE", "GET_FEATURES", "SET_FEATURES", "SET_OWNER", "RESET_OWNER",
        "SET_MEM_TABLE", "SET_LOG_BASE", "SET_LOG_FD", "SET_VRING_NUM", "SET_VRING_ADDR", "SET_VRING_BASE",
        "GET_VRING_BASE", "SET_VRING_KICK", "SET_VRING_CALL", "SET_VRING_ERR", "GET_PROTOCOL_FEATURES",
        "SET_PROTOCOL_FEATURES", "GET_QUEUE_NUM", "SET_VRING_ENABLE", "SEND_RARP", "NET_SET_MTU"};

    private Request() {
    }

    public static String name(int request) {
        return request >= 0 && request < NAMES.length ? "VHOST_USER_" + NAMES[request] : "request " + request;
    }

    /** Requests whose normal reply carries data (REPLY_ACK does not add an ack to them). */
    public static boolean repliesWithData(int request) {
        return request == GET_FEATURES || request == GET_PROTOCOL_FEATURES || request == GET_VRING_BASE
                || request == GET_QUEUE_NUM;
    }
}
