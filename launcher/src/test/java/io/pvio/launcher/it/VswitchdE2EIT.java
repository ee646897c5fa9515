package io.pvio.launcher.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * The real pvio.jar: the daemon as a process, configured with the pvio vsctl/ofctl/appctl clients over
 * its control socket; a bad command changes nothing; the configuration survives a restart.
 */
public class VswitchdE2EIT {
    private static final long TIMEOUT_MS = 30_000;
    private final String jar = System.getProperty("pvio.jar", "target/pvio.jar");
    private final String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    private Path runDir;
    private Process daemon;

    record Out(int status, String out, String err) {
    }

    @Before
    public void setUp() throws IOException {
        Path base = Files.createDirectories(Path.of(System.getProperty("pvio.it.dir", "target/it")));
        runDir = Files.createTempDirectory(base, "e2e-").toAbsolutePath();
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

    private void startDaemon() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(java, "-jar", jar, "vswitchd", "--run-dir", runDir.toString());
        File log = runDir.resolveSibling(runDir.getFileName() + ".out").toFile();
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log));
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        daemon = pb.start();
        Path sock = runDir.resolve("pvio-vswitchd.ctl");
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        while (!Files.exists(sock)) {
            assertTrue("daemon exited early, see " + log, daemon.isAlive());
            assertTrue("no control socket within " + TIMEOUT_MS + " ms", System.nanoTime() < deadline);
            Thread.sleep(50);
        }
    }

    /** Runs a client tool ({@code args[0]}) against this test's run directory. */
    private Out pvio(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(args[0], "--run-dir", runDir.toString()));
        cmd.addAll(Arrays.asList(args).subList(1, args.length));
        return pvioPlain(cmd.toArray(new String[0]));
    }

    /** Runs {@code java -jar pvio.jar ARGS} as given, without standard input. */
    private Out pvioPlain(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(java, "-jar", jar));
        cmd.addAll(Arrays.asList(args));
        Path out = Files.createTempFile("pvio-out", ".txt");
        Path err = Files.createTempFile("pvio-err", ".txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        try {
            if (!p.waitFor(4 * TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                throw new AssertionError("pvio " + String.join(" ", args) + " did not finish");
            }
            return new Out(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /**
     * A daemon no client can reach is not left running: with a run directory too long for a Unix socket's
     * path (108 bytes), vswitchd exits 1 and says why, as it does for a bad --db target.
     */
    @Test
    public void withoutAControlSocketVswitchdExits() throws Exception {
        Path deep = runDir.resolve("d".repeat(60)).resolve("e".repeat(60));
        Out o = pvioPlain("vswitchd", "--run-dir", deep.toString());
        assertEquals(o.out() + o.err(), 1, o.status());
        assertTrue(o.err(), o.err().contains("pvio vswitchd: cannot start: no control socket at " + deep));
        Out bad = pvioPlain("vswitchd", "--run-dir", runDir.toString(), "--db", "tcp:127.0.0.1:99999");
        assertEquals(bad.out() + bad.err(), 2, bad.status());
    }

    /** The README's first command: the demo runs on its own and exits 0 with everything accounted for. */
    @Test
    public void theDemoAccountsForEveryPacket() throws Exception {
        Out o = pvioPlain("demo", "--seconds", "2");
        assertEquals(o.out() + o.err(), 0, o.status());
        assertTrue(o.out(), o.out().contains("unaccounted 0"));
        assertTrue(o.out(), o.out().contains("buffers in use after the ports closed: 0"));
        Matcher m = Pattern.compile("run directory (\\S+) \\(log: ").matcher(o.out());
        assertTrue(o.out(), m.find());
        try (var left = Files.list(Path.of(m.group(1)))) { // of its temporary run directory, only the log stays
            assertEquals(List.of("vswitchd.log"), left.map(p -> p.getFileName().toString()).toList());
        }
    }

    private String ok(String... args) throws Exception {
        Out o = pvio(args);
        assertEquals("pvio " + String.join(" ", args) + ": " + o.err(), 0, o.status());
        return o.out();
    }

    private void awaitOutput(String expected, String... args) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        String last;
        do {
            last = ok(args).strip();
            if (last.equals(expected)) {
                return;
            }
            Thread.sleep(100);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("pvio " + String.join(" ", args) + ": expected " + expected + ", last " + last);
    }

    /** ofctl add-flows: one flow per line (comments and blank lines skipped), all or none, kept in conf.db. */
    @Test
    public void addFlowsFromAFile() throws Exception {
        startDaemon();
        ok("vsctl", "add-br", "baf0");
        StringBuilder sb = new StringBuilder("# a thousand MAC pairs, both ways\n\n");
        for (int i = 0; i < 1000; i++) {
            String a = String.format("02:00:00:00:%02x:%02x", i >> 8, i & 255);
            String b = String.format("02:01:00:00:%02x:%02x", i >> 8, i & 255);
            sb.append("in_port=1,dl_src=").append(a).append(",dl_dst=").append(b).append(",actions=output:2\n");
            sb.append("in_port=2,dl_src=").append(b).append(",dl_dst=").append(a).append(",actions=output:1\n");
        }
        Path good = runDir.resolveSibling(runDir.getFileName() + "-flows.txt");
        Files.writeString(good, sb);
        ok("ofctl", "add-flows", "baf0", good.toString());
        String dump = ok("ofctl", "dump-flows", "baf0");
        assertEquals(dump, 1 + 2000 + 1, dump.split("\n").length); // header, the flows, priority=0 NORMAL
        assertTrue(dump, dump.contains("in_port=2,dl_src=02:01:00:00:03:e7,dl_dst=02:00:00:00:03:e7 actions=output:1"));
        Path bad = runDir.resolveSibling(runDir.getFileName() + "-bad.txt");
        Files.writeString(bad, "in_port=1,actions=output:2\nin_port=1,actions=bogus\n");
        Out refused = pvio("ofctl", "add-flows", "baf0", bad.toString());
        assertEquals(1, refused.status());
        assertTrue(refused.err(), refused.err().contains("bogus"));
        Out missing = pvio("ofctl", "add-flows", "baf0", bad + ".none");
        assertEquals(1, missing.status());
        assertTrue(missing.err(), missing.err().contains("cannot read"));
        assertEquals("nothing of a refused file is added", dump.replaceAll("duration=[^,]*, ", "")
                .replaceAll("idle_age=\\d+, ", ""), ok("ofctl", "dump-flows", "baf0")
                .replaceAll("duration=[^,]*, ", "").replaceAll("idle_age=\\d+, ", ""));
        assertEquals(2001, Files.readString(runDir.resolve("conf.db")).split("actions=", -1).length - 1);

        // "-" reads the flows from standard input, as ovs-ofctl does
        Path one = runDir.resolveSibling(runDir.getFileName() + "-stdin.txt");
        Files.writeString(one, "priority=7,in_port=3,actions=output:4\n");
        Process p = new ProcessBuilder(java, "-jar", jar, "ofctl", "--run-dir", runDir.toString(), "add-flows", "baf0",
                "-").redirectInput(one.toFile()).redirectErrorStream(true).start();
        String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(said, p.waitFor(TIMEOUT_MS, TimeUnit.MILLISECONDS));
        assertEquals(said, 0, p.exitValue());
        assertTrue(ok("ofctl", "dump-flows", "baf0"), ok("ofctl", "dump-flows", "baf0")
                .contains("priority=7,in_port=3 actions=output:4"));
    }

    @Test
    public void configureRunRefuseRestartAndExit() throws Exception {
        startDaemon();
        ok("vsctl", "add-br", "br0");
        ok("ofctl", "del-flows", "br0");
        ok("ofctl", "add-flow", "br0", "in_port=1,actions=output:2");
        ok("vsctl", "add-port", "br0", "gen", "--", "set", "Interface", "gen", "type=pktgen", "ofport_request=1",
                "options:count=5000", "options:enabled=false",
                "--", "add-port", "br0", "sink", "--", "set", "Interface", "sink", "type=pktgen", "ofport_request=2",
                "options:count=1", "options:enabled=false",
                "other_config:attr=\"(txq0,00:04.0,256),(txq1,00:04.1,256)\"");
        assertEquals("\"(txq0,00:04.0,256),(txq1,00:04.1,256)\"\n",
                ok("vsctl", "get", "Interface", "sink", "other_config:attr"));
        ok("vsctl", "remove", "Interface", "gen", "options", "enabled");
        awaitOutput("5000", "vsctl", "get", "Interface", "sink", "statistics:rx_valid");
        assertEquals("0\n", ok("vsctl", "get", "Interface", "sink", "statistics:rx_lost"));
        String show = ok("appctl", "pktgen/show", "sink");
        assertTrue(show, show.contains("rx_valid: 5000"));
        String list = ok("vsctl", "list", "Interface", "gen");
        assertTrue(list, list.contains("link_state          : up"));
        assertTrue(list, list.contains("ofport              : 1"));

        // refused: the switch and the database stay as they were
        String before = ok("vsctl", "show");
        Out bad = pvio("vsctl", "set", "Interface", "gen", "options:size=5");
        assertEquals(1, bad.status());
        assertTrue(bad.err(), bad.err().startsWith("vsctl: ") && bad.err().contains("size"));
        Out bad2 = pvio("vsctl", "add-port", "br0", "p3", "--", "set", "Interface", "p3", "type=pktgen",
                "options:bogus=1");
        assertEquals(1, bad2.status());
        assertTrue(bad2.err(), bad2.err().contains("bogus"));
        Out bad3 = pvio("vsctl", "list", "Nope");
        assertEquals(1, bad3.status());
        assertTrue(bad3.err(), bad3.err().contains("unknown table \"Nope\""));
        Out bad4 = pvio("appctl", "no/such-command");
        assertEquals(2, bad4.status());
        assertTrue(bad4.err(), bad4.err().contains("is not a valid command"));
        Out bad5 = pvio("ofctl", "add-flow", "br0", "in_port=1");
        assertEquals(1, bad5.status());
        assertEquals(before, ok("vsctl", "show"));
        assertEquals("gen\nsink\n", ok("vsctl", "list-ports", "br0"));
        assertEquals("{count=\"5000\"}\n", ok("vsctl", "get", "Interface", "gen", "options"));

        // one daemon per run directory
        Out second = pvioPlain("vswitchd", "--run-dir", runDir.toString());
        assertEquals(1, second.status());
        assertTrue(second.err(), second.err().contains("is in use by another pvio-vswitchd (pid "));
        // ports without ofport_request, added out of name order: they keep their numbers across the restart
        ok("vsctl", "add-port", "br0", "zz", "--", "set", "Interface", "zz", "type=dummy");
        ok("vsctl", "add-port", "br0", "aa", "--", "set", "Interface", "aa", "type=dummy");
        assertEquals("3\n", ok("vsctl", "get", "Interface", "zz", "ofport"));
        assertEquals("4\n", ok("vsctl", "get", "Interface", "aa", "ofport"));

        // restart: the configuration (ports, options, flows) comes back from conf.db, and traffic with it
        ok("vsctl", "set", "Interface", "gen", "options:enabled=false");
        before = ok("vsctl", "show");
        ok("appctl", "exit");
        assertTrue("daemon did not exit within " + TIMEOUT_MS + " ms", daemon.waitFor(TIMEOUT_MS, TimeUnit.MILLISECONDS));
        assertEquals(0, daemon.exitValue());
        Out down = pvio("vsctl", "show");
        assertEquals(1, down.status());
        assertTrue(down.err(), down.err().contains("pvio-vswitchd is not running"));
        startDaemon();
        assertEquals(before, ok("vsctl", "show"));
        assertEquals("3\n", ok("vsctl", "get", "Interface", "zz", "ofport"));
        assertEquals("4\n", ok("vsctl", "get", "Interface", "aa", "ofport"));
        String flows = ok("ofctl", "dump-flows", "br0");
        assertTrue(flows, flows.contains("in_port=1") && !flows.contains("NORMAL"));
        assertEquals("0\n", ok("vsctl", "get", "Interface", "sink", "statistics:received"));
        ok("vsctl", "remove", "Interface", "gen", "options", "enabled");
        awaitOutput("5000", "vsctl", "get", "Interface", "sink", "statistics:rx_valid");
        ok("appctl", "exit");
        assertTrue(daemon.waitFor(TIMEOUT_MS, TimeUnit.MILLISECONDS));
        assertEquals(0, daemon.exitValue());
        String log = Files.readString(runDir.resolve("vswitchd.log"));
        assertTrue(log.lines().allMatch(l -> l.startsWith("    ")
                || l.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\|\\d{5,}\\|[\\w.-]+\\|(ERR|WARN|INFO|DBG)\\|.*")));
        assertNotEquals(-1, log.indexOf("|bridge|INFO|database changed: vsctl add-br br0"));
    }

    /** Connects to the Unix socket at {@code p}: somebody listens there. */
    private static void listening(Path p) throws IOException {
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(p));
        }
    }

    /**
     * A dpdkvhostuser port named after one of the daemon's sockets (or another listener) is refused and the
     * socket keeps working, also when conf.db restores such a port at startup, before the control socket
     * is bound (here after a kill -9, which leaves the control socket's file behind).
     */
    @Test
    public void vhostServerPortsNeverTakeAListenersSocket() throws Exception {
        startDaemon();
        ok("vsctl", "add-br", "hb1");
        String version = ok("appctl", "version");
        for (String name : new String[] {"pvio-vswitchd.ctl", "hb1.mgmt"}) {
            Out o = pvio("vsctl", "add-port", "hb1", name, "--", "set", "Interface", name, "type=dpdkvhostuser");
            assertEquals(o.err(), 1, o.status());
            assertTrue(o.err(), o.err().contains(runDir.resolve(name).toString()));
            assertEquals(version, ok("appctl", "version"));
            listening(runDir.resolve(name));
        }
        Path ext = runDir.resolve("ext0");
        try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            other.bind(UnixDomainSocketAddress.of(ext));
            Out o = pvio("vsctl", "add-port", "hb1", "ext0", "--", "set", "Interface", "ext0", "type=dpdkvhostuser");
            assertEquals(o.err(), 1, o.status());
            assertTrue(o.err(), o.err().contains("Address already in use"));
            listening(ext);
        }
        Files.delete(ext);
        // ports that an older pvio accepted under these names: restored from conf.db at the next start
        ok("vsctl", "add-port", "hb1", "vhuctl", "--", "set", "Interface", "vhuctl", "type=dpdkvhostuser",
                "--", "add-port", "hb1", "vhumgmt", "--", "set", "Interface", "vhumgmt", "type=dpdkvhostuser");
        daemon.destroyForcibly();
        assertTrue(daemon.waitFor(TIMEOUT_MS, TimeUnit.MILLISECONDS));
        assertTrue("kill -9 leaves the control socket's file", Files.exists(runDir.resolve("pvio-vswitchd.ctl")));
        Path db = runDir.resolve("conf.db");
        Files.writeString(db, Files.readString(db).replace("\"vhuctl\"", "\"pvio-vswitchd.ctl\"")
                .replace("\"vhumgmt\"", "\"hb1.mgmt\""));
        startDaemon();
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        Out v;
        while ((v = pvio("appctl", "version")).status() != 0 && System.nanoTime() < deadline) {
            Thread.sleep(100); // the file may be the old one for a moment
        }
        assertEquals(v.err(), version, v.out());
        assertEquals("hb1.mgmt\npvio-vswitchd.ctl\n", ok("vsctl", "list-ports", "hb1"));
        listening(runDir.resolve("hb1.mgmt"));
        String log = Files.readString(runDir.resolve("vswitchd.log"));
        assertTrue(log, log.contains("cannot add port pvio-vswitchd.ctl"));
        assertTrue(log, log.contains("cannot add port hb1.mgmt"));
        ok("vsctl", "del-port", "hb1", "pvio-vswitchd.ctl", "--", "del-port", "hb1", "hb1.mgmt");
        assertEquals(version, ok("appctl", "version"));
        listening(runDir.resolve("hb1.mgmt"));
        ok("appctl", "exit");
        assertTrue(daemon.waitFor(TIMEOUT_MS, TimeUnit.MILLISECONDS));
    }
}
