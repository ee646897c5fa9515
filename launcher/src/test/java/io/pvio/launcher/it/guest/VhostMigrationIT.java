package io.pvio.launcher.it.guest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pvio.launcher.it.guest.GuestVm.Role;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.After;
import org.junit.Test;

/**
 * Live migration of a Linux guest between two vhost-user ports of one pvio bridge, with real QEMU (TCG): the
 * guest pings a second guest while QEMU migrates it over loopback to a new QEMU on another pvio port (same
 * MAC). QEMU migrates only because pvio offers VHOST_F_LOG_ALL and LOG_SHMFD and marks its writes in the
 * dirty log; the ping goes on afterwards with no reply lost beyond the switch-over; the guests have
 * {@code guest_announce=off}, so QEMU asks pvio (SEND_RARP) to announce the guest's new place, and the RARP
 * broadcast reaches the other guest.
 *
 * <p>The migration runs at loopback speed (about a second, traffic dirtying pages meanwhile).
 * {@code -Dpvio.it.migration.bandwidth=33554432} throttles it to several passes (about 3 s): under TCG the
 * destination guest then often hangs or oopses (3 of 4 runs with traffic; 1 of 3 with no traffic but the
 * other guest's broadcasts). Not understood yet (issue 19): the same guest migrated fine that way without
 * vhost-user (5 of 5) and idle on DPDK's vhost back end (3 of 3); re-marking at GET_VRING_BASE every page
 * pvio had marked did not help (1 run), marking all guest memory there did (3 of 3), so some page arrives
 * stale that pvio's log did not name: a write pvio does not mark, or QEMU's TCG dirty tracking next to a
 * vhost log.
 */
public class VhostMigrationIT {
    private static final Logger LOG = Logger.getLogger("vhost_migration_it");
    private static final String SRC_MAC = "52:54:00:19:00:01";
    private static final String SRC_IP = "10.19.0.1";
    private static final String PEER_IP = "10.19.0.2";
    private static final Pattern STATUS = Pattern.compile("\"status\":\\s*\"([a-z-]+)\"");
    private static final Pattern NUMBER_AFTER = Pattern.compile("\"(downtime|total-time|transferred)\":\\s*(\\d+)");
    private static final Pattern REPLY = Pattern.compile("seq=(\\d+) ttl=");
    private static final Pattern SUMMARY = Pattern.compile("(\\d+) packets transmitted, (\\d+) packets received");
    /** Replies allowed to go missing at the switch-over: requests in flight when the source stopped. */
    private static final int SWITCH_OVER_LOSS = 5;
    private static final long WAIT_MS = 180_000;
    private static final int STREAM_KIB = 8192;

    private final List<AutoCloseable> closing = new ArrayList<>();

    @After
    public void closeAll() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Waits until {@code vm}'s {@code command} prints an integer at least {@code min}; returns it. */
    private static int awaitCount(GuestVm vm, String command, int min) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        for (;;) {
            int n = Integer.parseInt(vm.ok(command).strip());
            if (n >= min) {
                return n;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(vm.name() + ": `" + command + "` still " + n + " (want " + min + ")");
            }
            Thread.sleep(500);
        }
    }

    /** The guest pings and receives a TCP stream through the migration; pvio copies on the CPU. */
    @Test
    public void guestMigratesToAnotherPortWhilePinging() throws Exception {
        migrate(false);
    }

    /**
     * The same with every copy into the guest handed to a DMA channel (the IOAT model, threshold 0): copies
     * in flight when QEMU stops the source are completed and logged before GET_VRING_BASE answers.
     */
    @Test
    public void guestMigratesWithAsyncCopiesInFlight() throws Exception {
        migrate(true);
    }

    private void migrate(boolean async) throws Exception {
        Path target = Path.of(System.getProperty("pvio.it.dir", "target/it")).toAbsolutePath().getParent();
        GuestImage image = GuestImage.get(target);
        Path dir = Files.createTempDirectory(Files.createDirectories(target.resolve("it")), "migration-");
        PvioDaemon pvio = new PvioDaemon(dir.resolve("run"));
        closing.add(pvio);
        pvio.start();
        pvio.ok("appctl", "vlog/set", "dpdk:dbg"); // every vhost-user message in vswitchd.log
        if (async) {
            pvio.ok("vsctl", "--no-wait", "set", "Open_vSwitch", ".", "other_config:vhost-async-copy-support=true");
        }
        pvio.ok("vsctl", "add-br", "brmig");
        for (String port : new String[] {"migsrc", "migdst", "migpeer"}) {
            pvio.ok("vsctl", "add-port", "brmig", port, "--", "set", "Interface", port, "type=dpdkvhostuser");
        }
        if (async) {
            pvio.ok("vsctl", "set", "Interface", "migsrc", "options:vhost-async-attr=(txq0,00:04.0,0)");
            pvio.ok("vsctl", "set", "Interface", "migdst", "options:vhost-async-attr=(txq0,00:04.1,0)");
        }
        // without GUEST_ANNOUNCE the guest does not announce itself: QEMU sends SEND_RARP to the back end
        String[] noAnnounce = {"-global", "virtio-net-pci.guest_announce=off"};
        Path srcQmp = dir.resolve("src.qmp");
        Path dstQmp = dir.resolve("dst.qmp");
        GuestVm src = new GuestVm("mig-src", image, dir, Role.CLIENT, pvio.runDir().resolve("migsrc"), SRC_MAC,
                SRC_IP + "/24").withArgs(noAnnounce).withArgs("-qmp", "unix:" + srcQmp + ",server=on,wait=off");
        GuestVm peer = new GuestVm("mig-peer", image, dir, Role.CLIENT, pvio.runDir().resolve("migpeer"),
                "52:54:00:19:00:02", PEER_IP + "/24").withArgs(noAnnounce);
        closing.add(src);
        closing.add(peer);
        src.start();
        peer.start();
        src.awaitBoot();
        peer.awaitBoot();
        assertTrue(src.ok("ping -c 3 -i 0.2 -W 5 " + PEER_IP), src.ok("ping -c 3 -i 0.2 -W 5 " + PEER_IP)
                .contains("3 packets received"));
        // frames of a protocol the kernel has no handler for (RARP) are counted as rx_dropped
        int droppedBefore = Integer.parseInt(peer.ok("cat /sys/class/net/eth0/statistics/rx_dropped").strip());

        // a TCP stream into the migrating guest: pvio writes into its memory while QEMU copies it
        String listener = src.ok("sleep 600 | nc -l -p 5001 >/tmp/rx 2>/dev/null & echo $!").strip();
        peer.ok("dd if=/dev/urandom of=/tmp/tx bs=1024 count=" + STREAM_KIB + " 2>/dev/null");
        String md5 = peer.ok("md5sum </tmp/tx").strip();

        // the guest pings on through the migration; its shell (and this background job) move with it
        String pid = src.ok("ping -i 0.2 -W 2 " + PEER_IP + " >/tmp/ping.log 2>&1 & echo $!").strip();
        awaitCount(src, "grep -c 'bytes from' /tmp/ping.log; true", 5);

        int port = freePort();
        GuestVm dst = new GuestVm("mig-dst", image, dir, Role.CLIENT, pvio.runDir().resolve("migdst"), SRC_MAC,
                null).withArgs(noAnnounce).withArgs("-qmp", "unix:" + dstQmp + ",server=on,wait=off",
                "-incoming", "tcp:127.0.0.1:" + port);
        closing.add(dst);
        dst.start();
        String done;
        try (Qmp sq = Qmp.connect(srcQmp, WAIT_MS); Qmp dq = Qmp.connect(dstQmp, WAIT_MS)) {
            assertTrue(dq.execute("{\"execute\":\"query-status\"}"),
                    dq.execute("{\"execute\":\"query-status\"}").contains("inmigrate"));
            // about a second at loopback speed; see the class comment for slower (multi-pass) migrations
            sq.execute("{\"execute\":\"migrate-set-parameters\",\"arguments\":{\"max-bandwidth\":"
                    + Long.getLong("pvio.it.migration.bandwidth", 1L << 30) + "}}");
            peer.ok("nc " + SRC_IP + " 5001 </tmp/tx >/dev/null 2>&1 &");
            sq.execute("{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"tcp:127.0.0.1:" + port + "\"}}");
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
            String status;
            for (;;) {
                done = sq.execute("{\"execute\":\"query-migrate\"}");
                Matcher m = STATUS.matcher(done);
                status = m.find() ? m.group(1) : "?";
                if (!status.equals("setup") && !status.equals("active") && !status.equals("device")
                        && !status.equals("pre-switchover") && !status.startsWith("wait")) {
                    break;
                }
                assertTrue("migration still " + status + " after " + WAIT_MS + " ms: " + done,
                        System.nanoTime() < deadline);
                Thread.sleep(200);
            }
            assertEquals("QEMU's migration status: " + done, "completed", status);
            String running = dq.execute("{\"execute\":\"query-status\"}");
            for (int i = 0; i < 300 && !running.contains("\"running\""); i++) {
                Thread.sleep(100);
                running = dq.execute("{\"execute\":\"query-status\"}");
            }
            assertTrue("the destination runs: " + running, running.contains("\"status\": \"running\""));
            assertTrue(sq.execute("{\"execute\":\"query-status\"}").contains("postmigrate"));
        }
        LOG.info("migration: " + done);
        String srcShow = pvio.ok("appctl", "netdev-vhost/show", "migsrc");
        LOG.info(srcShow);

        // on the destination port now: let it ping 20 more times, then stop the ping and read its log
        int before = Integer.parseInt(dst.ok("grep -c 'bytes from' /tmp/ping.log; true").strip());
        try {
            awaitCount(dst, "grep -c 'bytes from' /tmp/ping.log; true", before + 20);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n" + srcShow + pvio.ok("appctl", "netdev-vhost/show", "migdst")
                    + dst.tail(), e);
        }
        dst.ok("kill -INT " + pid + "; wait " + pid + " 2>/dev/null; true");
        String pings = dst.ok("cat /tmp/ping.log");
        src.kill9(); // the source QEMU stays paused after a migration, as with libvirt until it is told
        dst.ok("while [ -e /proc/" + listener + " ]; do sleep 0.2; done");
        assertEquals("the stream arrived whole", String.valueOf(STREAM_KIB * 1024), dst.ok("wc -c </tmp/rx").strip());
        assertEquals("the stream arrived intact", md5, dst.ok("md5sum </tmp/rx").strip());
        // a page pvio wrote and did not log would reach the guest stale: a TCP checksum error
        String csumErrors = dst.ok("awk '/^Tcp: [0-9]/ {print $NF}' /proc/net/snmp").strip();
        assertEquals("TCP segments with bad checksums in the migrated guest", "0", csumErrors);

        Matcher sum = SUMMARY.matcher(pings);
        assertTrue(pings, sum.find());
        int sent = Integer.parseInt(sum.group(1));
        TreeSet<Integer> replied = new TreeSet<>();
        for (Matcher m = REPLY.matcher(pings); m.find();) {
            replied.add(Integer.parseInt(m.group(1)));
        }
        List<Integer> lost = new ArrayList<>();
        for (int s = 0; s < sent; s++) {
            if (!replied.contains(s)) {
                lost.add(s);
            }
        }
        // allow the last request, sent as the ping was interrupted, to have no reply yet
        if (!lost.isEmpty() && lost.get(lost.size() - 1) == sent - 1) {
            lost.remove(lost.size() - 1);
        }
        // whether copies were in flight at the instant QEMU stopped the source is timing; recorded, not asserted
        boolean inFlightAtStop = pvio.log().contains("GET_VRING_BASE completes and logs");
        String figures = String.format("%s: pings sent %d, replies %d, lost %s; %s; copies in flight at"
                + " GET_VRING_BASE: %s", async ? "async" : "cpu", sent, replied.size(), lost, numbers(done),
                inFlightAtStop);
        LOG.info(figures);
        Files.writeString(dir.resolve("migration-figures.txt"), figures + "\n");
        assertTrue("lost replies form one run (the switch-over): " + figures,
                lost.isEmpty() || lost.get(lost.size() - 1) - lost.get(0) == lost.size() - 1);
        assertTrue("at most " + SWITCH_OVER_LOSS + " replies lost: " + figures, lost.size() <= SWITCH_OVER_LOSS);
        assertTrue("pings after the migration were answered: " + figures, replied.last() > before);

        // the announce: pvio injected a RARP for the guest's MAC, flooded to the other guest
        String show = pvio.ok("appctl", "netdev-vhost/show", "migdst");
        assertTrue(show, show.contains("RARPs injected: "));
        int droppedAfter = Integer.parseInt(peer.ok("cat /sys/class/net/eth0/statistics/rx_dropped").strip());
        assertTrue("RARP frames (no protocol handler: rx_dropped) reached the other guest: " + droppedBefore
                + " -> " + droppedAfter, droppedAfter > droppedBefore);
        String fdb = pvio.ok("appctl", "fdb/show", "brmig");
        String dstPort = pvio.ok("vsctl", "get", "Interface", "migdst", "ofport").strip();
        assertTrue("the guest's MAC is learnt on its new port " + dstPort + ":\n" + fdb,
                Pattern.compile("(?m)^\\s*" + dstPort + "\\s+\\S+\\s+" + SRC_MAC).matcher(fdb).find());
        String log = pvio.log();
        assertTrue("the source port mapped QEMU's dirty log", log.contains("(migsrc) log mmap size"));
        // a used ring pvio wrote and did not log would reach the destination stale
        assertTrue("used->idx as the source left it:\n" + log, !log.contains("mismatch"));
        if (async) {
            String stats = pvio.ok("vsctl", "list", "Interface", "migsrc");
            Matcher m = Pattern.compile("tx_q0_async_dma_copies=(\\d+)").matcher(stats);
            assertTrue(stats, m.find());
            assertTrue("copies into the source guest went through the DMA channel: " + stats,
                    Long.parseLong(m.group(1)) > 0);
        }
    }

    private static String numbers(String queryMigrate) {
        StringBuilder sb = new StringBuilder("QEMU:");
        for (Matcher m = NUMBER_AFTER.matcher(queryMigrate); m.find();) {
            sb.append(' ').append(m.group(1)).append(' ').append(m.group(2));
        }
        return sb.toString();
    }
}
