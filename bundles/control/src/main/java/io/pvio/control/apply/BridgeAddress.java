package io.pvio.control.apply;

import io.pvio.dpif.PortInfo;
import java.util.Collection;
import java.util.Map;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/** A bridge's Ethernet address and datapath ID as ovs-vswitchd picks them. */
public final class BridgeAddress {
    private static final Logger LOG = Logger.getLogger("bridge");
    /** OVS's ETH_ADDR_SCAN_FMT: six hex bytes of one or two digits. */
    private static final Pattern MAC = Pattern.compile("\\p{XDigit}{1,2}(:\\p{XDigit}{1,2}){5}");
    private static final Pattern HEX = Pattern.compile("\\p{XDigit}+");

    private BridgeAddress() {
    }

    /**
     * bridge_pick_local_hw_addr: the Bridge's {@code other_config:hwaddr} when it is a unicast, non-zero
     * Ethernet address (a multicast or zero one is logged and passed over, as by OVS; one that does not parse is
     * passed over silently), else {@link #pick(String, String, Collection)}.
     */
    public static String pick(String uuid, String bridge, Collection<PortInfo> ports, Map<String, String> otherConfig) {
        String hw = otherConfig.getOrDefault("hwaddr", "");
        if (MAC.matcher(hw).matches()) {
            long m = 0;
            for (String b : hw.split(":")) {
                m = m << 8 | Integer.parseInt(b, 16);
            }
            String mac = PortInfo.formatMac(m);
            if ((m >>> 40 & 1) != 0) {
                LOG.severe("bridge " + bridge + ": cannot set MAC address to multicast address " + mac);
            } else if (m == 0) {
                LOG.severe("bridge " + bridge + ": cannot set MAC address to zero");
            } else {
                return mac;
            }
        }
        return pick(uuid, bridge, ports);
    }

    /**
     * The Bridge's {@code other_config:datapath-id} as dpid_from_string reads it (16 hex digits, or up to 16
     * after "0x"), or 0 when it is missing, malformed or zero: then the datapath ID is the bridge's address.
     */
    public static long datapathId(Map<String, String> otherConfig) {
        String s = otherConfig.getOrDefault("datapath-id", "");
        String hex = s.length() == 16 ? s
                : s.length() > 2 && s.length() <= 18 && (s.startsWith("0x") || s.startsWith("0X")) ? s.substring(2) : "";
        return HEX.matcher(hex).matches() ? Long.parseUnsignedLong(hex, 16) : 0;
    }

    /**
     * bridge_pick_local_hw_addr without other_config:hwaddr: the lowest unicast, globally administered,
     * non-zero MAC of the bridge's other ports (a NIC's), else {@link #defaultEa} of the bridge's row.
     */
    public static String pick(String uuid, String bridge, Collection<PortInfo> ports) {
        long best = -1;
        for (PortInfo p : ports) {
            long m = PortInfo.macBits(p.mac());
            if (!p.name().equals(bridge) && m > 0 && (m >>> 40 & 3) == 0 && (best < 0 || m < best)) {
                best = m;
            }
        }
        return best > 0 ? PortInfo.formatMac(best) : defaultEa(uuid);
    }

    /**
     * OVS's default_ea, stable across restarts: the first 6 bytes of the row's uuid as struct uuid lies in an
     * x86 host's memory (each 32-bit part little-endian), made unicast and locally administered
     * (eth_addr_mark_random). 54c7ae95-2a13-... gives 96:ae:c7:54:4c:42. A string that is no uuid is hashed
     * into one first.
     */
    public static String defaultEa(String uuid) {
        String hex = uuid.replace("-", "");
        if (!hex.matches("[0-9a-fA-F]{32}")) {
            hex = java.util.UUID.nameUUIDFromBytes(uuid.getBytes(java.nio.charset.StandardCharsets.UTF_8)).toString()
                    .replace("-", "");
        }
        long p0 = Long.parseLong(hex.substring(0, 8), 16);
        long p1 = Long.parseLong(hex.substring(8, 16), 16);
        long mac = Long.reverseBytes(p0) >>> 32 << 16 | Long.reverseBytes(p1) >>> 48;
        return PortInfo.formatMac(mac & 0xfeff_ffff_ffffL | 0x0200_0000_0000L);
    }
}
