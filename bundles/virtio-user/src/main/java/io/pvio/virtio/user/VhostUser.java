package io.pvio.virtio.user;

/**
 * vhost-user protocol numbers (qemu docs/interop/vhost-user.rst) and virtio feature bits that the driver
 * uses; public so that raw-mode tests can build their own messages.
 */
public final class VhostUser {
    private VhostUser() {
    }

    /** Size of a message header: request, flags, size (three little-endian u32). */
    public static final int HEADER_SIZE = 12;
    /** Largest payload this front end sends or accepts. */
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
    public static final int FLAG_REPLY = 0x4;
    public static final int FLAG_NEED_REPLY = 0x8;

    /** In SET_VRING_KICK/CALL/ERR payloads: no descriptor is attached. */
    public static final long VRING_NOFD_MASK = 0x100;

    // virtio feature bits (bit numbers)
    public static final int VIRTIO_NET_F_CSUM = 0;
    public static final int VIRTIO_NET_F_MRG_RXBUF = 15;
    public static final int VIRTIO_NET_F_STATUS = 16;
    public static final int VIRTIO_NET_F_CTRL_VQ = 17;
    public static final int VIRTIO_NET_F_MQ = 22;
    public static final int VIRTIO_RING_F_INDIRECT_DESC = 28;
    public static final int VIRTIO_RING_F_EVENT_IDX = 29;
    public static final int VHOST_USER_F_PROTOCOL_FEATURES = 30;
    public static final int VIRTIO_F_VERSION_1 = 32;

    // protocol feature bits
    public static final int PROTOCOL_F_MQ = 0;
    public static final int PROTOCOL_F_LOG_SHMFD = 1;
    public static final int PROTOCOL_F_RARP = 2;
    public static final int PROTOCOL_F_REPLY_ACK = 3;
    public static final int PROTOCOL_F_MTU = 4;

    // split ring flags
    public static final int VRING_DESC_F_NEXT = 1;
    public static final int VRING_DESC_F_WRITE = 2;
    public static final int VRING_DESC_F_INDIRECT = 4;
    public static final int VRING_AVAIL_F_NO_INTERRUPT = 1;
    public static final int VRING_USED_F_NO_NOTIFY = 1;

    /** virtio_net_hdr with num_buffers (virtio 1.x): 12 bytes. */
    public static final int NET_HDR_SIZE = 12;

    /** Name of a front-end request for logs. */
    public static String requestName(int request) {
        switch (request) {
            case GET_FEATURES: return "GET_FEATURES";
            case SET_FEATURES: return "SET_FEATURES";
            case SET_OWNER: return "SET_OWNER";
            case RESET_OWNER: return "RESET_OWNER";
            case SET_MEM_TABLE: return "SET_MEM_TABLE";
            case SET_LOG_BASE: return "SET_LOG_BASE";
            case SET_LOG_FD: return "SET_LOG_FD";
            case SET_VRING_NUM: return "SET_VRING_NUM";
            case SET_VRING_ADDR: return "SET_VRING_ADDR";
            case SET_VRING_BASE: return "SET_VRING_BASE";
            case GET_VRING_BASE: return "GET_VRING_BASE";
            case SET_VRING_KICK: return "SET_VRING_KICK";
            case SET_VRING_CALL: return "SET_VRING_CALL";
            case SET_VRING_ERR: return "SET_VRING_ERR";
            case GET_PROTOCOL_FEATURES: return "GET_PROTOCOL_FEATURES";
            case SET_PROTOCOL_FEATURES: return "SET_PROTOCOL_FEATURES";
            case GET_QUEUE_NUM: return "GET_QUEUE_NUM";
            case SET_VRING_ENABLE: return "SET_VRING_ENABLE";
            case SEND_RARP: return "SEND_RARP";
            case NET_SET_MTU: return "NET_SET_MTU";
            default: return "REQUEST_" + request;
        }
    }
}
