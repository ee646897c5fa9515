package io.pvio.vhost.ring;

import io.pvio.vhostuser.PackedRing;

/** Feature bits of virtio 1.x, virtio-net and vhost-user that this back end knows. */
public final class VirtioFeatures {
    public static final int NET_F_CSUM = 0;
    public static final int NET_F_GUEST_CSUM = 1;
    public static final int NET_F_GUEST_TSO4 = 7;
    public static final int NET_F_GUEST_TSO6 = 8;
    public static final int NET_F_HOST_TSO4 = 11;
    public static final int NET_F_HOST_TSO6 = 12;
    public static final int NET_F_MRG_RXBUF = 15;
    public static final int NET_F_CTRL_VQ = 17;
    public static final int NET_F_GUEST_ANNOUNCE = 21;
    public static final int NET_F_MQ = 22;
    public static final int F_NOTIFY_ON_EMPTY = 24;
    /** VHOST_F_LOG_ALL: the back end marks its writes into guest memory in the dirty log (migration). */
    public static final int F_LOG_ALL = 26;
    public static final int F_ANY_LAYOUT = 27;
    public static final int RING_F_INDIRECT_DESC = 28;
    public static final int RING_F_EVENT_IDX = 29;
    public static final int VHOST_USER_F_PROTOCOL_FEATURES = 30;
    public static final int F_VERSION_1 = 32;
    public static final int F_RING_PACKED = PackedRing.VIRTIO_F_RING_PACKED;
    /**
     * VIRTIO_F_IN_ORDER: the device uses buffers in the order the driver made them available. Always true of
     * this back end (every walker consumes avail entries or packed descriptors in ring order, a buffer it
     * cannot fill stays for the next packet, and asynchronous copies retire in submission order), so it is
     * offered, as DPDK's vhost library offers it: a driver that takes it may skip reading used ids (DPDK's
     * virtio in-order paths count used entries and free in ring order).
     */
    public static final int F_IN_ORDER = PackedRing.VIRTIO_F_IN_ORDER;

    /**
     * What this back end offers (no offloads): split and packed rings, in-order use; LOG_ALL and GUEST_ANNOUNCE
     * for live migration, as DPDK.
     */
    public static final long OFFERED = bit(F_VERSION_1) | bit(NET_F_MRG_RXBUF) | bit(NET_F_MQ)
            | bit(RING_F_INDIRECT_DESC) | bit(RING_F_EVENT_IDX) | bit(F_ANY_LAYOUT)
            | bit(VHOST_USER_F_PROTOCOL_FEATURES) | bit(F_RING_PACKED) | bit(F_IN_ORDER) | bit(F_LOG_ALL)
            | bit(NET_F_GUEST_ANNOUNCE);

    /**
     * Offered besides {@link #OFFERED} with {@code other_config:userspace-tso-enable=true}, as OVS-DPDK: the
     * guest may send partial checksums and TSO packets (CSUM, HOST_TSO4/6) and receive them (GUEST_*).
     */
    public static final long OFFLOADS = bit(NET_F_CSUM) | bit(NET_F_GUEST_CSUM) | bit(NET_F_GUEST_TSO4)
            | bit(NET_F_GUEST_TSO6) | bit(NET_F_HOST_TSO4) | bit(NET_F_HOST_TSO6);

    private VirtioFeatures() {
    }

    public static long bit(int b) {
        return 1L << b;
    }

    public static boolean has(long features, int b) {
        return (features & bit(b)) != 0;
    }

    /** Names of the set bits, for logs and appctl. */
    public static String describe(long features) {
        StringBuilder sb = new StringBuilder(String.format("0x%016x", features));
        String sep = " (";
        for (int b = 0; b < 64; b++) {
            if (has(features, b)) {
                sb.append(sep).append(name(b));
                sep = " ";
            }
        }
        return sep.equals(" ") ? sb.append(')').toString() : sb.toString();
    }

    static String name(int b) {
        switch (b) {
            case NET_F_CSUM: return "CSUM";
            case NET_F_GUEST_CSUM: return "GUEST_CSUM";
            case NET_F_GUEST_TSO4: return "GUEST_TSO4";
            case NET_F_GUEST_TSO6: return "GUEST_TSO6";
            case NET_F_HOST_TSO4: return "HOST_TSO4";
            case NET_F_HOST_TSO6: return "HOST_TSO6";
            case NET_F_MRG_RXBUF: return "MRG_RXBUF";
            case NET_F_CTRL_VQ: return "CTRL_VQ";
            case NET_F_GUEST_ANNOUNCE: return "GUEST_ANNOUNCE";
            case NET_F_MQ: return "MQ";
            case F_NOTIFY_ON_EMPTY: return "NOTIFY_ON_EMPTY";
            case F_LOG_ALL: return "LOG_ALL";
            case F_ANY_LAYOUT: return "ANY_LAYOUT";
            case RING_F_INDIRECT_DESC: return "INDIRECT_DESC";
            case RING_F_EVENT_IDX: return "EVENT_IDX";
            case VHOST_USER_F_PROTOCOL_FEATURES: return "PROTOCOL_FEATURES";
            case F_VERSION_1: return "VERSION_1";
            case F_RING_PACKED: return "RING_PACKED";
            case F_IN_ORDER: return "IN_ORDER";
            default: return "bit" + b;
        }
    }
}
