package io.pvio.launcher.it.guest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pvio.launcher.it.guest.GuestVm.Role;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Assume;
import org.junit.Test;

/**
 * The peer of {@link GuestOffloadsIT}: the same two QEMU/Linux guests and TCP streams on OVS-DPDK (Debian's
 * openvswitch-switch-dpdk, run by hand in a private directory, DPDK without hugepages), with
 * {@code userspace-tso-enable} on and off (OVS reads it at start: one ovs-vswitchd per setting). Prints the
 * throughputs for comparison with pvio's; checks only that every byte arrived. Runs only with
 * {@code -Dpvio.bench=true} (a measurement) and when OVS-DPDK is installed. Its PMD may park up to 50 us when idle ({@code pmd-maxsleep}, pvio's default; system property
 * {@code pvio.ovs.pmd.maxsleep}, 0 = OVS's busy polling): the guests' vCPUs share this machine's cores with it.
 */
public class OvsDpdkGuestsIT {
    private static final String OVS_VSWITCHD = "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk";
    private static final String SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema";
    private static final int STREAM_KIB = Integer.getInteger("pvio.guest.stream.kib", 16384);

    private final List<Process> procs = new ArrayList<>();
    private final List<GuestVm> vms = new ArrayList<>();
    private Path run;

    @After
    public void stopAll() throws Exception {
        for (GuestVm vm : vms) {
            vm.close();
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
        return sh(cmd.toArray(new String[0]));
    }

    private static String sh(String... cmd) throws IOException, InterruptedException {
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

    private static void await(String what, long ms, java.util.concurrent.Callable<Boolean> cond) throws Exception {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        while (!cond.call()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(200);
        }
    }

    private double stream(GuestVm from, GuestVm to, String toIp) throws Exception {
        to.ok("rm -f /tmp/rx");
        String pid = to.ok("sleep 900 | nc -l -p 5001 >/tmp/rx 2>/dev/null & echo $!").strip();
        from.ok("[ -s /tmp/tx ] || dd if=/dev/urandom of=/tmp/tx bs=1024 count=" + STREAM_KIB + " 2>/dev/null");
        String sent = from.ok("md5sum </tmp/tx").strip();
        long t0 = System.nanoTime();
        from.ok("nc " + toIp + " 5001 </tmp/tx");
        to.ok("while [ -e /proc/" + pid + " ]; do sleep 0.1; done");
        long ns = System.nanoTime() - t0;
        assertEquals(sent, to.ok("md5sum </tmp/rx").strip());
        to.ok("rm -f /tmp/rx");
        return STREAM_KIB * 1024.0 / 1e6 / (ns / 1e9);
    }

    private void measure(boolean tso) throws Exception {
        Assume.assumeTrue("a measurement: run with -Dpvio.bench=true", Boolean.getBoolean("pvio.bench"));
        Assume.assumeTrue("OVS-DPDK not installed (openvswitch-switch-dpdk)", Files.isExecutable(Path.of(OVS_VSWITCHD)));
        Path target = Path.of(System.getProperty("pvio.it.dir", "target/it")).toAbsolutePath().getParent();
        GuestImage image = GuestImage.get(target);
        Path dir = Files.createTempDirectory(Files.createDirectories(target.resolve("it")), "ovs-guests-");
        run = dir.resolve("run");
        Files.createDirectories(run);
        sh("ovsdb-tool", "create", run.resolve("conf.db").toString(), SCHEMA);
        start(run.resolve("ovsdb-server.out"), "ovsdb-server", run.resolve("conf.db").toString(),
                "--remote=punix:" + run.resolve("db.sock"), "--pidfile=" + run.resolve("ovsdb-server.pid"),
                "--unixctl=" + run.resolve("ovsdb-server.ctl"), "--log-file=" + run.resolve("ovsdb-server.log"));
        await("ovsdb-server", 30_000, () -> Files.exists(run.resolve("db.sock")));
        String prefix = "pvio-ovsg-" + ProcessHandle.current().pid();
        ovs("--no-wait", "init", "--", "set", "Open_vSwitch", ".", "other_config:dpdk-init=true",
                "other_config:dpdk-extra=--no-huge -m 2048 --no-pci --legacy-mem --no-telemetry --file-prefix=" + prefix,
                "other_config:userspace-tso-enable=" + tso,
                // idle PMD parks up to 50 us, as pvio's default pmd-sleep-max (OVS 3.1's name for it)
                "other_config:pmd-maxsleep=" + Integer.getInteger("pvio.ovs.pmd.maxsleep", 50));
        Process vswitchd = start(run.resolve("ovs-vswitchd.out"), OVS_VSWITCHD, "unix:" + run.resolve("db.sock"),
                "--pidfile=" + run.resolve("ovs-vswitchd.pid"), "--unixctl=" + run.resolve("ovs-vswitchd.ctl"),
                "--log-file=" + run.resolve("ovs-vswitchd.log"));
        await("ovs-vswitchd with DPDK", 120_000, () -> {
            assertTrue("ovs-vswitchd exited, see " + run.resolve("ovs-vswitchd.log"), vswitchd.isAlive());
            return ovs("get", "Open_vSwitch", ".", "dpdk_initialized").strip().equals("true");
        });
        Path s1 = dir.resolve("vm1.sock");
        Path s2 = dir.resolve("vm2.sock");
        GuestVm vm1 = new GuestVm("vm1", image, dir, Role.SERVER, s1, "52:54:00:19:00:01", "10.19.0.1/24");
        GuestVm vm2 = new GuestVm("vm2", image, dir, Role.SERVER, s2, "52:54:00:19:00:02", "10.19.0.2/24");
        vms.add(vm1);
        vms.add(vm2);
        vm1.start();
        vm2.start();
        await("QEMU sockets", 60_000, () -> Files.exists(s1) && Files.exists(s2));
        ovs("add-br", "br0", "--", "set", "Bridge", "br0", "datapath_type=netdev",
                "--", "add-port", "br0", "vhc1", "--", "set", "Interface", "vhc1", "type=dpdkvhostuserclient",
                "options:vhost-server-path=" + s1,
                "--", "add-port", "br0", "vhc2", "--", "set", "Interface", "vhc2", "type=dpdkvhostuserclient",
                "options:vhost-server-path=" + s2);
        vm1.awaitBoot();
        vm2.awaitBoot();
        String f1 = vm1.ok("cat /sys/bus/virtio/devices/*/features").strip();
        double v21 = stream(vm2, vm1, "10.19.0.1");
        double v12 = stream(vm1, vm2, "10.19.0.2");
        System.out.printf(Locale.ROOT, "OFFLOADS ovs-dpdk maxsleep=" + Integer.getInteger("pvio.ovs.pmd.maxsleep", 50)
                + " userspace-tso-enable=%s vm2->vm1 %.1f MB/s vm1->vm2 %.1f MB/s"
                + " (guest features %s)%n", tso, v21, v12, f1);
    }

    @Test
    public void tsoOn() throws Exception {
        measure(true);
    }

    @Test
    public void tsoOff() throws Exception {
        measure(false);
    }
}
