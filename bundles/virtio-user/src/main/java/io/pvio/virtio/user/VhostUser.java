package io.pvio.virtio.user;

import io.pvio.vhostuser.VhostUserProtocol;

/**
 * vhost-user protocol numbers (qemu docs/interop/vhost-user.rst) and virtio feature bits that the driver
 * uses; public so that raw-mode tests can build their own messages.
 */
public final class VhostUser extends VhostUserProtocol {
    private VhostUser() {
    }

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
    public static final int VIRTIO_F_RING_PACKED = io.pvio.vhostuser.PackedRing.VIRTIO_F_RING_PACKED;

    // split ring flags
    public static final int VRING_DESC_F_NEXT = 1;
    public static final int VRING_DESC_F_WRITE = 2;
    public static final int VRING_DESC_F_INDIRECT = 4;
    public static final int VRING_AVAIL_F_NO_INTERRUPT = 1;
    public static final int VRING_USED_F_NO_NOTIFY = 1;

    /** virtio_net_hdr with num_buffers (virtio 1.x): 12 bytes. */
    public static final int NET_HDR_SIZE = 12;
}
