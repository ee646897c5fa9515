package io.pvio.control.vsctl;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pvio.control.db.Db;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * pvio's vsctl against the real thing: the same command lines go to a real ovsdb-server (Open vSwitch's own
 * vswitch.ovsschema, in a temporary directory) through the real ovs-vsctl, and to pvio's database; list,
 * get and the error texts must read the same (columns, their order, value quoting, '-'/'_' and abbreviated
 * names), except where pvio differs on purpose (uuids, datapath_type netdev, ovs_version).
 */
public class VsctlAsOvsTest {
    private static final Path SCHEMA = Path.of("/usr/share/openvswitch/vswitch.ovsschema");
    /**
     * Columns that differ on purpose: uuids, what pvio's datapath is, its version; and what a running switch
     * fills in (datapath_types, iface_types) or its start script (db_version), which this bare server lacks.
     */
    private static final Set<String> OWN = Set.of("_uuid", "bridges", "ports", "interfaces", "datapath_type",
            "ovs_version", "datapath_types", "iface_types", "db_version");
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();
    private Process server;
    private String remote;
    private Db db = new Db();

    record Out(int status, String out, String err) {
    }

    private static Out exec(List<String> cmd) throws Exception {
        Path out = Files.createTempFile("vsctl-out", ".txt");
        Path err = Files.createTempFile("vsctl-err", ".txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                throw new AssertionError(cmd + " did not finish");
            }
            return new Out(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    @Before
    public void startOvsdbServer() throws Exception {
        for (String tool : List.of("/usr/sbin/ovsdb-server", "/usr/bin/ovsdb-tool", "/usr/bin/ovs-vsctl")) {
            assertTrue(tool + " is needed (apt-get install openvswitch-switch)", Files.isExecutable(Path.of(tool)));
        }
        Path dir = tmp.getRoot().toPath();
        Path conf = dir.resolve("conf.db");
        Out created = exec(List.of("/usr/bin/ovsdb-tool", "create", conf.toString(), SCHEMA.toString()));
        assertEquals(created.err(), 0, created.status());
        Path sock = dir.resolve("db.sock");
        remote = "unix:" + sock;
        server = new ProcessBuilder("/usr/sbin/ovsdb-server", "--remote=punix:" + sock,
                "--unixctl=" + dir.resolve("ovsdb-server.ctl"), "--log-file=" + dir.resolve("ovsdb-server.log"),
                conf.toString()).redirectErrorStream(true).redirectOutput(dir.resolve("ovsdb-server.out").toFile())
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(sock)) {
            assertTrue("ovsdb-server exited", server.isAlive());
            assertTrue("no " + sock, System.nanoTime() < deadline);
            Thread.sleep(20);
        }
        both("init");
    }

    @After
    public void stop() throws InterruptedException {
        if (server != null) {
            server.destroy();
            server.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private Out ovs(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/ovs-vsctl", "--db=" + remote, "--no-wait"));
        cmd.addAll(Arrays.asList(args));
        return exec(cmd);
    }

    /** pvio vsctl as ControlComponent runs it: output, or "vsctl: message" with its status. */
    private Out pvio(String... args) {
        try {
            Vsctl.Outcome o = Vsctl.run(db, Arrays.asList(args), null);
            db = o.db();
            return new Out(0, o.output(), "");
        } catch (VsctlException e) {
            return new Out(e.status(), "", e.getMessage().isEmpty() ? "" : "vsctl: " + e.getMessage() + "\n");
        }
    }

    /** Runs a command line on both; both must succeed. */
    private void both(String... args) throws Exception {
        Out o = ovs(args);
        assertEquals("ovs-vsctl " + String.join(" ", args) + ": " + o.err(), 0, o.status());
        Out p = pvio(args);
        assertEquals("pvio vsctl " + String.join(" ", args) + ": " + p.err(), 0, p.status());
    }

    /** "column : value" lines of one record, in order. */
    private static Map<String, String> record(String listOutput) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : listOutput.split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                m.put(line.substring(0, colon).strip(), line.substring(colon + 1).strip());
            }
        }
        return m;
    }

    private void sameRecord(String table, String row) throws Exception {
        Out o = ovs("list", table, row);
        Out p = pvio("list", table, row);
        assertEquals(o.err(), 0, o.status());
        assertEquals(p.err(), 0, p.status());
        Map<String, String> real = record(o.out());
        Map<String, String> own = record(p.out());
        assertEquals(table + ": columns and their order", List.copyOf(real.keySet()), List.copyOf(own.keySet()));
        real.keySet().removeAll(OWN);
        own.keySet().removeAll(OWN);
        assertEquals(table + " " + row, real, own);
    }

    @Test
    public void listShowsOvsColumnsAndQuotesValuesAsOvs() throws Exception {
        both("add-br", "br0");
        both("add-port", "br0", "vhu0", "--", "set", "Interface", "vhu0", "type=dpdkvhostuserclient",
                "options:vhost-server-path=/tmp/vm 0.sock", "options:n_rxq=2", "ofport_request=3",
                "other_config:x=1", "external-ids:iface-id=c2b6", "external-ids:attached-mac=52:54:00:12:34:56",
                "--", "set", "Port", "vhu0", "other-config:p_1=v.1-x");
        both("set", "Bridge", "br0", "external_ids:owner=\"a,b\"", "other_config:hwaddr=0", "--", "set",
                "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0x3", "external_ids:system-id=host-1");
        sameRecord("Bridge", "br0");
        sameRecord("Port", "vhu0");
        sameRecord("Interface", "vhu0");
        sameRecord("Open_vSwitch", ".");
        for (String[] get : new String[][] {
            {"get", "Interface", "vhu0", "options:vhost-server-path", "ofport_request", "external_ids"},
            {"get", "Interface", "vhu0", "external-ids:iface-id", "other-config"},
            {"--columns=name,ofport-request,external_ids", "list", "Interface", "vhu0"},
            {"--columns=Ofport_Req,TYPE", "list", "Interface", "vhu0"},
            {"get", "Open_vSwitch", ".", "other_config:pmd-cpu-mask", "external_ids:system-id"},
            {"get", "Interface", "vhu0", "mtu_request", "cfm_mpid", "bfd"},
            {"list-br"}, {"list-ports", "br0"}, {"port-to-br", "vhu0"}}) {
            assertEquals(String.join(" ", get), ovs(get).out(), pvio(get).out());
        }
        // removal and clearing of an external id, '-' for '_'
        both("remove", "Interface", "vhu0", "external-ids", "iface-id", "--", "clear", "Bridge", "br0",
                "external-ids");
        sameRecord("Interface", "vhu0");
        sameRecord("Bridge", "br0");
    }

    /** The command line libvirt runs for a vhost-user interface, verbatim (twice: the port exists then). */
    @Test
    public void libvirtsVhostUserCommandLine() throws Exception {
        both("add-br", "br0");
        String[] libvirt = {"--timeout=5", "--", "--if-exists", "del-port", "vhu0", "--", "add-port", "br0", "vhu0",
            "--", "set", "Interface", "vhu0", "external-ids:attached-mac=\"52:54:00:6b:2e:01\"",
            "--", "set", "Interface", "vhu0", "external-ids:iface-id=\"0a1b2c3d-0000-4000-8000-000000000001\"",
            "--", "set", "Interface", "vhu0", "external-ids:vm-id=\"7c9e6679-7425-40de-944b-e07fc1f90ae7\"",
            "--", "set", "Interface", "vhu0", "external-ids:iface-status=active",
            "--", "set", "Interface", "vhu0", "type=dpdkvhostuserclient",
            "--", "set", "Interface", "vhu0", "options:vhost-server-path=/var/run/libvirt/qemu/vhu0.sock"};
        both(libvirt);
        both(libvirt);
        sameRecord("Interface", "vhu0");
        assertEquals(ovs("list-ports", "br0").out(), pvio("list-ports", "br0").out());
    }

    /** OVS-DPDK's way to make a userspace bridge is accepted (pvio has no other datapath). */
    @Test
    public void netdevBridgesAsOvsDpdkMakesThem() throws Exception {
        both("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev");
        assertEquals(ovs("get", "Bridge", "br0", "datapath-type").out(), pvio("get", "Bridge", "br0",
                "datapath_type").out());
        Out p = pvio("set", "Bridge", "br0", "datapath_type=system");
        assertEquals(1, p.status());
        assertEquals("vsctl: pvio's datapath is the userspace one (datapath_type netdev): system is not supported\n",
                p.err());
    }

    @Test
    public void errorsReadAsOvsVsctls() throws Exception {
        both("add-br", "br0", "--", "add-port", "br0", "p1", "--", "set", "Interface", "p1", "options:a-b=1");
        List<String> differ = new ArrayList<>();
        for (String[] bad : new String[][] {
            {"add-br", "br0"}, {"add-port", "br0", "p1"}, {"add-port", "nobr", "p2"}, {"del-br", "nobr"},
            {"del-port", "nope"}, {"del-port", "br0", "nope"}, {"list", "Nope"}, {"list", "Interface", "nope"},
            {"get", "Interface", "p1", "colour"}, {"get", "Interface", "p1", "ofp"},
            {"get", "Interface", "p1", "options:nokey"}, {"set", "Interface", "p1", "name=x"},
            {"port-to-br", "nope"}, {"add-port", "br0", "br0"}, {"add-br", "p1"}, {"list", "Q"},
            {"del-port", "nobr", "p1"}, {"--if-exists", "del-port", "br0", "nope"}, {"get", "Interface", "p1", "x-y"},
            {"remove", "Interface", "p1", "nocolumn", "k"}, {"get", "Interface", "p1", "options:a_b"},
            {"get", "Interface", "p1", "bfd:x"}, {"get", "Interface", "p1", "mtu:x"}}) {
            Out o = ovs(bad);
            Out p = pvio(bad);
            String real = o.status() + " " + o.err().replaceFirst("^ovs-vsctl: ", "");
            String own = p.status() + " " + p.err().replaceFirst("^vsctl: ", "");
            if (!real.equals(own)) {
                differ.add(String.join(" ", bad) + "\n  ovs:  " + real + "  pvio: " + own);
            }
        }
        assertTrue(String.join("\n", differ), differ.isEmpty());
        // br-exists answers with its status only
        Out o = ovs("br-exists", "nobr");
        Out p = pvio("br-exists", "nobr");
        assertEquals(2, o.status());
        assertEquals(o.status(), p.status());
        assertEquals(o.err(), p.err());
    }
}
