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
 * @param mac        the port's Ethernet address ({@code mac_in_use}), or null when unknown (since 1.5)
 * @param mtu        the port's MTU ({@code mtu}), 0 when unknown (since 1.5)
 * @param ifindex    the kernel's index of its interface ({@code ifindex}), 0 when none (since 1.5)
 * @param adminUp    administratively up ({@code admin_state}, OpenFlow's PORT_DOWN when false; since 1.5)
 * @param linkSpeed  the link's speed in bits per second ({@code link_speed}), 0 when unknown (see
 *                   {@link io.pvio.netdev.Netdev#linkSpeed()}; since 1.5)
 * @param fullDuplex full duplex ({@code duplex}), meaningful only when {@code linkSpeed} is not 0 (since 1.5)
 * @param linkResets the carrier changes the port has seen since it was opened ({@code link_resets}; since 1.5)
 */
public record PortInfo(String name, String bridge, String type, Map<String, String> options, int ofport,
        String state, String error, Map<String, Long> statistics, Map<String, String> status, String mac, int mtu,
        int ifindex, boolean adminUp, long linkSpeed, boolean fullDuplex, long linkResets) {

    /** Speed and duplex unknown, no carrier change seen. */
    public PortInfo(String name, String bridge, String type, Map<String, String> options, int ofport,
            String state, String error, Map<String, Long> statistics, Map<String, String> status, String mac, int mtu,
            int ifindex, boolean adminUp) {
        this(name, bridge, type, options, ofport, state, error, statistics, status, mac, mtu, ifindex, adminUp, 0,
                false, 0);
    }

    /** As in 1.4: MAC, MTU and ifindex unknown, up unless the port waits or failed. */
    public PortInfo(String name, String bridge, String type, Map<String, String> options, int ofport,
            String state, String error, Map<String, Long> statistics, Map<String, String> status) {
        this(name, bridge, type, options, ofport, state, error, statistics, status, null, 0, 0,
                !"waiting".equals(state) && !"error".equals(state));
    }

    /**
     * The port has carrier as OVS's netdev_get_carrier says it: up, and administratively up (a port taken
     * down has no link: {@code link_state} down, OpenFlow's LINK_DOWN).
     *
     * @since 1.6
     */
    public boolean carrier() {
        return "up".equals(state) && adminUp;
    }

    /**
     * {@code xx:xx:xx:xx:xx:xx} as a 48-bit number, or -1 when {@code mac} is null or not such an address.
     *
     * @since 1.5
     */
    public static long macBits(String mac) {
        if (mac == null || mac.length() != 17) {
            return -1;
        }
        long v = 0;
        for (int i = 0; i < 6; i++) {
            if (i > 0 && mac.charAt(3 * i - 1) != ':') {
                return -1;
            }
            int hi = Character.digit(mac.charAt(3 * i), 16);
            int lo = Character.digit(mac.charAt(3 * i + 1), 16);
            if (hi < 0 || lo < 0) {
                return -1;
            }
            v = v << 8 | hi << 4 | lo;
        }
        return v;
    }

    /**
     * A 48-bit address as {@code xx:xx:xx:xx:xx:xx}.
     *
     * @since 1.5
     */
    public static String formatMac(long mac) {
        StringBuilder sb = new StringBuilder(17);
        for (int shift = 40; shift >= 0; shift -= 8) {
            sb.append(String.format("%02x", (mac >>> shift) & 0xff)).append(shift > 0 ? ":" : "");
        }
        return sb.toString();
    }
}
