package io.pvio.netlinux;

import static io.pvio.netlinux.Host.TAG;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dpif.DpifException;
import io.pvio.dpif.PortInfo;
import io.pvio.dpif.netdev.DpifNetdev;
import io.pvio.netdev.NetdevClass;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Assume;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * {@code system}, {@code internal} and {@code tap} ports in a running datapath, against the kernel: two
 * namespaces behind veth pairs whose outer ends are pvio's system ports. Needs root (CI runs as root).
 */
public class SystemPortTest {
    private static final String NS1 = "pvio-nl1-" + TAG;
    private static final String NS2 = "pvio-nl2-" + TAG;
    private static final String A = "pva" + TAG;
    private static final String A_IN = "pva" + TAG + "i";
    private static final String B = "pvb" + TAG;
    private static final String B_IN = "pvb" + TAG + "i";
    private static final String BR = "pvbr" + TAG;
    private static final String NET = "10.231." + (Integer.parseInt(TAG, 16) % 250) + ".";

    private DpifNetdev dp;
    private final SystemClass system = new SystemClass();

    @BeforeClass
    public static void needRoot() {
        Assume.assumeTrue("netdev-linux tests need root (network namespaces, veth, AF_PACKET): skipped",
                Host.isRoot());
    }

    @Before
    public void setUp() throws Exception {
        Host.netns(NS1);
        Host.netns(NS2);
        Host.veth(A, A_IN, NS1, NET + "1/24");
        Host.veth(B, B_IN, NS2, NET + "2/24");
        dp = new DpifNetdev();
        Map<String, Object> props = new HashMap<>();
        props.put(DpifNetdev.POOL_BUFFERS, 4096);
        props.put(DpifNetdev.RUN_DIR, System.getProperty("java.io.tmpdir") + "/pvio-netlinux-" + TAG);
        dp.activate(props);
        for (NetdevClass c : List.of(system, new InternalClass(), new TapClass())) {
            dp.bindNetdevClass(c, Map.of(NetdevClass.TYPE_PROPERTY, c.type()));
        }
        dp.addBridge(BR);
        dp.addPort(BR, A, "", Map.of(), -1); // untyped: system
        dp.addPort(BR, B, "system", Map.of(), -1);
    }

    @After
    public void tearDown() {
        try {
            if (dp != null) {
                dp.deactivate();
                assertEquals("buffers leaked", 0, dp.pool().inUse());
            }
        } finally {
            system.deactivate();
            Host.delLink(A);
            Host.delLink(B);
            Host.delLink(BR);
            Host.delNetns(NS1);
            Host.delNetns(NS2);
        }
    }

    @Test
    public void untypedPortIsSystemWithKernelState() {
        PortInfo a = dp.port(A);
        assertEquals("system", a.type());
        assertNull(a.error());
        Host.await("carrier on " + A, () -> "up".equals(dp.port(A).state()));
        a = dp.port(A);
        assertEquals(Host.run("cat", "/sys/class/net/" + A + "/ifindex").trim(), Integer.toString(a.ifindex()));
        assertEquals(1500, a.mtu());
        assertEquals(Host.run("cat", "/sys/class/net/" + A + "/address").trim(), a.mac());
        assertTrue("brought up", a.adminUp());
        Map<String, String> st = a.status();
        assertEquals("up", st.get("link_state"));
        assertEquals(st.toString(), "veth", st.get("driver_name"));
        assertTrue(st.toString(), st.containsKey("driver_version") && st.containsKey("firmware_version"));
        for (String col : new String[] {"ifindex", "mtu", "mac_in_use"}) { // columns, not status keys, as in OVS
            assertNull(col, st.get(col));
        }
    }

    /**
     * link_speed, duplex and link_resets as OVS's system ports give them: ethtool's speed and duplex (a veth's:
     * 10 Gb/s, full) and each carrier change since the port was opened, also one no one read at the time.
     */
    @Test
    public void linkSpeedDuplexAndCarrierResetsOfASystemPort() throws Exception {
        Host.await("carrier on " + A, () -> "up".equals(dp.port(A).state()));
        PortInfo a = dp.port(A);
        assertEquals(10_000_000_000L, a.linkSpeed());
        assertTrue(a.fullDuplex());
        assertEquals("brought up when opened: no reset", 0, a.linkResets());
        Host.inNs(NS1, "ip", "link", "set", A_IN, "down");
        Host.await("carrier off", () -> "down".equals(dp.port(A).state()));
        assertEquals(1, dp.port(A).linkResets());
        Host.inNs(NS1, "ip", "link", "set", A_IN, "up");
        Host.await("carrier on", () -> "up".equals(dp.port(A).state()));
        assertEquals(2, dp.port(A).linkResets());
        // down for a few of the monitor's polls, read by no one: the monitor counts it
        Host.inNs(NS1, "ip", "link", "set", A_IN, "down");
        Thread.sleep(3 * SystemClass.POLL_MS);
        Host.inNs(NS1, "ip", "link", "set", A_IN, "up");
        Host.await("kernel carrier on", () -> "1".equals(Host.exec("cat", "/sys/class/net/" + A + "/carrier").out()
                .trim()));
        assertEquals(4, dp.port(A).linkResets());
        assertEquals(10_000_000_000L, dp.port(A).linkSpeed());
    }

    @Test
    public void pingAndTcpThroughNormal() throws Exception {
        assertTrue("ping " + NS1 + " -> " + NS2 + " through NORMAL", Host.ping(NS1, NET + "2", 3));
        tcp(NS1, NS2, NET + "2", 4 << 20);
        PortInfo a = dp.port(A);
        // kernel counters of the interface, as OVS shows a system port's statistics
        assertTrue(a.statistics().toString(), a.statistics().get("rx_packets") > 0);
        assertTrue(a.statistics().toString(), a.statistics().get("tx_packets") > 0);
        assertEquals(a.statistics().toString(), 0L, (long) a.statistics().get("rx_too_long"));
        Host.await("open ports hold no buffer between polls", () -> dp.pool().inUse() == 0);
    }

    @Test
    public void pingAndTcpThroughExplicitFlows() throws Exception {
        int pa = dp.port(A).ofport();
        int pb = dp.port(B).ofport();
        dp.delFlows(BR, null);
        dp.addFlow(BR, "in_port=" + pa + ",actions=output:" + pb);
        dp.addFlow(BR, "in_port=" + pb + ",actions=output:" + pa);
        assertTrue("ping through explicit flows", Host.ping(NS2, NET + "1", 3));
        tcp(NS2, NS1, NET + "1", 2 << 20);
        dp.delFlows(BR, null);
        assertFalse("no flows, no traffic", Host.ping(NS2, NET + "1", 1));
    }

    @Test
    public void interfaceDeletedAndRecreatedIsPickedUpAgain() throws Exception {
        assertTrue(Host.ping(NS1, NET + "2", 1));
        Host.run("ip", "link", "del", B);
        Host.await("status error after delete", () -> "No such device".equals(dp.port(B).status().get("error")));
        assertEquals("down", dp.port(B).state());
        assertFalse(Host.ping(NS1, NET + "2", 1));
        Host.veth(B, B_IN, NS2, NET + "2/24");
        Host.await("port back", () -> dp.port(B).status().get("error") == null && "up".equals(dp.port(B).state()));
        assertEquals(1L, (long) dp.port(B).statistics().get("reopened"));
        Host.inNs(NS1, "ip", "neigh", "flush", "all"); // the re-created peer is a new host, with a new MAC
        assertTrue("ping after re-creation", Host.ping(NS1, NET + "2", 3));
        tcp(NS1, NS2, NET + "2", 1 << 20);
    }

    @Test
    public void missingInterfaceIsAClearError() {
        try {
            dp.addPort(BR, "pvnone" + TAG, "", Map.of(), -1);
            fail("added a missing interface");
        } catch (DpifException e) {
            assertEquals("could not open network device pvnone" + TAG + " (No such device)", e.getMessage());
        }
        assertNull(dp.port("pvnone" + TAG));
        try {
            dp.addPort(BR, "pvnone" + TAG, "system", Map.of("n_rxq", "2"), -1);
            fail("took an option");
        } catch (DpifException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("system ports take no options (got n_rxq)"));
        }
    }

    @Test
    public void localInternalPortAddressedAndPingedFromANamespace() throws Exception {
        dp.addPort(BR, BR, "internal", Map.of(), -1);
        PortInfo local = dp.port(BR);
        assertEquals(65534, local.ofport());
        assertNull(local.error());
        assertEquals("internal", local.type());
        // created down, as OVS's local port; the host side brings it up and gives it an address
        assertFalse("local port created down", isUp(BR));
        // the columns OVS fills from the device: admin_state down, its MAC, MTU and ifindex
        assertFalse("admin_state down", local.adminUp());
        String mac = Host.run("cat", "/sys/class/net/" + BR + "/address").trim();
        assertEquals(mac, local.mac());
        assertEquals(1500, local.mtu());
        assertEquals(Host.run("cat", "/sys/class/net/" + BR + "/ifindex").trim(), Integer.toString(local.ifindex()));
        assertEquals("the datapath ID is the bridge's MAC", PortInfo.macBits(mac), dp.datapathId(BR));
        assertNull(local.status().get("mac_in_use"));
        // status as OVS's netdev_linux_get_status: ETHTOOL_GDRVINFO's driver, version and firmware
        assertEquals("tun", local.status().get("driver_name"));
        assertTrue(local.status().toString(), local.status().get("driver_version").matches("\\d+(\\.\\d+)*"));
        assertEquals("", local.status().get("firmware_version"));
        // link_speed and duplex as OVS's tap class reads them (ethtool's), no carrier change yet
        java.util.regex.Matcher eth = java.util.regex.Pattern.compile("Speed: (\\d+)Mb/s\n\\s*Duplex: (\\w+)")
                .matcher(Host.run("ethtool", BR));
        assertTrue(eth.find());
        assertEquals(Long.parseLong(eth.group(1)) * 1_000_000, local.linkSpeed());
        assertEquals("Full".equals(eth.group(2)), local.fullDuplex());
        assertEquals(0, local.linkResets());
        // the bridge's address goes to its local port, as bridge_configure_datapath_id sets it
        dp.setBridgeAddress(BR, "96:ae:c7:54:4c:42");
        assertEquals("96:ae:c7:54:4c:42", Host.run("cat", "/sys/class/net/" + BR + "/address").trim());
        assertEquals("96:ae:c7:54:4c:42", dp.port(BR).mac());
        assertEquals(0x96aec7544c42L, dp.datapathId(BR));
        // frames flooded to it while it is down (the ARP request of this ping) are dropped by pvio, counted,
        // and never written: a write would cost a system call for the kernel to drop the frame (EIO)
        assertTrue("ping " + NS1 + " -> " + NS2 + " through NORMAL", Host.ping(NS1, NET + "2", 3));
        Map<String, Long> down = dp.port(BR).statistics();
        assertTrue(down.toString(), down.get("tx_dropped") > 0);
        assertEquals(down.toString(), 0L, (long) down.get("tx_errors"));
        assertEquals(down.toString(), 0L, (long) down.get("tx_packets"));
        assertEquals("frames reached the kernel's down tap", "0",
                Host.run("cat", "/sys/class/net/" + BR + "/statistics/rx_dropped").trim());
        // ovs-ofctl mod-port BR BR up / down: the device itself, as OVS's update_port_config
        dp.setPortConfig(BR, 0, io.pvio.dpif.Dpif.PC_PORT_DOWN);
        assertTrue("mod-port up brings the local port up", isUp(BR));
        dp.setPortConfig(BR, io.pvio.dpif.Dpif.PC_PORT_DOWN, io.pvio.dpif.Dpif.PC_PORT_DOWN);
        assertFalse("mod-port down takes it down", isUp(BR));
        assertFalse("admin_state down", dp.port(BR).adminUp());
        dp.setPortConfig(BR, 0, io.pvio.dpif.Dpif.PC_PORT_DOWN);
        Host.run("ip", "link", "set", BR, "down");
        Host.run("ip", "link", "set", BR, "up");
        assertTrue("admin_state up", dp.port(BR).adminUp());
        Host.await("carrier on " + BR, () -> "up".equals(dp.port(BR).state()));
        assertEquals("up: one carrier change, as OVS counts it", 1, dp.port(BR).linkResets());
        Host.run("ip", "addr", "add", NET + "254/24", "dev", BR);
        assertTrue("ping of the internal port from " + NS1, Host.ping(NS1, NET + "254", 3));
        assertTrue(dp.port(BR).statistics().get("rx_packets") > 0);
        assertTrue(dp.port(BR).statistics().get("tx_packets") > 0);
        Host.await("open ports hold no buffer between polls", () -> dp.pool().inUse() == 0);
    }

    @Test
    public void tapPortOnAnExistingTapDevice() throws Exception {
        String tap = "pvt" + TAG;
        Host.run("ip", "tuntap", "add", "dev", tap, "mode", "tap");
        try {
            dp.addPort(BR, tap, "tap", Map.of(), -1);
            assertTrue("tap brought up", isUp(tap));
            Host.run("ip", "addr", "add", NET + "253/24", "dev", tap);
            assertTrue("ping of a tap port from " + NS2, Host.ping(NS2, NET + "253", 2));
            dp.delPort(tap);
        } finally {
            Host.delLink(tap);
        }
    }

    /** IFF_UP, as {@code ip link} shows UP (operstate follows it asynchronously). */
    private static boolean isUp(String dev) {
        return (Integer.decode(Host.run("cat", "/sys/class/net/" + dev + "/flags").trim()) & 1) != 0;
    }

    /** A TCP stream of {@code bytes} from {@code from} to {@code addr} in {@code to}: bytes and CRC must match. */
    private static void tcp(String from, String to, String addr, long bytes) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("java.class.path");
        Process server = new ProcessBuilder("ip", "netns", "exec", to, java, "-cp", cp, TcpPeer.class.getName(),
                "server", "5001").redirectErrorStream(true).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(server.getInputStream(),
                StandardCharsets.UTF_8))) {
            assertEquals("listening", r.readLine());
            String sent = Host.inNs(from, java, "-cp", cp, TcpPeer.class.getName(), "client", addr, "5001",
                    Long.toString(bytes)).trim();
            String got = r.readLine();
            assertTrue(server.waitFor(60, TimeUnit.SECONDS));
            assertEquals("bytes and CRC32 received", sent, got);
            assertTrue(sent, sent.startsWith(bytes + " "));
        } finally {
            server.destroyForcibly();
        }
    }
}
