package io.pvio.launcher.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * Open vSwitch's own ovs-ofctl (Debian's openvswitch-common) against a running {@code pvio vswitchd}: flows
 * added, dumped and deleted over OpenFlow 1.0 and 1.3 on RUN_DIR/br0.mgmt, and pktgen traffic follows them.
 */
public class OvsOfctlE2EIT {
    private static final long TIMEOUT_MS = 30_000;
    private static final String DURATION = "duration=\\d+(\\.\\d{1,3})?s";
    /** In OpenFlow 1.0 (NXST_FLOW) ovs-ofctl prints each flow's idle age. */
    private static final String IDLE = "idle_age=\\d+, ";
    private final String jar = System.getProperty("pvio.jar", "target/pvio.jar");
    private final String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    private Path runDir;
    private Process daemon;

    record Out(int status, String out, String err) {
    }

    @Before
    public void setUp() throws IOException {
        assumeTrue("ovs-ofctl (Debian's openvswitch-common) is not installed",
                Files.isExecutable(Path.of("/usr/bin/ovs-ofctl")));
        Path base = Files.createDirectories(Path.of(System.getProperty("pvio.it.dir", "target/it")));
        runDir = Files.createTempDirectory(base, "of-").toAbsolutePath();
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

    private void await(String what, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        while (!cond.getAsBoolean()) {
            assertTrue("timed out waiting for " + what, System.nanoTime() < deadline);
            Thread.sleep(50);
        }
    }

    private Out run(List<String> cmd) throws Exception {
        Path out = Files.createTempFile("of-out", ".txt");
        Path err = Files.createTempFile("of-err", ".txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put("OVS_RUNDIR", runDir.toString());
        Process p = pb.start();
        try {
            if (!p.waitFor(4 * TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
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

    /** {@code pvio TOOL --run-dir RUN_DIR ARGS}, which must succeed. */
    private String pvio(String tool, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(java, "-jar", jar, tool, "--run-dir", runDir.toString()));
        cmd.addAll(Arrays.asList(args));
        Out o = run(cmd);
        assertEquals("pvio " + tool + " " + String.join(" ", args) + ": " + o.err(), 0, o.status());
        return o.out();
    }

    /** The real {@code ovs-ofctl ARGS} with OVS_RUNDIR=RUN_DIR. */
    private Out ovsOfctl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ovs-ofctl"));
        cmd.addAll(Arrays.asList(args));
        return run(cmd);
    }

    private String ofctlOk(String... args) throws Exception {
        Out o = ovsOfctl(args);
        assertEquals("ovs-ofctl " + String.join(" ", args) + ": " + o.err(), 0, o.status());
        assertEquals("", o.err());
        return o.out();
    }

    private long stat(String iface, String key) throws Exception {
        return Long.parseLong(pvio("vsctl", "get", "Interface", iface, "statistics:" + key).strip());
    }

    private static void assertLines(String out, String... regexes) {
        List<String> lines = out.lines().toList();
        assertEquals(out, regexes.length, lines.size());
        for (int i = 0; i < regexes.length; i++) {
            assertTrue("line " + i + " of\n" + out + "does not match " + regexes[i], lines.get(i).matches(regexes[i]));
        }
    }

    private void startDaemon() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(java, "-jar", jar, "vswitchd", "--run-dir", runDir.toString());
        File log = runDir.resolveSibling(runDir.getFileName() + ".out").toFile();
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log));
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        daemon = pb.start();
        await("the control socket (daemon log: " + log + ")",
                () -> daemon.isAlive() && Files.exists(runDir.resolve("pvio-vswitchd.ctl")));
    }

    @Test
    public void ovsOfctlAddsDumpsAndDeletesFlowsAndTrafficFollows() throws Exception {
        startDaemon();
        Path mgmt = runDir.resolve("br0.mgmt");
        pvio("vsctl", "add-br", "br0");
        pvio("vsctl", "add-port", "br0", "gen", "--", "set", "Interface", "gen", "type=pktgen", "ofport_request=1",
                "options:count=1000", "options:size=64", "options:dst_mac=52:54:00:00:00:02", "options:enabled=false",
                "--", "add-port", "br0", "sink", "--", "set", "Interface", "sink", "type=pktgen", "ofport_request=2",
                "options:count=1", "options:enabled=false",
                "--", "add-port", "br0", "other", "--", "set", "Interface", "other", "type=pktgen", "ofport_request=3",
                "options:count=1", "options:enabled=false",
                "--", "add-port", "br0", "gen2", "--", "set", "Interface", "gen2", "type=pktgen", "ofport_request=4",
                "options:count=500", "options:size=100", "options:enabled=false");
        await("br0.mgmt", () -> Files.exists(mgmt));

        // OpenFlow 1.0 (ovs-ofctl's default): the new bridge's NORMAL flow, then ours
        assertLines(ofctlOk("dump-flows", "br0"), "NXST_FLOW reply \\(xid=0x4\\):",
                " cookie=0x0, " + DURATION + ", table=0, n_packets=0, n_bytes=0, " + IDLE + "priority=0 actions=NORMAL");
        ofctlOk("del-flows", "br0");
        ofctlOk("add-flow", "br0", "in_port=1,dl_dst=52:54:00:00:00:02,actions=output:2");
        ofctlOk("add-flow", "br0", "table=0,priority=10,in_port=1,actions=output:3"); // NXT_FLOW_MOD_TABLE_ID
        String show = ofctlOk("show", "br0");
        assertTrue(show, show.contains(" 1(gen): addr:") && show.contains(" 4(gen2): addr:")
                && show.contains(" LOCAL(br0): addr:"));
        String desc13 = ofctlOk("-O", "OpenFlow13", "dump-ports-desc", "br0");
        assertTrue(desc13, desc13.contains(" LOCAL(br0): addr:")); // OFPP_LOCAL is 0xfffffffe in 1.3
        // as OVS: the dpid is the Bridge's datapath_id, the bridge's MAC, which is LOCAL's address
        String dpid = pvio("vsctl", "get", "Bridge", "br0", "datapath_id").strip();
        assertTrue(dpid, dpid.matches("\"[0-9a-f]{16}\""));
        dpid = dpid.substring(1, 17);
        assertEquals("from br0's uuid, as OVS", OvsdbE2EIT.defaultEaDpid(pvio("vsctl", "get", "Bridge", "br0", "_uuid")
                .strip()), dpid);
        assertTrue(show, show.contains(" dpid:" + dpid + "\n"));
        Matcher local = Pattern.compile(" LOCAL\\(br0\\): addr:([0-9a-f:]{17})").matcher(show);
        assertTrue(show, local.find());
        assertEquals(dpid, "0000" + local.group(1).replace(":", ""));
        assertTrue(desc13, desc13.contains(" LOCAL(br0): addr:" + local.group(1) + "\n"));
        if (pvio("vsctl", "get", "Interface", "br0", "error").strip().equals("[]")) { // a tap device
            assertEquals("\"" + local.group(1) + "\"", pvio("vsctl", "get", "Interface", "br0", "mac_in_use").strip());
            assertTrue(run(List.of("ip", "-o", "link", "show", "dev", "br0")).out()
                    .contains("link/ether " + local.group(1) + " "));
        }
        assertEquals("1500\n0\n", pvio("vsctl", "get", "Interface", "gen", "mtu", "ifindex"));
        assertEquals("\"<built-in>\"\n", pvio("vsctl", "get", "Bridge", "br0", "datapath_version"));

        pvio("vsctl", "remove", "Interface", "gen", "options", "enabled");
        await("1000 packets on sink", () -> {
            try {
                return stat("sink", "rx_valid") == 1000;
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        assertEquals(0, stat("other", "rx_valid"));
        String ports = ofctlOk("dump-ports", "br0", "1");
        assertTrue(ports, ports.matches("(?s)OFPST_PORT reply \\(xid=0x\\d\\): 1 ports\n  port  1: rx pkts=1000, bytes=64000, drop=0, errs=0,.*"));
        // table statistics count the datapath's lookups; table 0 has no name, as in OVS
        String tables = ofctlOk("dump-tables", "br0");
        assertTrue(tables, tables.startsWith("OFPST_TABLE reply (xid=0x2):\n  table 0:\n"
                + "    active=2, lookup=1000, matched=1000\n"));
        assertTrue(ofctlOk("-O", "OpenFlow13", "dump-tables", "br0").contains("lookup=1000, matched=1000"));
        assertLines(ofctlOk("dump-flows", "br0"), "NXST_FLOW reply \\(xid=0x4\\):",
                " cookie=0x0, " + DURATION + ", table=0, n_packets=1000, n_bytes=64000, " + IDLE + "in_port=1,dl_dst=52:54:00:00:00:02 actions=output:2",
                " cookie=0x0, " + DURATION + ", table=0, n_packets=0, n_bytes=0, " + IDLE + "priority=10,in_port=1 actions=output:3");

        // ovs-ofctl's NXM flow statistics (it asks for the NXM flow format first), with a cookie mask
        ofctlOk("add-flow", "br0", "cookie=0x7,priority=1,dl_type=0x88cc,actions=drop");
        assertLines(ofctlOk("dump-flows", "br0", "cookie=0x7/-1"), "NXST_FLOW reply \\(xid=0x8\\):",
                " cookie=0x7, " + DURATION + ", table=0, n_packets=0, n_bytes=0, " + IDLE + "priority=1,dl_type=0x88cc actions=drop");
        ofctlOk("--strict", "del-flows", "br0", "priority=1,dl_type=0x88cc");

        // OpenFlow 1.3: strict delete, add, traffic from gen2 follows the new flow
        ofctlOk("-O", "OpenFlow13", "--strict", "del-flows", "br0", "in_port=1,dl_dst=52:54:00:00:00:02");
        ofctlOk("-O", "OpenFlow13", "add-flow", "br0", "cookie=0x2a,in_port=4,actions=output:3");
        pvio("vsctl", "remove", "Interface", "gen2", "options", "enabled");
        await("500 packets on other", () -> {
            try {
                return stat("other", "rx_valid") == 500;
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        assertEquals(1000, stat("sink", "rx_valid"));
        assertLines(ofctlOk("-O", "OpenFlow13", "dump-flows", "br0"), "OFPST_FLOW reply \\(OF1.3\\) \\(xid=0x2\\):",
                " cookie=0x2a, " + DURATION + ", table=0, n_packets=500, n_bytes=50000, in_port=4 actions=output:3",
                // added over OpenFlow 1.0: reset_counts, as OVS reports such a flow in 1.3
                " cookie=0x0, " + DURATION + ", table=0, n_packets=0, n_bytes=0, reset_counts priority=10,in_port=1 actions=output:3");
        ofctlOk("-O", "OpenFlow13", "mod-flows", "br0", "in_port=4,actions=drop");
        String modified = ofctlOk("-O", "OpenFlow13", "dump-flows", "br0");
        assertTrue(modified, modified.contains("n_packets=500, n_bytes=50000, in_port=4 actions=drop"));

        // what pvio cannot do: OVS's errors, nothing changed
        String before = ofctlOk("-O", "OpenFlow13", "dump-flows", "br0").replaceAll(DURATION, "");
        Out badMatch10 = ovsOfctl("add-flow", "br0", "ip,nw_src=10.0.0.1,actions=drop");
        assertEquals(1, badMatch10.status());
        assertTrue(badMatch10.err(), badMatch10.err().startsWith("OFPT_ERROR (xid=0x6): OFPBMC_BAD_WILDCARDS\nOFPT_FLOW_MOD"));
        Out badMatch13 = ovsOfctl("-O", "OpenFlow13", "add-flow", "br0", "ip,nw_src=10.0.0.1,actions=drop");
        assertEquals(1, badMatch13.status());
        assertTrue(badMatch13.err(), badMatch13.err().startsWith("OFPT_ERROR (OF1.3) (xid=0x6): OFPBMC_BAD_FIELD\n"));
        Out badAction = ovsOfctl("add-flow", "br0", "in_port=1,actions=in_port");
        assertEquals(1, badAction.status());
        assertTrue(badAction.err(), badAction.err().startsWith("OFPT_ERROR (xid=0x6): OFPBAC_BAD_OUT_PORT\n"));
        Out badAction13 = ovsOfctl("-O", "OpenFlow13", "add-flow", "br0", "in_port=1,actions=mod_vlan_vid:5,output:2");
        assertEquals(1, badAction13.status());
        assertTrue(badAction13.err(), badAction13.err().contains("OFPBAC_BAD_TYPE"));
        Out badTable = ovsOfctl("add-flow", "br0", "table=1,in_port=1,actions=output:2");
        assertEquals(1, badTable.status());
        assertTrue(badTable.err(), badTable.err().contains("OFPBRC_BAD_TABLE_ID"));
        assertEquals(before, ofctlOk("-O", "OpenFlow13", "dump-flows", "br0").replaceAll(DURATION, ""));

        // the datapath bundle restarts (a Dpif rebind): the socket comes back with the bridge
        pvio("appctl", "bundle/stop", "io.pvio.dpif-netdev");
        await("br0.mgmt removed with the datapath", () -> !Files.exists(mgmt));
        pvio("appctl", "bundle/start", "io.pvio.dpif-netdev");
        await("br0.mgmt back", () -> Files.exists(mgmt));
        ofctlOk("-O", "OpenFlow13", "del-flows", "br0");
        assertLines(ofctlOk("-O", "OpenFlow13", "dump-flows", "br0"), "OFPST_FLOW reply \\(OF1.3\\) \\(xid=0x2\\):");
        assertEquals("NXST_FLOW reply (xid=0x4):\n", pvio("ofctl", "dump-flows", "br0")); // pvio's own client agrees

        // the bridge goes, its socket with it
        pvio("vsctl", "del-br", "br0");
        await("br0.mgmt removed", () -> !Files.exists(mgmt));
        Out gone = ovsOfctl("dump-flows", "br0");
        assertEquals(1, gone.status());
        assertTrue(gone.err(), gone.err().contains("br0 is not a bridge or a socket"));
        assertFalse(Files.exists(runDir.resolve("br0.mgmt.tmp")));
    }
}
