package io.pvio.virtio.user;

import java.nio.file.Path;

/**
 * Settings of a {@link VirtioUserDevice}: a mutable builder with fluent setters; {@link #validate()} is
 * called by {@link VirtioUserDevice#open} and throws IllegalArgumentException with a message for the user.
 */
public final class VirtioUserConfig {
    /** Default guest physical address of guest memory (deliberately not 0, and not the mapping address). */
    public static final long DEFAULT_GPA_BASE = 0x40000000L;
    /** Default front-end virtual address announced for guest memory (deliberately not the real one). */
    public static final long DEFAULT_UVA_BASE = 0x7e5a00000000L;

    String name = "virtio-user";
    Path path;
    boolean server;
    int queuePairs = 1;
    int queueSize = 256;
    boolean mrgRxbuf = true;
    boolean eventIdx = true;
    boolean indirectDesc = true;
    boolean packed;
    int rxBufSize = -1;
    int rxMaxLen = 65562;
    int txBufSize = 10240;
    TxShape txShape = TxShape.PUSH;
    long memSize = 64L << 20;
    boolean sealMemory;
    long gpaBase = DEFAULT_GPA_BASE;
    long uvaBase = DEFAULT_UVA_BASE;
    int connectTimeoutMs = 10000;
    int replyTimeoutMs = 5000;
    boolean reconnect = true;
    boolean handshake = true;

    public VirtioUserConfig() {
    }

    public VirtioUserConfig(Path path) {
        this.path = path;
    }

    /** Name used in logs and thread names. */
    public VirtioUserConfig name(String v) {
        name = v;
        return this;
    }

    /** The vhost-user socket path (required). */
    public VirtioUserConfig path(Path v) {
        path = v;
        return this;
    }

    /** true: listen on {@link #path} and accept the back end; false (default): connect to it. */
    public VirtioUserConfig server(boolean v) {
        server = v;
        return this;
    }

    /** Queue pairs (RX queue 2i, TX queue 2i+1); default 1. More than one needs the MQ features. */
    public VirtioUserConfig queuePairs(int v) {
        queuePairs = v;
        return this;
    }

    /**
     * Descriptors per virtqueue, 2..32768; default 256. A power of two for split rings; packed rings may have
     * any size (VIRTIO 1.1 2.7).
     */
    public VirtioUserConfig queueSize(int v) {
        queueSize = v;
        return this;
    }

    /** Offer VIRTIO_NET_F_MRG_RXBUF (default true). */
    public VirtioUserConfig mrgRxbuf(boolean v) {
        mrgRxbuf = v;
        return this;
    }

    /** Offer VIRTIO_RING_F_EVENT_IDX (default true). */
    public VirtioUserConfig eventIdx(boolean v) {
        eventIdx = v;
        return this;
    }

    /** Offer VIRTIO_RING_F_INDIRECT_DESC (default true; {@link TxShape#INDIRECT} needs it). */
    public VirtioUserConfig indirectDesc(boolean v) {
        indirectDesc = v;
        return this;
    }

    /**
     * Packed virtqueues (VIRTIO_F_RING_PACKED, as DPDK's virtio-user {@code packed_vq=1}); default false
     * (split). With true the back end must offer the feature, else the setup fails naming it.
     */
    public VirtioUserConfig packed(boolean v) {
        packed = v;
        return this;
    }

    /**
     * Bytes per posted RX descriptor. Mergeable: the buffer size (default 2048; small values such as 512
     * force merging). Non-mergeable: the size of each descriptor of a posted chain (default 4096).
     */
    public VirtioUserConfig rxBufSize(int v) {
        rxBufSize = v;
        return this;
    }

    /** Non-mergeable only: bytes (header included) each posted chain can take; default 65562. */
    public VirtioUserConfig rxMaxLen(int v) {
        rxMaxLen = v;
        return this;
    }

    /** Bytes of guest memory per TX slot; the largest frame is this minus 268 (default 10240). */
    public VirtioUserConfig txBufSize(int v) {
        txBufSize = v;
        return this;
    }

    public VirtioUserConfig txShape(TxShape v) {
        txShape = v;
        return this;
    }

    /** Size of the guest memory memfd (default 64 MiB). */
    public VirtioUserConfig memSize(long v) {
        memSize = v;
        return this;
    }

    /**
     * Seal the guest memory memfd's size (F_SEAL_SHRINK, F_SEAL_GROW), as QEMU's memory-backend-memfd does by
     * default: a back end then knows no access can fault on a truncated file. Default false (a test front end
     * may truncate its memory on purpose).
     *
     * @since 1.1
     */
    public VirtioUserConfig sealMemory(boolean v) {
        sealMemory = v;
        return this;
    }

    /** Guest physical address of guest memory (descriptor addresses); default 0x40000000. */
    public VirtioUserConfig gpaBase(long v) {
        gpaBase = v;
        return this;
    }

    /** Front-end virtual address announced for guest memory (ring addresses); default 0x7e5a00000000. */
    public VirtioUserConfig uvaBase(long v) {
        uvaBase = v;
        return this;
    }

    /**
     * Client role: how long connecting (first connection and each reconnection) retries before the device
     * gives up; 0 = retry until closed. Default 10 s.
     */
    public VirtioUserConfig connectTimeoutMs(int v) {
        connectTimeoutMs = v;
        return this;
    }

    /** How long to wait for a reply of the back end (default 5 s). */
    public VirtioUserConfig replyTimeoutMs(int v) {
        replyTimeoutMs = v;
        return this;
    }

    /** Reconnect (client) or accept again (server) after the back end went away (default true). */
    public VirtioUserConfig reconnect(boolean v) {
        reconnect = v;
        return this;
    }

    /**
     * false: connect only, skip the vhost-user setup; the test drives the protocol itself with
     * {@link VirtioUserDevice#request} and friends. Default true.
     */
    public VirtioUserConfig handshake(boolean v) {
        handshake = v;
        return this;
    }

    public Path path() {
        return path;
    }

    public boolean server() {
        return server;
    }

    public int queuePairs() {
        return queuePairs;
    }

    public int queueSize() {
        return queueSize;
    }

    public boolean mrgRxbuf() {
        return mrgRxbuf;
    }

    public boolean eventIdx() {
        return eventIdx;
    }

    public boolean packed() {
        return packed;
    }

    public TxShape txShape() {
        return txShape;
    }

    public long memSize() {
        return memSize;
    }

    public long gpaBase() {
        return gpaBase;
    }

    public long uvaBase() {
        return uvaBase;
    }

    /** Effective RX descriptor size. */
    public int effectiveRxBufSize() {
        return rxBufSize > 0 ? rxBufSize : (mrgRxbuf ? 2048 : 4096);
    }

    /** Largest frame {@link VirtioUserDevice#transmit} accepts. */
    public int maxTxFrame() {
        return txBufSize - VhostUser.NET_HDR_SIZE - 256;
    }

    /** Checks every setting; throws IllegalArgumentException naming the bad one. */
    public void validate() {
        if (path == null) {
            throw new IllegalArgumentException("path is required");
        }
        if (path.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length >= 108) {
            throw new IllegalArgumentException("path too long for a Unix socket (at most 107 bytes): " + path);
        }
        if (queuePairs < 1 || queuePairs > 64) {
            throw new IllegalArgumentException("queues must be 1..64, not " + queuePairs);
        }
        if (queueSize < 2 || queueSize > 32768) {
            throw new IllegalArgumentException("queue_size must be 2..32768, not " + queueSize);
        }
        if (!packed && Integer.bitCount(queueSize) != 1) {
            throw new IllegalArgumentException("queue_size of a split ring must be a power of two, not " + queueSize
                    + " (packed rings may have any size)");
        }
        int rx = effectiveRxBufSize();
        if (rx < 64 || rx > (1 << 20)) {
            throw new IllegalArgumentException("rx_buf_size must be 64..1048576, not " + rx);
        }
        if (!mrgRxbuf) {
            if (rxMaxLen < 64 || rxMaxLen > (1 << 20)) {
                throw new IllegalArgumentException("rx max length must be 64..1048576, not " + rxMaxLen);
            }
            int k = (rxMaxLen + rx - 1) / rx;
            if (packed && k > 1) {
                k++; // the header alone in the first descriptor (see Virtqueue.rxHeaderDesc)
            }
            if (k > queueSize) {
                throw new IllegalArgumentException("a posted RX chain of " + rxMaxLen + " bytes in " + rx
                        + "-byte descriptors needs " + k + " descriptors, more than queue_size " + queueSize);
            }
        }
        if (txBufSize < 512 || txBufSize > (1 << 20)) {
            throw new IllegalArgumentException("tx buffer size must be 512..1048576, not " + txBufSize);
        }
        if (txShape == null) {
            throw new IllegalArgumentException("tx_shape must be push, chain, split or indirect");
        }
        if (txShape == TxShape.INDIRECT && !indirectDesc) {
            throw new IllegalArgumentException("tx_shape indirect needs VIRTIO_RING_F_INDIRECT_DESC");
        }
        if ((txShape == TxShape.SPLIT || txShape == TxShape.CHAIN) && queueSize < 4) {
            throw new IllegalArgumentException("tx_shape " + txShape + " needs queue_size >= 4");
        }
        if (memSize < (1 << 20) || memSize > (1L << 30)) {
            throw new IllegalArgumentException("mem_size must be 1M..1G, not " + memSize);
        }
        if ((gpaBase & 4095) != 0 || gpaBase < 0 || (uvaBase & 4095) != 0 || uvaBase <= 0) {
            throw new IllegalArgumentException("gpa/uva bases must be page aligned and positive");
        }
        if (connectTimeoutMs < 0 || replyTimeoutMs <= 0) {
            throw new IllegalArgumentException("timeouts must be positive");
        }
    }

    /** A copy (the device keeps its own). */
    public VirtioUserConfig copy() {
        VirtioUserConfig c = new VirtioUserConfig();
        c.name = name;
        c.path = path;
        c.server = server;
        c.queuePairs = queuePairs;
        c.queueSize = queueSize;
        c.mrgRxbuf = mrgRxbuf;
        c.eventIdx = eventIdx;
        c.indirectDesc = indirectDesc;
        c.packed = packed;
        c.rxBufSize = rxBufSize;
        c.rxMaxLen = rxMaxLen;
        c.txBufSize = txBufSize;
        c.txShape = txShape;
        c.memSize = memSize;
        c.sealMemory = sealMemory;
        c.gpaBase = gpaBase;
        c.uvaBase = uvaBase;
        c.connectTimeoutMs = connectTimeoutMs;
        c.replyTimeoutMs = replyTimeoutMs;
        c.reconnect = reconnect;
        c.handshake = handshake;
        return c;
    }
}
