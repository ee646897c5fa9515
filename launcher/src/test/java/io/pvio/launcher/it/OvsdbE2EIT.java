package io.pvio.launcher.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.junit.Assume.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * pvio.jar as a daemon configured by a real ovsdb-server with OVS's own vswitch.ovsschema, through the
 * real ovs-vsctl (Debian's openvswitch-common and openvswitch-switch), as ovs-vswitchd is; traffic to DPDK
 * testpmd through a vhost-user port created that way. Skipped when the OVS tools are missing (fails under
 * CI=true).
 */
public class OvsdbE2EIT {
    private static final long TIMEOUT_MS = 60_000;
    private static final String SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema";
    private final String jar = System.getProperty("pvio.jar", "target/pvio.jar");
    private final String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    private Path dir;
    private Path runDir;
    private Path dbFile;
    private String db;
    private Process server;
    private Process daemon;
    private Process testpmd;
    private String testpmdPrefix;
    /** When > 0, the server on db.sock also listens on tcp:127.0.0.1:PORT. */
    private int tcpPort;

    record Out(int status, String out, String err) {
    }

    @Before
    public void setUp() throws Exception {
        boolean present = new File("/usr/sbin/ovsdb-server").canExecute() && new File("/usr/bin/ovs-vsctl").canExecute()
                && new File(SCHEMA).canRead();
        if (!present && "true".equals(System.getenv("CI"))) {
            fail("ovsdb-server/ovs-vsctl are not installed (CI=true): install openvswitch-common and openvswitch-switch");
        }
        assumeTrue("ovsdb-server, ovs-vsctl or " + SCHEMA + " missing: skipping the OVSDB tests", present);
        Path base = Files.createDirectories(Path.of(System.getProperty("pvio.it.dir", "target/it")));
        dir = Files.createTempDirectory(base, "ovsdb-").toAbsolutePath();
        runDir = dir.resolve("run");
        dbFile = dir.resolve("conf.db");
        db = "unix:" + dir.resolve("db.sock");
        run(List.of("ovsdb-tool", "create", dbFile.toString(), SCHEMA));
        server = startServer("db.sock");
    }

    @After
    public void tearDown() throws Exception {
        for (Process p : new Process[] {testpmd, daemon, server}) {
            if (p != null && p.isAlive()) {
                p.destroy();
                if (!p.waitFor(15, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
        }
        if (testpmdPrefix != null) {
            for (String d : new String[] {"/var/run/dpdk/", "/tmp/dpdk/"}) {
                File f = new File(d + testpmdPrefix);
                File[] kids = f.listFiles();
                if (kids != null) {
                    Arrays.stream(kids).forEach(File::delete);
                }
                f.delete();
            }
        }
    }

    /** ovsdb-server in the foreground on {@code dir/SOCK}, serving dir/conf.db. */
    private Process startServer(String sock) throws Exception {
        Path s = dir.resolve(sock);
        List<String> cmd = new ArrayList<>(List.of("/usr/sbin/ovsdb-server", "--remote=punix:" + s,
                "--unixctl=" + dir.resolve(sock + ".ctl"), "--log-file=" + dir.resolve("ovsdb-server.log"),
                dbFile.toString()));
        if (tcpPort > 0 && sock.equals("db.sock")) {
            cmd.add(1, "--remote=ptcp:" + tcpPort + ":127.0.0.1");
        }
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("ovsdb-server.out")
                .toFile())).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Process p = pb.start();
        await("ovsdb-server socket " + s, () -> Files.exists(s) && p.isAlive());
        return p;
    }

    private void stopServer(Process p) throws Exception {
        p.destroy();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    }

    private void startDaemon() throws Exception {
        startDaemon(db);
    }

    private void startDaemon(String target) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(java, "-jar", jar, "vswitchd", "--run-dir", runDir.toString(),
                "--db", target);
        File log = dir.resolve("pvio.out").toFile();
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log));
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        daemon = pb.start();
        await("pvio control socket", () -> {
            assertTrue("daemon exited early, see " + log, daemon.isAlive());
            return Files.exists(runDir.resolve("pvio-vswitchd.ctl"));
        });
    }

    private Out run(List<String> cmd) throws Exception {
        return run(Map.of(), cmd);
    }

    private Out run(Map<String, String> env, List<String> cmd) throws Exception {
        Path out = Files.createTempFile(dir == null ? null : dir, "out", ".txt");
        Path err = Files.createTempFile(dir == null ? null : dir, "err", ".txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().putAll(env);
        Process p = pb.start();
        try {
            if (!p.waitFor(2 * TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                throw new AssertionError(String.join(" ", cmd) + " did not finish");
            }
            return new Out(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** The real ovs-vsctl against this test's server; waits for pvio (no --no-wait) unless told. */
    private Out vsctl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ovs-vsctl", "--db=" + db));
        if (Arrays.stream(args).noneMatch(a -> a.startsWith("--timeout"))) {
            cmd.add("--timeout=" + TIMEOUT_MS / 1000);
        }
        cmd.addAll(Arrays.asList(args));
        return run(cmd);
    }

    private String vsctlOk(String... args) throws Exception {
        Out o = vsctl(args);
        assertEquals("ovs-vsctl " + String.join(" ", args) + ": " + o.err(), 0, o.status());
        return o.out();
    }

    private Out pvio(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(java, "-jar", jar, args[0], "--run-dir", runDir.toString()));
        cmd.addAll(Arrays.asList(args).subList(1, args.length));
        return run(cmd);
    }

    private String pvioOk(String... args) throws Exception {
        Out o = pvio(args);
        assertEquals("pvio " + String.join(" ", args) + ": " + o.err(), 0, o.status());
        return o.out();
    }

    interface Check {
        boolean ok() throws Exception;
    }

    private static void await(String what, Check c) throws Exception {
        await(what, c, () -> "");
    }

    /** {@link #await(String, Check)}, with what {@code last} says of the last try in the failure. */
    private static void await(String what, Check c, java.util.function.Supplier<String> last) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        while (!c.ok()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what + (last.get().isEmpty() ? "" : ": " + last.get()));
            }
            Thread.sleep(100);
        }
    }

    /** Waits until {@code ovs-vsctl ARGS} prints something {@code p} accepts; returns it. */
    private String awaitVsctl(Predicate<String> p, String... args) throws Exception {
        String[] last = {null};
        try {
            await("ovs-vsctl " + String.join(" ", args), () -> p.test(last[0] = vsctlOk(args).strip()));
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; last output: " + last[0]);
        }
        return last[0];
    }

    private String log() throws IOException {
        return Files.readString(runDir.resolve("vswitchd.log"));
    }

    @Test
    public void ovsVsctlConfiguresPvioAndTrafficReachesTestpmd() throws Exception {
        boolean pmd = new File("/usr/bin/dpdk-testpmd").canExecute();
        if (!pmd && "true".equals(System.getenv("CI"))) {
            fail("dpdk-testpmd is not installed (CI=true): install the Debian package dpdk");
        }
        assumeTrue("dpdk-testpmd is not installed: skipping", pmd);
        startDaemon();
        // without --no-wait: returns only once pvio has written cur_cfg = next_cfg
        vsctlOk("add-br", "br0");
        vsctlOk("set", "Open_vSwitch", ".", "other_config:vhost-async-copy-support=true",
                "other_config:pmd-cpu-mask=0x1");
        assertTrue(log(), log().contains("Async copy support for vhost-user-client enabled"));
        assertEquals(vsctlOk("get", "Open_vSwitch", ".", "next_cfg"), vsctlOk("get", "Open_vSwitch", ".", "cur_cfg"));
        // the port types present, where OpenStack's agent looks for dpdkvhostuser
        String types = vsctlOk("get", "Open_vSwitch", ".", "iface_types");
        assertTrue(types, types.contains("dpdkvhostuser") && types.contains("dpdkvhostuserclient"));
        assertEquals("[netdev]\n", vsctlOk("get", "Open_vSwitch", ".", "datapath_types"));

        vsctlOk("add-port", "br0", "gen", "--", "set", "Interface", "gen", "type=pktgen", "ofport_request=1",
                "options:count=20000", "options:size=64", "options:rate=100000", "options:burst=32",
                "options:enabled=false",
                "--", "add-port", "br0", "vhu0", "--", "set", "Interface", "vhu0", "type=dpdkvhostuser",
                "ofport_request=2", "options:vhost-async-attr=\"(txq0,00:04.0,256)\"");
        assertEquals("1\n", vsctlOk("get", "Interface", "gen", "ofport"));
        assertEquals("2\n", vsctlOk("get", "Interface", "vhu0", "ofport"));
        assertEquals("[]\n", vsctlOk("get", "Interface", "vhu0", "error"));
        assertTrue(Files.exists(runDir.resolve("vhu0")));
        // flows are not in OVSDB: pvio ofctl keeps working
        pvioOk("ofctl", "del-flows", "br0");
        pvioOk("ofctl", "add-flow", "br0", "in_port=1,actions=output:2");

        testpmdPrefix = "pvio-ovsdb-" + ProcessHandle.current().pid();
        Path pmdLog = dir.resolve("testpmd.log");
        testpmd = new ProcessBuilder("stdbuf", "-oL", "dpdk-testpmd", "--lcores", "0@0,1@1", "--no-pci", "--no-huge",
                "-m", "256", "--file-prefix=" + testpmdPrefix, "--no-telemetry",
                "--vdev", "net_virtio_user0,path=" + runDir.resolve("vhu0"), "--", "--total-num-mbufs=8192",
                "--nb-cores=1", "--forward-mode=rxonly", "--stats-period=1")
                .redirectErrorStream(true).redirectOutput(pmdLog.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        await("testpmd forwarding", () -> {
            assertTrue("testpmd exited: " + Files.readString(pmdLog), testpmd.isAlive());
            return Files.readString(pmdLog).contains("Port statistics");
        });
        // link_state is written back with the statistics (stats-update-interval)
        awaitVsctl("up"::equals, "get", "Interface", "vhu0", "link_state");
        vsctlOk("remove", "Interface", "gen", "options", "enabled");
        // every packet accounted for: what the port did not deliver it counts as dropped (a full ring)
        awaitVsctl("20000"::equals, "get", "Interface", "gen", "statistics:rx_packets");
        long[] sent = new long[2];
        await("vhu0's statistics to account for 20000 packets", () -> {
            String st = vsctlOk("get", "Interface", "vhu0", "statistics");
            sent[0] = stat(st, "tx_packets");
            sent[1] = stat(st, "tx_dropped");
            return sent[0] + sent[1] == 20000;
        });
        assertTrue("vhu0 delivered nothing", sent[0] > 0);
        await("testpmd to count " + sent[0], () -> lastRx(Files.readString(pmdLog)) >= sent[0]);
        testpmd.destroy();
        assertTrue(testpmd.waitFor(30, TimeUnit.SECONDS));
        assertEquals(Files.readString(pmdLog), sent[0], lastRx(Files.readString(pmdLog)));
        System.out.printf("MEASURED ovsdb e2e: pktgen 20000 at 100000 pps -> vhu0 tx_packets=%d tx_dropped=%d,"
                + " testpmd RX-packets=%d%n", sent[0], sent[1], lastRx(Files.readString(pmdLog)));

        // a row the datapath refuses gets its error column; the rest of the transaction still applies
        Out bad = vsctl("add-port", "br0", "bad", "--", "set", "Interface", "bad", "type=pktgen", "options:size=5",
                "--", "add-port", "br0", "good", "--", "set", "Interface", "good", "type=dummy");
        assertEquals(bad.err(), 0, bad.status());
        assertTrue(bad.err(), bad.err().contains("Error detected while setting up 'bad'"));
        assertTrue(vsctlOk("get", "Interface", "bad", "error"), vsctlOk("get", "Interface", "bad", "error")
                .contains("size"));
        assertEquals("-1\n", vsctlOk("get", "Interface", "bad", "ofport"));
        assertEquals("[]\n", vsctlOk("get", "Interface", "good", "error"));
        assertTrue(Integer.parseInt(vsctlOk("get", "Interface", "good", "ofport").strip()) > 2);
        // fixing the row applies it
        vsctlOk("set", "Interface", "bad", "options:size=64", "options:enabled=false");
        assertEquals("[]\n", vsctlOk("get", "Interface", "bad", "error"));
        assertTrue(Integer.parseInt(vsctlOk("get", "Interface", "bad", "ofport").strip()) > 2);

        // a type no bundle provides: the port waits for one, shown as OVS shows a port it cannot open
        Out nt = vsctl("add-port", "br0", "nt", "--", "set", "Interface", "nt", "type=nosuchtype");
        assertEquals(nt.err(), 0, nt.status());
        assertTrue(nt.err(), nt.err().contains("Error detected while setting up 'nt'"));
        String waiting = "could not open network device nt (no netdev class 'nosuchtype' is registered;"
                + " waiting for a bundle that provides it)";
        assertEquals("\"" + waiting + "\"\n", vsctlOk("get", "Interface", "nt", "error"));
        assertEquals("-1\n", vsctlOk("get", "Interface", "nt", "ofport"));
        assertTrue(vsctlOk("show").contains("error: \"" + waiting + "\""));
        vsctlOk("del-port", "br0", "nt");
        // a class going away (hot swap): its ports wait the same way, then get their number back
        int goodOfport = Integer.parseInt(vsctlOk("get", "Interface", "good", "ofport").strip());
        pvioOk("appctl", "bundle/stop", "io.pvio.netdev-dummy");
        awaitVsctl("-1"::equals, "get", "Interface", "good", "ofport");
        assertTrue(vsctlOk("get", "Interface", "good", "error").contains("no netdev class 'dummy'"));
        pvioOk("appctl", "bundle/start", "io.pvio.netdev-dummy");
        awaitVsctl(Integer.toString(goodOfport)::equals, "get", "Interface", "good", "ofport");
        assertEquals("[]\n", vsctlOk("get", "Interface", "good", "error"));

        // libvirt's command for a vhost-user interface, verbatim, twice (the second replaces the first)
        Path vmSock = dir.resolve("vm0.sock");
        for (int i = 0; i < 2; i++) {
            Out lv = run(List.of("ovs-vsctl", "--db=" + db, "--timeout=5", "--", "--if-exists", "del-port", "vhu1",
                    "--", "add-port", "br0", "vhu1", "--", "set", "Interface", "vhu1", "type=dpdkvhostuserclient",
                    "options:vhost-server-path=" + vmSock));
            assertEquals(lv.err(), 0, lv.status());
            assertEquals("[]\n", vsctlOk("get", "Interface", "vhu1", "error"));
        }
        vsctlOk("set", "Interface", "vhu1", "options:vhost-async-attr=\"(txq0,00:04.1,256)\"");
        assertEquals("[]\n", vsctlOk("get", "Interface", "vhu1", "error"));
        String show = pvioOk("appctl", "netdev-vhost/show", "vhu1");
        assertTrue(show, show.contains("vhu1"));

        // deletes reach the datapath: vhu0's socket goes, the bridge goes
        vsctlOk("del-port", "br0", "vhu0");
        assertFalse(Files.exists(runDir.resolve("vhu0")));
        vsctlOk("add-br", "br1");
        pvioOk("ofctl", "dump-flows", "br1");
        vsctlOk("del-br", "br1");
        Out gone = pvio("ofctl", "dump-flows", "br1");
        assertEquals(gone.err(), 1, gone.status());

        // pvio's own vsctl points to ovs-vsctl
        Out own = pvio("vsctl", "show");
        assertEquals(1, own.status());
        assertTrue(own.err(), own.err().contains("the configuration is in OVSDB") && own.err().contains("ovs-vsctl"));
    }

    /** The real ovs-ofctl with OVS_RUNDIR=RUN_DIR: finds a bridge's socket by its name, as with ovs-vswitchd. */
    private Out ovsOfctl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ovs-ofctl"));
        cmd.addAll(Arrays.asList(args));
        return run(Map.of("OVS_RUNDIR", runDir.toString()), cmd);
    }

    /**
     * ovs-vsctl returns once cur_cfg is raised; ovs-vswitchd has made the bridge's {@code .mgmt} socket by then
     * and removed it on del-br, so ovs-ofctl right after it works (and fails), every time.
     */
    @Test
    public void ovsOfctlRightAfterAddBrAndDelBr() throws Exception {
        assumeTrue("ovs-ofctl is not installed", new File("/usr/bin/ovs-ofctl").canExecute());
        startDaemon();
        for (int i = 1; i <= 5; i++) {
            String br = "rb" + i;
            vsctlOk("add-br", br);
            Out add = ovsOfctl("add-flow", br, "priority=5,actions=drop");
            assertEquals("ovs-ofctl add-flow " + br + " right after add-br: " + add.err(), 0, add.status());
            Out dump = ovsOfctl("dump-flows", br);
            assertEquals(dump.err(), 0, dump.status());
            assertTrue(dump.out(), dump.out().contains("priority=5 actions=drop"));
            vsctlOk("del-br", br);
            assertFalse(br + ".mgmt left after del-br", Files.exists(runDir.resolve(br + ".mgmt")));
            Out gone = ovsOfctl("dump-flows", br);
            assertEquals(gone.err(), 1, gone.status());
            assertTrue(gone.err(), gone.err().contains(br + " is not a bridge or a socket"));
        }
        // without ofproto (an optional bundle) bridges still work and cur_cfg still advances; back, it follows
        pvioOk("appctl", "bundle/stop", "io.pvio.ofproto");
        vsctlOk("--timeout=10", "add-br", "nof");
        assertFalse(Files.exists(runDir.resolve("nof.mgmt")));
        assertTrue(pvioOk("ofctl", "dump-flows", "nof").contains("actions=NORMAL"));
        pvioOk("appctl", "bundle/start", "io.pvio.ofproto");
        vsctlOk("add-br", "rb6");
        assertEquals(0, ovsOfctl("add-flow", "rb6", "priority=5,actions=drop").status());
        assertEquals(0, ovsOfctl("dump-flows", "nof").status());
    }

    /**
     * The columns ovs-vswitchd fills, as OVS 3.1's: an Interface's mtu, mac_in_use, ifindex and admin_state,
     * the Bridge's datapath_id (its local port's MAC, the dpid and LOCAL address ovs-ofctl shows) and
     * datapath_version. With /dev/net/tun, the local port's are the tap device's, as {@code ip link} shows it.
     */
    @Test
    public void interfaceAndBridgeColumnsAsOvsVswitchdFillsThem() throws Exception {
        startDaemon();
        String br = "pvcols" + ProcessHandle.current().pid() % 100_000;
        vsctlOk("add-br", br, "--", "add-port", br, "d1", "--", "set", "Interface", "d1", "type=dummy");
        assertEquals("1500", vsctlOk("get", "Interface", "d1", "mtu").strip());
        String dmac = vsctlOk("get", "Interface", "d1", "mac_in_use").strip();
        assertTrue(dmac, dmac.matches("\"aa:55:aa:55(:[0-9a-f]{2}){2}\"")); // as OVS's dummy ports
        assertEquals("0", vsctlOk("get", "Interface", "d1", "ifindex").strip());
        assertEquals("up", vsctlOk("get", "Interface", "d1", "admin_state").strip());
        // a class without get_features and get_carrier_resets: link_resets 0, no speed, no duplex
        assertEquals("0\n[]\n[]", vsctlOk("get", "Interface", "d1", "link_resets", "link_speed", "duplex").strip());
        assertEquals("\"<built-in>\"", vsctlOk("get", "Bridge", br, "datapath_version").strip());
        String dpid = vsctlOk("get", "Bridge", br, "datapath_id").strip();
        assertTrue(dpid, dpid.matches("\"[0-9a-f]{16}\""));
        dpid = dpid.substring(1, 17);
        // no NIC on the bridge: its MAC comes from its uuid, as OVS's default_ea (stable across restarts)
        assertEquals(defaultEaDpid(vsctlOk("get", "Bridge", br, "_uuid").strip()), dpid);
        boolean tap = vsctlOk("get", "Interface", br, "error").strip().equals("[]");
        assertTrue("no local port without /dev/net/tun?", tap || !new File("/dev/net/tun").exists());
        Pattern local = Pattern.compile(" LOCAL\\(" + br + "\\): addr:([0-9a-f:]{17})\n +config: +(\\S+)");
        boolean ofctl = new File("/usr/bin/ovs-ofctl").canExecute();
        if (ofctl) {
            String show = ovsOfctl("show", br).out();
            assertTrue(show, show.contains(" dpid:" + dpid + "\n"));
            Matcher m = local.matcher(show);
            assertTrue(show, m.find());
            assertEquals("dpid is LOCAL's address", dpid, "0000" + m.group(1).replace(":", ""));
        }
        if (tap) {
            Matcher ip = Pattern.compile("link/ether ([0-9a-f:]{17})").matcher(run(List.of("ip", "-o", "link", "show",
                    "dev", br)).out());
            assertTrue(ip.find());
            assertEquals("\"" + ip.group(1) + "\"", vsctlOk("get", "Interface", br, "mac_in_use").strip());
            assertEquals("0000" + ip.group(1).replace(":", ""), dpid);
            assertEquals(Files.readString(Path.of("/sys/class/net", br, "ifindex")).strip(),
                    vsctlOk("get", "Interface", br, "ifindex").strip());
            assertEquals("1500", vsctlOk("get", "Interface", br, "mtu").strip());
            String status = vsctlOk("get", "Interface", br, "status");
            assertFalse(status, status.contains("mac_in_use") || status.contains("ifindex"));
            // created down, as OVS's local port: admin_state and OpenFlow's PORT_DOWN agree
            assertEquals("down", vsctlOk("get", "Interface", br, "admin_state").strip());
            if (ofctl) {
                Matcher m = local.matcher(ovsOfctl("show", br).out());
                assertTrue(m.find());
                assertEquals("PORT_DOWN", m.group(2));
            }
            // OVS's tap class: ethtool's speed and duplex; up is a carrier change (link_resets)
            assertEquals("0", vsctlOk("get", "Interface", br, "link_resets").strip());
            Matcher eth = Pattern.compile("Speed: (\\d+)Mb/s\n\\s*Duplex: Full").matcher(run(List.of("ethtool", br))
                    .out());
            assertTrue("ethtool " + br, eth.find());
            assertEquals(eth.group(1) + "000000\nfull", vsctlOk("get", "Interface", br, "link_speed", "duplex")
                    .strip());
            assertEquals(0, run(List.of("ip", "link", "set", br, "up")).status());
            awaitVsctl("up"::equals, "get", "Interface", br, "admin_state");
            awaitVsctl("1"::equals, "get", "Interface", br, "link_resets");
            if (ofctl) {
                Matcher m = local.matcher(ovsOfctl("show", br).out());
                assertTrue(m.find());
                assertEquals("0", m.group(2));
            }
        }
        // other_config:hwaddr and datapath-id, as bridge_configure_datapath_id: the column and the dpid follow
        vsctlOk("set", "Bridge", br, "other_config:hwaddr=\"00:11:22:33:44:55\"");
        awaitVsctl("\"0000001122334455\""::equals, "get", "Bridge", br, "datapath_id");
        vsctlOk("set", "Bridge", br, "other_config:datapath-id=0x00000000000000ab");
        awaitVsctl("\"00000000000000ab\""::equals, "get", "Bridge", br, "datapath_id");
        if (ofctl) {
            String show = ovsOfctl("show", br).out();
            assertTrue(show, show.contains(" dpid:00000000000000ab\n"));
            Matcher m = local.matcher(show);
            assertTrue(show, m.find());
            if (tap) {
                assertEquals("LOCAL keeps the hwaddr", "00:11:22:33:44:55", m.group(1));
            }
        }
        vsctlOk("remove", "Bridge", br, "other_config", "datapath-id", "--", "remove", "Bridge", br, "other_config",
                "hwaddr");
        awaitVsctl(("\"" + dpid + "\"")::equals, "get", "Bridge", br, "datapath_id");
        systemPortLinkColumns(br);
        vsctlOk("del-br", br);
    }

    /**
     * A system port's link_speed, duplex and link_resets, as OVS's netdev-linux fills them: a veth whose peer
     * is in a namespace of this test (ethtool: 10000 Mb/s, full); each change of its carrier is a reset.
     */
    private void systemPortLinkColumns(String br) throws Exception {
        String ns = "pvio-link-" + ProcessHandle.current().pid();
        String veth = "pvl" + ProcessHandle.current().pid() % 100_000;
        assertEquals(0, run(List.of("ip", "netns", "add", ns)).status());
        try {
            assertEquals(0, run(List.of("ip", "link", "add", veth, "type", "veth", "peer", "name", veth + "i",
                    "netns", ns)).status());
            assertEquals(0, run(List.of("ip", "-n", ns, "link", "set", veth + "i", "up")).status());
            vsctlOk("add-port", br, veth);
            awaitVsctl("up"::equals, "get", "Interface", veth, "link_state");
            assertEquals("0\n10000000000\nfull", vsctlOk("get", "Interface", veth, "link_resets", "link_speed",
                    "duplex").strip());
            assertEquals(0, run(List.of("ip", "-n", ns, "link", "set", veth + "i", "down")).status());
            awaitVsctl("1"::equals, "get", "Interface", veth, "link_resets");
            assertEquals("down", vsctlOk("get", "Interface", veth, "link_state").strip());
            assertEquals(0, run(List.of("ip", "-n", ns, "link", "set", veth + "i", "up")).status());
            awaitVsctl("2"::equals, "get", "Interface", veth, "link_resets");
            assertEquals("up\n10000000000\nfull", vsctlOk("get", "Interface", veth, "link_state", "link_speed",
                    "duplex").strip());
            vsctlOk("del-port", br, veth);
        } finally {
            run(List.of("ip", "link", "del", veth));
            run(List.of("ip", "netns", "del", ns));
        }
    }

    /**
     * The datapath ID OVS gives a bridge with no NIC: its uuid's first bytes as an x86 host lays out struct
     * uuid (little-endian 32-bit parts), made unicast and locally administered.
     */
    static String defaultEaDpid(String uuid) {
        String h = uuid.replace("-", "");
        String mac = h.substring(6, 8) + h.substring(4, 6) + h.substring(2, 4) + h.substring(0, 2) + h.substring(14, 16)
                + h.substring(12, 14);
        int b0 = Integer.parseInt(mac.substring(0, 2), 16) & ~1 | 2;
        return String.format("0000%02x", b0) + mac.substring(2);
    }

    /** One counter of an OVSDB map as ovs-vsctl prints it ({@code {a=1, b=2}}), or -1. */
    private static long stat(String map, String key) {
        Matcher m = Pattern.compile("[{ ]" + key + "=(\\d+)").matcher(map);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    private static long lastRx(String out) {
        Matcher m = Pattern.compile("RX-packets:\\s+(\\d+)").matcher(out);
        long v = -1;
        while (m.find()) {
            v = Long.parseLong(m.group(1));
        }
        return v;
    }

    private int ofport(String iface) throws Exception {
        return Integer.parseInt(vsctlOk("get", "Interface", iface, "ofport").strip());
    }

    /**
     * An ofport_request clash as ovs-vswitchd resolves it: the port that has the number keeps it, the
     * newcomer gets a free one, neither gets an error; the same after a restart.
     */
    @Test
    public void aPortKeepsTheNumberItAsksForWhenAnotherAsksForItToo() throws Exception {
        startDaemon();
        vsctlOk("add-br", "br");
        vsctlOk("add-port", "br", "d1", "--", "set", "Interface", "d1", "type=dummy", "ofport_request=7");
        vsctlOk("add-port", "br", "d2", "--", "set", "Interface", "d2", "type=dummy", "ofport_request=7");
        assertEquals(7, ofport("d1"));
        int d2 = ofport("d2");
        assertTrue("d2 has " + d2, d2 > 0 && d2 != 7);
        for (String i : List.of("d1", "d2")) {
            assertEquals(i, "[]\n", vsctlOk("get", "Interface", i, "error"));
        }
        assertTrue(log(), log().contains("interface d2: ofport_request 7 is in use by d1; ofport " + d2
                + " is chosen"));

        // restarted: each port gets its number again, and a new port asking for 7 gets a free one
        pvioOk("appctl", "exit");
        assertTrue(daemon.waitFor(TIMEOUT_MS, TimeUnit.MILLISECONDS));
        startDaemon();
        vsctlOk("add-port", "br", "d3", "--", "set", "Interface", "d3", "type=dummy", "ofport_request=7");
        assertEquals(7, ofport("d1"));
        assertEquals(d2, ofport("d2"));
        int d3 = ofport("d3");
        assertTrue("d3 has " + d3, d3 > 0 && d3 != 7 && d3 != d2);
        for (String i : List.of("d1", "d2", "d3")) {
            assertEquals(i, "[]\n", vsctlOk("get", "Interface", i, "error"));
        }
    }

    /**
     * As ovs-vswitchd: a bad other_config value is logged and ignored; the other keys apply (pmd-auto-lb too);
     * a Bridge's other_config:mac-table-size.
     */
    @Test
    public void aBadOtherConfigKeyDoesNotHoldBackTheOthers() throws Exception {
        startDaemon();
        vsctlOk("set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0x1");
        vsctlOk("set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=zz", "other_config:pmd-perf-metrics=true");
        String log = log();
        assertTrue(log, log.contains("|bridge|WARN|Open_vSwitch other_config:pmd-cpu-mask=zz refused, keeping 0x1: "
                + "pmd-cpu-mask 'zz' is not a hexadecimal core mask"));
        assertTrue(log, log.contains("PMD performance metrics enabled"));
        // fixing the key applies it
        vsctlOk("set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0x3");
        String pmds = pvioOk("appctl", "dpif-netdev/pmd-stats-show");
        assertTrue(pmds, pmds.contains("core_id 1"));
        // OVS's PMD auto load balance, as OVS-DPDK users turn it on
        vsctlOk("set", "Open_vSwitch", ".", "other_config:pmd-auto-lb=true",
                "other_config:pmd-auto-lb-load-threshold=80");
        assertTrue(log(), log().contains("|dpif_netdev|INFO|PMD auto load balance is enabled, interval 1 mins, pmd"
                + " load threshold 80%, improvement threshold 25%."));
        // a Bridge's other_config: its MAC learning table, OVS's default size until set
        vsctlOk("add-br", "br0");
        assertTrue(pvioOk("appctl", "fdb/stats-show", "br0").contains("MAC entries in the table: 0/8192\n"));
        vsctlOk("set", "Bridge", "br0", "other_config:mac-table-size=50");
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!pvioOk("appctl", "fdb/stats-show", "br0").contains("MAC entries in the table: 0/50\n")) {
            assertTrue(pvioOk("appctl", "fdb/stats-show", "br0"), System.nanoTime() < deadline);
            Thread.sleep(50);
        }
    }

    /**
     * Interface ingress_policing_rate and _burst set with the real ovs-vsctl, as OpenStack's agent limits what
     * a VM sends: DPDK's testpmd (txonly, 64 B frames) as the guest of a dpdkvhostuser port policed at
     * 800 kbit/s with a burst of 80 kbit; what passes (counted by the port it is forwarded to) is no more than
     * the burst and the rate over the test's time, the rest is in the vhost port's ovs_rx_qos_drops and
     * rx_dropped.
     */
    @Test
    public void ingressPolicingOfAVhostPortSetWithOvsVsctl() throws Exception {
        boolean pmd = new File("/usr/bin/dpdk-testpmd").canExecute();
        if (!pmd && "true".equals(System.getenv("CI"))) {
            fail("dpdk-testpmd is needed (apt-get install dpdk)");
        }
        assumeTrue("dpdk-testpmd missing", pmd);
        startDaemon();
        vsctlOk("add-br", "br0", "--", "add-port", "br0", "vhu0", "--", "set", "Interface", "vhu0",
                "type=dpdkvhostuser", "ofport_request=1", "ingress_policing_rate=800", "ingress_policing_burst=80",
                "--", "add-port", "br0", "sink", "--", "set", "Interface", "sink", "type=dummy", "ofport_request=2");
        assertEquals("800\n", vsctlOk("get", "Interface", "vhu0", "ingress_policing_rate"));
        pvioOk("ofctl", "del-flows", "br0");
        pvioOk("ofctl", "add-flow", "br0", "in_port=1,actions=output:2");
        long t0 = System.nanoTime();
        testpmdPrefix = "pvio-police-" + ProcessHandle.current().pid();
        Path pmdLog = dir.resolve("testpmd-police.log");
        testpmd = new ProcessBuilder("stdbuf", "-oL", "dpdk-testpmd", "--lcores", "0@0,1@1", "--no-pci", "--no-huge",
                "-m", "256", "--file-prefix=" + testpmdPrefix, "--no-telemetry",
                "--vdev", "net_virtio_user0,path=" + runDir.resolve("vhu0"), "--", "--total-num-mbufs=8192",
                "--nb-cores=1", "--forward-mode=txonly", "--txpkts=64", "--stats-period=1")
                .redirectErrorStream(true).redirectOutput(pmdLog.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        awaitVsctl(v -> stat(v, "ovs_rx_qos_drops") > 0, "get", "Interface", "vhu0", "statistics");
        testpmd.destroy();
        assertTrue(testpmd.waitFor(30, TimeUnit.SECONDS));
        String vhu = awaitVsctl(v -> stat(v, "ovs_rx_qos_drops") > 0, "get", "Interface", "vhu0", "statistics");
        long drops = stat(vhu, "ovs_rx_qos_drops");
        assertTrue(vhu, stat(vhu, "rx_dropped") >= drops);
        long passed = stat(awaitVsctl(v -> stat(v, "tx_packets") > 0, "get", "Interface", "sink", "statistics"),
                "tx_packets");
        long elapsed = System.nanoTime() - t0;
        // 50 B a frame policed (64 without the Ethernet header); 10,000 B of burst, 100,000 B a second
        long most = (10_000 + elapsed / 1000 * 100_000 / 1_000_000) / 50 + 1;
        assertTrue(passed + " passed in " + elapsed / 1_000_000 + " ms, at most " + most, passed > 0 && passed <= most);
        System.out.printf("MEASURED ovsdb policing: %d frames passed, %d dropped in %d ms at 800 kbit/s%n",
                passed, drops, elapsed / 1_000_000);
    }

    /**
     * OVS-DPDK's egress-policer QoS, created with the real ovs-vsctl as its documentation shows
     * ({@code set port P qos=@newqos -- --id=@newqos create qos type=egress-policer other-config:cir=...
     * other-config:cbs=...}): a pktgen's 20,000 frames of 64 B sent to the policed port pass up to the bucket
     * and the rate over the test's time, the rest is the port's tx_dropped and ovs_tx_qos_drops; a QoS type
     * pvio does not have is logged and nothing changes; the QoS cleared, everything passes.
     */
    @Test
    public void egressPolicerQosCreatedWithOvsVsctl() throws Exception {
        startDaemon();
        vsctlOk("add-br", "br0", "--", "add-port", "br0", "gen", "--", "set", "Interface", "gen", "type=pktgen",
                "ofport_request=1", "options:count=20000", "options:size=64", "options:enabled=false",
                "--", "add-port", "br0", "sink", "--", "set", "Interface", "sink", "type=dummy", "ofport_request=2");
        pvioOk("ofctl", "del-flows", "br0");
        pvioOk("ofctl", "add-flow", "br0", "in_port=1,actions=output:2");
        long t0 = System.nanoTime();
        vsctlOk("set", "port", "sink", "qos=@newqos", "--", "--id=@newqos", "create", "qos", "type=egress-policer",
                "other-config:cir=12500", "other-config:cbs=1250");
        await("the egress policer in force", () -> stat(vsctlOk("get", "Interface", "sink", "statistics"),
                "ovs_tx_qos_drops") == 0);
        vsctlOk("remove", "Interface", "gen", "options", "enabled");
        String st = awaitVsctl(v -> stat(v, "ovs_tx_qos_drops") + stat(v, "tx_packets") == 20000, "get", "Interface",
                "sink", "statistics");
        long elapsed = System.nanoTime() - t0;
        long passed = stat(st, "tx_packets");
        long most = (1250 + elapsed / 1000 * 12_500 / 1_000_000) / 50 + 1; // 50 B policed a frame
        assertTrue(passed + " passed in " + elapsed / 1_000_000 + " ms, at most " + most, passed >= 25 && passed <= most);
        assertTrue(st, stat(st, "tx_dropped") >= stat(st, "ovs_tx_qos_drops"));

        vsctlOk("set", "qos", vsctlOk("get", "port", "sink", "qos").strip(), "type=linux-htb");
        await("the refusal logged", () -> log().contains("interface sink: could not set QoS: sink: QoS type"
                + " 'linux-htb' is not supported (pvio has egress-policer)"));
        vsctlOk("clear", "port", "sink", "qos");
        vsctlOk("set", "Interface", "gen", "options:count=21000");
        awaitVsctl(v -> stat(v, "tx_packets") == passed + 1000, "get", "Interface", "sink", "statistics");
    }

    /** The real ovs-appctl on pvio's control socket; must succeed with nothing on stderr. */
    /**
     * A controller set with the real ovs-vsctl: pvio connects to OVS's ovs-testcontroller (a learning switch,
     * which negotiates OpenFlow 1.3 and adds its table-miss flow), which learns from the packet-ins and installs
     * flows with idle timeouts and sends the frames on with packet-outs; as OVS, a bridge in fail mode secure
     * without a controller has no flow, and one in standalone mode gets the NORMAL flow back.
     */
    @Test
    public void aControllerSetWithOvsVsctlLearnsFromPacketInsAndInstallsFlows() throws Exception {
        boolean present = new File("/usr/bin/ovs-testcontroller").canExecute();
        if (!present && "true".equals(System.getenv("CI"))) {
            fail("ovs-testcontroller is not installed (CI=true): install openvswitch-testcontroller");
        }
        assumeTrue("ovs-testcontroller (openvswitch-testcontroller) is not installed", present);
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        // as the learning switch's --wildcards: in_port, dl_src and dl_dst exact (all but OFPFW10 bits 0, 2, 3)
        ProcessBuilder pb = new ProcessBuilder("/usr/bin/ovs-testcontroller", "ptcp:" + port + ":127.0.0.1",
                "--wildcards=0x3ffff2", "--unixctl=" + dir.resolve("tc.ctl"), "--log-file=" + dir.resolve("tc.log"),
                "-vfile:dbg").redirectErrorStream(true).redirectOutput(dir.resolve("tc.out").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        testpmd = pb.start(); // stopped by tearDown with the others
        await("ovs-testcontroller", () -> Files.exists(dir.resolve("tc.ctl")));
        startDaemon();
        String target = "tcp:127.0.0.1:" + port;
        vsctlOk("add-br", "br0", "--", "set-controller", "br0", target, "--", "set-fail-mode", "br0", "secure",
                "--", "add-port", "br0", "p1", "--", "set", "Interface", "p1", "type=dummy", "ofport_request=1",
                "--", "add-port", "br0", "p2", "--", "set", "Interface", "p2", "type=dummy", "ofport_request=2");
        await("connected", () -> log().contains("connmgr|INFO|br0<->" + target + ": connected"));
        await("the controller's table-miss flow", () -> ovsOfctl("-O", "OpenFlow13", "dump-flows", "br0").out()
                .contains(" priority=0 actions=CONTROLLER:128\n"));
        // the Controller row as ovs-vswitchd fills it: connected, role other, state ACTIVE
        await("is_connected", () -> vsctlOk("--bare", "--columns=is_connected,role", "list", "Controller")
                .equals("true\nother\n"));
        String status = vsctlOk("--bare", "--columns=status", "list", "Controller");
        assertTrue(status, status.matches("sec_since_connect=\"?\\d+\"? state=ACTIVE\n"));
        assertTrue(vsctlOk("show").contains("        Controller \"" + target + "\"\n            is_connected: true\n"));

        String a = "525400000001";
        String b = "525400000002";
        String rest = "08004500001c0001000040110000" + "0a0000010a00000204d204d20008000000000000000000000000000000000000";
        String ctl = runDir.resolve("pvio-vswitchd.ctl").toString();
        String[][] frames = {{"p1", b + a + rest}, {"p2", a + b + rest}, {"p1", b + a + rest}};
        String[] learned = {null, "priority=1,in_port=2,dl_src=52:54:00:00:00:02,dl_dst=52:54:00:00:00:01 actions=output:1",
                "priority=1,in_port=1,dl_src=52:54:00:00:00:01,dl_dst=52:54:00:00:00:02 actions=output:2"};
        for (int i = 0; i < frames.length; i++) {
            Out in = run(List.of("ovs-appctl", "-t", ctl, "netdev-dummy/receive", frames[i][0], frames[i][1]));
            assertEquals(in.err(), 0, in.status());
            int n = i + 1;
            // unknown destination: flooded by a packet-out; known: a flow and a packet-out to its port
            await("packet-in " + n + " answered", () -> Files.readString(dir.resolve("tc.log"))
                    .split("sent \\(Success\\): OFPT_PACKET_OUT", -1).length - 1 == n);
            if (learned[i] != null) {
                String flow = learned[i];
                await("flow " + flow, () -> ovsOfctl("dump-flows", "br0").out().contains(", idle_timeout=60, idle_age="));
                String dump = ovsOfctl("-O", "OpenFlow13", "dump-flows", "br0").out();
                assertTrue(dump, dump.contains(", idle_timeout=60, " + flow + "\n"));
            }
        }
        await("p1 sent 1 frame and p2 2", () -> {
            String ports = ovsOfctl("dump-ports", "br0").out();
            return ports.matches("(?s).*port +1: rx pkts=2, .*?tx pkts=1, .*")
                    && ports.matches("(?s).*port +2: rx pkts=1, .*?tx pkts=2, .*");
        });

        // fail mode secure: without a controller, no flow (OVS flushes the table when the last one goes)
        vsctlOk("del-controller", "br0");
        await("flushed", () -> ovsOfctl("dump-flows", "br0").out().equals("NXST_FLOW reply (xid=0x4):\n"));
        await("disconnected", () -> log().contains("connmgr|INFO|br0: removed primary controller \"" + target + "\""));
        vsctlOk("del-fail-mode", "br0"); // standalone: the NORMAL flow
        await("NORMAL flow", () -> ovsOfctl("dump-flows", "br0").out().contains(" priority=0 actions=NORMAL\n"));

        // fail-open, as OVS's (texts from ovs-vswitchd 3.1): standalone with a controller that refuses, and
        // inactivity_probe=0 (fail-open after 1 s): a hidden NORMAL flow takes every packet
        vsctlOk("set-controller", "br0", "tcp:127.0.0.1:1", "--", "set", "Controller", "br0", "inactivity_probe=0");
        await("failing open", () -> log().matches("(?s).*fail_open\\|WARN\\|Could not connect to controller \\(or"
                + " switch failed controller's post-connection admission control policy\\) for \\d+ seconds, failing"
                + " open\n.*"));
        assertEquals("NXST_FLOW reply (xid=0x4):\n", ovsOfctl("dump-flows", "br0").out()); // hidden, the rest flushed
        Out in = run(List.of("ovs-appctl", "-t", runDir.resolve("pvio-vswitchd.ctl").toString(), "netdev-dummy/receive",
                "p1", "ffffffffffff" + a + rest));
        assertEquals(in.err(), 0, in.status());
        await("flooded by NORMAL", () -> ovsOfctl("dump-ports", "br0").out().matches("(?s).*port +2: rx pkts=1, .*?tx pkts=3, .*"));
        assertTrue(ovsAppctlOk("bridge/dump-flows", "br0").matches("duration=\\d+s, n_packets=1, n_bytes=\\d+,"
                + " priority=15790320,actions=NORMAL\n"));
        String[] row = new String[1];
        await("the Controller row", () -> (row[0] = vsctlOk("--bare", "--columns=is_connected,status", "list",
                "Controller")).equals("false\nlast_error=Connection refused state=BACKOFF\n"), () -> row[0]);
    }

    private String ovsAppctlOk(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ovs-appctl", "-t", runDir.resolve("pvio-vswitchd.ctl").toString()));
        cmd.addAll(Arrays.asList(args));
        Out o = run(cmd);
        assertEquals("ovs-appctl " + String.join(" ", args) + ": " + o.err(), 0, o.status());
        assertEquals("", o.err());
        return o.out();
    }

    /**
     * Interface other_config:pmd-rxq-affinity with the real ovs-vsctl, as OVS-DPDK users set it, and the real
     * ovs-appctl dpif-netdev/pmd-rxq-show: the pinned queue on its core, whose PMD is isolated; a malformed
     * value is logged as ovs-vswitchd logs it, with no Interface error; pmd-rxq-rebalance answers as OVS.
     */
    @Test
    public void rxqAffinityPinsAQueueAndIsolatesItsPmd() throws Exception {
        startDaemon();
        vsctlOk("set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0x3");
        vsctlOk("add-br", "br0");
        vsctlOk("add-port", "br0", "d1", "--", "set", "Interface", "d1", "type=dummy", "options:n_rxq=2",
                "ofport_request=1", "other_config:pmd-rxq-affinity=\"0:1\"");
        vsctlOk("add-port", "br0", "d2", "--", "set", "Interface", "d2", "type=dummy", "options:n_rxq=2");
        String core1 = "pmd thread numa_id 0 core_id 1:\n  isolated : true\n"
                + "  port: d1                queue-id:  0 (enabled)   pmd usage: NOT AVAIL\n  overhead: NOT AVAIL\n";
        String show = rxqShow();
        assertTrue(show, show.startsWith("Displaying last 60 seconds pmd usage %\n"));
        assertTrue(show, show.contains(core1));
        assertTrue(show, show.contains("pmd thread numa_id 0 core_id 0:\n  isolated : false\n"));
        for (String q : List.of("d1                queue-id:  1", "d2                queue-id:  0",
                "d2                queue-id:  1")) {
            assertTrue(show, show.contains("  port: " + q + " (enabled)   pmd usage: NOT AVAIL\n"));
        }
        assertTrue(log(), log().contains("|dpif_netdev|INFO|Core  1 on numa node 0 is pinned with port 'd1' rx queue 0"));

        // malformed: logged as ovs-vswitchd logs it, the pinning in force kept, no error on the Interface
        vsctlOk("set", "Interface", "d1", "other_config:pmd-rxq-affinity=0:x");
        assertTrue(log(), log().contains("|dpif|WARN|netdev@ovs-netdev: port_set_config failed (Invalid argument)"));
        assertTrue(log(), log().contains("|ofproto|WARN|br0: datapath configuration on port 1 (d1) failed"
                + " (Invalid argument)"));
        assertEquals("[]\n", vsctlOk("get", "Interface", "d1", "error"));
        assertTrue(rxqShow().contains(core1));

        assertEquals("pmd rxq rebalance requested.\n", ovsAppctlOk("dpif-netdev/pmd-rxq-rebalance"));
        assertTrue(log(), log().contains("|dpif_netdev|INFO|Performing pmd to rx queue assignment using cycles"
                + " algorithm.")); // OVS's default
        assertTrue(log(), log().contains("|dpif_netdev|INFO|Core  0 on numa node 0 assigned port 'd2' rx queue 0"
                + " (measured processing cycles 0)."));
        assertTrue(rxqShow().contains(core1));

        vsctlOk("remove", "Interface", "d1", "other_config", "pmd-rxq-affinity");
        show = ovsAppctlOk("dpif-netdev/pmd-rxq-show");
        assertTrue(show, show.contains("pmd thread numa_id 0 core_id 1:\n  isolated : false\n"));
        assertFalse(show, show.contains("isolated : true"));
    }

    /**
     * The real ovs-appctl's dpif-netdev/pmd-rxq-show with the usage figures as NOT AVAIL: a PMD shows figures
     * once its first 5 s interval has ended (dummy ports that receive nothing: 0 %), which a slow run reaches.
     */
    private String rxqShow() throws Exception {
        return ovsAppctlOk("dpif-netdev/pmd-rxq-show").replaceAll("(pmd usage|overhead): +0 %", "$1: NOT AVAIL");
    }

    @Test
    public void reconnectsAndResyncsWhenTheServerComesBack() throws Exception {
        // pvio on tcp:, the clients on the server's Unix socket
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            tcpPort = free.getLocalPort();
        }
        stopServer(server);
        server = startServer("db.sock");
        startDaemon("tcp:127.0.0.1:" + tcpPort);
        vsctlOk("add-br", "br0", "--", "add-port", "br0", "p1", "--", "set", "Interface", "p1", "type=dummy");
        assertTrue(pvioOk("appctl", "dpif-netdev/pmd-rxq-show").contains("port: p1 "));

        // the server is killed; the database changes while pvio cannot see it
        server.destroyForcibly();
        assertTrue(server.waitFor(30, TimeUnit.SECONDS));
        Files.deleteIfExists(dir.resolve("db.sock")); // left behind by SIGKILL
        Process other = startServer("other.sock");
        run(List.of("ovs-vsctl", "--db=unix:" + dir.resolve("other.sock"), "--no-wait", "--", "del-port", "p1",
                "--", "add-port", "br0", "p2", "--", "set", "Interface", "p2", "type=dummy",
                "--", "add-br", "br1"));
        stopServer(other);
        assertTrue(daemon.isAlive());
        server = startServer("db.sock");

        // pvio reconnects, applies what changed, and follows new changes (this waits for its cur_cfg)
        vsctlOk("add-port", "br1", "p3", "--", "set", "Interface", "p3", "type=dummy");
        String rxq = pvioOk("appctl", "dpif-netdev/pmd-rxq-show");
        assertTrue(rxq, rxq.contains("port: p2 ") && rxq.contains("port: p3 ") && !rxq.contains("port: p1 "));
        pvioOk("ofctl", "dump-flows", "br1");
        assertTrue(Integer.parseInt(vsctlOk("get", "Interface", "p2", "ofport").strip()) > 0);
        String log = log();
        assertTrue(log, log.split(Pattern.quote("|reconnect|INFO|tcp:127.0.0.1:" + tcpPort + ": connected"), -1)
                .length - 1 >= 2);
        assertTrue(log, log.contains("deleted interface p1"));

        // pvio restarted: the ports get the numbers the database recorded, as with ovs-vswitchd
        String p2 = vsctlOk("get", "Interface", "p2", "ofport");
        String p3 = vsctlOk("get", "Interface", "p3", "ofport");
        pvioOk("appctl", "exit");
        assertTrue(daemon.waitFor(TIMEOUT_MS, TimeUnit.MILLISECONDS));
        vsctlOk("--no-wait", "add-port", "br0", "p4", "--", "set", "Interface", "p4", "type=dummy");
        startDaemon("tcp:127.0.0.1:" + tcpPort);
        vsctlOk("set", "Open_vSwitch", ".", "other_config:pmd-perf-metrics=false"); // waits for pvio
        assertEquals(p2, vsctlOk("get", "Interface", "p2", "ofport"));
        assertEquals(p3, vsctlOk("get", "Interface", "p3", "ofport"));
        assertTrue(pvioOk("appctl", "dpif-netdev/pmd-rxq-show").contains("port: p4 "));

        // the datapath bundle restarted (it keeps no configuration): the database is applied to it again
        pvioOk("appctl", "bundle/stop", "io.pvio.dpif-netdev");
        pvioOk("appctl", "bundle/start", "io.pvio.dpif-netdev");
        vsctlOk("set", "Open_vSwitch", ".", "other_config:pmd-perf-metrics=true");
        String rxq2 = pvioOk("appctl", "dpif-netdev/pmd-rxq-show");
        assertTrue(rxq2, rxq2.contains("port: p2 ") && rxq2.contains("port: p4 "));
        assertEquals(p2, vsctlOk("get", "Interface", "p2", "ofport"));
    }
}
