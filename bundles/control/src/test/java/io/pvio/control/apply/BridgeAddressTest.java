package io.pvio.control.apply;

import static org.junit.Assert.assertEquals;

import io.pvio.dpif.PortInfo;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/** The bridge's MAC as ovs-vswitchd picks it. */
public class BridgeAddressTest {
    private static PortInfo port(String name, String mac) {
        return new PortInfo(name, "br0", "system", Map.of(), 1, "up", null, Map.of(), Map.of(), mac, 1500, 0, true);
    }

    @Test
    public void defaultEaIsTheUuidsFirstBytesAsOvsLaysThemOut() {
        // what a real OVS 3.1 (x86-64) gave a bridge of this uuid: datapath_id "000096aec7544c42"
        assertEquals("96:ae:c7:54:4c:42", BridgeAddress.defaultEa("54c7ae95-2a13-424c-a5bb-ce44aae02222"));
        assertEquals("02:00:00:00:00:00", BridgeAddress.defaultEa("00000000-0000-0000-0000-000000000000"));
        assertEquals("fe:ff:ff:ff:ff:ff", BridgeAddress.defaultEa("ffffffff-ffff-ffff-ffff-ffffffffffff"));
        assertEquals(BridgeAddress.defaultEa("b0"), BridgeAddress.defaultEa("b0")); // no uuid: still stable
    }

    @Test
    public void theLowestGlobalUnicastMacOfAnotherPortWins() {
        String uuid = "54c7ae95-2a13-424c-a5bb-ce44aae02222";
        // zero (vhost), locally administered (dummy, veth, the local port itself), multicast: not taken
        List<PortInfo> virtual = List.of(port("br0", "00:1b:21:00:00:01"), port("vhu0", "00:00:00:00:00:00"),
                port("d1", "aa:55:aa:55:00:01"), port("veth0", "52:54:00:12:34:56"), port("m", "01:1b:21:00:00:02"),
                port("w", null));
        assertEquals("96:ae:c7:54:4c:42", BridgeAddress.pick(uuid, "br0", virtual));
        List<PortInfo> nics = new java.util.ArrayList<>(virtual);
        nics.add(port("eth1", "00:1b:21:aa:bb:cc"));
        nics.add(port("eth0", "00:1b:21:00:00:09"));
        assertEquals("00:1b:21:00:00:09", BridgeAddress.pick(uuid, "br0", nics));
    }

    /** other_config:hwaddr as bridge_pick_local_hw_addr: taken when unicast and non-zero, passed over otherwise. */
    @Test
    public void hwaddrFromOtherConfigWinsWhenUnicast() {
        String uuid = "54c7ae95-2a13-424c-a5bb-ce44aae02222";
        List<PortInfo> nics = List.of(port("eth0", "00:1b:21:00:00:09"));
        assertEquals("02:00:00:00:00:2a", BridgeAddress.pick(uuid, "br0", nics, Map.of("hwaddr", "2:0:0:0:0:2A")));
        assertEquals("00:1b:21:00:00:09", BridgeAddress.pick(uuid, "br0", nics, Map.of("hwaddr", "01:00:00:00:00:01")));
        assertEquals("00:1b:21:00:00:09", BridgeAddress.pick(uuid, "br0", nics, Map.of("hwaddr", "00:00:00:00:00:00")));
        assertEquals("96:ae:c7:54:4c:42", BridgeAddress.pick(uuid, "br0", List.of(), Map.of("hwaddr", "nonsense")));
        assertEquals("96:ae:c7:54:4c:42", BridgeAddress.pick(uuid, "br0", List.of(), Map.of("hwaddr", "1:2:3:4:5:6:7")));
    }

    /** other_config:datapath-id as dpid_from_string: 16 hex digits, or "0x" and up to 16; 0 means "not set". */
    @Test
    public void datapathIdFromOtherConfig() {
        assertEquals(0x42L, BridgeAddress.datapathId(Map.of("datapath-id", "0000000000000042")));
        assertEquals(0x42L, BridgeAddress.datapathId(Map.of("datapath-id", "0x42")));
        assertEquals(0xabcdef0123456789L, BridgeAddress.datapathId(Map.of("datapath-id", "0XABCDEF0123456789")));
        assertEquals(-1L, BridgeAddress.datapathId(Map.of("datapath-id", "ffffffffffffffff")));
        for (String bad : new String[] {"42", "000000000000004", "00000000000000042", "000000000000004g", "0x",
                "0x00000000000000042", "0000000000000000", ""}) {
            assertEquals(bad, 0L, BridgeAddress.datapathId(Map.of("datapath-id", bad)));
        }
        assertEquals(0L, BridgeAddress.datapathId(Map.of()));
    }
}
