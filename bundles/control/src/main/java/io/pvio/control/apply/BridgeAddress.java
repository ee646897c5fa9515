package io.pvio.control.apply;

import io.pvio.dpif.PortInfo;
import java.util.Collection;

/** A bridge's Ethernet address (and so its datapath ID) as ovs-vswitchd picks it. */
public final class BridgeAddress {
    private BridgeAddress() {
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
