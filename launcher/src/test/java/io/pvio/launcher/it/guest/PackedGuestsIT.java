package io.pvio.launcher.it.guest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.pvio.launcher.it.guest.GuestVm.Role;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runners.MethodSorters;

/**
 * Two Linux guests whose virtio-net devices use packed virtqueues (QEMU {@code packed=on}, Linux's
 * virtio_ring packed code as the driver), one on a {@code dpdkvhostuser} and one on a
 * {@code dpdkvhostuserclient} port of one bridge: RING_PACKED is negotiated on both, they ping each other
 * both ways (also 9000-byte frames) and a TCP stream arrives intact each way; afterwards every packet
 * buffer is back in the pool and nothing was logged as an error.
 */
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class PackedGuestsIT {
    private static final Pattern PING = Pattern.compile("(\\d+) packets transmitted, (\\d+) packets received");
    private static final String VM1_IP = "10.34.0.1";
    private static final String VM2_IP = "10.34.0.2";
    private static final String BR = "brpk0";
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
        Path dir = Files.createTempDirectory(Files.createDirectories(target.resolve("it")), "packed-guests-");
        pvio = new PvioDaemon(dir.resolve("run"));
        pvio.start();
        noBridge = pvio.buffersInUse();
        pvio.ok("vsctl", "add-br", BR);
        baseline = pvio.buffersInUse();
        pvio.ok("vsctl", "add-port", BR, "vhpk0", "--", "set", "Interface", "vhpk0", "type=dpdkvhostuser");
        Path vm2Sock = dir.resolve("vm2.sock");
        pvio.ok("vsctl", "add-port", BR, "vhpk1", "--", "set", "Interface", "vhpk1", "type=dpdkvhostuserclient",
                "options:vhost-server-path=" + vm2Sock);
        vm1 = new GuestVm("pk1", image, dir, Role.CLIENT, pvio.runDir().resolve("vhpk0"), "52:54:00:34:00:01",
                VM1_IP + "/24").withArgs("-global", "virtio-net-pci.packed=on");
        vm2 = new GuestVm("pk2", image, dir, Role.SERVER, vm2Sock, "52:54:00:34:00:02", VM2_IP + "/24")
                .withArgs("-global", "virtio-net-pci.packed=on");
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
    }

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
    public void a_packedRingsNegotiatedAndGuestsPingBothWays() throws Exception {
        pingBothWays(20, 56);
        for (String port : new String[] {"vhpk0", "vhpk1"}) {
            String show = pvio.ok("appctl", "netdev-vhost/show", port);
            assertTrue(show, show.contains("RING_PACKED") && show.contains("packed, last_avail"));
        }
        // the guests' own view: Linux lists the negotiated feature bits (bit 34 is RING_PACKED)
        for (GuestVm vm : new GuestVm[] {vm1, vm2}) {
            String bits = vm.ok("cat /sys/class/net/eth0/device/features").strip();
            assertTrue(vm.name() + ": " + bits, bits.length() > 34 && bits.charAt(34) == '1');
        }
    }

    @Test
    public void b_jumboFramesAtMtu9000() throws Exception {
        try {
            vm1.ok("ip link set eth0 mtu 9000");
            vm2.ok("ip link set eth0 mtu 9000");
            pingBothWays(5, 8972);
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

    @Test
    public void z_portsClosedNothingLeaks() throws Exception {
        vm1.stop();
        vm2.stop();
        pvio.ok("vsctl", "del-port", BR, "vhpk0");
        pvio.ok("vsctl", "del-port", BR, "vhpk1");
        awaitBuffersInUse(baseline);
        pvio.ok("vsctl", "del-br", BR);
        awaitBuffersInUse(noBridge);
        String log = pvio.log();
        assertFalse(log, log.contains("|ERR|"));
    }
}
