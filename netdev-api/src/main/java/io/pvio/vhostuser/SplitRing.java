package io.pvio.vhostuser;

/**
 * Byte layout of a split virtqueue (virtio 1.x, 2.7 "Split Virtqueues"; Linux's uapi virtio_ring.h), in one
 * place: offsets of every field relative to the start of its area (descriptor table, available ring, used
 * ring), sizes for a queue size, and the areas' alignments. All fields are little-endian (virtio 1.x).
 *
 * <p>Ring positions ({@code slot}) are already reduced modulo the queue size: callers pass
 * {@code idx & (size - 1)}, never a free-running 16-bit index.
 */
public final class SplitRing {
    private SplitRing() {
    }

    // ---------------------------------------------------------------- descriptor table (struct virtq_desc) --

    /** Bytes of one descriptor; also the table's alignment. */
    public static final int DESC_SIZE = 16;
    /** le64 addr: guest-physical address of the buffer. */
    public static final int DESC_ADDR = 0;
    /** le32 len. */
    public static final int DESC_LEN = 8;
    /** le16 flags (VRING_DESC_F_*). */
    public static final int DESC_FLAGS = 12;
    /** le16 next: index of the chained descriptor when VRING_DESC_F_NEXT is set. */
    public static final int DESC_NEXT = 14;

    // ---------------------------------------------------------------- available ring (struct virtq_avail) --

    /** le16 flags (VRING_AVAIL_F_NO_INTERRUPT). */
    public static final int AVAIL_FLAGS = 0;
    /** le16 idx: written by the driver only. */
    public static final int AVAIL_IDX = 2;
    /** le16 ring[size]: descriptor heads. */
    public static final int AVAIL_RING = 4;
    /** Bytes of one avail ring entry. */
    public static final int AVAIL_ELEM_SIZE = 2;

    // ---------------------------------------------------------------- used ring (struct virtq_used) --

    /** le16 flags (VRING_USED_F_NO_NOTIFY). */
    public static final int USED_FLAGS = 0;
    /** le16 idx: written by the device only. */
    public static final int USED_IDX = 2;
    /** struct virtq_used_elem ring[size]. */
    public static final int USED_RING = 4;
    /** Bytes of one used element. */
    public static final int USED_ELEM_SIZE = 8;
    /** le32 id, in a used element: the head of the chain returned. */
    public static final int USED_ELEM_ID = 0;
    /** le32 len, in a used element: bytes the device wrote into the chain. */
    public static final int USED_ELEM_LEN = 4;

    // ---------------------------------------------------------------- alignment (2.7, table "Virtqueue Part") --

    public static final int DESC_ALIGN = 16;
    public static final int AVAIL_ALIGN = 2;
    public static final int USED_ALIGN = 4;
    /** Legacy (pre-1.0) contiguous layout: the used ring starts on this boundary after the avail ring. */
    public static final int LEGACY_ALIGN = 4096;

    /** Offset of descriptor {@code i} in the descriptor table (also in an indirect table). */
    public static int desc(int i) {
        return DESC_SIZE * i;
    }

    /** Offset of avail ring entry {@code slot}. */
    public static int availRing(int slot) {
        return AVAIL_RING + AVAIL_ELEM_SIZE * slot;
    }

    /** Offset of used_event (le16, driver to device, with VIRTIO_RING_F_EVENT_IDX): after ring[size]. */
    public static int usedEvent(int size) {
        return AVAIL_RING + AVAIL_ELEM_SIZE * size;
    }

    /** Offset of used element {@code slot}; add {@link #USED_ELEM_ID} or {@link #USED_ELEM_LEN}. */
    public static int usedElem(int slot) {
        return USED_RING + USED_ELEM_SIZE * slot;
    }

    /** Offset of avail_event (le16, device to driver, with VIRTIO_RING_F_EVENT_IDX): after ring[size]. */
    public static int availEvent(int size) {
        return USED_RING + USED_ELEM_SIZE * size;
    }

    /** Bytes of the descriptor table of a queue of {@code size} entries. */
    public static int descTableBytes(int size) {
        return DESC_SIZE * size;
    }

    /** Bytes of the avail ring, used_event included. */
    public static int availBytes(int size) {
        return usedEvent(size) + 2;
    }

    /** Bytes of the used ring, avail_event included. */
    public static int usedBytes(int size) {
        return availEvent(size) + 2;
    }

    /**
     * Offset of the used ring from the descriptor table in the legacy contiguous layout (vring_init): the
     * descriptor table, then the avail ring, then padding to {@code align}.
     */
    public static int legacyUsedOffset(int size, int align) {
        return alignUp(descTableBytes(size) + availBytes(size), align);
    }

    /** {@code v} rounded up to {@code align}, a power of two. */
    public static int alignUp(int v, int align) {
        return (v + align - 1) & -align;
    }
}
