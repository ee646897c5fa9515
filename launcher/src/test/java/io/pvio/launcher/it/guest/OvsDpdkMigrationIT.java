package io.pvio.launcher.it.guest;

import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Assume;
import org.junit.Test;

/**
 * The control of {@link VhostMigrationIT}: the same migration ({@link MigrationScenario}) with OVS-DPDK
 * (Debian's openvswitch-switch-dpdk, DPDK's vhost library, run by hand in a private directory without
 * hugepages) as the switch, to tell pvio's faults from QEMU's. Runs only with {@code -Dpvio.it.ovs.control=true}
 * and when OVS-DPDK is installed.
 */
public class OvsDpdkMigrationIT {
    private static final String OVS_VSWITCHD = "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk";
    private static final String SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema";

    private final List<AutoCloseable> closing = new ArrayList<>();
    private final List<Process> procs = new ArrayList<>();
    private Path run;

    @After
    public void stopAll() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
        for (int i = procs.size() - 1; i >= 0; i--) {
            Process p = procs.get(i);
            p.destroy();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    private String ovs(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("ovs-vsctl", "--db=unix:" + run.resolve("db.sock"), "--timeout=120"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(180, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", cmd) + ": " + out);
        }
        return out;
    }

    private Process start(Path log, String... cmd) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put("OVS_RUNDIR", run.toString());
        pb.environment().put("OVS_DBDIR", run.toString());
        pb.environment().put("OVS_LOGDIR", run.toString());
        Process p = pb.start();
        procs.add(p);
        return p;
    }

    private static void await(String what, long ms, Callable<Boolean> cond) throws Exception {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        while (!cond.call()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(200);
        }
    }

    /** The guest migrates between two dpdkvhostuser ports of OVS-DPDK while pinging and receiving a stream. */
    @Test
    public void guestMigratesOnOvsDpdk() throws Exception {
        Assume.assumeTrue("a control run: -Dpvio.it.ovs.control=true", Boolean.getBoolean("pvio.it.ovs.control"));
        Assume.assumeTrue("OVS-DPDK not installed (openvswitch-switch-dpdk)", Files.isExecutable(Path.of(OVS_VSWITCHD)));
        Path target = Path.of(System.getProperty("pvio.it.dir", "target/it")).toAbsolutePath().getParent();
        GuestImage image = GuestImage.get(target);
        Path dir = Files.createTempDirectory(Files.createDirectories(target.resolve("it")), "ovs-migration-");
        run = dir.resolve("run");
        Files.createDirectories(run);
        Process tool = new ProcessBuilder("ovsdb-tool", "create", run.resolve("conf.db").toString(), SCHEMA)
                .inheritIO().start();
        assertTrue(tool.waitFor(60, TimeUnit.SECONDS) && tool.exitValue() == 0);
        start(run.resolve("ovsdb-server.out"), "ovsdb-server", run.resolve("conf.db").toString(),
                "--remote=punix:" + run.resolve("db.sock"), "--pidfile=" + run.resolve("ovsdb-server.pid"),
                "--unixctl=" + run.resolve("ovsdb-server.ctl"), "--log-file=" + run.resolve("ovsdb-server.log"));
        await("ovsdb-server", 30_000, () -> Files.exists(run.resolve("db.sock")));
        String prefix = "pvio-ovsmig-" + ProcessHandle.current().pid();
        ovs("--no-wait", "init", "--", "set", "Open_vSwitch", ".", "other_config:dpdk-init=true",
                "other_config:dpdk-extra=--no-huge -m 2048 --no-pci --legacy-mem --no-telemetry --file-prefix=" + prefix,
                "other_config:pmd-maxsleep=50");
        Process vswitchd = start(run.resolve("ovs-vswitchd.out"), OVS_VSWITCHD, "unix:" + run.resolve("db.sock"),
                "--pidfile=" + run.resolve("ovs-vswitchd.pid"), "--unixctl=" + run.resolve("ovs-vswitchd.ctl"),
                "--log-file=" + run.resolve("ovs-vswitchd.log"));
        await("ovs-vswitchd with DPDK", 120_000, () -> {
            assertTrue("ovs-vswitchd exited, see " + run.resolve("ovs-vswitchd.log"), vswitchd.isAlive());
            return ovs("get", "Open_vSwitch", ".", "dpdk_initialized").strip().equals("true");
        });
        ovs("add-br", "brovsmig", "--", "set", "Bridge", "brovsmig", "datapath_type=netdev");
        for (String port : new String[] {"migsrc", "migdst", "migpeer"}) {
            ovs("add-port", "brovsmig", port, "--", "set", "Interface", port, "type=dpdkvhostuser");
        }
        await("OVS's vhost-user sockets", 60_000, () -> Files.exists(run.resolve("migsrc"))
                && Files.exists(run.resolve("migdst")) && Files.exists(run.resolve("migpeer")));
        MigrationScenario.run(dir, image, run.resolve("migsrc"), run.resolve("migdst"), run.resolve("migpeer"),
                closing, "ovs-dpdk", MigrationScenario.THROTTLED, true, new String[0],
                () -> "", () -> false);
    }
}
