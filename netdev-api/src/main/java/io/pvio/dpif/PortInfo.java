package io.pvio.dpif;

import java.util.Map;

/**
 * A snapshot of one port and its Interface row, as {@code ovs-vsctl list Interface} shows it.
 *
 * @param state      {@code up}, {@code down} (open, no carrier), {@code waiting} (no netdev class of
 *                   its type yet) or {@code error}
 * @param error      the Interface's {@code error} column (why it could not be opened), or null
 * @param statistics OVS's counters (rx_packets, tx_dropped, ...) followed by the class's custom stats
 */
public record PortInfo(String name, String bridge, String type, Map<String, String> options, int ofport,
        String state, String error, Map<String, Long> statistics, Map<String, String> status) {
}
