package io.pvio.vhost.ring;

import io.pvio.packet.Packet;

/**
 * Where a ring walker hands a packet's copies and used elements (DPDK's sync_fill_seg / async_fill_seg
 * behind mbuf_to_desc): {@link CpuCopySink} copies on the calling CPU and records used elements for the
 * next publication; {@code io.pvio.vhost.async.AsyncCopySink} hands copies to the queue's
 * {@link io.pvio.vhost.async.CopyTracker}, which retires used elements and packets in order once copied.
 * The walker does the same steps whatever the sink; the sink never looks at the ring.
 *
 * <h2>Protocol (one thread: the queue's lock holder)</h2>
 * Per burst: {@link #burst()}, then per packet
 * <ul>
 *   <li>host to guest: {@link #hasRoom} (once, before anything of the packet is done), {@link #toGuestBegin},
 *       {@link #used} for each used element of the packet, {@link #headerInFrame} at most once, then
 *       {@link #toGuest} for each piece (header and frame, in guest order), {@link #toGuestEnd} (also when
 *       a copy threw); at the end {@link #flush()} before the used elements are published, or
 *       {@link #abandon()} when the burst failed;</li>
 *   <li>guest to host: {@link #fromGuestBegin}, {@link #used} (one element), {@link #fromGuest} for each
 *       piece, {@link #fromGuestEnd} (also when a copy threw).</li>
 * </ul>
 * A piece is {@code len} bytes in one guest buffer within one mapped memory slice ({@link GuestMemory#view}
 * of {@code slice} at {@code off}), checked by the walker; the packet side is one segment's buffer.
 *
 * <h2>For other walkers (packed rings)</h2>
 * The sinks know nothing of the ring layout: a packed-ring walker calls the same methods in the same
 * order. {@link #used}'s id is what the ring's used entry will carry (split: chain head; packed: buffer
 * id) and len the bytes written; retirement is in call order, so a walker that needs more per element (a
 * packed ring's descriptor count) keeps it itself in a FIFO of the same order, or in its {@link Used}.
 *
 * <h2>For dirty-page logging (live migration)</h2>
 * Every CPU store into guest memory of the back end's data path goes through {@link GuestWrites}: header
 * stores, {@link CpuCopySink}'s copies, used elements, used index and flags. Asynchronous copies into the
 * guest are submitted only in {@code AsyncCopySink.toGuest} (which knows slice and offset) and complete,
 * CPU-done or DMA-done, strictly before their packet is retired through {@link Used#used} /
 * {@code CopyTracker.Sink.packet} (the queue's retire step in {@link Virtqueue}), the one place where an
 * asynchronous copy's completion is seen: log there (DPDK logs async writes when the copy completes).
 */
public interface CopySink {
    /** Receives used elements in ring order, to be published later by the ring's owner. */
    interface Used {
        /** One used element: descriptor id, bytes written into the guest's buffers. */
        void used(int id, int len);
    }

    /** A new burst starts (state of an earlier abandoned burst is gone). */
    void burst();

    /** True when {@code packets} more packets with {@code elems} used elements in all can be taken now. */
    boolean hasRoom(int packets, int elems);

    /**
     * Host to guest: {@code p}'s copies follow. An asynchronous sink owns {@code p} from here on (until it
     * is retired, even if a copy throws); a synchronous one leaves it the caller's.
     */
    void toGuestBegin(Packet p);

    /** One used element of the current packet. */
    void used(int id, int len);

    /**
     * True when the sink wrote {@code p}'s {@code hdrLen}-byte virtio-net header (with {@code heads} as
     * num_buffers) into the bytes right before {@code p}'s data, so that the walker copies header and first
     * segment as one piece; false (nothing written) when the walker writes the header into the guest itself.
     */
    boolean headerInFrame(Packet p, int hdrLen, int heads);

    /** Copies {@code len} bytes of segment {@code seg} from {@code srcOff} to guest piece (slice, off). */
    void toGuest(Packet seg, int srcOff, GuestMemory m, int slice, int off, int len);

    /** Ends the current host-to-guest packet. */
    void toGuestEnd();

    /** End of a host-to-guest burst: every copy taken is done or owned by the sink's engine now. */
    void flush();

    /**
     * The burst broke in its middle: copies not done yet are forgotten where the sink can (synchronous).
     * Returns true when the packets begun stay the sink's (their descriptors are consumed), false when
     * nothing of the burst took effect (the caller keeps every packet).
     */
    boolean abandon();

    /**
     * After {@link #abandon()} returned true: how many packets of the burst the sink took, the walker having
     * counted {@code counted}. A late fault (raised at a safepoint) can cut the burst between the walker's
     * count and {@link #toGuestBegin}, either way: the sink's count is the truth (the packets it took are the
     * batch's first ones, in order).
     */
    default int taken(int counted) {
        return counted;
    }

    /**
     * Guest to host: {@code p}'s copies follow (null: a descriptor consumed with nothing to deliver). The
     * walker allocated {@code p} before the burst touched guest memory past avail->idx (issue 15: no pool
     * operation while a fault may be pending): for a synchronous sink it is already in the caller's batch
     * and stays there; an asynchronous sink owns it from here on.
     */
    void fromGuestBegin(Packet p);

    /** Copies {@code len} bytes of guest piece (slice, off) into segment {@code seg} at {@code dstOff}. */
    void fromGuest(GuestMemory m, int slice, int off, Packet seg, int dstOff, int len);

    /**
     * Ends the current guest-to-host packet; {@code ok} false when a copy threw. Returns true when its
     * descriptor is consumed (the walker moves on), false when the sink freed the packet and the walker must
     * withdraw the used element and leave the descriptor in the ring (synchronous sink after a fault).
     */
    boolean fromGuestEnd(boolean ok);
}
