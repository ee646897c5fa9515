package io.pvio.launcher.it.guest;

import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
 * <p>Two speeds: at loopback speed (one pass, about a second) and throttled to 32 MiB/s (several passes, about
 * 3 s, the stream and the pings dirtying pages meanwhile). Throttled, the destination starts paused and must
 * hold exactly the source's memory at the switch-over, page for page ({@link MigrationScenario}): a page pvio
 * wrote and did not mark would differ. The migrating guest has 256 MiB + 8 KiB of RAM to dodge a QEMU 7.2
 * TCG bug that loses the guest's own stores in multi-pass migrations ({@link MigrationScenario#GUEST_RAM_K});
 * {@link OvsDpdkMigrationIT} is the same migration on OVS-DPDK, the control.
 */
public class VhostMigrationIT {
    private static final Logger LOG = Logger.getLogger("vhost_migration_it");
    private final List<AutoCloseable> closing = new ArrayList<>();

    @After
    public void closeAll() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    /** The guest pings and receives a TCP stream through the migration; pvio copies on the CPU. */
    @Test
    public void guestMigratesToAnotherPortWhilePinging() throws Exception {
        migrate(false, MigrationScenario.FAST, false, NONE);
    }

    /**
     * The same with every copy into the guest handed to a DMA channel (the IOAT model, threshold 0): copies
     * in flight when QEMU stops the source are completed and logged before GET_VRING_BASE answers.
     */
    @Test
    public void guestMigratesWithAsyncCopiesInFlight() throws Exception {
        migrate(true, MigrationScenario.FAST, false, NONE);
    }

    /**
     * Throttled to several passes (about 3 s) while the stream and the pings dirty pages: at the switch-over
     * the destination (started paused) holds exactly the source's memory, page for page.
     */
    @Test
    public void guestMigratesInSeveralPassesWithTraffic() throws Exception {
        migrate(false, MigrationScenario.THROTTLED, true, NONE);
    }

    /** The same with the receive queue's copies on a DMA channel. */
    @Test
    public void guestMigratesInSeveralPassesWithAsyncCopies() throws Exception {
        migrate(true, MigrationScenario.THROTTLED, true, NONE);
    }

    /** The same on packed virtqueues (VIRTIO_F_RING_PACKED), CPU copies. */
    @Test
    public void guestMigratesInSeveralPassesOnPackedRings() throws Exception {
        migrate(false, MigrationScenario.THROTTLED, true, new String[] {"-global", "virtio-net-pci.packed=on"});
    }

    private static final String[] NONE = {};

    private void migrate(boolean async, long bandwidth, boolean compare, String[] qemuArgs) throws Exception {
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
        MigrationScenario run = MigrationScenario.run(dir, image, pvio.runDir().resolve("migsrc"),
                pvio.runDir().resolve("migdst"), pvio.runDir().resolve("migpeer"), closing,
                (async ? "async" : "cpu") + (qemuArgs.length > 0 ? " packed" : ""), bandwidth, compare, qemuArgs,
                () -> pvio.ok("appctl", "netdev-vhost/show", "migsrc") + pvio.ok("appctl", "netdev-vhost/show", "migdst"),
                () -> pvio.log().contains("GET_VRING_BASE completes and logs"));
        GuestVm peer = run.peer();
        int droppedBefore = run.peerDroppedBefore();
        LOG.info(pvio.ok("appctl", "netdev-vhost/show", "migsrc"));

        // the announce: pvio injected a RARP for the guest's MAC, flooded to the other guest
        String show = pvio.ok("appctl", "netdev-vhost/show", "migdst");
        assertTrue(show, show.contains("RARPs injected: "));
        int droppedAfter = Integer.parseInt(peer.ok("cat /sys/class/net/eth0/statistics/rx_dropped").strip());
        assertTrue("RARP frames (no protocol handler: rx_dropped) reached the other guest: " + droppedBefore
                + " -> " + droppedAfter, droppedAfter > droppedBefore);
        String fdb = pvio.ok("appctl", "fdb/show", "brmig");
        String dstPort = pvio.ok("vsctl", "get", "Interface", "migdst", "ofport").strip();
        assertTrue("the guest's MAC is learnt on its new port " + dstPort + ":\n" + fdb,
                Pattern.compile("(?m)^\\s*" + dstPort + "\\s+\\S+\\s+" + MigrationScenario.SRC_MAC).matcher(fdb).find());
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
}
