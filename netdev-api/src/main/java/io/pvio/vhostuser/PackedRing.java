package io.pvio.vhostuser;

/**
 * Byte layout and bits of a packed virtqueue (virtio 1.1+, "Packed Virtqueues": 2.7 in 1.1, 2.8 in 1.2 and 1.3; Linux's uapi
 * virtio_ring.h {@code struct vring_packed_desc} and {@code struct vring_packed_desc_event}), in one place.
 * All fields are little-endian.
 *
 * <p>A packed queue has three areas: the descriptor ring (written by both sides: the driver makes
 * descriptors available, the device overwrites them as used), the driver event suppression structure
 * (written by the driver, read by the device: whether the device should send used-buffer notifications) and
 * the device event suppression structure (written by the device, read by the driver: whether the driver
 * should kick). vhost-user's SET_VRING_ADDR carries them as desc, avail (driver area) and used (device area).
 *
 * <p>Ownership of a descriptor is told by two flag bits and a wrap counter per side, each starting at 1 and
 * flipping whenever that side's position wraps past the end of the ring: the driver makes a descriptor
 * available by setting AVAIL to its wrap counter and USED to its inverse; the device marks it used by setting
 * both to its own wrap counter ({@link #isAvail}, {@link #isUsed}, {@link #availFlags}, {@link #usedFlags}).
 *
 * <p>Ring positions ({@code slot}) are already reduced: 0 &le; slot &lt; size, never a free-running index.
 */
public final class PackedRing {
    private PackedRing() {
    }

    // ---------------------------------------------------------------- descriptor (struct pvirtq_desc) --

    /** Bytes of one descriptor; also the ring's alignment. */
    public static final int DESC_SIZE = 16;
    /** le64 addr: guest-physical address of the buffer. */
    public static final int DESC_ADDR = 0;
    /** le32 len: buffer length (available); bytes written by the device (used, with WRITE buffers). */
    public static final int DESC_LEN = 8;
    /** le16 id: the buffer id, in the last descriptor of a chain (available) and in a used descriptor. */
    public static final int DESC_ID = 12;
    /** le16 flags: NEXT, WRITE, INDIRECT, AVAIL, USED. */
    public static final int DESC_FLAGS = 14;

    /** The buffer continues in the next descriptor of the ring (not within an indirect table). */
    public static final int DESC_F_NEXT = 1;
    /** Device-writable buffer (otherwise device-readable). */
    public static final int DESC_F_WRITE = 2;
    /** The buffer is a table of {@code len / DESC_SIZE} descriptors; never together with NEXT. */
    public static final int DESC_F_INDIRECT = 4;
    /** Bit number of VIRTQ_DESC_F_AVAIL (Linux: VRING_PACKED_DESC_F_AVAIL, a shift). */
    public static final int DESC_F_AVAIL_SHIFT = 7;
    /** Bit number of VIRTQ_DESC_F_USED (Linux: VRING_PACKED_DESC_F_USED, a shift). */
    public static final int DESC_F_USED_SHIFT = 15;
    /** VIRTQ_DESC_F_AVAIL as a mask (0x80). */
    public static final int DESC_F_AVAIL = 1 << DESC_F_AVAIL_SHIFT;
    /** VIRTQ_DESC_F_USED as a mask (0x8000). */
    public static final int DESC_F_USED = 1 << DESC_F_USED_SHIFT;

    // ---------------------------------------------------------------- event suppression (struct pvirtq_event_suppress) --

    /** Bytes of an event suppression structure; also its alignment. */
    public static final int EVENT_SIZE = 4;
    /** le16 off_wrap: bits 0-14 a ring offset, bit 15 a wrap counter (meaningful in {@link #EVENT_FLAG_DESC} mode). */
    public static final int EVENT_OFF_WRAP = 0;
    /** le16 flags: bits 0-1 the mode ({@code EVENT_FLAG_*}), the rest reserved. */
    public static final int EVENT_FLAGS = 2;
    /** Bit number of the wrap counter in off_wrap (Linux: VRING_PACKED_EVENT_F_WRAP_CTR). */
    public static final int EVENT_WRAP_SHIFT = 15;
    /** Mask of the offset in off_wrap. */
    public static final int EVENT_OFF_MASK = 0x7fff;
    /** Mask of the mode in flags. */
    public static final int EVENT_FLAGS_MASK = 0x3;
    /** Notifications enabled. */
    public static final int EVENT_FLAG_ENABLE = 0;
    /** Notifications disabled. */
    public static final int EVENT_FLAG_DISABLE = 1;
    /** Notify only when the ring position in off_wrap is reached (needs VIRTIO_RING_F_EVENT_IDX). */
    public static final int EVENT_FLAG_DESC = 2;

    // ---------------------------------------------------------------- alignments and sizes ("Structure Size and Alignment") --

    public static final int DESC_ALIGN = 16;
    public static final int EVENT_ALIGN = 4;
    /** Largest queue size of a packed queue (2^15: a ring offset must fit off_wrap's 15 bits). */
    public static final int MAX_SIZE = 1 << 15;
    /** Feature bit VIRTIO_F_RING_PACKED (6 "Reserved Feature Bits"). */
    public static final int VIRTIO_F_RING_PACKED = 34;
    /** Feature bit VIRTIO_F_IN_ORDER: buffers are used in the order they were made available. */
    public static final int VIRTIO_F_IN_ORDER = 35;

    /** Offset of descriptor {@code i} in the ring (also in an indirect table). */
    public static int desc(int i) {
        return DESC_SIZE * i;
    }

    /** Bytes of the descriptor ring of a queue of {@code size} entries (any size 1..2^15, not only powers of two). */
    public static int descRingBytes(int size) {
        return DESC_SIZE * size;
    }

    // ---------------------------------------------------------------- flag and off_wrap helpers --

    /** The AVAIL/USED bits a driver with wrap counter {@code wrap} writes to make a descriptor available. */
    public static int availFlags(boolean wrap) {
        return wrap ? DESC_F_AVAIL : DESC_F_USED;
    }

    /** The AVAIL/USED bits a device with wrap counter {@code wrap} writes to mark a descriptor used. */
    public static int usedFlags(boolean wrap) {
        return wrap ? DESC_F_AVAIL | DESC_F_USED : 0;
    }

    /**
     * Whether a descriptor with {@code flags} is available to a device whose available-side wrap counter is
     * {@code wrap}: AVAIL equals the counter and USED differs from it.
     */
    public static boolean isAvail(int flags, boolean wrap) {
        boolean a = (flags & DESC_F_AVAIL) != 0;
        boolean u = (flags & DESC_F_USED) != 0;
        return a == wrap && u != wrap;
    }

    /** Whether a descriptor with {@code flags} is used, for a driver whose used-side wrap counter is {@code wrap}. */
    public static boolean isUsed(int flags, boolean wrap) {
        boolean a = (flags & DESC_F_AVAIL) != 0;
        boolean u = (flags & DESC_F_USED) != 0;
        return a == u && u == wrap;
    }

    /**
     * An off_wrap value: ring position {@code off} (0..2^15-1) and wrap counter {@code wrap}. vhost-user's
     * SET_VRING_BASE and GET_VRING_BASE carry a packed queue's state in the same encoding (bits 0-14 the
     * device's next available position, bit 15 its available wrap counter), as QEMU and DPDK do.
     */
    public static int offWrap(int off, boolean wrap) {
        return (off & EVENT_OFF_MASK) | (wrap ? 1 << EVENT_WRAP_SHIFT : 0);
    }

    /** The ring position of an off_wrap value. */
    public static int eventOff(int offWrap) {
        return offWrap & EVENT_OFF_MASK;
    }

    /** The wrap counter of an off_wrap value. */
    public static boolean eventWrap(int offWrap) {
        return (offWrap >>> EVENT_WRAP_SHIFT & 1) != 0;
    }

    /**
     * Whether a side that moved its position from {@code old} to {@code now} (positions 0..size-1 with the
     * wrap counter {@code wrap} it has at {@code now}; at most one ring's worth moved) must notify the other
     * side, whose event suppression structure reads {@code flags} and {@code offWrap}: DISABLE never,
     * ENABLE (and the reserved mode 3) always, DESC when the event position lies in [old, now) (Linux's
     * virtqueue_kick_prepare_packed, DPDK's vhost_vring_call_packed): an event position whose wrap counter
     * differs from {@code wrap} is taken as one lap back.
     */
    public static boolean needEvent(int flags, int offWrap, int old, int now, boolean wrap, int size) {
        switch (flags & EVENT_FLAGS_MASK) {
            case EVENT_FLAG_DISABLE:
                return false;
            case EVENT_FLAG_DESC: {
                int event = eventOff(offWrap);
                if (eventWrap(offWrap) != wrap) {
                    event -= size; // the event position is in the previous lap
                }
                int o = old;
                if (now <= o) {
                    o -= size; // old is in the previous lap
                }
                return event >= o && event < now;
            }
            default: // ENABLE, and the reserved 3 (a spurious notification is harmless, a missing one hangs)
                return true;
        }
    }
}
