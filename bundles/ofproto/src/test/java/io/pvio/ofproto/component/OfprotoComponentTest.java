package io.pvio.ofproto.component;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import io.pvio.dpif.FlowEntry;
import io.pvio.dpif.netdev.DpifNetdev;
import io.pvio.ofproto.Hex;
import io.pvio.ofproto.codec.Of;
import io.pvio.ofproto.codec.OfWriter;
import io.pvio.ofproto.conn.MgmtListener;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** The management sockets follow the bridges and the Dpif service; a broken peer harms nobody. */
public class OfprotoComponentTest {
    private Path runDir;
    private DpifNetdev dp;
    private OfprotoComponent ofproto;

    @Before
    public void setUp() throws Exception {
        runDir = Files.createTempDirectory("ofproto");
        dp = new DpifNetdev();
        dp.activate(Map.of(DpifNetdev.POOL_BUFFERS, 1024, DpifNetdev.RUN_DIR, runDir.toString()));
        ofproto = new OfprotoComponent();
        ofproto.setDpif(dp);
        ofproto.start(runDir);
    }

    @After
    public void tearDown() {
        ofproto.stop();
        dp.deactivate();
    }

    /** Waits (bounded, a safety net, not a timing assertion) until {@code cond} holds. */
    private static void await(String what, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!cond.getAsBoolean()) {
            assertTrue("timed out waiting for " + what, System.nanoTime() < deadline);
            Thread.sleep(20);
        }
    }

    private static ByteBuffer read(SocketChannel c) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(8);
        while (h.hasRemaining()) {
            if (c.read(h) < 0) {
                return null;
            }
        }
        ByteBuffer m = ByteBuffer.allocate(h.getShort(2) & 0xffff);
        m.put(h.flip());
        while (m.hasRemaining()) {
            if (c.read(m) < 0) {
                return null;
            }
        }
        return m.flip();
    }

    private static SocketChannel connect(Path p) throws IOException {
        SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
        c.connect(UnixDomainSocketAddress.of(p));
        return c;
    }

    @Test
    public void socketsFollowBridgesAndTheDatapath() throws Exception {
        Path br0 = runDir.resolve("br0.mgmt");
        Path br1 = runDir.resolve("br1.mgmt");
        dp.addBridge("br0");
        dp.addBridge("br1");
        await("br0.mgmt and br1.mgmt", () -> Files.exists(br0) && Files.exists(br1));
        try (SocketChannel c = connect(br1)) {
            assertEquals(Of.HELLO, read(c).get(1));
            c.write(ByteBuffer.wrap(OfWriter.message(Of.V10, Of.HELLO, 1).finish()));
            c.write(ByteBuffer.wrap(OfWriter.message(Of.V10, Of.ECHO_REQUEST, 2).finish()));
            ByteBuffer echo = read(c);
            assertEquals(Of.V10, echo.get(0));
            assertEquals(Of.ECHO_REPLY, echo.get(1));
            // the bridge goes: its socket file and its connections with it
            dp.delBridge("br1");
            await("br1.mgmt removed", () -> !Files.exists(br1));
            assertEquals(null, read(c));
        }
        assertTrue(Files.exists(br0));
        // the datapath goes away and comes back (a Dpif rebind): sockets go and come back
        ofproto.setDpif(null);
        await("br0.mgmt removed", () -> !Files.exists(br0));
        ofproto.setDpif(dp);
        await("br0.mgmt back", () -> Files.exists(br0));
    }

    /**
     * What the control plane waits for before it reports add-br/del-br done: when the stage completes, the
     * socket accepts connections (or is gone), with no poll in between.
     */
    @Test
    public void reconfiguredCompletesWithTheSocketsInLine() throws Exception {
        for (int i = 0; i < 5; i++) {
            Path mgmt = runDir.resolve("rb" + i + ".mgmt");
            dp.addBridge("rb" + i);
            ofproto.reconfigured().toCompletableFuture().get(30, TimeUnit.SECONDS);
            try (SocketChannel c = connect(mgmt)) {
                assertEquals(Of.HELLO, read(c).get(1));
            }
            dp.delBridge("rb" + i);
            ofproto.reconfigured().toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertFalse(Files.exists(mgmt));
        }
        ofproto.stop(); // stopped: nothing to wait for
        assertTrue(ofproto.reconfigured().toCompletableFuture().isDone());
    }

    /** A bridge whose socket cannot exist (path too long for a Unix socket) costs only its own socket. */
    @Test
    public void aBridgeWithoutASocketHarmsNoOther() throws Exception {
        String longName = "b".repeat(64); // the longest bridge name, in a deep run directory
        Path deep = Files.createDirectories(runDir.resolve("d".repeat(50)));
        OfprotoComponent other = new OfprotoComponent();
        other.setDpif(dp);
        other.start(deep);
        try {
            dp.addBridge(longName);
            dp.addBridge("br0");
            await("br0.mgmt", () -> Files.exists(deep.resolve("br0.mgmt")));
            assertFalse(Files.exists(deep.resolve(longName + ".mgmt")));
            assertFalse(Files.exists(deep.resolve(longName + ".mgmt.tmp")));
        } finally {
            other.stop();
        }
        assertFalse(Files.exists(deep.resolve("br0.mgmt")));
        try {
            new MgmtListener(runDir, "../evil", () -> dp).close();
            throw new AssertionError("a socket outside the run directory");
        } catch (IOException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("cannot name a socket file"));
        }
        assertFalse(Files.exists(runDir.resolveSibling("evil.mgmt")));
    }

    @Test
    public void aBrokenPeerIsDroppedAndOthersGoOn() throws Exception {
        dp.addBridge("br0");
        Path br0 = runDir.resolve("br0.mgmt");
        await("br0.mgmt", () -> Files.exists(br0));
        try (SocketChannel bad = connect(br0); SocketChannel good = connect(br0)) {
            read(bad);
            read(good);
            bad.write(ByteBuffer.wrap(OfWriter.message(Of.V13, Of.HELLO, 1).finish()));
            // a length below the header: OVS drops such a connection
            bad.write(ByteBuffer.wrap(new byte[] {4, 2, 0, 4, 0, 0, 0, 1}));
            assertEquals(null, read(bad));
            good.write(ByteBuffer.wrap(OfWriter.message(Of.V13, Of.HELLO, 1).finish()));
            good.write(ByteBuffer.wrap(OfWriter.message(Of.V13, Of.ECHO_REQUEST, 2).finish()));
            assertEquals(Of.ECHO_REPLY, read(good).get(1));
        }
        // a peer that goes away in the middle of a message
        try (SocketChannel half = connect(br0)) {
            read(half);
            half.write(ByteBuffer.wrap(new byte[] {4, 0, 0, 100, 0, 0}));
        }
        try (SocketChannel again = connect(br0)) {
            assertEquals(Of.HELLO, read(again).get(1));
        }
    }

    /** The real ovs-ofctl against the socket (no pvio daemon: the component and a datapath in this JVM). */
    @Test
    public void ovsOfctlTalksToIt() throws Exception {
        assumeTrue("ovs-ofctl (openvswitch-common) is not installed", Hex.haveOvsOfctl());
        dp.addBridge("br0");
        await("br0.mgmt", () -> Files.exists(runDir.resolve("br0.mgmt")));
        String out = ofctl("-O", "OpenFlow13", "dump-flows", "br0");
        assertTrue(out, out.startsWith("OFPST_FLOW reply (OF1.3) (xid=0x2):\n cookie=0x0, duration="));
        assertTrue(out, out.endsWith(", table=0, n_packets=0, n_bytes=0, priority=0 actions=NORMAL\n"));
        assertEquals("", ofctl("add-flow", "br0", "in_port=1,dl_dst=52:54:00:00:00:01,actions=output:2"));
        assertEquals("priority=0,actions=NORMAL", dp.flows("br0").get(1));
        assertEquals("in_port=1,dl_dst=52:54:00:00:00:01,actions=output:2", dp.flows("br0").get(0));
    }

    /** Table 0 has no name, as OVS's: "table 0:" in dump-tables, "table=0" in dump-flows --names. */
    @Test
    public void ovsOfctlShowsTable0AsOvsDoes() throws Exception {
        assumeTrue("ovs-ofctl (openvswitch-common) is not installed", Hex.haveOvsOfctl());
        dp.addBridge("br0");
        await("br0.mgmt", () -> Files.exists(runDir.resolve("br0.mgmt")));
        assertTrue(ofctl("dump-tables", "br0").startsWith("OFPST_TABLE reply (xid=0x2):\n  table 0:\n"
                + "    active=1, lookup=0, matched=0\n"));
        assertEquals("OFPST_TABLE reply (OF1.3) (xid=0x2):\n  table 0:\n    active=1, lookup=0, matched=0\n",
                ofctl("-O", "OpenFlow13", "dump-tables", "br0"));
        for (String proto : List.of("OpenFlow10", "OpenFlow13")) {
            String out = ofctl("-O", proto, "--names", "dump-flows", "br0");
            assertTrue(out, out.matches(" cookie=0x0, duration=[0-9.]+s, table=0, n_packets=0, n_bytes=0, "
                    + "priority=0 actions=NORMAL\n"));
        }
        String tf = ofctl("-O", "OpenFlow13", "dump-table-features", "br0");
        assertTrue(tf, tf.startsWith("  table 0:\n"));
    }

    /**
     * replace-flows and diff-flows in each protocol: by default ovs-ofctl dumps in the NXM flow format and
     * then sends NXT_FLOW_MODs (DELETE_STRICT, ADD); so do mod-flows and del-flows with a cookie mask.
     */
    @Test
    public void ovsOfctlReplacesAndDiffsFlowsInEveryProtocol() throws Exception {
        assumeTrue("ovs-ofctl (openvswitch-common) is not installed", Hex.haveOvsOfctl());
        dp.addBridge("br0");
        await("br0.mgmt", () -> Files.exists(runDir.resolve("br0.mgmt")));
        Path file = Files.writeString(runDir.resolve("flows.txt"),
                "cookie=0x3,priority=6,ip,actions=drop\npriority=5,in_port=1,actions=output:2\n");
        FlowEntry all = FlowEntry.of(0, 0, FlowEntry.ANY, FlowEntry.ANY, FlowEntry.ANY, FlowEntry.ANY, List.of());
        for (List<String> proto : List.of(List.<String>of(), List.of("-O", "OpenFlow10"), List.of("-O", "OpenFlow13"))) {
            dp.deleteFlows("br0", all, false, FlowEntry.ANY);
            dp.addFlow("br0", "priority=5,in_port=1,actions=NORMAL"); // modified
            dp.addFlow("br0", "cookie=0x9,priority=7,in_port=2,actions=drop"); // deleted
            List<String> replace = new ArrayList<>(proto);
            replace.addAll(List.of("replace-flows", "br0", file.toString()));
            assertEquals(proto.toString(), "", ofctl(replace.toArray(new String[0])));
            assertEquals(proto.toString(), List.of("cookie=0x3,priority=6,ip,actions=drop",
                    "priority=5,in_port=1,actions=output:2"), dp.flows("br0"));
            List<String> diff = new ArrayList<>(proto);
            diff.addAll(List.of("diff-flows", "br0", file.toString()));
            assertEquals(proto.toString(), "", ofctl(diff.toArray(new String[0])));
        }
        assertEquals("", ofctl("mod-flows", "br0", "cookie=0x3/-1,actions=output:1"));
        assertEquals("", ofctl("--strict", "mod-flows", "br0", "cookie=0x3/-1,priority=6,ip,actions=output:2"));
        assertEquals(List.of("cookie=0x3,priority=6,ip,actions=output:2", "priority=5,in_port=1,actions=output:2"),
                dp.flows("br0"));
        assertEquals("", ofctl("del-flows", "br0", "cookie=0x3/-1"));
        assertEquals(List.of("priority=5,in_port=1,actions=output:2"), dp.flows("br0"));
    }

    private String ofctl(String... args) throws Exception {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "ovs-ofctl";
        System.arraycopy(args, 0, cmd, 1, args.length);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("OVS_RUNDIR", runDir.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue("ovs-ofctl did not finish", p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(out, 0, p.exitValue());
        assertFalse(out, out.contains("WARN"));
        return out;
    }
}
