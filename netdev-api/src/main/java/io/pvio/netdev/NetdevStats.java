package io.pvio.netdev;

/**
 * OVS's {@code struct netdev_stats} counters, filled by {@link Netdev#getStats}. Preallocate one and
 * reuse it; {@link #clear()} zeroes it.
 */
public final class NetdevStats {
    public long rxPackets;
    public long txPackets;
    public long rxBytes;
    public long txBytes;
    public long rxErrors;
    public long txErrors;
    public long rxDropped;
    public long txDropped;
    public long multicast;
    public long collisions;
    public long rxLengthErrors;
    public long rxCrcErrors;
    /** Packets handed to an asynchronous engine and not yet completed (a gauge, not a counter). */
    public long txInFlight;

    public void clear() {
        rxPackets = txPackets = rxBytes = txBytes = 0;
        rxErrors = txErrors = rxDropped = txDropped = 0;
        multicast = collisions = rxLengthErrors = rxCrcErrors = 0;
        txInFlight = 0;
    }

    /** OVS column names and values, in {@code ovs-vsctl list Interface} order. */
    public void forEach(CustomStats sink) {
        sink.put("collisions", collisions);
        sink.put("rx_bytes", rxBytes);
        sink.put("rx_crc_err", rxCrcErrors);
        sink.put("rx_dropped", rxDropped);
        sink.put("rx_errors", rxErrors);
        sink.put("rx_length_errors", rxLengthErrors);
        sink.put("rx_packets", rxPackets);
        sink.put("tx_bytes", txBytes);
        sink.put("tx_dropped", txDropped);
        sink.put("tx_errors", txErrors);
        sink.put("tx_packets", txPackets);
    }
}
