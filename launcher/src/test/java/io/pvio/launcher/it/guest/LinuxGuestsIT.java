package io.pvio.launcher.it.guest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.pvio.launcher.it.guest.GuestVm.Role;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runners.MethodSorters;

/**
 * Two real Linux guests (QEMU, Debian's kernel, Linux's virtio-net driver) on one pvio daemon's br0: vm1 on a
 * {@code dpdkvhostuser} port (QEMU is the socket's client), vm2 on a {@code dpdkvhostuserclient} port (QEMU
 * listens). The daemon and the booted guests are shared by the test cases, which run in name order; the
 * last one closes the ports and checks that no packet buffer leaked.
 */
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class LinuxGuestsIT {
    private static final Pattern PING = Pattern.compile("(\\d+) packets transmitted, (\\d+) packets received");
    private static final Pattern CONNECTIONS = Pattern.compile("connections (\\d+)");
    private static final String VM1_IP = "10.17.0.1";
    private static final String VM2_IP = "10.17.0.2";
    private static final String NS_IP = "10.17.0.100";
    private static final String NS = "pvio-g17";
    private static final long WAIT_MS = 120_000;

    private static PvioDaemon pvio;
    private static GuestVm vm1;
    private static GuestVm vm2;
    private static int noBridge;
    private static int baseline;

    @BeforeClass
    public static void bootGuests() throws Exception {
        Path target = Path.of(System.getProperty("pvio.it.dir", "target/it")).toAbsolutePath().getParent();
        GuestImage image = GuestImage.get(target);
        Path dir = Files.createTempDirectory(Files.createDirectories(target.resolve("it")), "guests-");
        pvio = new PvioDaemon(dir.resolve("run"));
        pvio.start();
        noBridge = pvio.buffersInUse();
        pvio.ok("vsctl", "add-br", "br0");
        // the bridge's local port may hold a buffer of its own (an internal port's receive buffer)
        baseline = pvio.buffersInUse();
        pvio.ok("vsctl", "add-port", "br0", "vhu0", "--", "set", "Interface", "vhu0", "type=dpdkvhostuser");
        Path vm2Sock = dir.resolve("vm2.sock");
        pvio.ok("vsctl", "add-port", "br0", "vhc0", "--", "set", "Interface", "vhc0", "type=dpdkvhostuserclient",
                "options:vhost-server-path=" + vm2Sock);
        vm1 = new GuestVm("vm1", image, dir, Role.CLIENT, pvio.runDir().resolve("vhu0"), "52:54:00:17:00:01",
                VM1_IP + "/24");
        vm2 = new GuestVm("vm2", image, dir, Role.SERVER, vm2Sock, "52:54:00:17:00:02", VM2_IP + "/24");
        vm1.start();
        vm2.start();
        vm1.awaitBoot();
        vm2.awaitBoot();
    }

    @AfterClass
    public static void shutDown() throws Exception {
        for (GuestVm vm : new GuestVm[] {vm1, vm2}) {
            if (vm != null) {
                vm.close();
            }
        }
        if (pvio != null) {
            pvio.close();
        }
        deleteNamespace();
    }

    /** A guest a failed test case left dead is booted again, so that one failure does not fail the rest. */
    @Before
    public void guestsRunning() throws Exception {
        for (GuestVm vm : new GuestVm[] {vm1, vm2}) {
            if (!vm.isAlive()) {
                vm.boot();
            }
        }
    }

    /** Pings {@code count} times from {@code vm}; returns the replies received. */
    private static int ping(GuestVm vm, String to, int count, int size) throws Exception {
        GuestVm.Result r = vm.run("ping -c " + count + " -i 0.2 -W 5 -s " + size + " " + to);
        Matcher m = PING.matcher(r.output());
        assertTrue(vm.name() + ": " + r.output(), m.find());
        assertEquals(r.output(), count, Integer.parseInt(m.group(1)));
        return Integer.parseInt(m.group(2));
    }

    private static void pingBothWays(int count, int size) throws Exception {
        assertEquals("replies vm1 -> vm2", count, ping(vm1, VM2_IP, count, size));
        assertEquals("replies vm2 -> vm1", count, ping(vm2, VM1_IP, count, size));
    }

    private static String show(String port) throws Exception {
        return pvio.ok("appctl", "netdev-vhost/show", port);
    }

    /** How many vhost-user connections the port has had. */
    private static int connections(String port) throws Exception {
        String show = show(port);
        Matcher m = CONNECTIONS.matcher(show);
        assertTrue(show, m.find());
        return Integer.parseInt(m.group(1));
    }

    private static void awaitShow(String port, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        String last;
        while (!(last = show(port)).contains(text)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no \"" + text + "\" in netdev-vhost/show " + port + ":\n" + last);
            }
            Thread.sleep(200);
        }
    }

    private static void awaitBuffersInUse(int expected) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        int last;
        while ((last = pvio.buffersInUse()) != expected) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("buffers in use: " + last + ", expected " + expected);
            }
            Thread.sleep(200);
        }
    }

    /** A TCP stream of {@code kib} KiB of random bytes from {@code from} to {@code to} arrives intact. */
    private static void tcpStream(GuestVm from, GuestVm to, String toIp, int kib) throws Exception {
        to.ok("rm -f /tmp/rx");
        // busybox nc exits at the first EOF on either side: the receiver's stdin must stay open
        String pid = to.ok("sleep 600 | nc -l -p 5001 >/tmp/rx 2>/dev/null & echo $!").strip();
        from.ok("dd if=/dev/urandom of=/tmp/tx bs=1024 count=" + kib + " 2>/dev/null");
        String sent = from.ok("md5sum </tmp/tx").strip();
        from.ok("nc " + toIp + " 5001 </tmp/tx");
        to.ok("while [ -e /proc/" + pid + " ]; do sleep 0.2; done");
        assertEquals(String.valueOf(kib * 1024), to.ok("wc -c </tmp/rx").strip());
        assertEquals(sent, to.ok("md5sum </tmp/rx").strip());
    }

    @Test
    public void a_guestsPingEachOtherBothWays() throws Exception {
        pingBothWays(20, 56);
        String ports = pvio.ok("appctl", "fdb/show", "br0");
        assertTrue(ports, ports.contains("52:54:00:17:00:01") && ports.contains("52:54:00:17:00:02"));
    }

    @Test
    public void b_jumboFramesAtMtu9000() throws Exception {
        try {
            vm1.ok("ip link set eth0 mtu 9000");
            vm2.ok("ip link set eth0 mtu 9000");
            // 8972 bytes of ICMP payload: one 9000-byte IP packet each way, no fragments (ReasmReqds + FragCreates)
            pingBothWays(5, 8972);
            assertEquals("0", vm1.ok("awk '/^Ip: [0-9]/ {print $15 + $20}' /proc/net/snmp").strip());
        } finally {
            vm1.ok("ip link set eth0 mtu 1500");
            vm2.ok("ip link set eth0 mtu 1500");
        }
    }

    @Test
    public void c_tcpStreamArrivesIntact() throws Exception {
        tcpStream(vm2, vm1, VM1_IP, 4096);
        tcpStream(vm1, vm2, VM2_IP, 4096);
    }

    /** kill -9 of each QEMU: pvio drops the device, reconnects (vm2) or accepts again (vm1), traffic resumes. */
    @Test
    public void d_kill9AndRestartTrafficResumes() throws Exception {
        for (GuestVm vm : new GuestVm[] {vm1, vm2}) {
            String port = vm == vm1 ? "vhu0" : "vhc0";
            int connections = connections(port);
            vm.kill9();
            awaitShow(port, "state: disconnected");
            awaitBuffersInUse(baseline);
            vm.boot();
            pingBothWays(10, 56);
            assertTrue(show(port), show(port).contains("state: connected, running"));
            assertEquals(show(port), connections + 1, connections(port));
        }
        tcpStream(vm2, vm1, VM1_IP, 1024);
    }

    /** A reboot from inside the guest resets the virtio device: the driver starts over on the same rings. */
    @Test
    public void e_guestRebootTrafficAgain() throws Exception {
        int vhu0 = connections("vhu0");
        int vhc0 = connections("vhc0");
        vm1.reboot();
        vm2.reboot();
        pingBothWays(10, 56);
        // the socket stays: a reset is vhost-user messages on the same connection
        assertEquals(show("vhu0"), vhu0, connections("vhu0"));
        assertEquals(show("vhc0"), vhc0, connections("vhc0"));
        tcpStream(vm1, vm2, VM2_IP, 1024);
    }

    /**
     * A guest reaches a network namespace behind a {@code system} port (a veth pair this test creates; its
     * namespace end has {@value #NS_IP}).
     */
    @Test
    public void f_guestPingsNamespaceBehindSystemPort() throws Exception {
        deleteNamespace();
        sh("ip", "netns", "add", NS);
        sh("ip", "link", "add", "pvg17a", "type", "veth", "peer", "name", "pvg17b");
        sh("ip", "link", "set", "pvg17b", "netns", NS);
        sh("ip", "-n", NS, "addr", "add", NS_IP + "/24", "dev", "pvg17b");
        sh("ip", "-n", NS, "link", "set", "pvg17b", "up");
        sh("ip", "link", "set", "pvg17a", "up");
        pvio.ok("vsctl", "add-port", "br0", "pvg17a", "--", "set", "Interface", "pvg17a", "type=system");
        try {
            assertEquals(10, ping(vm1, NS_IP, 10, 56));
            assertEquals(10, ping(vm2, NS_IP, 10, 56));
            // busybox's ping: iputils may be missing on the host, busybox-static is there for the guests
            String fromNs = sh("ip", "netns", "exec", NS, "busybox", "ping", "-c", "10", "-i", "0.2", "-W", "5",
                    VM2_IP);
            assertTrue(fromNs, fromNs.contains("10 packets transmitted, 10 packets received"));
        } finally {
            pvio.ok("vsctl", "del-port", "br0", "pvg17a");
            deleteNamespace();
        }
    }

    /**
     * Guests off, ports and bridge deleted: every packet buffer is back in the pool, nothing was logged as an
     * error.
     */
    @Test
    public void z_portsClosedNothingLeaks() throws Exception {
        vm1.stop();
        vm2.stop();
        pvio.ok("vsctl", "del-port", "br0", "vhu0");
        pvio.ok("vsctl", "del-port", "br0", "vhc0");
        awaitBuffersInUse(baseline);
        pvio.ok("vsctl", "del-br", "br0");
        awaitBuffersInUse(noBridge);
        String log = pvio.log();
        assertFalse(log, log.contains("|ERR|"));
        assertFalse(Files.exists(pvio.runDir().resolve("vhu0")));
    }

    private static void deleteNamespace() throws IOException, InterruptedException {
        if (Files.exists(Path.of("/run/netns", NS))) {
            sh("ip", "netns", "del", NS);
        }
        // deleting the namespace deletes its veth end and, a moment later, the peer: it may be gone by now
        Process p = new ProcessBuilder("ip", "link", "del", "pvg17a").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        p.waitFor(60, TimeUnit.SECONDS);
        if (Files.exists(Path.of("/sys/class/net/pvg17a"))) {
            throw new AssertionError("veth pvg17a could not be deleted");
        }
    }

    private static String sh(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", cmd) + ": " + out);
        }
        return out;
    }
}
