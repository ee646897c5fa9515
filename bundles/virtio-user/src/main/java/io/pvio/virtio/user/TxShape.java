package io.pvio.virtio.user;

/** How a transmitted frame is laid out in descriptors (to exercise a back end's descriptor walking). */
public enum TxShape {
    /** One descriptor: the 12-byte virtio_net_hdr immediately followed by the frame. */
    PUSH,
    /** Two chained descriptors: the header, then the frame (in a separate place). */
    CHAIN,
    /** The header, then the frame split over up to three chained descriptors at scattered addresses. */
    SPLIT,
    /** One ring descriptor pointing at an indirect table holding the SPLIT layout. */
    INDIRECT;

    /** Parses {@code push|chain|split|indirect} (case-insensitive); null when unknown. */
    public static TxShape parse(String s) {
        for (TxShape t : values()) {
            if (t.name().equalsIgnoreCase(s)) {
                return t;
            }
        }
        return null;
    }
}
