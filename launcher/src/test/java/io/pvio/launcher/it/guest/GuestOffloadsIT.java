package io.pvio.launcher.it.guest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.pvio.launcher.it.guest.GuestVm.Role;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runners.MethodSorters;

/**
 * Guest offloads with real Linux guests (Linux's virtio-net driver, QEMU under TCG), as on OVS-DPDK with
 * {@code other_config:userspace-tso-enable=true}: both guests negotiate CSUM, GUEST_CSUM, HOST_TSO4/6 and
 * GUEST_TSO4/6 and exchange TCP streams in 64 KB segments with partial checksums; then one guest reconnects
 * without offloads, so that pvio segments and checksums in software what the other guest sends it, and that
 * guest's stack verifies every checksum. Each stream's throughput is logged (not asserted: TCG guests on a
 * shared machine); the cases run in name order on the same daemon and guests.
 */
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class GuestOffloadsIT {
    private static final Logger LOG = Logger.getLogger("guest_offloads");
    private static final String VM1_IP = "10.18.0.1";
    private static final String VM2_IP = "10.18.0.2";
    private static final int STREAM_KIB = Integer.getInteger("pvio.guest.stream.kib", 16384);
    /** Bits of /sys/bus/virtio/devices/X/features (one character per bit): CSUM, GUEST_CSUM, GUEST_TSO4/6, HOST_TSO4/6. */
    private static final int[] OFFLOAD_BITS = {0, 1, 7, 8, 11, 12};

    private static PvioDaemon pvio;
    private static GuestVm vm1;
    private static GuestVm vm2;
    private static int baseline;

    @BeforeClass
    public static void bootGuests() throws Exception {
        Path target = Path.of(System.getProperty("pvio.it.dir", "target/it")).toAbsolutePath().getParent();
        GuestImage image = GuestImage.get(target);
        Path dir = Files.createTempDirectory(Files.createDirectories(target.resolve("it")), "offloads-");
        pvio = new PvioDaemon(dir.resolve("run"));
        pvio.start();
        pvio.ok("vsctl", "set", "Open_vSwitch", ".", "other_config:userspace-tso-enable=true");
        pvio.ok("vsctl", "add-br", "br0");
        baseline = pvio.buffersInUse();
        pvio.ok("vsctl", "add-port", "br0", "vhu0", "--", "set", "Interface", "vhu0", "type=dpdkvhostuser");
        Path vm2Sock = dir.resolve("vm2.sock");
        pvio.ok("vsctl", "add-port", "br0", "vhc0", "--", "set", "Interface", "vhc0", "type=dpdkvhostuserclient",
                "options:vhost-server-path=" + vm2Sock);
        vm1 = new GuestVm("vm1", image, dir, Role.CLIENT, pvio.runDir().resolve("vhu0"), "52:54:00:18:00:01",
                VM1_IP + "/24");
        vm2 = new GuestVm("vm2", image, dir, Role.SERVER, vm2Sock, "52:54:00:18:00:02", VM2_IP + "/24");
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

    /** The guest's virtio-net device feature bits as the guest's driver sees them, one character per bit. */
    private static String virtioFeatures(GuestVm vm) throws Exception {
        return vm.ok("cat /sys/bus/virtio/devices/*/features").strip();
    }

    private static boolean hasOffloads(GuestVm vm) throws Exception {
        String f = virtioFeatures(vm);
        for (int b : OFFLOAD_BITS) {
            if (f.length() <= b || f.charAt(b) != '1') {
                return false;
            }
        }
        return true;
    }

    /** Tcp InCsumErrors of the guest's /proc/net/snmp (the stack's count of segments with a bad checksum). */
    private static long tcpCsumErrors(GuestVm vm) throws Exception {
        String snmp = vm.ok("grep '^Tcp:' /proc/net/snmp");
        String[] lines = snmp.strip().split("\n");
        String[] names = lines[0].trim().split("\\s+");
        String[] values = lines[1].trim().split("\\s+");
        for (int i = 0; i < names.length; i++) {
            if (names[i].equals("InCsumErrors")) {
                return Long.parseLong(values[i]);
            }
        }
        throw new AssertionError("no InCsumErrors in " + snmp);
    }

    private static long stat(String iface, String key) throws Exception {
        String s = pvio.ok("vsctl", "get", "Interface", iface, "statistics:" + key).strip();
        return Long.parseLong(s);
    }

    /**
     * Sends {@code kib} KiB of random bytes over TCP from {@code from} to {@code to}; asserts every byte
     * arrived (md5) and returns the transfer's throughput in MB/s (the nc run, timed from the host).
     */
    private static double tcpStream(GuestVm from, GuestVm to, String toIp, int kib) throws Exception {
        to.ok("rm -f /tmp/rx");
        String pid = to.ok("sleep 900 | nc -l -p 5001 >/tmp/rx 2>/dev/null & echo $!").strip();
        from.ok("[ -s /tmp/tx ] && [ $(wc -c </tmp/tx) = " + kib * 1024 + " ] || dd if=/dev/urandom of=/tmp/tx bs=1024 count="
                + kib + " 2>/dev/null");
        String sent = from.ok("md5sum </tmp/tx").strip();
        long t0 = System.nanoTime();
        from.ok("nc " + toIp + " 5001 </tmp/tx");
        to.ok("while [ -e /proc/" + pid + " ]; do sleep 0.1; done");
        long ns = System.nanoTime() - t0;
        assertEquals(String.valueOf(kib * 1024L), to.ok("wc -c </tmp/rx").strip());
        assertEquals(sent, to.ok("md5sum </tmp/rx").strip());
        to.ok("rm -f /tmp/rx");
        return kib * 1024.0 / 1e6 / (ns / 1e9);
    }

    private static String show(String port) throws Exception {
        return pvio.ok("appctl", "netdev-vhost/show", port);
    }

    private static void awaitShow(String port, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        String last;
        while (!(last = show(port)).contains(text)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no \"" + text + "\" in netdev-vhost/show " + port + ":\n" + last);
            }
            Thread.sleep(200);
        }
    }

    private static long softSegments() throws Exception {
        Matcher m = Pattern.compile("software segmentation: (\\d+) packets into (\\d+) segments")
                .matcher(pvio.ok("appctl", "dpif-netdev/pmd-stats-show"));
        long n = 0;
        while (m.find()) {
            n += Long.parseLong(m.group(1));
        }
        return n;
    }

    @Test
    public void a_bothGuestsNegotiateTheOffloads() throws Exception {
        assertTrue(virtioFeatures(vm1), hasOffloads(vm1));
        assertTrue(virtioFeatures(vm2), hasOffloads(vm2));
        for (String port : new String[] {"vhu0", "vhc0"}) {
            String show = show(port);
            for (String f : new String[] {"CSUM", "GUEST_CSUM", "GUEST_TSO4", "GUEST_TSO6", "HOST_TSO4", "HOST_TSO6"}) {
                assertTrue(show, show.contains(" " + f + " ") || show.contains(" " + f + ")")
                        || show.contains("(" + f + " "));
            }
        }
    }

    /** Between two offloading guests: 64 KB segments cross the switch untouched; every byte arrives. */
    @Test
    public void b_tsoStreamsBetweenOffloadingGuests() throws Exception {
        long rxPk = stat("vhu0", "rx_packets");
        long rxBytes = stat("vhu0", "rx_bytes");
        double v21 = tcpStream(vm2, vm1, VM1_IP, STREAM_KIB);
        double v12 = tcpStream(vm1, vm2, VM2_IP, STREAM_KIB);
        long pk = stat("vhu0", "rx_packets") - rxPk;
        long bytes = stat("vhu0", "rx_bytes") - rxBytes;
        LOG.info(String.format(Locale.ROOT, "TSO on both guests: vm2->vm1 %.1f MB/s, vm1->vm2 %.1f MB/s;"
                + " vm1 sent %d packets of %d bytes on average", v21, v12, pk, pk > 0 ? bytes / pk : 0));
        System.out.printf(Locale.ROOT, "OFFLOADS tso-both vm2->vm1 %.1f MB/s vm1->vm2 %.1f MB/s avg-rx-pkt %d%n",
                v21, v12, pk > 0 ? bytes / pk : 0);
        assertTrue("vm1 sent TSO packets larger than a 1500-byte MTU frame: " + bytes + " bytes in " + pk
                + " packets", pk > 0 && bytes / pk > 1514);
        assertEquals("nothing needed software segmentation", 0, softSegments());
        assertEquals(0, tcpCsumErrors(vm1));
        assertEquals(0, tcpCsumErrors(vm2));
    }

    /**
     * vm2 reconnects without offloads: what vm1 sends in 64 KB segments pvio cuts into MSS-sized frames with
     * complete checksums, which vm2's stack verifies (no InCsumErrors); vm2's plain frames reach vm1 as they are.
     */
    @Test
    public void c_softwareSegmentationForAGuestWithoutOffloads() throws Exception {
        pvio.ok("vsctl", "set", "Open_vSwitch", ".", "other_config:userspace-tso-enable=false");
        assertTrue("vm1 keeps what it negotiated until it reconnects", hasOffloads(vm1));
        vm2.kill9();
        awaitShow("vhc0", "state: disconnected");
        vm2.boot();
        awaitShow("vhc0", "state: connected, running");
        assertFalse(virtioFeatures(vm2), hasOffloads(vm2));
        assertTrue(hasOffloads(vm1));
        long before = softSegments();
        double v12 = tcpStream(vm1, vm2, VM2_IP, STREAM_KIB);
        long segmented = softSegments() - before;
        double v21 = tcpStream(vm2, vm1, VM1_IP, STREAM_KIB);
        LOG.info(String.format(Locale.ROOT, "TSO guest -> plain guest %.1f MB/s (%d TSO packets segmented by pvio),"
                + " plain -> TSO guest %.1f MB/s", v12, segmented, v21));
        System.out.printf(Locale.ROOT, "OFFLOADS tso-to-plain %.1f MB/s (segmented %d) plain-to-tso %.1f MB/s%n",
                v12, segmented, v21);
        assertTrue("pvio segmented vm1's TSO packets for vm2", segmented > 0);
        assertEquals("vm2's stack found no bad TCP checksum", 0, tcpCsumErrors(vm2));
        assertEquals(0, tcpCsumErrors(vm1));
        String stats = pvio.ok("appctl", "dpif-netdev/pmd-stats-show");
        assertTrue(stats, stats.contains("offload failures (dropped): 0"));
    }

    /** Neither guest offloads (both reconnected with the option off): the baseline throughput. */
    @Test
    public void d_noOffloadsBaseline() throws Exception {
        vm1.kill9();
        awaitShow("vhu0", "state: disconnected");
        vm1.boot();
        awaitShow("vhu0", "state: connected, running");
        assertFalse(hasOffloads(vm1));
        double v21 = tcpStream(vm2, vm1, VM1_IP, STREAM_KIB);
        double v12 = tcpStream(vm1, vm2, VM2_IP, STREAM_KIB);
        LOG.info(String.format(Locale.ROOT, "no offloads: vm2->vm1 %.1f MB/s, vm1->vm2 %.1f MB/s", v21, v12));
        System.out.printf(Locale.ROOT, "OFFLOADS none vm2->vm1 %.1f MB/s vm1->vm2 %.1f MB/s%n", v21, v12);
        assertEquals(0, tcpCsumErrors(vm1));
        assertEquals(0, tcpCsumErrors(vm2));
    }

    /** Guests off, ports gone: every buffer (segments included) is back in the pool, no error logged. */
    @Test
    public void z_nothingLeaks() throws Exception {
        vm1.stop();
        vm2.stop();
        pvio.ok("vsctl", "del-port", "br0", "vhu0");
        pvio.ok("vsctl", "del-port", "br0", "vhc0");
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (pvio.buffersInUse() != baseline && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertEquals(baseline, pvio.buffersInUse());
        String log = pvio.log();
        assertFalse(log, log.contains("|ERR|"));
        assertFalse(log, log.contains("bad virtio-net header"));
    }
}
