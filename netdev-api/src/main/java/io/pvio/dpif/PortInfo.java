package io.pvio.dpif;

import java.util.Map;

/**
 * A snapshot of one port and its Interface row, as {@code ovs-vsctl list Interface} shows it.
 *
 * @param state      {@code up}, {@code down} (open, no carrier), {@code waiting} (no netdev class of
 *                   its type yet) or {@code error}
 * @param error      the Interface's {@code error} column (why it could not be opened; while it waits, that no
 *                   class of its type is registered), or null
 * @param ofport     the port's number in the datapath, kept while it waits (the Interface's {@code ofport}
 *                   column is -1 then, as OVS shows a port it could not open)
 * @param statistics OVS's counters (rx_packets, tx_dropped, ...) followed by the class's custom stats
 */
public record PortInfo(String name, String bridge, String type, Map<String, String> options, int ofport,
        String state, String error, Map<String, Long> statistics, Map<String, String> status) {
}
