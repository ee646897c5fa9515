package io.pvio.dummy;

import io.pvio.netdev.CustomStats;

/**
 * An open port of netdev class {@code pktgen}: its rx side generates Ethernet/IPv4/UDP frames carrying a
 * source id and a 64-bit sequence number; its tx side is a sink that validates what the datapath sends it.
 *
 * <p>A source is one generator rx queue (port and queue): its sequence numbers start at 0 and grow by one.
 * The sink counts, per source, packets in order ({@link #rxValid()}), gaps ({@link #rxLost()}), late
 * packets of a gap ({@link #rxOutOfOrder()}, which also take them out of {@link #rxLost()}), repeats
 * ({@link #rxDuplicate()}), and frames whose payload pattern is wrong ({@link #rxCorrupt()}) or that are not
 * pktgen frames at all ({@link #rxOther()}).
 */
public interface PktgenPort {
    String name();

    /** Packets generated (handed to the datapath) so far. */
    long generated();

    /** True when a {@code count} is set and that many packets have been generated. */
    boolean generationDone();

    /** Packets received by the sink (every frame sent to the port). */
    long received();

    long rxValid();

    long rxOutOfOrder();

    long rxDuplicate();

    long rxLost();

    long rxCorrupt();

    long rxOther();

    /** Every counter by its custom-stats name, then the last sequence seen per source. */
    void stats(CustomStats sink);

    /** Multi-line human-readable summary (pktgen/show). */
    String show();
}
