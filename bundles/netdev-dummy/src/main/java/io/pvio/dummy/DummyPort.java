package io.pvio.dummy;

import java.util.List;

/**
 * An open port of netdev class {@code dummy}, as tests and commands see it: frames injected here are
 * received by the datapath on the given rx queue; frames the datapath sends to the port are counted and the
 * last ones are kept.
 */
public interface DummyPort {
    String name();

    /** Number of rx queues now. */
    int nRxq();

    /**
     * Copies {@code frame} into a packet of the datapath's pool and queues it on rx queue {@code qid}.
     *
     * @return false when the queue is full or the pool is empty (nothing was queued)
     * @throws IllegalArgumentException when {@code qid} or the frame length is out of range
     */
    boolean receive(int qid, byte[] frame);

    /** {@link #receive(int, byte[])} on queue 0. */
    default boolean receive(byte[] frame) {
        return receive(0, frame);
    }

    /** Frames injected and not yet taken by the datapath. */
    int rxBacklog();

    /** Packets the datapath sent to this port. */
    long sentPackets();

    long sentBytes();

    /** Packets sent on tx queue {@code qid}. */
    long sentPackets(int qid);

    /** True once a send arrived with {@code concurrentTxq} set. */
    boolean sawConcurrentTxq();

    /** True once {@code reconfigure} ran while a thread was polling one of the port's rx queues (a contract breach). */
    default boolean reconfiguredWhileBusy() {
        return false;
    }

    /** The last frames sent (at most {@link #CAPTURE_DEPTH}), oldest first; frames are cut at {@link #CAPTURE_BYTES}. */
    List<byte[]> lastSent();

    /** Like {@link #lastSent()}, then forgets them (the counters stay). */
    List<byte[]> takeSent();

    int CAPTURE_DEPTH = 64;
    int CAPTURE_BYTES = 2048;
}
