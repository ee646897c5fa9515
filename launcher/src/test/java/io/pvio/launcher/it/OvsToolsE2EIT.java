package io.pvio.launcher.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * The real ovs-appctl (Debian's openvswitch-common) against a running {@code pvio vswitchd}: by socket path
 * and by pidfile as {@code --target=ovs-vswitchd}, every kind of command, OVS's exit codes; pvio's own
 * appctl keeps working on the same socket.
 */
public class OvsAppctlE2EIT {
    private static final long TIMEOUT_MS = 60_000;
    private static final String OVS_APPCTL = "/usr/bin/ovs-appctl";
    private final String jar = System.getProperty("pvio.jar", "target/pvio.jar");
    private final String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    private Path runDir;
    private Process daemon;

    record Out(int status, String out, String err) {
    }

    @Before
    public void setUp() throws Exception {
        assertTrue("the real ovs-appctl is needed (apt-get install openvswitch-common)",
                Files.isExecutable(Path.of(OVS_APPCTL)));
        Path base = Files.createDirectories(Path.of(System.getProperty("pvio.it.dir", "target/it")));
        runDir = Files.createTempDirectory(base, "ovs-appctl-").toAbsolutePath();
        ProcessBuilder pb = new ProcessBuilder(java, "-jar", jar, "vswitchd", "--run-dir", runDir.toString());
        File log = runDir.resolveSibling(runDir.getFileName() + ".out").toFile();
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log));
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        daemon = pb.start();
        Path link = runDir.resolve("ovs-vswitchd." + daemon.pid() + ".ctl");
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        while (!Files.exists(link)) {
            assertTrue("daemon exited early, see " + log, daemon.isAlive());
            assertTrue("no " + link + " within " + TIMEOUT_MS + " ms", System.nanoTime() < deadline);
            Thread.sleep(50);
        }
    }

    @After
    public void tearDown() throws InterruptedException {
        if (daemon != null && daemon.isAlive()) {
            daemon.destroy();
            if (!daemon.waitFor(10, TimeUnit.SECONDS)) {
                daemon.destroyForcibly();
            }
        }
    }

    private static Out exec(Map<String, String> env, List<String> cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(env);
        Path out = Files.createTempFile("ovs-out", ".txt");
        Path err = Files.createTempFile("ovs-err", ".txt");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        try {
            if (!p.waitFor(2 * TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                throw new AssertionError(cmd + " did not finish");
            }
            return new Out(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** ovs-appctl -t RUN_DIR/pvio-vswitchd.ctl ARGS. */
    private Out appctl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(OVS_APPCTL, "-t", runDir.resolve("pvio-vswitchd.ctl").toString()));
        cmd.addAll(Arrays.asList(args));
        return exec(Map.of(), cmd);
    }

    private String ok(String... args) throws Exception {
        Out o = appctl(args);
        assertEquals("ovs-appctl " + String.join(" ", args) + ": " + o.err(), 0, o.status());
        assertEquals("", o.err());
        return o.out();
    }

    private Out pvio(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(java, "-jar", jar, args[0], "--run-dir", runDir.toString()));
        cmd.addAll(Arrays.asList(args).subList(1, args.length));
        return exec(Map.of(), cmd);
    }

    @Test
    public void theRealOvsAppctlRunsEveryKindOfCommand() throws Exception {
        assertTrue(ok("version"), ok("version").startsWith("pvio-vswitchd (pvio) "));
        String list = ok("list-commands");
        assertTrue(list, list.startsWith("The available commands are:\n"));
        for (String c : List.of("dpif-netdev/pmd-stats-show", "dma/show", "vlog/set", "bundle/list", "exit")) {
            assertTrue(c + " in " + list, list.contains("\n  " + c));
        }
        assertTrue(ok("vlog/list").contains("dpif_netdev"));
        assertEquals("", ok("vlog/set", "dpif_netdev:dbg"));
        assertTrue(ok("vlog/list"), ok("vlog/list").lines().anyMatch(l -> l.startsWith("dpif_netdev")
                && l.contains("DBG")));
        assertTrue(ok("dma/show"), ok("dma/show").contains("0000:00:04.0"));

        // commands of the datapath see what pvio vsctl configured
        assertEquals(0, pvio("vsctl", "add-br", "br0").status());
        assertEquals(0, pvio("vsctl", "add-port", "br0", "g0", "--", "set", "Interface", "g0", "type=pktgen",
                "options:rate=1000").status());
        String pmd = ok("dpif-netdev/pmd-stats-show");
        assertTrue(pmd, pmd.contains("pmd thread"));
        assertTrue(ok("dpif-netdev/pmd-rxq-show"), ok("dpif-netdev/pmd-rxq-show").contains("g0"));

        // an unknown command: OVS's text, "server returned an error", exit 2
        Out unknown = appctl("no/such-command", "x");
        assertEquals(2, unknown.status());
        assertEquals("", unknown.out());
        assertEquals("\"no/such-command\" is not a valid command (use \"list-commands\" to see a list of valid"
                + " commands)\novs-appctl: " + runDir.resolve("pvio-vswitchd.ctl") + ": server returned an error\n",
                unknown.err());
        // a command that fails: its message, exit 2; the daemon goes on
        Out failed = appctl("bundle/stop", "no.such.bundle");
        assertEquals(failed.err(), 2, failed.status());
        assertTrue(failed.err(), failed.err().contains("server returned an error"));
        assertEquals(2, appctl("vlog/set", "nosuchmodule:dbg").status());
        // pvio's own client on the same socket
        Out own = pvio("appctl", "version");
        assertEquals(own.err(), 0, own.status());
        assertTrue(own.out(), own.out().startsWith("pvio-vswitchd (pvio) "));
    }

    @Test
    public void ovsAppctlFindsItByPidfileAndExitStopsTheDaemon() throws Exception {
        assertEquals(Long.toString(daemon.pid()), Files.readString(runDir.resolve("ovs-vswitchd.pid")).strip());
        Map<String, String> env = Map.of("OVS_RUNDIR", runDir.toString());
        Out v = exec(env, List.of(OVS_APPCTL, "version"));
        assertEquals(v.err(), 0, v.status());
        assertTrue(v.out(), v.out().startsWith("pvio-vswitchd (pvio) "));
        Out t = exec(env, List.of(OVS_APPCTL, "--target=ovs-vswitchd", "dma/show"));
        assertEquals(t.err(), 0, t.status());

        Out exit = exec(env, List.of(OVS_APPCTL, "-t", "ovs-vswitchd", "exit"));
        assertEquals(exit.err(), 0, exit.status());
        assertTrue("the daemon stops", daemon.waitFor(TIMEOUT_MS, TimeUnit.MILLISECONDS));
        assertFalse("its socket name goes with it",
                Files.exists(runDir.resolve("ovs-vswitchd." + daemon.pid() + ".ctl"),
                        LinkOption.NOFOLLOW_LINKS));
        // no daemon: ovs-appctl fails as with a stopped ovs-vswitchd (exit 1)
        Out gone = exec(env, List.of(OVS_APPCTL, "version"));
        assertEquals(gone.err(), 1, gone.status());
    }
}
