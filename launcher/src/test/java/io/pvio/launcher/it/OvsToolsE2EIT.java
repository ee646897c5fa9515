package io.pvio.launcher.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * OVS's own tools with a running {@code pvio vswitchd}: the real ovs-appctl (Debian's openvswitch-common) by
 * socket path and by pidfile as {@code --target=ovs-vswitchd}, every kind of command, OVS's exit codes; pvio's
 * own appctl on the same socket; and pvio ofctl next to the real ovs-ofctl on a real ovs-vswitchd (dummy
 * datapath, in a temporary directory): the same flows, by port name, dump and fail the same way; and
 * ofproto/trace on both.
 */
public class OvsToolsE2EIT {
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
        runDir = Files.createTempDirectory(base, "ovs-tools-").toAbsolutePath();
        startDaemon();
    }

    /** Starts pvio vswitchd on {@link #runDir} and waits for its control socket. */
    private void startDaemon() throws Exception {
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

    private final List<Process> ovs = new ArrayList<>();

    @After
    public void tearDown() throws InterruptedException {
        for (Process p : ovs) {
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
        }
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
        for (String c : List.of("dpif-netdev/pmd-stats-show", "dpif-netdev/pmd-perf-show", "dma/show", "vlog/set",
                "bundle/list", "exit")) {
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
        // pmd-perf-show: OVS's overall block; the histograms with pmd-perf-metrics, not with -nh
        assertEquals(0, pvio("vsctl", "set", "Open_vSwitch", ".", "other_config:pmd-perf-metrics=true").status());
        String perf = ok("dpif-netdev/pmd-perf-show");
        assertTrue(perf, perf.matches("(?s)\nTime: \\d\\d:\\d\\d:\\d\\d\\.\\d{3}\nMeasurement duration: \\d+\\.\\d{3} s\n\n"
                + "pmd thread numa_id 0 core_id 0:\n\n  Iterations: +\\d+  \\(\\d+\\.\\d\\d us/it\\)\n.*"
                + "\n  Rx packets: +\\d+.*\nHistograms\n   cycles/it +packets/it .*"));
        String nh = ok("dpif-netdev/pmd-perf-show", "-nh", "-pmd", "0", "ovs-netdev");
        assertTrue(nh, nh.contains("  - busy iterations:  ") && !nh.contains("Histograms"));
        assertEquals("", ok("dpif-netdev/pmd-stats-clear"));
        assertTrue(list, list.matches("(?s).*\n  dpif-netdev/pmd-stats-clear +\\[-pmd core\\] \\[dp\\]\n.*"));
        assertEquals("", ok("dpif-netdev/pmd-stats-clear", "-pmd", "0", "ovs-netdev"));
        String cleared = ok("dpif-netdev/pmd-perf-show", "-nh");
        assertTrue(cleared, cleared.matches("(?s).*Measurement duration: 0\\.\\d{3} s\n.*"));
        Out badDp = appctl("dpif-netdev/pmd-perf-show", "nosuchdp");
        assertEquals(2, badDp.status());
        assertTrue(badDp.err(), badDp.err().startsWith("please specify an existing datapath\n"));

        // an unknown command: OVS's text, "server returned an error", exit 2
        Out unknown = appctl("no/such-command", "x");
        assertEquals(2, unknown.status());
        assertEquals("", unknown.out());
        assertEquals("\"no/such-command\" is not a valid command (use \"list-commands\" to see a list of valid"
                + " commands)\novs-appctl: " + runDir.resolve("pvio-vswitchd.ctl") + ": server returned an error\n",
                unknown.err());
        // too many arguments: OVS's text
        Out extra = appctl("version", "x");
        assertEquals(2, extra.status());
        assertTrue(extra.err(), extra.err().startsWith("\"version\" command takes at most 0 arguments\n"));
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

    /** logrotate's way: move vswitchd.log away, then the real {@code ovs-appctl vlog/reopen}; and vlog/close. */
    @Test
    public void vlogReopenAfterAMoveWritesANewLogFile() throws Exception {
        Path log = runDir.resolve("vswitchd.log");
        Path rotated = runDir.resolve("vswitchd.log.1");
        Files.move(log, rotated);
        assertEquals("", ok("vlog/reopen"));
        assertTrue("a new " + log, Files.exists(log));
        assertTrue(Files.readString(rotated), Files.readString(rotated).endsWith("|vlog|INFO|closing log file\n"));
        assertTrue(Files.readString(log), Files.readString(log).contains("|vlog|INFO|opened log file " + log + "\n"));
        assertEquals("", ok("vlog/set", "bridge:dbg")); // logged by unixctl at INFO
        assertTrue(Files.readString(log), Files.readString(log).contains("|unixctl|INFO|vlog/set: bridge set to DBG"));
        assertFalse(Files.readString(rotated).contains("vlog/set: bridge"));

        assertEquals("", ok("vlog/close"));
        assertEquals("", ok("vlog/set", "bridge:info"));
        assertFalse(Files.readString(log), Files.readString(log).contains("vlog/set: bridge set to INFO"));
        assertEquals("", ok("vlog/reopen"));
        assertEquals("", ok("vlog/set", "bridge:warn"));
        assertTrue(Files.readString(log), Files.readString(log).contains("vlog/set: bridge set to WARN"));
        Out extra = appctl("vlog/reopen", "x");
        assertEquals(2, extra.status());
        assertTrue(extra.err(), extra.err().startsWith("\"vlog/reopen\" command takes at most 0 arguments\n"));
    }

    /** The real logrotate with the README's postrotate stanza: the daemon goes on in a new vswitchd.log. */
    @Test
    public void logrotateRotatesTheLogWithVlogReopen() throws Exception {
        Path logrotate = Path.of("/usr/sbin/logrotate");
        assertTrue("logrotate is needed (apt-get install logrotate)", Files.isExecutable(logrotate));
        Path log = runDir.resolve("vswitchd.log");
        Path conf = runDir.resolve("logrotate.conf");
        Files.writeString(conf, log + " {\n    rotate 3\n    nocompress\n    missingok\n    postrotate\n"
                + "        " + OVS_APPCTL + " -t " + runDir.resolve("pvio-vswitchd.ctl") + " vlog/reopen\n"
                + "    endscript\n}\n");
        Files.setPosixFilePermissions(conf, PosixFilePermissions.fromString("rw-------"));
        assertEquals("", ok("vlog/set", "bridge:dbg"));
        Out rotated = exec(Map.of(), List.of(logrotate.toString(), "-f", "-s", runDir.resolve("logrotate.state")
                .toString(), conf.toString()));
        assertEquals(rotated.err(), 0, rotated.status());
        Path old = runDir.resolve("vswitchd.log.1");
        assertTrue(Files.readString(old), Files.readString(old).contains("vlog/set: bridge set to DBG"));
        assertTrue(Files.readString(old), Files.readString(old).endsWith("|vlog|INFO|closing log file\n"));
        assertEquals("", ok("vlog/set", "bridge:info"));
        String now = Files.readString(log);
        assertTrue(now, now.contains("|vlog|INFO|opened log file " + log + "\n"));
        assertTrue(now, now.contains("vlog/set: bridge set to INFO"));
        assertFalse(now, now.contains("set to DBG"));
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
        assertFalse("and its pidfile, as ovs-vswitchd's", Files.exists(runDir.resolve("ovs-vswitchd.pid")));
        // no daemon: ovs-appctl fails as with a stopped ovs-vswitchd (exit 1)
        Out gone = exec(env, List.of(OVS_APPCTL, "version"));
        assertEquals(gone.err(), 1, gone.status());
    }

    /** ovs-vsctl arguments: add-br {@code br} with dummy ports p1, p2, p3 at OpenFlow ports 1, 2, 3. */
    private static List<String> threePorts(String br) {
        List<String> conf = new ArrayList<>(List.of("add-br", br));
        for (int i = 1; i <= 3; i++) {
            conf.addAll(List.of("--", "add-port", br, "p" + i, "--", "set", "Interface", "p" + i, "type=dummy",
                    "ofport_request=" + i));
        }
        return conf;
    }

    /**
     * Starts a real OVS in {@code dir} and applies {@code conf} (ovs-vsctl arguments) to it, its {@code bridges}
     * on the dummy datapath, and to pvio; returns the real OVS's environment.
     */
    private Map<String, String> sameOnBoth(Path dir, List<String> conf, String... bridges) throws Exception {
        Map<String, String> env = startRealOvs(dir);
        List<String> real = new ArrayList<>(List.of("/usr/bin/ovs-vsctl", "--db=unix:" + dir.resolve("db.sock")));
        real.addAll(conf);
        for (String b : bridges) {
            real.addAll(List.of("--", "set", "Bridge", b, "datapath_type=dummy"));
        }
        Out r = exec(env, real);
        assertEquals(r.err(), 0, r.status());
        List<String> own = new ArrayList<>(List.of("vsctl"));
        own.addAll(conf);
        Out o = pvio(own.toArray(new String[0]));
        assertEquals(o.err(), 0, o.status());
        return env;
    }

    /** Starts ovsdb-server and ovs-vswitchd (dummy datapath only) in {@code dir}; returns their environment. */
    private Map<String, String> startRealOvs(Path dir) throws Exception {
        for (String tool : List.of("/usr/sbin/ovsdb-server", "/usr/sbin/ovs-vswitchd", "/usr/bin/ovs-ofctl",
                "/usr/bin/ovs-vsctl")) {
            assertTrue(tool + " is needed (apt-get install openvswitch-switch)", Files.isExecutable(Path.of(tool)));
        }
        Map<String, String> env = Map.of("OVS_RUNDIR", dir.toString(), "OVS_DBDIR", dir.toString(),
                "OVS_LOGDIR", dir.toString());
        Out created = exec(env, List.of("/usr/bin/ovsdb-tool", "create", dir.resolve("conf.db").toString(),
                "/usr/share/openvswitch/vswitch.ovsschema"));
        assertEquals(created.err(), 0, created.status());
        String db = "unix:" + dir.resolve("db.sock");
        ovs.add(spawn(env, dir.resolve("ovsdb-server.out"), "/usr/sbin/ovsdb-server", "--remote=punix:"
                + dir.resolve("db.sock"), "--unixctl=" + dir.resolve("ovsdb-server.ctl"), dir.resolve("conf.db")
                .toString()));
        awaitFile(dir.resolve("db.sock"));
        assertEquals(0, exec(env, List.of("/usr/bin/ovs-vsctl", "--db=" + db, "--no-wait", "init")).status());
        ovs.add(spawn(env, dir.resolve("ovs-vswitchd.out"), "/usr/sbin/ovs-vswitchd", db, "--enable-dummy",
                "--disable-system", "--unixctl=" + dir.resolve("ovs-vswitchd.ctl"), "--log-file="
                + dir.resolve("ovs-vswitchd.log")));
        awaitFile(dir.resolve("ovs-vswitchd.ctl"));
        return env;
    }

    private static Process spawn(Map<String, String> env, Path log, String... cmd) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().putAll(env);
        return pb.start();
    }

    private static void awaitFile(Path f) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        while (!Files.exists(f)) {
            assertTrue("no " + f + " within " + TIMEOUT_MS + " ms", System.nanoTime() < deadline);
            Thread.sleep(20);
        }
    }

    /** What differs between two dumps by nature: times. */
    private static String timeless(String dump) {
        return dump.replaceAll("duration=[0-9.]+s", "duration=Ts").replaceAll("idle_age=\\d+", "idle_age=T");
    }

    @Test
    public void flowsByPortNameDumpAndFailAsTheRealOvsOfctl() throws Exception {
        Path dir = Files.createTempDirectory(runDir.getParent(), "real-ovs-");
        Map<String, String> env = sameOnBoth(dir, threePorts("br0"), "br0");

        List<String[]> steps = List.of(
            new String[] {"add-flow", "br0", "priority=300,in_port=p1,action=output:p2"},
            new String[] {"add-flow", "br0", "priority=200,in_port=p2 actions=p1"},
            new String[] {"add-flow", "br0", "priority=100,dl_dst=52:54:00:00:00:01,actions=drop"},
            new String[] {"add-flow", "br0", "priority=50,ip,in_port=p3,actions=NORMAL"},
            new String[] {"add-flow", "br0", "priority=40,in_port=p3,dl_type=0x88cc,actions=output:p1,output:p2"},
            new String[] {"del-flows", "br0", "in_port=p3,ip"});
        for (String[] step : steps) {
            List<String> cmd = new ArrayList<>(List.of("/usr/bin/ovs-ofctl"));
            cmd.addAll(Arrays.asList(step));
            Out rr = exec(env, cmd);
            assertEquals(String.join(" ", step) + ": " + rr.err(), 0, rr.status());
            List<String> mine = new ArrayList<>(List.of("ofctl"));
            mine.addAll(Arrays.asList(step));
            Out oo = pvio(mine.toArray(new String[0]));
            assertEquals(String.join(" ", step) + ": " + oo.err(), 0, oo.status());
        }
        String realDump = exec(env, List.of("/usr/bin/ovs-ofctl", "dump-flows", "br0")).out();
        String ownDump = pvio("ofctl", "dump-flows", "br0").out();
        assertTrue(ownDump, ownDump.startsWith("NXST_FLOW reply (xid=0x4):\n cookie=0x0, duration="));
        assertEquals(timeless(realDump), timeless(ownDump));

        for (String bad : List.of("in_port=p9,actions=drop", "in_port=p1,actions=output:p9", "in_port=p1,actions=p9",
                "in_port=p1", "foo=1,actions=drop", "in_port=p1,actions=output:")) {
            Out rr = exec(env, List.of("/usr/bin/ovs-ofctl", "add-flow", "br0", bad));
            Out oo = pvio("ofctl", "add-flow", "br0", bad);
            assertEquals(bad, rr.status(), oo.status());
            if (!bad.endsWith(":")) { // OVS: "output: unknown port" style texts differ there; the status agrees
                assertEquals(bad, rr.err().replaceFirst("^ovs-ofctl: ", ""), oo.err().replaceFirst("^ofctl: ", ""));
            }
        }

        for (List<String> bad : List.of(List.of("dump-flows", "nobr"), List.of("add-flow", "br0"),
                List.of("add-flow", "br0", "a", "b"), List.of("del-flows"), List.of("frob", "br0"))) {
            List<String> cmd = new ArrayList<>(List.of("/usr/bin/ovs-ofctl"));
            cmd.addAll(bad);
            Out rr = exec(env, cmd);
            List<String> mine = new ArrayList<>(List.of("ofctl"));
            mine.addAll(bad);
            Out oo = pvio(mine.toArray(new String[0]));
            assertEquals(bad.toString(), rr.status(), oo.status());
            assertEquals(bad.toString(), rr.err().replaceFirst("^ovs-ofctl: ", ""), oo.err().replaceFirst("^ofctl: ", ""));
        }

        // traffic follows the flows named by port: p1 -> p2 only
        Out in = appctl("netdev-dummy/receive", "p1", "52540000000252540000000108004500001c0001000040110000"
                + "0a0000010a00000204d204d20008000000000000000000000000000000000000");
        assertEquals(in.err(), 0, in.status());
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        while (!pvio("vsctl", "get", "Interface", "p2", "statistics:tx_packets").out().equals("1\n")) {
            assertTrue("p2 sent nothing", System.nanoTime() < deadline);
            Thread.sleep(50);
        }
        assertEquals("0\n", pvio("vsctl", "get", "Interface", "p3", "statistics:tx_packets").out());
    }

    /** Port 1's "config:" line in ovs-ofctl show's output. */
    /**
     * The real ovs-ofctl monitor on pvio and on the real ovs-vswitchd, OpenFlow 1.0 and 1.3: a port added,
     * taken down and up by another connection's mod-port, and deleted is printed as the same OFPT_PORT_STATUS
     * events (the real one prints each change of config and link apart; pvio's can come as one: the last of each
     * step is compared); a port taken down has no link (LINK_DOWN), as OVS's netdev_get_carrier; a monitor that
     * set no miss_send_len gets nothing, on both, as OVS's service connections.
     */
    @Test
    public void portStatusAsTheRealOvsOfctlMonitorPrintsIt() throws Exception {
        Path dir = Files.createTempDirectory(runDir.getParent(), "real-ovs-");
        Map<String, String> env = sameOnBoth(dir, threePorts("br0"), "br0");
        String mine = "unix:" + runDir.resolve("br0.mgmt");
        String theirs = "unix:" + dir.resolve("br0.mgmt");
        Map<String, Path> out = new LinkedHashMap<>();
        int n = 0;
        for (String version : List.of("OpenFlow10", "OpenFlow13")) {
            for (String target : List.of(theirs, mine)) {
                for (String len : List.of("128", "")) {
                    Path log = dir.resolve("monitor" + ++n + ".out");
                    Path ctl = dir.resolve("monitor" + n + ".ctl");
                    List<String> cmd = new ArrayList<>(List.of("/usr/bin/ovs-ofctl", "-O", version, "monitor", target));
                    if (!len.isEmpty()) {
                        cmd.add(len); // miss_send_len: async messages on
                    }
                    cmd.add("--unixctl=" + ctl);
                    ovs.add(spawn(Map.of(), log, cmd.toArray(new String[0])));
                    awaitFile(ctl); // connected, its config set
                    out.put(version + (target.equals(mine) ? " pvio" : " ovs") + (len.isEmpty() ? " quiet" : ""), log);
                }
            }
        }
        String vsctl = "/usr/bin/ovs-vsctl";
        String db = "--db=unix:" + dir.resolve("db.sock");
        List<List<String>> steps = List.of(List.of("add-port", "br0", "p4", "--", "set", "Interface", "p4", "type=dummy",
                "ofport_request=4"), List.of("down"), List.of("up"), List.of("del-port", "br0", "p4"));
        List<String> expect = List.of("ADD config: 0", "MOD config: PORT_DOWN", "MOD config: 0", "DEL config: 0");
        Map<String, Integer> seen = new LinkedHashMap<>();
        for (int i = 0; i < steps.size(); i++) {
            List<String> step = steps.get(i);
            if (step.size() == 1) {
                for (String target : List.of(theirs, mine)) {
                    Out m = exec(Map.of(), List.of("/usr/bin/ovs-ofctl", "mod-port", target, "p4", step.get(0)));
                    assertEquals(m.err(), 0, m.status());
                }
            } else {
                List<String> real = new ArrayList<>(List.of(vsctl, db));
                real.addAll(step);
                assertEquals(0, exec(env, real).status());
                List<String> own = new ArrayList<>(List.of("vsctl"));
                own.addAll(step);
                assertEquals(0, pvio(own.toArray(new String[0])).status());
            }
            String linkDown = step.equals(List.of("down")) ? "LINK_DOWN" : null;
            for (Map.Entry<String, Path> e : out.entrySet()) {
                if (e.getKey().endsWith("quiet")) {
                    continue;
                }
                String live = e.getKey().startsWith("OpenFlow13") ? "LIVE" : "0";
                String state = "state: " + (linkDown != null ? linkDown : live);
                int from = seen.getOrDefault(e.getKey(), 0);
                List<String> blocks = awaitPortStatus(e.getValue(), from, "config: " + expect.get(i).split("config: ")[1]
                        + " " + state);
                String first = blocks.get(from);
                assertTrue(e.getKey() + ": " + blocks, first.startsWith(expect.get(i).substring(0, 3) + ": 4(p4): addr:"));
                seen.put(e.getKey(), blocks.size());
            }
        }
        for (Map.Entry<String, Path> e : out.entrySet()) {
            if (e.getKey().endsWith("quiet")) {
                assertEquals(e.getKey(), "", Files.readString(e.getValue()));
            }
        }
    }

    /**
     * The port-status events in an ovs-ofctl monitor output, each as "REASON: PORT: addr:.. config: .. state: ..",
     * once there are more than {@code from} and the last one ends with {@code last} (config and state).
     */
    private static List<String> awaitPortStatus(Path log, int from, String last) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        while (true) {
            List<String> blocks = new ArrayList<>();
            Matcher m = Pattern.compile("OFPT_PORT_STATUS (?:\\(OF1\\.3\\) )?\\(xid=0x0\\): (\\S+: \\S+: addr:\\S+)\n"
                    + "\\s+(config:.*)\n\\s+(state:.*)\n").matcher(Files.readString(log));
            while (m.find()) {
                blocks.add(m.group(1) + " " + m.group(2).replaceAll("\\s+", " ").strip() + " "
                        + m.group(3).replaceAll("\\s+", " ").strip());
            }
            if (blocks.size() > from && blocks.get(blocks.size() - 1).endsWith(last)) {
                return blocks;
            }
            assertTrue(log + ": no port status ending " + last + " after " + from + ": " + blocks,
                    System.nanoTime() < deadline);
            Thread.sleep(50);
        }
    }

    private static String configOfPort1(String show) {
        Matcher m = Pattern.compile("(?m)^ 1\\(p1\\): .*\n\\s+(config:.*)$").matcher(show);
        assertTrue(show, m.find());
        return m.group(1);
    }

    private long txPackets(String port) throws Exception {
        return Long.parseLong(pvio("vsctl", "get", "Interface", port, "statistics:tx_packets").out().strip());
    }

    private void awaitTx(String port, long n) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        while (txPackets(port) != n) {
            assertTrue(port + " sent " + txPackets(port) + ", not " + n, System.nanoTime() < deadline);
            Thread.sleep(20);
        }
    }

    /**
     * Flow timeouts and FLOW_REMOVED as the real ovs-vswitchd: the same flows added with the real ovs-ofctl
     * (hard and idle timeouts, send_flow_rem, one without it, one deleted) dump the same (1.0 and 1.3, and pvio's
     * own ofctl), expire on both, and the real ovs-ofctl monitor prints the same removals (reasons, matches,
     * cookies, timeouts, counters; durations aside) on both, in OpenFlow 1.0 and 1.3. An add of a flow that
     * exists keeps its counters in 1.3 and resets them in 1.0, on both.
     */
    @Test
    public void flowTimeoutsAndFlowRemovedAsTheRealOvsVswitchd() throws Exception {
        Path dir = Files.createTempDirectory(runDir.getParent(), "real-ovs-");
        Map<String, String> env = sameOnBoth(dir, threePorts("br0"), "br0");
        String mine = "unix:" + runDir.resolve("br0.mgmt");
        String theirs = "unix:" + dir.resolve("br0.mgmt");
        String ofctl = "/usr/bin/ovs-ofctl";
        Map<String, Path> monitors = monitors(dir, "fr-", theirs, mine, "128");
        List<String> flows = List.of("priority=5,in_port=1,hard_timeout=2,send_flow_rem,cookie=0x21,actions=output:2",
                "priority=6,in_port=2,idle_timeout=2,send_flow_rem,actions=drop",
                "priority=7,in_port=3,hard_timeout=2,actions=drop",
                "priority=8,ip,idle_timeout=600,send_flow_rem,actions=drop");
        for (String target : List.of(theirs, mine)) {
            for (String f : flows) {
                Out r = exec(Map.of(), List.of(ofctl, "add-flow", target, f));
                assertEquals(target + " " + f + ": " + r.err(), 0, r.status());
            }
        }
        for (String version : List.of("OpenFlow10", "OpenFlow13")) {
            String real = exec(Map.of(), List.of(ofctl, "-O", version, "dump-flows", theirs)).out();
            String own = exec(Map.of(), List.of(ofctl, "-O", version, "dump-flows", mine)).out();
            assertTrue(real, real.contains("hard_timeout=2"));
            assertEquals(version, sortedTimeless(real), sortedTimeless(own));
        }
        assertEquals(flowLines(exec(env, List.of(ofctl, "dump-flows", "br0")).out()),
                flowLines(pvio("ofctl", "dump-flows", "br0").out()));

        // a packet hits the ip flow; an OpenFlow 1.3 add of the same flow keeps its counters, a 1.0 add resets them
        String ip = "52540000000252540000000108004500001c0001000040110000"
                + "0a0000010a00000204d204d20008000000000000000000000000000000000000";
        String realCtl = dir.resolve("ovs-vswitchd.ctl").toString();
        assertEquals(0, exec(env, List.of(OVS_APPCTL, "-t", realCtl, "netdev-dummy/receive", "p1", ip)).status());
        assertEquals(0, appctl("netdev-dummy/receive", "p1", ip).status());
        String ipFlow = flows.get(3);
        for (String version : List.of("OpenFlow13", "OpenFlow10")) {
            for (String target : List.of(theirs, mine)) {
                Out r = exec(Map.of(), List.of(ofctl, "-O", version, "add-flow", target, ipFlow));
                assertEquals(target + " " + version + ": " + r.err(), 0, r.status());
                String want = version.equals("OpenFlow13") ? "n_packets=1," : "n_packets=0,";
                long until = System.nanoTime() + TIMEOUT_MS * 1_000_000;
                String dump;
                while (!(dump = exec(Map.of(), List.of(ofctl, "dump-flows", target, "ip")).out()).contains(want)) {
                    assertTrue(target + " after a " + version + " add: " + dump, System.nanoTime() < until);
                    Thread.sleep(50);
                }
            }
            assertEquals(version, sortedTimeless(exec(Map.of(), List.of(ofctl, "dump-flows", theirs, "ip")).out()),
                    sortedTimeless(exec(Map.of(), List.of(ofctl, "dump-flows", mine, "ip")).out()));
        }

        for (String target : List.of(theirs, mine)) {
            assertEquals(0, exec(Map.of(), List.of(ofctl, "del-flows", target, "ip")).status());
        }
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        for (String target : List.of(theirs, mine)) { // the timeouts pass on both
            while (exec(Map.of(), List.of(ofctl, "dump-flows", target)).out().contains("timeout=2")) {
                assertTrue(target + ": flows did not expire", System.nanoTime() < deadline);
                Thread.sleep(100);
            }
        }
        for (String version : List.of("OpenFlow10", "OpenFlow13")) {
            List<String> real = null;
            List<String> own = null;
            while (System.nanoTime() < deadline) {
                real = removals(monitors.get(version + " ovs"));
                own = removals(monitors.get(version + " pvio"));
                if (real.size() >= 3 && own.size() >= 3) {
                    break;
                }
                Thread.sleep(100);
            }
            assertEquals(version + ": three removals reported", 3, real.size());
            assertEquals(version, real, own);
        }
    }

    /**
     * The controller action as the real ovs-vswitchd's: the same flows (one that also outputs, a table-miss
     * flow) dump the same, and ovs-ofctl monitor br0 65534 prints the same packet-ins on both, OpenFlow 1.0 and
     * 1.3 (reason, cookie, in_port, the whole packet; ovs-ofctl asks for NXT_PACKET_IN2), for the same frames;
     * the other action still outputs.
     */
    @Test
    public void packetInsAsTheRealOvsOfctlMonitorPrintsThem() throws Exception {
        Path dir = Files.createTempDirectory(runDir.getParent(), "real-ovs-");
        Map<String, String> env = sameOnBoth(dir, threePorts("br0"), "br0");
        String mine = "unix:" + runDir.resolve("br0.mgmt");
        String theirs = "unix:" + dir.resolve("br0.mgmt");
        String ofctl = "/usr/bin/ovs-ofctl";
        Map<String, Path> monitors = monitors(dir, "pin-", theirs, mine, "65534");
        for (String target : List.of(theirs, mine)) {
            for (String f : List.of("cookie=0x5,in_port=1,actions=controller:200,output:2", "priority=0,actions=controller")) {
                Out r = exec(Map.of(), List.of(ofctl, "add-flow", target, f));
                assertEquals(target + " " + f + ": " + r.err(), 0, r.status());
            }
        }
        for (String version : List.of("OpenFlow10", "OpenFlow13")) {
            String real = exec(Map.of(), List.of(ofctl, "-O", version, "dump-flows", theirs)).out();
            assertTrue(real, real.contains("actions=CONTROLLER:200,output:2"));
            assertEquals(version, sortedTimeless(real),
                    sortedTimeless(exec(Map.of(), List.of(ofctl, "-O", version, "dump-flows", mine)).out()));
        }
        String realCtl = dir.resolve("ovs-vswitchd.ctl").toString();
        String udp = "52540000000252540000000108004500001c0001000040110000"
                + "0a0000010a00000204d204d20008000000000000000000000000000000000000";
        String arp = "ffffffffffff525400000003080600010800060400015254000000030a0000030000000000000a000001";
        List<String[]> frames = List.of(new String[] {"p1", udp}, new String[] {"p3", arp});
        for (int i = 0; i < frames.size(); i++) {
            String[] fr = frames.get(i);
            assertEquals(0, exec(env, List.of(OVS_APPCTL, "-t", realCtl, "netdev-dummy/receive", fr[0], fr[1])).status());
            assertEquals(0, appctl("netdev-dummy/receive", fr[0], fr[1]).status());
            for (Map.Entry<String, Path> e : monitors.entrySet()) {
                long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
                while (packetIns(e.getValue()).size() < i + 1) {
                    assertTrue(e.getKey() + ": no packet-in " + (i + 1), System.nanoTime() < deadline);
                    Thread.sleep(50);
                }
            }
        }
        for (String version : List.of("OpenFlow10", "OpenFlow13")) {
            List<String> real = packetIns(monitors.get(version + " ovs"));
            assertEquals(version + ": " + real, 2, real.size());
            assertEquals(version, real, packetIns(monitors.get(version + " pvio")));
        }
        awaitTx("p2", 1); // the first flow's output too

        // no flow at all: a table miss is a packet-in (no_match) for the 1.0 connections, as OVS's miss rule
        for (String target : List.of(theirs, mine)) {
            assertEquals(0, exec(Map.of(), List.of(ofctl, "del-flows", target)).status());
        }
        Thread.sleep(500); // pvio's OpenFlow side looks at its connections' versions every 100 ms
        assertEquals(0, exec(env, List.of(OVS_APPCTL, "-t", realCtl, "netdev-dummy/receive", "p2", udp)).status());
        assertEquals(0, appctl("netdev-dummy/receive", "p2", udp).status());
        for (String who : List.of(" ovs", " pvio")) {
            long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
            while (packetIns(monitors.get("OpenFlow10" + who)).size() < 3) {
                assertTrue(who + ": no implicit miss", System.nanoTime() < deadline);
                Thread.sleep(50);
            }
        }
        Thread.sleep(500); // and none more
        for (String version : List.of("OpenFlow10", "OpenFlow13")) {
            List<String> real = packetIns(monitors.get(version + " ovs"));
            assertEquals(version + ": " + real, version.equals("OpenFlow10") ? 3 : 2, real.size());
            assertEquals(version, real, packetIns(monitors.get(version + " pvio")));
        }
    }

    /** The packet-ins of an ovs-ofctl monitor output, each as its two lines (header, the packet's flow). */
    private static List<String> packetIns(Path log) throws IOException {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("(?:OFPT|NXT)_PACKET_IN.*\n.*\n").matcher(Files.readString(log));
        while (m.find()) {
            out.add(m.group());
        }
        return out;
    }

    /**
     * The real ovs-ofctl monitor with {@code missSendLen} on {@code theirs} and {@code mine}, OpenFlow 1.0 and
     * 1.3, each connected; their outputs by "OpenFlow1x ovs|pvio".
     */
    private Map<String, Path> monitors(Path dir, String prefix, String theirs, String mine, String missSendLen)
            throws Exception {
        Map<String, Path> monitors = new LinkedHashMap<>();
        int n = 0;
        for (String version : List.of("OpenFlow10", "OpenFlow13")) {
            for (String target : List.of(theirs, mine)) {
                Path log = dir.resolve(prefix + "monitor" + ++n + ".out");
                Path ctl = dir.resolve(prefix + "monitor" + n + ".ctl");
                ovs.add(spawn(Map.of(), log, "/usr/bin/ovs-ofctl", "-O", version, "monitor", target, missSendLen,
                        "--unixctl=" + ctl));
                awaitFile(ctl); // connected, its config set
                monitors.put(version + (target.equals(mine) ? " pvio" : " ovs"), log);
            }
        }
        return monitors;
    }

    /** The FLOW_REMOVED lines of an ovs-ofctl monitor output, durations left out, sorted. */
    private static List<String> removals(Path log) throws IOException {
        List<String> out = new ArrayList<>();
        for (String l : Files.readString(log).lines().toList()) {
            if (l.contains("FLOW_REMOVED")) {
                out.add(l.replaceAll(" duration[0-9.]+s", " durationT"));
            }
        }
        out.sort(null);
        return out;
    }

    /** A dump's lines without times and the reply header, sorted. */
    private static List<String> sortedTimeless(String dump) {
        List<String> l = new ArrayList<>(timeless(dump).lines().filter(x -> !x.contains("reply")).toList());
        l.sort(null);
        return l;
    }

    /**
     * The real ovs-ofctl's mod-port, packet-out and queue-stats against pvio: a port taken down receives and
     * sends nothing until it is up again, show prints the config bits as for the real ovs-vswitchd, a
     * packet-out leaves on its output port, errors are OVS's.
     */
    @Test
    public void modPortPacketOutAndQueueStatsWithTheRealOvsOfctl() throws Exception {
        Path dir = Files.createTempDirectory(runDir.getParent(), "real-ovs-");
        Map<String, String> env = sameOnBoth(dir, threePorts("br0"), "br0");
        String mine = "unix:" + runDir.resolve("br0.mgmt");
        String theirs = "unix:" + dir.resolve("br0.mgmt");
        String ofctl = "/usr/bin/ovs-ofctl";

        // the config bits as the real ovs-vswitchd shows them, in 1.0 and 1.3
        for (String action : List.of("down", "no-flood", "no-forward", "no-receive", "no-packet-in", "no-stp")) {
            for (String target : List.of(mine, theirs)) {
                Out m = exec(Map.of(), List.of(ofctl, "mod-port", target, "p1", action));
                assertEquals(action + ": " + m.err(), 0, m.status());
            }
        }
        for (String version : List.of("OpenFlow10", "OpenFlow13")) {
            String realShow = exec(Map.of(), List.of(ofctl, "-O", version, "show", theirs)).out();
            String ownShow = exec(Map.of(), List.of(ofctl, "-O", version, "show", mine)).out();
            assertEquals(ownShow, configOfPort1(realShow), configOfPort1(ownShow));
        }
        assertEquals("config:     PORT_DOWN NO_STP NO_RECV NO_FLOOD NO_FWD NO_PACKET_IN",
                configOfPort1(exec(Map.of(), List.of(ofctl, "show", mine)).out()));
        assertEquals("down\n", pvio("vsctl", "get", "Interface", "p1", "admin_state").out());
        for (String action : List.of("up", "flood", "forward", "receive", "packet-in", "stp")) {
            for (String target : List.of(mine, theirs)) {
                assertEquals(action, 0, exec(Map.of(), List.of(ofctl, "mod-port", target, "1", action)).status());
            }
        }
        assertEquals("config:     0", configOfPort1(exec(Map.of(), List.of(ofctl, "show", mine)).out()));
        assertEquals("up\n", pvio("vsctl", "get", "Interface", "p1", "admin_state").out());
        // a bit pvio cannot honour is refused; an unknown port is ovs-ofctl's own error
        Out stp = exec(Map.of(), List.of(ofctl, "mod-port", mine, "p1", "no-receive-stp"));
        assertEquals(stp.out() + stp.err(), 1, stp.status());
        assertTrue(stp.err(), stp.err().contains("NXBRC_UNENCODABLE_ERROR"));
        Out stp13 = exec(Map.of(), List.of(ofctl, "-O", "OpenFlow13", "mod-port", mine, "p1", "no-receive-stp"));
        assertEquals(stp13.err(), 0, stp13.status()); // 1.3 has no such bit: ovs-ofctl sends an empty mask
        Out noPort = exec(Map.of(), List.of(ofctl, "mod-port", mine, "p9", "down"));
        assertEquals(1, noPort.status());
        assertEquals(exec(Map.of(), List.of(ofctl, "mod-port", theirs, "p9", "down")).err()
                .replace(dir.toString(), "D"), noPort.err().replace(runDir.toString(), "D"));

        // p2 down: it receives and sends nothing
        String bcast = "ffffffffffff52540000000108004500001c0001000040110000"
                + "0a0000010a00000204d204d20008000000000000000000000000000000000000";
        String fromP2 = "ffffffffffff52540000000208004500001c0001000040110000"
                + "0a0000020a00000104d204d20008000000000000000000000000000000000000";
        assertEquals(0, exec(Map.of(), List.of(ofctl, "mod-port", mine, "p2", "down")).status());
        ok("netdev-dummy/receive", "p1", bcast);
        awaitTx("p3", 1);
        ok("netdev-dummy/receive", "p2", fromP2);
        ok("netdev-dummy/receive", "p3", bcast);
        awaitTx("p1", 1);
        Thread.sleep(200); // what p2 might wrongly have forwarded would be there by now
        assertEquals(0, txPackets("p2"));
        assertEquals(1, txPackets("p1"));
        assertEquals(1, txPackets("p3"));
        // up again: it receives and sends
        assertEquals(0, exec(Map.of(), List.of(ofctl, "-O", "OpenFlow13", "mod-port", mine, "p2", "up")).status());
        ok("netdev-dummy/receive", "p2", fromP2);
        awaitTx("p1", 2);
        awaitTx("p3", 2);
        ok("netdev-dummy/receive", "p1", bcast);
        awaitTx("p2", 1);
        awaitTx("p3", 3);

        // packet-out: the packet leaves on the output port
        String frame = "5254000000025254000000010800450000140001000040000000c0a80001c0a80002";
        Out po = exec(Map.of(), List.of(ofctl, "packet-out", mine, "1", "output:2", frame));
        assertEquals(po.err(), 0, po.status());
        awaitTx("p2", 2);
        assertTrue(ok("netdev-dummy/sent", "p2", "1"), ok("netdev-dummy/sent", "p2", "1").endsWith(frame + "\n"));
        Out po13 = exec(Map.of(), List.of(ofctl, "-O", "OpenFlow13", "packet-out", mine,
                "in_port=1 packet=" + frame + " actions=output:3,in_port"));
        assertEquals(po13.err(), 0, po13.status());
        awaitTx("p3", 4);
        awaitTx("p1", 3);
        assertEquals(0, exec(Map.of(), List.of(ofctl, "packet-out", mine, "none", "flood", frame)).status());
        awaitTx("p1", 4);
        awaitTx("p2", 3);
        awaitTx("p3", 5);
        // errors as the real ovs-vswitchd answers them
        for (List<String> bad : List.of(List.of("65280", "output:2", frame), List.of("1", "bogus", frame))) {
            List<String> cmdMine = new ArrayList<>(List.of(ofctl, "packet-out", mine));
            cmdMine.addAll(bad);
            List<String> cmdReal = new ArrayList<>(List.of(ofctl, "packet-out", theirs));
            cmdReal.addAll(bad);
            Out m = exec(Map.of(), cmdMine);
            Out t = exec(Map.of(), cmdReal);
            assertEquals(bad.toString(), t.status(), m.status());
            assertEquals(bad.toString(), t.err(), m.err());
        }

        // queue-stats: pvio's ports have no queues (OVS's dummy ports fake a queue 0, real ports without QoS have
        // none); the errors are OVS's
        Out qs = exec(Map.of(), List.of(ofctl, "queue-stats", mine));
        assertEquals(qs.err(), 0, qs.status());
        assertEquals("OFPST_QUEUE reply (xid=0x2): 0 queues\n", qs.out());
        Out qs13 = exec(Map.of(), List.of(ofctl, "-O", "OpenFlow13", "queue-stats", mine, "p1"));
        assertEquals("OFPST_QUEUE reply (OF1.3) (xid=0x4): 0 queues\n", qs13.out());
        for (List<String> q : List.of(List.of("any", "1"), List.of("99"), List.of("p1", "5"))) {
            for (String version : List.of("OpenFlow10", "OpenFlow13")) {
                List<String> cmdMine = new ArrayList<>(List.of(ofctl, "-O", version, "queue-stats", mine));
                cmdMine.addAll(q);
                List<String> cmdReal = new ArrayList<>(List.of(ofctl, "-O", version, "queue-stats", theirs));
                cmdReal.addAll(q);
                Out m = exec(Map.of(), cmdMine);
                Out t = exec(Map.of(), cmdReal);
                assertEquals(q.toString(), t.status(), m.status());
                assertEquals(q + " " + version, t.out() + t.err(), m.out() + m.err());
            }
        }
    }

    /**
     * pvio vsctl replies once the change is in force, the bridge's {@code .mgmt} socket included (and gone
     * after del-br), as ovs-vsctl returns once ovs-vswitchd has it: ovs-ofctl right after it works every time.
     */
    @Test
    public void ovsOfctlRightAfterPvioAddBrAndDelBr() throws Exception {
        assertTrue("/usr/bin/ovs-ofctl is needed (apt-get install openvswitch-common)",
                Files.isExecutable(Path.of("/usr/bin/ovs-ofctl")));
        Map<String, String> env = Map.of("OVS_RUNDIR", runDir.toString());
        for (int i = 1; i <= 5; i++) {
            String br = "rb" + i;
            Out added = pvio("vsctl", "add-br", br);
            assertEquals(added.err(), 0, added.status());
            Out flow = exec(env, List.of("/usr/bin/ovs-ofctl", "add-flow", br, "priority=5,actions=drop"));
            assertEquals("ovs-ofctl add-flow " + br + " right after add-br: " + flow.err(), 0, flow.status());
            Out dump = pvio("ofctl", "dump-flows", br);
            assertEquals(dump.err(), 0, dump.status());
            assertTrue(dump.out(), dump.out().contains("priority=5 actions=drop"));
            Out deleted = pvio("vsctl", "del-br", br);
            assertEquals(deleted.err(), 0, deleted.status());
            assertFalse(br + ".mgmt left after del-br", Files.exists(runDir.resolve(br + ".mgmt")));
            Out gone = exec(env, List.of("/usr/bin/ovs-ofctl", "dump-flows", br));
            assertEquals(gone.err(), 1, gone.status());
            assertTrue(gone.err(), gone.err().contains(br + " is not a bridge or a socket"));
        }
    }

    /** Runs {@code step} with the real ovs-ofctl and with pvio ofctl; both must succeed; returns both outputs. */
    private String[] bothOfctl(Map<String, String> env, String... step) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/ovs-ofctl"));
        cmd.addAll(Arrays.asList(step));
        Out rr = exec(env, cmd);
        assertEquals(String.join(" ", step) + ": " + rr.err(), 0, rr.status());
        List<String> mine = new ArrayList<>(List.of("ofctl"));
        mine.addAll(Arrays.asList(step));
        Out oo = pvio(mine.toArray(new String[0]));
        assertEquals(String.join(" ", step) + ": " + oo.err(), 0, oo.status());
        return new String[] {rr.out(), oo.out()};
    }

    /** The dump's header and flow lines without times, sorted (ovs-vswitchd's order is its classifier's). */
    private static List<String> flowLines(String dump) {
        assertTrue(dump, dump.startsWith("NXST_FLOW reply (xid="));
        List<String> l = new ArrayList<>(timeless(dump).lines().toList());
        l.subList(1, l.size()).sort(null);
        return l;
    }

    /** dump-flows with a match (non-strict) and del-flows --strict select the flows the real ovs-ofctl does. */
    @Test
    public void dumpFlowsFilterAndStrictDelFlowsAsTheRealOvsOfctl() throws Exception {
        Path dir = Files.createTempDirectory(runDir.getParent(), "real-ovs-");
        Map<String, String> env = sameOnBoth(dir, threePorts("br0"), "br0");

        for (String flow : List.of("priority=300,in_port=p1,dl_dst=52:54:00:00:00:02,actions=output:p2",
                "priority=200,in_port=p1,actions=output:p3", "in_port=p1,actions=drop",
                "priority=100,ip,in_port=p2,actions=NORMAL", "priority=90,arp,actions=p1",
                "priority=80,dl_src=52:54:00:00:00:01,dl_type=0x0800,actions=drop")) {
            bothOfctl(env, "add-flow", "br0", flow);
        }
        for (String filter : List.of("in_port=p1", "in_port=1", "ip", "dl_type=0x0806",
                "eth_dst=52:54:00:00:00:02", "dl_src=52:54:00:00:00:01", "in_port=p3", "in_port=p2,ip", "")) {
            String[] dumps = bothOfctl(env, "dump-flows", "br0", filter);
            assertEquals("dump-flows br0 " + filter, flowLines(dumps[0]), flowLines(dumps[1]));
        }
        // --strict does not make dump-flows strict; priority is no match field but for strict flow-mods
        String[] strictDump = bothOfctl(env, "--strict", "dump-flows", "br0", "in_port=1");
        assertEquals(flowLines(strictDump[0]), flowLines(strictDump[1]));
        assertEquals(1 + 3, flowLines(strictDump[1]).size());
        for (List<String> bad : List.of(List.of("dump-flows", "br0", "in_port=1,priority=5"),
                List.of("--strict", "dump-flows", "br0", "priority=5"), List.of("del-flows", "br0", "priority=200"),
                List.of("dump-flows", "br0", "in_port=p9"))) {
            List<String> cmd = new ArrayList<>(List.of("/usr/bin/ovs-ofctl"));
            cmd.addAll(bad);
            Out rr = exec(env, cmd);
            List<String> mine = new ArrayList<>(List.of("ofctl"));
            mine.addAll(bad);
            Out oo = pvio(mine.toArray(new String[0]));
            assertEquals(bad + ": " + rr.err(), 1, rr.status());
            assertEquals(bad.toString(), rr.status(), oo.status());
            assertEquals(bad.toString(), rr.err().replaceFirst("^ovs-ofctl: ", ""), oo.err().replaceFirst("^ofctl: ", ""));
        }
        // --strict, before or after the command: only the flow with that match and priority (32768 by default)
        for (String[] step : List.of(new String[] {"--strict", "del-flows", "br0", "in_port=p1,priority=1"},
                new String[] {"del-flows", "--strict", "br0", "in_port=p1"},
                new String[] {"del-flows", "br0", "--strict", "priority=200,in_port=p1"},
                new String[] {"--strict", "del-flows", "br0", "priority=0"},
                new String[] {"--strict", "del-flows", "br0", "ip,priority=100"})) {
            bothOfctl(env, step);
            String[] dumps = bothOfctl(env, "dump-flows", "br0");
            assertEquals(Arrays.toString(step), flowLines(dumps[0]), flowLines(dumps[1]));
        }
        assertEquals(1 + 4, flowLines(pvio("ofctl", "dump-flows", "br0").out()).size());

        // ovs-appctl bridge/dump-flows: the same lines of table 0 (the real one's in its classifier's order), a
        // catch-all (no match, default priority) too
        bothOfctl(env, "add-flow", "br0", "actions=output:p3");
        String realCtl = dir.resolve("ovs-vswitchd.ctl").toString();
        for (List<String> args : List.<List<String>>of(List.of("br0"), List.of("--offload-stats", "br0"), List.of("nobr"), List.of(),
                List.of("a", "b", "c"))) {
            List<String> real = new ArrayList<>(List.of(OVS_APPCTL, "-t", realCtl, "bridge/dump-flows"));
            real.addAll(args);
            Out rr = exec(env, real);
            Out oo = appctl(Stream.concat(Stream.of("bridge/dump-flows"), args.stream()).toArray(String[]::new));
            assertEquals(args + ": " + oo.err(), rr.status(), oo.status());
            assertEquals(args.toString(), rr.err().replaceFirst("\\S+\\.ctl: ", ""), oo.err().replaceFirst("\\S+\\.ctl: ", ""));
            // the real one adds ofproto-dpif's internal table 254 (its miss, no-packet-in, frags and recirculation
            // rules), which pvio's datapath does not have
            List<String> realLines = new ArrayList<>(rr.out().replaceAll("duration=\\d+s", "duration=Ts").lines()
                    .filter(l -> !l.startsWith("table_id=254, ")).toList());
            List<String> ownLines = new ArrayList<>(oo.out().replaceAll("duration=\\d+s", "duration=Ts").lines().toList());
            realLines.sort(null);
            ownLines.sort(null);
            assertEquals(args.toString(), realLines, ownLines);
        }
    }

    /** The "column : value" lines of a one-record list, by column, in order. */
    private static Map<String, String> record(String list) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : list.split("\n")) {
            int colon = line.indexOf(" : ");
            if (colon > 0) {
                m.put(line.substring(0, colon).strip(), line.substring(colon + 3).strip());
            }
        }
        return m;
    }

    /**
     * list Open_vSwitch shows the columns the real ovs-vsctl shows of a running ovs-vswitchd, with the types
     * filled as it fills them: iface_types are the netdev classes bound now (they leave with their bundle).
     */
    @Test
    public void openVswitchRecordAsTheRealOvsVswitchdFillsIt() throws Exception {
        Path dir = Files.createTempDirectory(runDir.getParent(), "real-ovs-");
        Map<String, String> env = startRealOvs(dir);
        Out r = exec(env, List.of("/usr/bin/ovs-vsctl", "--db=unix:" + dir.resolve("db.sock"), "list", "Open_vSwitch"));
        assertEquals(r.err(), 0, r.status());
        Out o = pvio("vsctl", "list", "Open_vSwitch");
        assertEquals(o.err(), 0, o.status());
        Map<String, String> real = record(r.out());
        Map<String, String> own = record(o.out());
        assertEquals(List.copyOf(real.keySet()), List.copyOf(own.keySet()));
        // a sorted set of bare words, as the real one (which has netdev among its datapath types)
        assertTrue(real.get("datapath_types"), real.get("datapath_types").matches("\\[([a-z0-9-]+, )*netdev(, [a-z0-9-]+)*]"));
        assertEquals("[netdev]", own.get("datapath_types"));
        assertTrue(real.get("iface_types"), real.get("iface_types").matches("\\[[a-z0-9-]+(, [a-z0-9-]+)+]"));
        String types = own.get("iface_types");
        List<String> list = Arrays.asList(types.substring(1, types.length() - 1).split(", "));
        assertEquals(types, list.stream().sorted().toList(), list);
        assertTrue(types, list.containsAll(List.of("dummy", "pktgen", "dpdkvhostuser", "dpdkvhostuserclient")));
        assertEquals("\"8.3.1\"", own.get("db_version")); // the schema version of OVS 3.1's vswitch.ovsschema
        assertTrue(Files.readString(Path.of("/usr/share/openvswitch/vswitch.ovsschema"))
                .contains("\"version\": \"8.3.1\""));

        assertTrue(ok("bundle/stop", "io.pvio.netdev-dummy").contains("io.pvio.netdev-dummy"));
        String without = pvio("vsctl", "get", "Open_vSwitch", ".", "iface_types").out();
        assertFalse(without, without.contains("dummy") || without.contains("pktgen"));
        assertTrue(without, without.contains("dpdkvhostuser"));
        ok("bundle/start", "io.pvio.netdev-dummy");
        assertEquals(types + "\n", pvio("vsctl", "get", "Open_vSwitch", ".", "iface_types").out());
    }

    /** What differs by nature between pvio's and the real dpif/show: datapath names, types and port numbers. */
    private static String dpNeutral(String show) {
        return show.replaceFirst("^[a-z]+@[a-z-]+: hit:\\d+ missed:\\d+\n", "DP: hit:N missed:N\n")
                // the bridge's own port: dummy-internal in the dummy datapath, tap in the netdev one
                .replaceAll("(?m)^(    \\S+ \\d+)/(\\d+|none): \\((dummy-internal|tap)\\)$", "$1/DP: (local)")
                .replaceAll("(?m)^(    \\S+ \\d+)/(\\d+|none):", "$1/DP:");
    }

    /**
     * fdb/stats-show and fdb/stats-clear as the real ovs-vswitchd answers them after the same frames through
     * NORMAL: two stations learned, one of them moved to another port; cleared; OVS's default table size and
     * the Bridge's mac-table-size brought into OVS's range; an unknown bridge.
     */
    @Test
    public void fdbStatsAsTheRealOvsVswitchd() throws Exception {
        Path dir = Files.createTempDirectory(runDir.getParent(), "real-ovs-");
        Map<String, String> env = sameOnBoth(dir, threePorts("br0"), "br0");
        String realCtl = dir.resolve("ovs-vswitchd.ctl").toString();
        String a = "525400000001";
        String b = "525400000002";
        String rest = "08004500001c0001000040110000" + "0a0000010a00000204d204d20008000000000000000000000000000000000000";
        List<String[]> frames = List.of(new String[] {"p1", "ffffffffffff" + a + rest},
                new String[] {"p2", a + b + rest}, new String[] {"p3", b + a + rest}); // a moves from p1 to p3
        String want = "Statistics for bridge \"br0\":\n"
                + "  Current/maximum MAC entries in the table: 2/%d\n"
                + "  Current static MAC entries in the table : 0\n"
                + "  Total number of learned MAC entries     : 2\n"
                + "  Total number of expired MAC entries     : 0\n"
                + "  Total number of evicted MAC entries     : 0\n"
                + "  Total number of port moved MAC entries  : 1\n";
        for (String[] f : frames) {
            Out r = exec(env, List.of(OVS_APPCTL, "-t", realCtl, "netdev-dummy/receive", f[0], f[1]));
            assertEquals(r.err(), 0, r.status());
            ok("netdev-dummy/receive", f[0], f[1]);
            Thread.sleep(100); // one frame learned before the next, on both switches
        }
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        String real;
        String mine;
        while (true) {
            real = exec(env, List.of(OVS_APPCTL, "-t", realCtl, "fdb/stats-show", "br0")).out();
            mine = ok("fdb/stats-show", "br0");
            if (real.equals(String.format(want, 8192)) && mine.equals(real)) { // OVS's default size on both
                break;
            }
            assertTrue("real:\n" + real + "pvio:\n" + mine, System.nanoTime() < deadline);
            Thread.sleep(50);
        }
        Out realClear = exec(env, List.of(OVS_APPCTL, "-t", realCtl, "fdb/stats-clear", "br0"));
        assertEquals(realClear.out(), ok("fdb/stats-clear", "br0"));
        assertEquals(realClear.out(), ok("fdb/stats-clear"));
        real = exec(env, List.of(OVS_APPCTL, "-t", realCtl, "fdb/stats-show", "br0")).out();
        assertEquals(real, ok("fdb/stats-show", "br0"));
        assertTrue(real, real.contains("learned MAC entries     : 0\n"));
        // the Bridge's mac-table-size, brought into OVS's range (at least 10) on both
        List<String> size = List.of("set", "Bridge", "br0", "other_config:mac-table-size=5",
                "other_config:mac-aging-time=20");
        List<String> realSet = new ArrayList<>(List.of("/usr/bin/ovs-vsctl", "--db=unix:" + dir.resolve("db.sock")));
        realSet.addAll(size);
        assertEquals(0, exec(env, realSet).status());
        List<String> ownSet = new ArrayList<>(List.of("vsctl"));
        ownSet.addAll(size);
        assertEquals(0, pvio(ownSet.toArray(new String[0])).status());
        real = exec(env, List.of(OVS_APPCTL, "-t", realCtl, "fdb/stats-show", "br0")).out();
        assertTrue(real, real.contains("Current/maximum MAC entries in the table: 2/10\n"));
        assertEquals(real, ok("fdb/stats-show", "br0"));
        Out realNone = exec(env, List.of(OVS_APPCTL, "-t", realCtl, "fdb/stats-show", "nosuch"));
        Out none = appctl("fdb/stats-show", "nosuch");
        assertEquals(realNone.status(), none.status());
        assertEquals(realNone.err().replaceFirst("\\S+\\.ctl: ", ""), none.err().replaceFirst("\\S+\\.ctl: ", ""));
        assertTrue(none.err(), none.err().startsWith("no such bridge\n"));
    }

    /**
     * NORMAL with access, trunk and native-untagged ports (tag, trunks, vlan_mode set with the real ovs-vsctl
     * and pvio vsctl): the same frames into both switches leave by the same ports with the same VLAN headers
     * (the real one's ports write what they send to pcap files, pvio's keep it for netdev-dummy/sent), and
     * both learn the same stations in the same VLANs.
     */
    @Test
    public void vlansAsTheRealOvsVswitchd() throws Exception {
        Path dir = Files.createTempDirectory(runDir.getParent(), "real-ovs-");
        List<String> conf = new ArrayList<>(List.of("add-br", "br0"));
        String[][] ports = {{"p1", "tag=10"}, {"p2", "tag=10"}, {"p3", "tag=20"}, {"p4"},
            {"p5", "vlan_mode=native-untagged", "tag=30", "trunks=20"}};
        for (int i = 0; i < ports.length; i++) {
            conf.addAll(List.of("--", "add-port", "br0", ports[i][0]));
            conf.addAll(Arrays.asList(ports[i]).subList(1, ports[i].length));
            conf.addAll(List.of("--", "set", "Interface", ports[i][0], "type=dummy", "ofport_request=" + (i + 1)));
        }
        Map<String, String> env = sameOnBoth(dir, conf, "br0");
        List<String> pcaps = new ArrayList<>(List.of("/usr/bin/ovs-vsctl", "--db=unix:" + dir.resolve("db.sock")));
        for (String[] p : ports) {
            pcaps.addAll(List.of("--", "set", "Interface", p[0], "options:tx_pcap=" + dir.resolve(p[0] + ".pcap")));
        }
        assertEquals(0, exec(env, pcaps).status());
        String show = pvio("vsctl", "show").out();
        assertTrue(show, show.contains("        Port p5\n            tag: 30\n            trunks: [20]\n"));
        String a = "525400000001";
        String b = "525400000002";
        String ip = "0800" + "4500001c0001000040110000" + "0a0000010a00000204d204d2000800000000000000000000";
        String[][] frames = {
            {"p1", "ffffffffffff" + a + ip}, // VLAN 10: p2 as it is, p4 tagged
            {"p2", "ffffffffffff" + b + "8100000a" + ip}, // tagged into an access port: dropped
            {"p4", "ffffffffffff" + "525400000003" + "8100a014" + ip}, // VLAN 20, PCP 5: p3 untagged, p5 as is
            {"p4", a + b + "8100000a" + ip}, // to A in VLAN 10: p1, popped
            {"p1", b + a + ip}, // to B, learned on p4 in VLAN 10: tagged
            {"p4", "ffffffffffff" + "525400000004" + "88a80014" + ip}, // 802.1ad VLAN 20
            {"p5", "ffffffffffff" + "525400000005" + ip}, // p5's native VLAN 30: p4 tagged 30
            {"p5", "ffffffffffff" + "525400000006" + "81000028" + ip}}; // VLAN 40, not trunked: dropped
        String realCtl = dir.resolve("ovs-vswitchd.ctl").toString();
        for (String[] f : frames) {
            Out r = exec(env, List.of(OVS_APPCTL, "-t", realCtl, "netdev-dummy/receive", f[0], f[1]));
            assertEquals(r.err(), 0, r.status());
            ok("netdev-dummy/receive", f[0], f[1]);
            Thread.sleep(100); // learned before the next frame, on both switches
        }
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        while (true) {
            StringBuilder real = new StringBuilder();
            StringBuilder mine = new StringBuilder();
            for (String[] p : ports) {
                real.append(p[0]).append(':').append(pcapFrames(dir.resolve(p[0] + ".pcap"))).append('\n');
                List<String> sent = new ArrayList<>(Arrays.asList(ok("netdev-dummy/sent", p[0], "100").split("\n")));
                mine.append(p[0]).append(':').append(sent.subList(1, sent.size())).append('\n');
            }
            if (real.toString().equals(mine.toString()) && real.toString().contains("a0140800")) {
                assertTrue(real.toString(), real.toString().startsWith("p1:[" + a + b + ip + "]\n"));
                break;
            }
            assertTrue("real:\n" + real + "pvio:\n" + mine, System.nanoTime() < deadline);
            Thread.sleep(100);
        }
        String realFdb = stations(exec(env, List.of(OVS_APPCTL, "-t", realCtl, "fdb/show", "br0")).out());
        assertEquals(realFdb, stations(ok("fdb/show", "br0")));
        assertTrue(realFdb, realFdb.contains("    4    10  52:54:00:00:00:02"));
        assertTrue(realFdb, realFdb.contains("    5    30  52:54:00:00:00:05"));

        // ofproto/trace: the same steps and messages, each port reached with the same VLAN header
        String realShow = exec(env, List.of(OVS_APPCTL, "-t", realCtl, "dpif/show")).out();
        Matcher local = Pattern.compile("\n    br0 65534/(\\d+):").matcher(realShow);
        assertTrue(realShow, local.find());
        boolean ownLocalOpen = ok("dpif/show").contains("\n    br0 65534/65534: ");
        for (String flow : List.of("in_port=1,dl_src=52:54:00:00:00:01,dl_dst=52:54:00:00:00:02",
                "in_port=4,dl_vlan=10,dl_dst=52:54:00:00:00:01", "in_port=5,dl_dst=ff:ff:ff:ff:ff:ff",
                "in_port=5,dl_vlan=20,dl_vlan_pcp=3,dl_dst=ff:ff:ff:ff:ff:ff", "in_port=4,dl_vlan=40",
                "in_port=1,dl_vlan=0,dl_vlan_pcp=5,dl_dst=52:54:00:00:00:02", "in_port=1,dl_vlan=20",
                "in_port=1,vlan_tci=0x0005,ip", "in_port=p2,dl_dst=52:54:00:00:00:01")) {
            Out want = exec(env, List.of(OVS_APPCTL, "-t", realCtl, "ofproto/trace", "br0", flow));
            assertEquals(want.err(), 0, want.status());
            String expected = vlanTrace(want.out(), Integer.parseInt(local.group(1)), ownLocalOpen);
            assertEquals(flow, expected, vlanTrace(ok("ofproto/trace", "br0", flow), 65534, true));
        }

        // static entries (fdb/add, fdb/del): the same replies, errors, tables and forwarding on both
        String aa = "52:54:00:00:00:aa";
        List<List<String>> fdb = List.of(List.of("fdb/add", "br0", "p3", "20", "52:54:00:00:00:03"),
                List.of("fdb/add", "br0", "p2", "10", aa), List.of("fdb/add", "br0", "p2", "10", aa),
                List.of("fdb/add", "br0", "p1", "10", aa), List.of("fdb/add", "br0", "nosuch", "10", aa),
                List.of("fdb/add", "br0", "p1", "10", "zz"), List.of("fdb/add", "nobr", "p1", "10", aa),
                List.of("fdb/flush", "br0"), List.of("fdb/del", "br0", "20", "52:54:00:00:00:03"),
                List.of("fdb/del", "br0", "20", "52:54:00:00:00:03"), List.of("fdb/show", "br0"));
        for (List<String> c : fdb) {
            List<String> real = new ArrayList<>(List.of(OVS_APPCTL, "-t", realCtl));
            real.addAll(c);
            Out r = exec(env, real);
            Out o = appctl(c.toArray(new String[0]));
            assertEquals(c + ": " + r.err(), r.status(), o.status());
            assertEquals(c.toString(), r.out(), o.out());
            assertEquals(c.toString(), r.err().replaceFirst("\\S+\\.ctl: ", ""), o.err().replaceFirst("\\S+\\.ctl: ", ""));
        }
        assertEquals(" port  VLAN  MAC                Age\n    1    10  52:54:00:00:00:aa  static\n",
                ok("fdb/show", "br0"));
        String statics = "  Current static MAC entries in the table : 1\n";
        assertTrue(exec(env, List.of(OVS_APPCTL, "-t", realCtl, "fdb/stats-show", "br0")).out().contains(statics));
        assertTrue(ok("fdb/stats-show", "br0").contains(statics));
        String toAa = "in_port=4,dl_vlan=10,dl_dst=" + aa;
        assertEquals(vlanTrace(exec(env, List.of(OVS_APPCTL, "-t", realCtl, "ofproto/trace", "br0", toAa)).out(),
                Integer.parseInt(local.group(1)), ownLocalOpen), vlanTrace(ok("ofproto/trace", "br0", toAa), 65534, true));
        assertTrue(ok("ofproto/trace", "br0", toAa).endsWith("Datapath actions: pop_vlan,1\n"));
    }

    /**
     * A trace without its Megaflow line, its datapath actions as what each port gets: "PORT:HEADER" (the VLAN
     * header the frame has, as a push_vlan, or "none"), sorted (a flood's order is OVS's hash
     * order there, pvio's ofport order here), the local port as 65534 (or left out when pvio's is not open).
     */
    private static String vlanTrace(String trace, int localOdp, boolean withLocal) {
        StringBuilder sb = new StringBuilder();
        for (String line : trace.split("\n")) {
            if (line.startsWith("Megaflow: ")) {
                continue;
            }
            if (line.startsWith("Datapath actions: ") && !line.endsWith(": drop")) {
                List<String> got = new ArrayList<>();
                Matcher tag = Pattern.compile("^Flow: .*dl_vlan=(\\d+),dl_vlan_pcp=(\\d+),").matcher(trace);
                String header = tag.find() ? "push_vlan(vid=" + tag.group(1) + ",pcp=" + tag.group(2) + ")" : "none";
                for (String a : line.substring(18).split(",(?![^(]*\\))")) {
                    if (a.startsWith("push_vlan(")) {
                        header = a;
                    } else if (a.equals("pop_vlan")) {
                        header = "none";
                    } else {
                        int n = Integer.parseInt(a);
                        if (n == localOdp && !withLocal) {
                            continue;
                        }
                        got.add((n == localOdp ? 65534 : n) + ":" + header);
                    }
                }
                got.sort(null);
                line = "Datapath actions: " + (got.isEmpty() ? "drop" : got); // its only port left out: drop
            }
            sb.append(line).append('\n');
        }
        return sb.toString();
    }

    /**
     * A controller set with pvio vsctl in pvio's own database (no ovsdb-server): OVS's ovs-testcontroller
     * connects, installs its table-miss flow and answers a packet-in; a restart connects again from the
     * database; del-controller empties the secure bridge, del-fail-mode brings NORMAL back.
     */
    @Test
    public void aControllerSetWithPvioVsctlIsKeptInItsDatabase() throws Exception {
        boolean present = new File("/usr/bin/ovs-testcontroller").canExecute();
        if (!present && "true".equals(System.getenv("CI"))) {
            throw new AssertionError("ovs-testcontroller is not installed (CI=true): install openvswitch-testcontroller");
        }
        org.junit.Assume.assumeTrue("ovs-testcontroller (openvswitch-testcontroller) is not installed", present);
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        Path tc = Files.createTempDirectory(runDir.getParent(), "tc-");
        ovs.add(new ProcessBuilder("/usr/bin/ovs-testcontroller", "ptcp:" + port + ":127.0.0.1", "--wildcards=0x3ffff2",
                "--unixctl=" + tc.resolve("tc.ctl"), "--log-file=" + tc.resolve("tc.log"), "-vfile:dbg")
                .redirectErrorStream(true).redirectOutput(tc.resolve("tc.out").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start());
        awaitFile(tc.resolve("tc.ctl"));
        String target = "tcp:127.0.0.1:" + port;
        List<String> conf = new ArrayList<>(List.of("vsctl", "add-br", "br0", "--", "set-controller", "br0", target,
                "--", "set-fail-mode", "br0", "secure"));
        conf.addAll(threePorts("br0").subList(2, threePorts("br0").size())); // its ports, after add-br
        Out set = pvio(conf.toArray(new String[0]));
        assertEquals(set.err(), 0, set.status());
        assertEquals(target + "\n", pvio("vsctl", "get-controller", "br0").out());
        Map<String, String> ownEnv = Map.of("OVS_RUNDIR", runDir.toString());
        Reading flows = () -> exec(ownEnv, List.of("/usr/bin/ovs-ofctl", "-O", "OpenFlow13", "dump-flows", "br0")).out();
        awaitContains(" priority=0 actions=CONTROLLER:128\n", flows);
        String a = "525400000001";
        String frame = "ffffffffffff" + a + "08004500001c0001000040110000" + "0a0000010a00000204d204d2" + "00".repeat(8);
        ok("netdev-dummy/receive", "p1", frame);
        awaitContains("OFPT_PACKET_OUT", () -> Files.readString(tc.resolve("tc.log")));
        awaitContains("p2: sent 1 packets", () -> ok("netdev-dummy/sent", "p2")); // the controller's flood

        // a restart: the controller and fail mode come back from the database, and it connects again
        daemon.destroy();
        assertTrue(daemon.waitFor(10, TimeUnit.SECONDS));
        startDaemon();
        String connected = "br0<->" + target + ": connected";
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        while (Files.readString(runDir.resolve("vswitchd.log")).split(Pattern.quote(connected), -1).length < 3) {
            assertTrue("not connected again", System.nanoTime() < deadline);
            Thread.sleep(50);
        }
        awaitContains(" priority=0 actions=CONTROLLER:128\n", flows);

        assertEquals(0, pvio("vsctl", "del-controller", "br0").status());
        awaitEquals("OFPST_FLOW reply (OF1.3) (xid=0x2):\n", flows);
        assertEquals(0, pvio("vsctl", "del-fail-mode", "br0").status());
        awaitContains(" priority=0 actions=NORMAL\n", flows);
    }

    private static void awaitContains(String want, Reading r) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        String last = null;
        while (System.nanoTime() < deadline) {
            last = r.get();
            if (last.contains(want)) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no \"" + want + "\" in:\n" + last);
    }

    /** The frames of a pcap file (as OVS's ovs_pcap_write writes them), in hex. */
    private static List<String> pcapFrames(Path f) throws IOException {
        List<String> out = new ArrayList<>();
        if (!Files.exists(f)) {
            return out;
        }
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
        b.position(Math.min(24, b.limit()));
        while (b.remaining() >= 16) {
            b.position(b.position() + 8);
            int len = b.getInt();
            b.getInt();
            if (b.remaining() < len) {
                break; // a record being written
            }
            StringBuilder hex = new StringBuilder();
            for (int i = 0; i < len; i++) {
                hex.append(String.format("%02x", b.get()));
            }
            out.add(hex.toString());
        }
        return out;
    }

    /** fdb/show's stations (port, VLAN, MAC), sorted, without their ages. */
    private static String stations(String fdb) {
        return String.join("\n", fdb.lines().skip(1).map(l -> l.substring(0, Math.min(l.length(), 30)))
                .sorted().toList());
    }

    /**
     * other_config:pmd-auto-lb and its settings, set with the real ovs-vsctl on the real ovs-vswitchd and on
     * pvio: the same dpif_netdev log lines, in the same order, on both.
     */
    @Test
    public void autoLoadBalanceSettingsLoggedAsTheRealOvsVswitchd() throws Exception {
        Path dir = Files.createTempDirectory(runDir.getParent(), "real-ovs-");
        Map<String, String> env = sameOnBoth(dir, threePorts("br0"), "br0");
        List<List<String>> steps = List.of(
                List.of("other_config:pmd-auto-lb=true"),
                List.of("other_config:pmd-auto-lb-load-threshold=80", "other_config:pmd-auto-lb-rebal-interval=5"),
                List.of("other_config:pmd-auto-lb-improvement-threshold=101", "other_config:pmd-auto-lb=false"));
        Path realLog = dir.resolve("ovs-vswitchd.log");
        Path ownLog = runDir.resolve("vswitchd.log");
        for (List<String> step : steps) {
            long realFrom = Files.size(realLog);
            long ownFrom = Files.size(ownLog);
            List<String> real = new ArrayList<>(List.of("/usr/bin/ovs-vsctl", "--db=unix:" + dir.resolve("db.sock"),
                    "set", "Open_vSwitch", "."));
            real.addAll(step);
            assertEquals(0, exec(env, real).status());
            List<String> own = new ArrayList<>(List.of("vsctl", "set", "Open_vSwitch", "."));
            own.addAll(step);
            assertEquals(0, pvio(own.toArray(new String[0])).status());
            String want = autoLbLines(realLog, realFrom);
            assertTrue(step + ": " + want, want.contains("PMD auto load balance is "));
            long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
            while (!autoLbLines(ownLog, ownFrom).equals(want)) {
                assertTrue(step + ": real\n" + want + "pvio\n" + autoLbLines(ownLog, ownFrom),
                        System.nanoTime() < deadline);
                Thread.sleep(50);
            }
        }
    }

    /** The "PMD auto load balance" lines of a vswitchd.log from byte {@code from}, without time and sequence. */
    private static String autoLbLines(Path log, long from) throws IOException {
        byte[] all = Files.readAllBytes(log);
        String text = new String(all, (int) from, all.length - (int) from, StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder();
        for (String l : text.split("\n")) {
            int at = l.indexOf("|dpif_netdev|");
            if (at >= 0 && l.contains("PMD auto load balance")) {
                sb.append(l.substring(at)).append('\n');
            }
        }
        return sb.toString();
    }

    /** dpif/show, dpif/dump-dps and ofproto/list as the real ovs-vswitchd prints them for the same switch. */
    @Test
    public void dpifShowAndOfprotoListAsTheRealOvsVswitchd() throws Exception {
        Path dir = Files.createTempDirectory(runDir.getParent(), "real-ovs-");
        List<String> conf = new ArrayList<>(List.of("add-br", "dps0", "--", "add-br", "dps1"));
        for (int i = 1; i <= 3; i++) {
            conf.addAll(List.of("--", "add-port", "dps0", "p" + i, "--", "set", "Interface", "p" + i, "type=dummy",
                    "ofport_request=" + (4 - i) * 10));
        }
        conf.addAll(List.of("--", "add-port", "dps1", "q1", "--", "set", "Interface", "q1", "type=dummy"));
        Map<String, String> env = sameOnBoth(dir, conf, "dps0", "dps1");

        String realCtl = dir.resolve("ovs-vswitchd.ctl").toString();
        Out realShow = exec(env, List.of(OVS_APPCTL, "-t", realCtl, "dpif/show"));
        assertEquals(realShow.err(), 0, realShow.status());
        String show = ok("dpif/show");
        assertTrue(show, show.startsWith("netdev@ovs-netdev: hit:0 missed:0\n  dps0:\n"));
        assertTrue(show, show.contains("\n    p1 30/30: (dummy)\n"));
        assertEquals(dpNeutral(realShow.out()), dpNeutral(show));

        Out realList = exec(env, List.of(OVS_APPCTL, "-t", realCtl, "ofproto/list"));
        assertEquals("dps0\ndps1\n", realList.out());
        assertEquals(realList.out(), ok("ofproto/list"));
        Out realDps = exec(env, List.of(OVS_APPCTL, "-t", realCtl, "dpif/dump-dps"));
        assertEquals(realDps.out().replace("dummy@", "netdev@"), ok("dpif/dump-dps"));
        Out extra = appctl("dpif/show", "x");
        Out realExtra = exec(env, List.of(OVS_APPCTL, "-t", realCtl, "dpif/show", "x"));
        assertEquals(realExtra.status(), extra.status());
        assertEquals(realExtra.err().lines().findFirst(), extra.err().lines().findFirst());
    }

    /** ofport_request swaps and conflicts: pvio gives the numbers the real ovs-vswitchd gives. */
    @Test
    public void ofportRequestsAreResolvedAsTheRealOvsVswitchd() throws Exception {
        Path dir = Files.createTempDirectory(runDir.getParent(), "real-ovs-");
        Map<String, String> env = startRealOvs(dir);
        String db = "--db=unix:" + dir.resolve("db.sock");
        List<List<String>> steps = List.of(
            List.of("add-br", "br0", "--", "add-port", "br0", "a", "--", "set", "Interface", "a", "type=dummy",
                "ofport_request=1", "--", "add-port", "br0", "b", "--", "set", "Interface", "b", "type=dummy",
                "ofport_request=2", "--", "add-port", "br0", "c", "--", "set", "Interface", "c", "type=dummy"),
            // a swap in one transaction
            List.of("set", "Interface", "a", "ofport_request=2", "--", "set", "Interface", "b", "ofport_request=1"),
            // a number held by a port that requested it too: nothing moves
            List.of("set", "Interface", "c", "ofport_request=1"),
            // b leaves 1 for 5 in the same transaction: c gets 1
            List.of("set", "Interface", "b", "ofport_request=5"));
        boolean first = true;
        for (List<String> step : steps) {
            List<String> cmd = new ArrayList<>(List.of("/usr/bin/ovs-vsctl", db)); // waits for ovs-vswitchd
            cmd.addAll(step);
            if (first) {
                cmd.addAll(List.of("--", "set", "Bridge", "br0", "datapath_type=dummy"));
                first = false;
            }
            Out r = exec(env, cmd);
            assertEquals(step + ": " + r.err(), 0, r.status());
            List<String> mine = new ArrayList<>(List.of("vsctl"));
            mine.addAll(step);
            Out o = pvio(mine.toArray(new String[0]));
            assertEquals(step + ": " + o.err(), 0, o.status());
            for (String port : List.of("a", "b", "c")) {
                String real = exec(env, List.of("/usr/bin/ovs-vsctl", db, "get", "Interface", port, "ofport")).out();
                assertEquals(step + ": ofport of " + port, real, pvio("vsctl", "get", "Interface", port, "ofport")
                        .out());
            }
        }
        assertEquals("1\n", pvio("vsctl", "get", "Interface", "c", "ofport").out());
    }

    /**
     * A trace as the real ovs-vswitchd prints it, without its Megaflow line (pvio has no megaflow cache), with its
     * datapath port numbers as pvio's (the OpenFlow numbers: the local port's is 65534) and, when {@code flood},
     * sorted: a flood's order is OVS's hash order there, pvio's ofport order here.
     */
    private static String traceAsPvio(String trace, int localOdp, boolean flood) {
        StringBuilder sb = new StringBuilder();
        for (String line : trace.split("\n", -1)) {
            if (line.startsWith("Megaflow: ")) {
                continue;
            }
            if (line.startsWith("Datapath actions: ") && !line.endsWith(": drop")) {
                List<Integer> ports = new ArrayList<>();
                for (String p : line.substring(18).split(",")) {
                    int n = Integer.parseInt(p);
                    ports.add(n == localOdp ? 65534 : n);
                }
                if (flood) {
                    ports.sort(null);
                }
                line = "Datapath actions: " + String.join(",", ports.stream().map(String::valueOf).toList());
            }
            sb.append(line).append('\n');
        }
        return sb.substring(0, sb.length() - 1);
    }

    /**
     * The real {@code ovs-appctl ofproto/trace} on pvio and on the real ovs-vswitchd, for the same bridge, ports,
     * flows (added by the real ovs-ofctl to both) and learned MAC: the same text but for the Megaflow line and
     * the datapath's numbers of the local port; the same errors.
     */
    @Test
    public void ofprotoTraceAsTheRealOvsVswitchd() throws Exception {
        Path dir = Files.createTempDirectory(runDir.getParent(), "real-ovs-");
        List<String> conf = threePorts("br0");
        conf.addAll(List.of("--", "add-br", "br1", "--", "add-port", "br1", "q1", "--", "set", "Interface", "q1",
                "type=dummy", "ofport_request=1"));
        Map<String, String> env = sameOnBoth(dir, conf, "br0", "br1");

        Map<String, String> ownEnv = Map.of("OVS_RUNDIR", runDir.toString());
        List<List<String>> flows = List.of(
            List.of("add-flow", "br0", "priority=300,in_port=1,dl_dst=00:00:00:00:00:09,actions=output:2,output:3"),
            List.of("add-flow", "br0", "priority=200,cookie=0x1f,in_port=2,actions=drop"),
            List.of("add-flow", "br0", "priority=100,ip,in_port=3,actions=LOCAL"),
            List.of("add-flow", "br0", "priority=150,in_port=3,dl_type=0x88cc,actions=FLOOD"),
            List.of("add-flow", "br0", "priority=120,in_port=p3,dl_src=00:00:00:00:00:03,actions=output:3"),
            List.of("add-flow", "br0", "priority=110,in_port=1,dl_src=00:00:00:00:00:05,actions=output:7"),
            List.of("add-flow", "br0", "dl_src=00:00:00:00:00:06,actions=normal,output:2"),
            List.of("del-flows", "br1"));
        for (List<String> f : flows) {
            List<String> cmd = new ArrayList<>(List.of("/usr/bin/ovs-ofctl"));
            cmd.addAll(f);
            Out rr = exec(env, cmd);
            assertEquals(f + ": " + rr.err(), 0, rr.status());
            Out oo = exec(ownEnv, cmd);
            assertEquals(f + ": " + oo.err(), 0, oo.status());
        }
        // both learn 00:00:00:00:00:33 on p3 from a broadcast frame
        String realCtl = dir.resolve("ovs-vswitchd.ctl").toString();
        String frame = "ffffffffffff000000000033" + "1234" + "00".repeat(46);
        Out rr = exec(env, List.of(OVS_APPCTL, "-t", realCtl, "netdev-dummy/receive", "p3", frame));
        assertEquals(rr.err(), 0, rr.status());
        ok("netdev-dummy/receive", "p3", frame);
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        while (!ok("fdb/show", "br0").contains("    3     0  00:00:00:00:00:33")
                || !exec(env, List.of(OVS_APPCTL, "-t", realCtl, "fdb/show", "br0")).out().contains("00:00:00:00:00:33")) {
            assertTrue("00:00:00:00:00:33 not learned", System.nanoTime() < deadline);
            Thread.sleep(50);
        }

        String realShow = exec(env, List.of(OVS_APPCTL, "-t", realCtl, "dpif/show")).out();
        Matcher local = Pattern.compile("\n    br0 65534/(\\d+):").matcher(realShow);
        assertTrue(realShow, local.find());
        int localOdp = Integer.parseInt(local.group(1));
        boolean ownLocalOpen = ok("dpif/show").contains("\n    br0 65534/65534: ");

        Map<String, Boolean> traces = new LinkedHashMap<>(); // flow -> floods
        traces.put("in_port=1,dl_dst=00:00:00:00:00:09", false);
        traces.put("in_port=2,dl_src=00:00:00:00:00:01", false);
        traces.put("in_port=3,ip", false);
        traces.put("in_port=3,dl_type=0x88cc", true);
        traces.put("in_port=p3,dl_src=00:00:00:00:00:03", false);
        traces.put("in_port=1,dl_src=00:00:00:00:00:05", false);
        traces.put("in_port=1,dl_dst=00:00:00:00:00:33", false); // NORMAL, learned
        traces.put("in_port=3,eth_dst=00:00:00:00:00:33", false); // NORMAL, learned on the input port
        traces.put("in_port=1,eth_dst=00:00:00:00:00:44,eth_type=0x0806", true); // NORMAL, not learned
        traces.put("in_port=p1,eth_src=00:00:00:00:00:06,eth_dst=ff:ff:ff:ff:ff:ff", true); // NORMAL then output:2
        for (Map.Entry<String, Boolean> t : traces.entrySet()) {
            if (!ownLocalOpen && t.getKey().equals("in_port=3,ip")) {
                continue; // its only output is LOCAL
            }
            Out want = exec(env, List.of(OVS_APPCTL, "-t", realCtl, "ofproto/trace", "br0", t.getKey()));
            assertEquals(want.err(), 0, want.status());
            String got = ok("ofproto/trace", "br0", t.getKey());
            String expected = traceAsPvio(want.out(), localOdp, t.getValue());
            String actual = t.getValue() ? traceAsPvio(got, -1, true) : got;
            if (!ownLocalOpen) { // pvio's local port is a tap device: without CAP_NET_ADMIN it is not open
                expected = expected.replaceAll("(Datapath actions: .*),65534\n", "$1\n");
            }
            assertEquals(t.getKey(), expected, actual);
        }
        // a miss: no flows on br1
        Out miss = exec(env, List.of(OVS_APPCTL, "-t", realCtl, "ofproto/trace", "br1", "in_port=1"));
        String ownMiss = ok("ofproto/trace", "br1", "in_port=1");
        assertTrue(ownMiss, ownMiss.contains("\n 0. No match.\n    drop\n"));
        assertEquals(traceAsPvio(miss.out(), localOdp, false), ownMiss);

        // errors: OVS's texts
        for (List<String> bad : List.of(List.of("nobr", "in_port=1"), List.of("br0", "in_port=1,foo=1"),
                List.of("br0", "in_port=nop"), List.of("br0", "dl_src=zz"), List.of("br0", "--foo", "in_port=1"))) {
            List<String> cmd = new ArrayList<>(List.of(OVS_APPCTL, "-t", realCtl, "ofproto/trace"));
            cmd.addAll(bad);
            Out want = exec(env, cmd);
            List<String> args = new ArrayList<>(List.of("ofproto/trace"));
            args.addAll(bad);
            Out got = appctl(args.toArray(new String[0]));
            assertEquals(bad.toString(), want.status(), got.status());
            assertEquals(bad.toString(), want.err().lines().findFirst(), got.err().lines().findFirst());
        }
    }

    /**
     * link_resets, link_speed and duplex as the real ovs-vswitchd fills them for the same ports: dummy ports, and
     * a system port on a veth whose peer is in a namespace of this test, before and after its carrier goes down
     * and up again.
     */
    @Test
    public void linkColumnsAsTheRealOvsVswitchdFillsThem() throws Exception {
        long id = ProcessHandle.current().pid() % 100_000;
        String ns = "pvio-lnk-" + id;
        String own = "pvo" + id;
        String real = "ovo" + id;
        assertEquals(0, exec(Map.of(), List.of("ip", "netns", "add", ns)).status());
        try {
            for (String v : List.of(own, real)) {
                assertEquals(0, exec(Map.of(), List.of("ip", "link", "add", v, "type", "veth", "peer", "name",
                        v + "i", "netns", ns)).status());
                assertEquals(0, exec(Map.of(), List.of("ip", "-n", ns, "link", "set", v + "i", "up")).status());
                // up before it joins: ovs-vswitchd leaves a system port as it finds it, pvio brings it up
                assertEquals(0, exec(Map.of(), List.of("ip", "link", "set", v, "up")).status());
            }
            Path dir = Files.createTempDirectory(runDir.getParent(), "real-ovs-");
            Map<String, String> env = sameOnBoth(dir, threePorts("br0"), "br0");
            List<String> realVsctl = List.of("/usr/bin/ovs-vsctl", "--db=unix:" + dir.resolve("db.sock"));
            Out added = exec(env, concat(realVsctl, "add-port", "br0", real));
            assertEquals(added.err(), 0, added.status());
            assertEquals(0, pvio("vsctl", "add-port", "br0", own).status());
            Reading mine = () -> pvio("vsctl", "get", "Interface", own, "link_state", "link_resets", "link_speed",
                    "duplex").out();
            Reading theirs = () -> exec(env, concat(realVsctl, "get", "Interface", real, "link_state", "link_resets",
                    "link_speed", "duplex")).out();
            String up = "up\n0\n10000000000\nfull\n";
            awaitEquals(up, theirs);
            awaitEquals(up, mine);
            // a dummy port: no speed, no count
            Out p1 = pvio("vsctl", "get", "Interface", "p1", "link_resets", "link_speed", "duplex");
            assertEquals("0\n[]\n[]\n", p1.out());
            assertEquals(exec(env, concat(realVsctl, "get", "Interface", "p1", "link_resets", "link_speed", "duplex"))
                    .out(), p1.out());
            for (String v : List.of(own, real)) {
                assertEquals(0, exec(Map.of(), List.of("ip", "-n", ns, "link", "set", v + "i", "down")).status());
            }
            String down = "down\n1\n10000000000\nfull\n";
            awaitEquals(down, theirs);
            awaitEquals(down, mine);
            for (String v : List.of(own, real)) {
                assertEquals(0, exec(Map.of(), List.of("ip", "-n", ns, "link", "set", v + "i", "up")).status());
            }
            String again = "up\n2\n10000000000\nfull\n";
            awaitEquals(again, theirs);
            awaitEquals(again, mine);
        } finally {
            exec(Map.of(), List.of("ip", "link", "del", own));
            exec(Map.of(), List.of("ip", "link", "del", real));
            exec(Map.of(), List.of("ip", "netns", "del", ns));
        }
    }

    private static List<String> concat(List<String> head, String... tail) {
        List<String> all = new ArrayList<>(head);
        all.addAll(Arrays.asList(tail));
        return all;
    }

    interface Reading {
        String get() throws Exception;
    }

    /** Waits until {@code r} reads {@code want} (a bound as a safety net, not a timing assertion). */
    private static void awaitEquals(String want, Reading r) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        String got = r.get();
        while (!want.equals(got) && System.nanoTime() < deadline) {
            Thread.sleep(100);
            got = r.get();
        }
        assertEquals(want, got);
    }
}
