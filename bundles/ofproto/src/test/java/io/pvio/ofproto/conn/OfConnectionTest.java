package io.pvio.ofproto.conn;

import static io.pvio.ofproto.Hex.buf;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.FlowEntry;
import io.pvio.dpif.netdev.DpifNetdev;
import io.pvio.dummy.netdev.DummyClass;
import io.pvio.netdev.NetdevClass;
import io.pvio.ofproto.Hex;
import io.pvio.ofproto.codec.Of;
import io.pvio.ofproto.codec.OfCodec;
import io.pvio.ofproto.codec.OfError;
import io.pvio.ofproto.codec.OfWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** One OpenFlow session against a real datapath (dpif-netdev with dummy ports). */
public class OfConnectionTest {
    private static final int ANY = FlowEntry.ANY;
    private DpifNetdev dp;
    private Dpif current;

    @Before
    public void setUp() throws Exception {
        dp = new DpifNetdev();
        dp.activate(Map.of(DpifNetdev.POOL_BUFFERS, 1024, DpifNetdev.RUN_DIR,
                Files.createTempDirectory("ofconn").toString()));
        DummyClass dummy = new DummyClass();
        dp.bindNetdevClass(dummy, Map.of(NetdevClass.TYPE_PROPERTY, dummy.type()));
        dp.addBridge("br0");
        dp.addPort("br0", "p1", "dummy", Map.of(), -1);
        dp.addPort("br0", "p2", "dummy", Map.of(), -1);
        current = dp;
    }

    @After
    public void tearDown() {
        dp.deactivate();
    }

    private OfConnection session(int version) {
        OfConnection c = new OfConnection("br0", () -> current);
        byte[] hello = version == Of.V10 ? OfWriter.message(Of.V10, Of.HELLO, 1).finish()
                : OfWriter.message(Of.V13, Of.HELLO, 1).u16(1).u16(8).u32(1 << Of.V13).finish();
        assertEquals(List.of(), c.handle(buf(hello)));
        assertEquals(version, c.version());
        return c;
    }

    private static byte[] one(List<byte[]> replies) {
        assertEquals(1, replies.size());
        return replies.get(0);
    }

    private static int type(byte[] m) {
        return m[1] & 0xff;
    }

    private static int xid(byte[] m) {
        return ByteBuffer.wrap(m).getInt(4);
    }

    /** (type, code) of an error reply, and its data must start with the request. */
    private static void assertError(byte[] reply, int version, OfError e, byte[] request) {
        ByteBuffer b = ByteBuffer.wrap(reply);
        assertEquals(Of.ERROR, type(reply));
        assertEquals(xid(request), xid(reply));
        int data = 12;
        if (version == Of.V10 && e.nx10) {
            assertEquals(0xb0c2, b.getShort(8) & 0xffff);
            assertEquals(Of.NX_VENDOR, b.getInt(12));
            assertEquals(e.type10, b.getShort(16));
            assertEquals(e.code10, b.getShort(18));
            data = 20;
        } else {
            assertEquals(version == Of.V10 ? e.type10 : e.type13, b.getShort(8));
            assertEquals(version == Of.V10 ? e.code10 : e.code13, b.getShort(10));
        }
        int n = request.length; // the whole request, as OVS 3.1
        assertEquals(data + n, reply.length);
        assertEquals(ByteBuffer.wrap(request, 0, n), ByteBuffer.wrap(reply, data, n));
    }

    @Test
    public void versionNegotiation() {
        OfConnection both = new OfConnection("br0", () -> current);
        both.handle(buf(OfWriter.message(Of.V13, Of.HELLO, 1).u16(1).u16(8).u32(0x12).finish()));
        assertEquals(Of.V13, both.version());
        OfConnection only10 = new OfConnection("br0", () -> current);
        only10.handle(buf(OfWriter.message(6, Of.HELLO, 1).u16(1).u16(8).u32(0x42).finish())); // 1.0 and 1.5
        assertEquals(Of.V10, only10.version());
        OfConnection newer = new OfConnection("br0", () -> current);
        newer.handle(buf(OfWriter.message(6, Of.HELLO, 1).finish())); // 1.5 without a bitmap: we speak 1.3
        assertEquals(Of.V13, newer.version());
        for (byte[] bad : List.of(OfWriter.message(2, Of.HELLO, 1).finish(),
                OfWriter.message(5, Of.HELLO, 1).u16(1).u16(8).u32(1 << 5).finish(),
                OfWriter.message(Of.V13, Of.ECHO_REQUEST, 1).finish())) {
            OfConnection c = new OfConnection("br0", () -> current);
            byte[] r = one(c.handle(buf(bad)));
            assertEquals(Of.ERROR, type(r));
            assertEquals(0, ByteBuffer.wrap(r).getInt(8)); // HELLO_FAILED, INCOMPATIBLE
            assertTrue(c.closed());
            assertEquals(0, c.version());
        }
        assertEquals("our hello offers 1.0 and 1.3", 0x12, ByteBuffer.wrap(OfConnection.hello()).getInt(12));
    }

    @Test
    public void echoFeaturesBarrierAndVendorMessages() {
        for (int v : new int[] {Of.V10, Of.V13}) {
            OfConnection c = session(v);
            byte[] echo = one(c.handle(buf(OfWriter.message(v, Of.ECHO_REQUEST, 77).u32(0xcafe).finish())));
            assertEquals(Of.ECHO_REPLY, type(echo));
            assertEquals(77, xid(echo));
            assertEquals(0xcafe, ByteBuffer.wrap(echo).getInt(8));
            byte[] feat = one(c.handle(buf(OfWriter.message(v, Of.FEATURES_REQUEST, 5).finish())));
            assertEquals(Of.FEATURES_REPLY, type(feat));
            assertEquals(v == Of.V10 ? 32 + 2 * 48 : 32, feat.length); // 1.0 lists the two ports
            int barrierType = v == Of.V10 ? Of.BARRIER_REQUEST_10 : Of.BARRIER_REQUEST_13;
            byte[] bar = one(c.handle(buf(OfWriter.message(v, barrierType, 9).finish())));
            assertEquals(barrierType + 1, type(bar));
            assertEquals(9, xid(bar));
            // NXT_SET_FLOW_FORMAT(NXM), as ovs-ofctl sends it before dump-flows: an OpenFlow 1.0 message
            byte[] nx = OfWriter.message(v, Of.VENDOR, 2).u32(Of.NX_VENDOR).u32(Of.NXT_SET_FLOW_FORMAT).u32(2).finish();
            if (v == Of.V10) {
                assertEquals(List.of(), c.handle(buf(nx)));
                byte[] badFormat = OfWriter.message(v, Of.VENDOR, 2).u32(Of.NX_VENDOR).u32(Of.NXT_SET_FLOW_FORMAT).u32(5).finish();
                assertError(one(c.handle(buf(badFormat))), v, OfError.REQUEST_EPERM, badFormat);
            } else {
                assertError(one(c.handle(buf(nx))), v, OfError.BAD_SUBTYPE, nx);
            }
            byte[] nxOther = OfWriter.message(v, Of.VENDOR, 2).u32(Of.NX_VENDOR).u32(99).finish();
            assertError(one(c.handle(buf(nxOther))), v, OfError.BAD_SUBTYPE, nxOther);
            byte[] otherVendor = OfWriter.message(v, Of.VENDOR, 2).u32(0x1234).u32(1).finish();
            assertError(one(c.handle(buf(otherVendor))), v, OfError.BAD_VENDOR, otherVendor);
            byte[] other = OfWriter.message(v, 21 + 10, 3).finish();
            assertError(one(c.handle(buf(other))), v, OfError.BAD_TYPE, other);
            byte[] wrongVersion = OfWriter.message(v == Of.V10 ? Of.V13 : Of.V10, Of.ECHO_REQUEST, 4).finish();
            assertError(one(c.handle(buf(wrongVersion))), v, OfError.BAD_VERSION, wrongVersion);
            byte[] port = statsRequest(v, Of.ST_PORT_DESC, 6).finish();
            byte[] ports = one(c.handle(buf(port)));
            assertEquals((v == Of.V10 ? 12 + 2 * 48 : 16 + 2 * 64), ports.length);
            OfWriter all = statsRequest(v, Of.ST_PORT, 6);
            byte[] portStats = (v == Of.V10 ? all.u16(Of.P10_NONE).zeros(6) : all.u32(Of.P13_ANY).zeros(4)).finish();
            assertEquals((v == Of.V10 ? 12 + 2 * 104 : 16 + 2 * 112), one(c.handle(buf(portStats))).length);
            OfWriter p2 = statsRequest(v, Of.ST_PORT, 6);
            byte[] port2 = (v == Of.V10 ? p2.u16(2).zeros(6) : p2.u32(2).zeros(4)).finish();
            byte[] r2 = one(c.handle(buf(port2)));
            assertEquals((v == Of.V10 ? 12 + 104 : 16 + 112), r2.length);
            assertEquals(2, v == Of.V10 ? ByteBuffer.wrap(r2).getShort(12) : ByteBuffer.wrap(r2).getInt(16));
            byte[] queueStats = statsRequest(v, Of.ST_QUEUE, 6).u32(0xffff_ffffL).u32(0xffff_ffffL).finish();
            assertEquals(v == Of.V10 ? 12 : 16, one(c.handle(buf(queueStats))).length); // no queues
            byte[] unknownStat = statsRequest(v, 14, 6).finish(); // no such statistics type
            assertError(one(c.handle(buf(unknownStat))), v, OfError.BAD_STAT, unknownStat);
        }
    }

    /**
     * As ovs-vswitchd: the dpid is the bridge's MAC, its local port's, and each port carries its netdev's MAC,
     * PORT_DOWN when the netdev is not up and LINK_DOWN without carrier.
     */
    @Test
    public void dpidAndPortAddressesAreTheNetdevs() throws Exception {
        dp.addPort("br0", "br0", "dummy", Map.of(), -1); // the local port, a dummy here
        long bridgeMac = io.pvio.dpif.PortInfo.macBits(dp.port("br0").mac());
        assertTrue(bridgeMac > 0);
        assertEquals(bridgeMac, dp.datapathId("br0"));
        byte[] feat = one(session(Of.V10).handle(buf(OfWriter.message(Of.V10, Of.FEATURES_REQUEST, 5).finish())));
        ByteBuffer b = ByteBuffer.wrap(feat);
        assertEquals(bridgeMac, b.getLong(8));
        assertEquals("FLOW_STATS TABLE_STATS PORT_STATS QUEUE_STATS", 0x47, b.getInt(24));
        byte[] conf = one(session(Of.V10).handle(buf(OfWriter.message(Of.V10, Of.GET_CONFIG_REQUEST, 7).finish())));
        assertEquals("miss_send_len, as OVS's for ovs-ofctl", 0, ByteBuffer.wrap(conf).getShort(10));
        int seen = 0;
        for (int at = 32; at < feat.length; at += 48) {
            int no = b.getShort(at) & 0xffff;
            long mac = (b.getShort(at + 2) & 0xffffL) << 32 | b.getInt(at + 4) & 0xffff_ffffL;
            String name = no == Of.P10_LOCAL ? "br0" : "p" + no;
            assertEquals(name, io.pvio.dpif.PortInfo.macBits(dp.port(name).mac()), mac);
            assertEquals(name + " config", 0, b.getInt(at + 24));
            assertEquals(name + " state", 0, b.getInt(at + 28));
            seen++;
        }
        assertEquals(3, seen);

        // other_config:datapath-id replaces the MAC as the dpid (any 64 bits), and 0 gives the MAC back
        dp.setDatapathId("br0", 0xfedc_ba98_7654_3210L);
        feat = one(session(Of.V10).handle(buf(OfWriter.message(Of.V10, Of.FEATURES_REQUEST, 6).finish())));
        assertEquals(0xfedc_ba98_7654_3210L, ByteBuffer.wrap(feat).getLong(8));
        dp.setBridgeAddress("br0", "00:11:22:33:44:55"); // the address still changes under the set ID
        assertEquals(0xfedc_ba98_7654_3210L, dp.datapathId("br0"));
        assertEquals("00:11:22:33:44:55", dp.bridgeAddress("br0"));
        dp.setDatapathId("br0", 0);
        assertEquals(0x0011_2233_4455L, dp.datapathId("br0"));
    }

    /** The port's MAC as 12 hex digits. */
    private String macHex(String port) {
        return String.format("%012x", io.pvio.dpif.PortInfo.macBits(dp.port(port).mac()));
    }

    /** Port 1's config in a 1.0 features reply / a 1.3 port description. */
    private static int configOfPort1(OfConnection c, int v) {
        byte[] r = one(c.handle(buf(v == Of.V10 ? OfWriter.message(v, Of.FEATURES_REQUEST, 5).finish()
                : statsRequest(v, Of.ST_PORT_DESC, 5).finish())));
        ByteBuffer b = ByteBuffer.wrap(r);
        int first = v == Of.V10 ? 32 : 16;
        int size = v == Of.V10 ? 48 : 64;
        for (int at = first; at < r.length; at += size) {
            if ((v == Of.V10 ? b.getShort(at) & 0xffff : b.getInt(at)) == 1) {
                return b.getInt(at + (v == Of.V10 ? 24 : 32));
            }
        }
        throw new AssertionError("no port 1");
    }

    /** Port-mods as ovs-ofctl mod-port sends them (captured from ovs-ofctl 3.1, the port's MAC put in). */
    /**
     * Port status as OVS sends it to a management connection: nothing until it sets a miss_send_len (ovs-ofctl
     * monitor br0 128), then ADD, MODIFY (a port taken down: PORT_DOWN and LINK_DOWN) and DELETE, in port
     * order; the sender of a port-mod is not told of its own change (OpenFlow before 1.5); miss_send_len 0 ends it.
     */
    @Test
    public void portStatusOnceMissSendLenIsSet() throws Exception {
        OfConnection c = session(Of.V10);
        OfConnection other = session(Of.V13);
        dp.addPort("br0", "p3", "dummy", Map.of(), -1);
        assertEquals(List.of(), c.portStatus()); // a service connection: no asynchronous messages yet
        byte[] get = OfWriter.message(Of.V10, Of.GET_CONFIG_REQUEST, 7).finish();
        assertEquals("0000", Hex.hex(one(c.handle(buf(get)))).substring(20, 24));
        assertEquals(List.of(), c.handle(buf(OfWriter.message(Of.V10, Of.SET_CONFIG, 8).u16(0).u16(128).finish())));
        assertEquals("0080", Hex.hex(one(c.handle(buf(get)))).substring(20, 24));
        assertEquals(List.of(), c.portStatus()); // the ports as they were when it asked are no change
        other.handle(buf(OfWriter.message(Of.V13, Of.SET_CONFIG, 8).u16(0).u16(0xffff).finish()));

        dp.addPort("br0", "p4", "dummy", Map.of(), 7);
        byte[] add = one(c.portStatus());
        assertEquals(Of.PORT_STATUS, type(add));
        assertEquals(0, xid(add));
        assertEquals(8 + 8 + 48, add.length); // ofp_port_status with a 1.0 ofp_phy_port
        assertEquals(Of.PR_ADD, add[8]);
        assertEquals(7, ByteBuffer.wrap(add).getShort(16));
        assertEquals(List.of(), c.portStatus());

        // p4 down through the 1.3 session: it hears nothing of its own port-mod, c hears it
        long mac = io.pvio.dpif.PortInfo.macBits(dp.port("p4").mac());
        byte[] down = OfWriter.message(Of.V13, Of.PORT_MOD_13, 9).u32(7).zeros(4).mac(mac).zeros(2).u32(1).u32(1)
                .u32(0).zeros(4).finish();
        assertEquals(List.of(), other.handle(buf(down)));
        assertEquals(List.of(), other.portStatus());
        byte[] mod = one(c.portStatus());
        assertEquals(Of.PR_MODIFY, mod[8]);
        ByteBuffer b = ByteBuffer.wrap(mod);
        assertEquals(Dpif.PC_PORT_DOWN, b.getInt(16 + 24)); // config
        assertEquals(1, b.getInt(16 + 28)); // state: LINK_DOWN (no carrier while down, as OVS)
        if (Hex.haveOvsOfctl()) {
            String text = Hex.ofpPrint(mod);
            assertTrue(text, text.startsWith("OFPT_PORT_STATUS (xid=0x0): MOD: 7(p4): addr:"));
            assertTrue(text, text.contains("config:     PORT_DOWN\n") && text.contains("state:      LINK_DOWN\n"));
        }

        dp.delPort("p4");
        byte[] del = one(c.portStatus());
        assertEquals(Of.PR_DELETE, del[8]);
        assertEquals(7, ByteBuffer.wrap(del).getShort(16));
        byte[] del13 = one(other.portStatus()); // the 1.3 session saw p4 last as taken down
        assertEquals(8 + 8 + 64, del13.length);
        assertEquals(Of.PR_DELETE, del13[8]);

        assertEquals(List.of(), c.handle(buf(OfWriter.message(Of.V10, Of.SET_CONFIG, 10).u16(0).u16(0).finish())));
        dp.delPort("p3");
        assertEquals(List.of(), c.portStatus());
        assertEquals(Of.PR_DELETE, one(other.portStatus())[8]);
    }

    /**
     * Flow-mods with timeouts and send_flow_rem: the flow statistics carry them back, the datapath expires the
     * flow, and FLOW_REMOVED goes to each session that set a miss_send_len, in its protocol (1.0, 1.0 with NXM,
     * 1.3), for a timeout and for a delete from another session; OVS's decoder reads each message.
     */
    @Test
    public void flowTimeoutsAndFlowRemoved() throws Exception {
        OfConnection c10 = session(Of.V10);
        OfConnection nx = session(Of.V10);
        OfConnection c13 = session(Of.V13);
        OfConnection quiet = session(Of.V13);
        byte[] nxm = OfWriter.message(Of.V10, Of.VENDOR, 3).u32(Of.NX_VENDOR).u32(Of.NXT_SET_FLOW_FORMAT).u32(2).finish();
        assertEquals(List.of(), nx.handle(buf(nxm)));
        for (OfConnection s : List.of(c10, nx, c13)) {
            int v = s.version();
            assertEquals(List.of(), s.handle(buf(OfWriter.message(v, Of.SET_CONFIG, 4).u16(0).u16(128).finish())));
        }
        dp.deleteFlows("br0", FlowEntry.of(0, 0, ANY, ANY, ANY, ANY, List.of()), false, ANY);

        FlowEntry hard = FlowEntry.of(0x21, 7, 1, ANY, ANY, ANY, List.of(2)).withTimeouts(0, 1, FlowEntry.FF_SEND_FLOW_REM);
        assertEquals(List.of(), c13.handle(buf(OfCodec.encodeFlowMod(Of.V13, 5, Of.FC_ADD, hard))));
        FlowEntry kept = FlowEntry.of(0, 8, 2, ANY, ANY, 0x0800, List.of(1)).withTimeouts(30, 0, FlowEntry.FF_SEND_FLOW_REM);
        assertEquals(List.of(), c10.handle(buf(OfCodec.encodeFlowMod(Of.V10, 6, Of.FC_ADD, kept))));
        FlowEntry silent = FlowEntry.of(0, 9, 2, ANY, ANY, ANY, List.of()).withTimeouts(0, 1, 0);
        assertEquals(List.of(), c10.handle(buf(OfCodec.encodeFlowMod(Of.V10, 7, Of.FC_ADD, silent))));
        FlowEntry h = dp.flowEntries("br0").stream().filter(f -> f.priority() == 7).findFirst().orElseThrow();
        assertEquals(1, h.hardTimeout());
        assertTrue(h.sendFlowRem());
        if (Hex.haveOvsOfctl()) {
            String st13 = Hex.ofpPrint(one(c13.handle(buf(allFlows(Of.V13, Of.ST_FLOW)))));
            assertTrue(st13, st13.matches("(?s).* cookie=0x21, duration=[\\d.]+s, table=0, n_packets=0, n_bytes=0,"
                    + " hard_timeout=1, send_flow_rem priority=7,in_port=1 actions=output:2\n.*"));
            // added over 1.0: reset_counts, as OVS decodes 1.0's adds
            assertTrue(st13, st13.contains(" n_bytes=0, idle_timeout=30, send_flow_rem reset_counts priority=8,ip,in_port=2 "));
            String st10 = Hex.ofpPrint(one(c10.handle(buf(allFlows(Of.V10, Of.ST_FLOW)))));
            assertTrue(st10, st10.contains(" n_bytes=0, hard_timeout=1, priority=7,in_port=1 actions=output:2\n"));
        }

        // the hard timeout: reported to the three sessions that asked, not to the quiet one
        long deadline = System.nanoTime() + 10_000_000_000L;
        List<byte[]> r10;
        while ((r10 = c10.flowRemoved()).isEmpty()) {
            assertTrue("no flow removed", System.nanoTime() < deadline);
            Thread.sleep(50);
        }
        byte[] m10 = one(r10);
        byte[] mNx = one(nx.flowRemoved());
        byte[] m13 = one(c13.flowRemoved());
        assertEquals(List.of(), quiet.flowRemoved());
        assertEquals(Of.FLOW_REMOVED, type(m10));
        assertEquals(88, m10.length);
        assertEquals(Of.FLOW_REMOVED, type(m13));
        assertEquals(Of.VENDOR, type(mNx));
        assertEquals(Of.NXT_FLOW_REMOVED, ByteBuffer.wrap(mNx).getInt(12));
        assertEquals(1, m10[8 + 40 + 10]); // reason: hard timeout
        if (Hex.haveOvsOfctl()) {
            String d = "duration[\\d.]+s";
            String p10 = Hex.ofpPrint(m10);
            assertTrue(p10, p10.matches("OFPT_FLOW_REMOVED \\(xid=0x0\\): priority=7,in_port=1 reason=hard cookie:0x21 "
                    + d + " idle0 pkts0 bytes0\n"));
            String pNx = Hex.ofpPrint(mNx);
            assertTrue(pNx, pNx.matches("NXT_FLOW_REMOVED \\(xid=0x0\\): priority=7,in_port=1 reason=hard table_id=0"
                    + " cookie:0x21 " + d + " idle0 pkts0 bytes0\n"));
            String p13 = Hex.ofpPrint(m13);
            assertTrue(p13, p13.matches("OFPT_FLOW_REMOVED \\(OF1.3\\) \\(xid=0x0\\): priority=7,in_port=1 reason=hard"
                    + " table_id=0 cookie:0x21 " + d + " idle0 hard1 pkts0 bytes0\n"));
        }
        assertEquals("the flow without send_flow_rem expires unreported", List.of(8),
                dp.flowEntries("br0").stream().map(FlowEntry::priority).toList());
        assertEquals(List.of(), c10.flowRemoved());

        // a delete from the quiet session is reported to the others, with reason delete
        byte[] del = OfCodec.encodeFlowMod(Of.V13, 8, Of.FC_DELETE, FlowEntry.of(0, 0, 2, ANY, ANY, ANY, List.of()));
        assertEquals(List.of(), quiet.handle(buf(del)));
        byte[] d13 = one(c13.flowRemoved());
        assertEquals(2, d13[8 + 10]); // reason: delete
        assertEquals(30, ByteBuffer.wrap(d13).getShort(8 + 20)); // idle_timeout
        assertEquals(List.of(), quiet.flowRemoved());
        // miss_send_len 0 ends them
        c10.handle(buf(OfWriter.message(Of.V10, Of.SET_CONFIG, 9).u16(0).u16(0).finish()));
        assertEquals(List.of(), c10.flowRemoved());
        assertEquals(2, one(nx.flowRemoved())[8 + 18]); // NXT: reason after cookie and priority
    }

    /**
     * Packet-ins from a flow's controller action: only to sessions that set a miss_send_len, as OVS encodes them
     * (whole packets, no buffer; 1.3 with the flow's cookie, in_port as the match, no_match for a table-miss
     * flow), read back by OVS's decoder; a flow-mod with a controller action dumps as CONTROLLER:max_len.
     */
    @Test
    public void packetInsFromTheControllerAction() throws Exception {
        OfConnection c10 = session(Of.V10);
        OfConnection c13 = session(Of.V13);
        io.pvio.dpif.PacketIn pin = new io.pvio.dpif.PacketIn(2, 0x77, 5, io.pvio.dpif.PacketIn.ACTION, 128, Hex.buf(
                "5254000000025254000000010800450000240001000040110000" + "0a0000010a00000204d204d20010000000000000000000000000"
                + "00000000").array());
        assertEquals(null, c10.packetIn(pin)); // no miss_send_len yet
        for (OfConnection s : List.of(c10, c13)) {
            s.handle(buf(OfWriter.message(s.version(), Of.SET_CONFIG, 4).u16(0).u16(0xffff).finish()));
        }
        byte[] m10 = c10.packetIn(pin);
        byte[] m13 = c13.packetIn(pin);
        assertEquals(Of.PACKET_IN, type(m10));
        assertEquals(8 + 10 + pin.packet().length, m10.length);
        assertEquals(8 + 16 + 16 + 2 + pin.packet().length, m13.length);
        byte[] miss13 = c13.packetIn(new io.pvio.dpif.PacketIn(FlowEntry.LOCAL, 0, 0, io.pvio.dpif.PacketIn.EXPLICIT_MISS, 65535, pin.packet()));
        assertEquals(Of.PR_NO_MATCH, miss13[8 + 6]);
        io.pvio.dpif.PacketIn implicit = new io.pvio.dpif.PacketIn(1, 0, 0, io.pvio.dpif.PacketIn.IMPLICIT_MISS, 65535,
                pin.packet());
        assertEquals("an implicit miss: not for 1.3", null, c13.packetIn(implicit));
        assertEquals("no_match in 1.0", Of.PR_NO_MATCH, c10.packetIn(implicit)[8 + 8]);
        assertTrue(c10.wantsPacketInOnMiss());
        assertFalse(c13.wantsPacketInOnMiss());
        if (Hex.haveOvsOfctl()) {
            String p10 = Hex.ofpPrint(m10);
            assertTrue(p10, p10.startsWith("OFPT_PACKET_IN (xid=0x0): total_len=" + pin.packet().length
                    + " in_port=2 (via action) data_len=" + pin.packet().length + " (unbuffered)\n"
                    + "udp,vlan_tci=0x0000,dl_src=52:54:00:00:00:01,dl_dst=52:54:00:00:00:02,nw_src=10.0.0.1,"));
            String p13 = Hex.ofpPrint(m13);
            assertTrue(p13, p13.startsWith("OFPT_PACKET_IN (OF1.3) (xid=0x0): cookie=0x77 total_len="
                    + pin.packet().length + " in_port=2 (via action) data_len=" + pin.packet().length + " (unbuffered)\n"));
            String miss = Hex.ofpPrint(miss13);
            assertTrue(miss, miss.startsWith("OFPT_PACKET_IN (OF1.3) (xid=0x0): cookie=0x0 total_len=" + pin.packet().length
                    + " in_port=LOCAL (via no_match) data_len="));
        }
        // NXT_SET_PACKET_IN_FORMAT: NXT_PACKET_IN2 (what ovs-ofctl monitor asks for), NXT_PACKET_IN
        for (int format : new int[] {2, 1}) {
            OfConnection nx = session(Of.V10);
            nx.handle(buf(OfWriter.message(Of.V10, Of.SET_CONFIG, 4).u16(0).u16(0xffff).finish()));
            assertEquals(List.of(), nx.handle(buf(OfWriter.message(Of.V10, Of.VENDOR, 5).u32(Of.NX_VENDOR)
                    .u32(Of.NXT_SET_PACKET_IN_FORMAT).u32(format).finish())));
            byte[] m = nx.packetIn(pin);
            assertEquals(format == 2 ? Of.NXT_PACKET_IN2 : Of.NXT_PACKET_IN, ByteBuffer.wrap(m).getInt(12));
            if (Hex.haveOvsOfctl()) {
                String p = Hex.ofpPrint(m);
                assertTrue(p, p.startsWith((format == 2 ? "NXT_PACKET_IN2" : "NXT_PACKET_IN") + " (xid=0x0): cookie=0x77"
                        + " total_len=" + pin.packet().length + " in_port=2 (via action) data_len=" + pin.packet().length
                        + " (unbuffered)\nudp,vlan_tci=0x0000,dl_src=52:54:00:00:00:01,"));
            }
        }
        byte[] bad = OfWriter.message(Of.V10, Of.VENDOR, 6).u32(Of.NX_VENDOR).u32(Of.NXT_SET_PACKET_IN_FORMAT).u32(3).finish();
        assertError(one(c10.handle(buf(bad))), Of.V10, OfError.REQUEST_EPERM, bad);
        // a flow-mod with output:CONTROLLER and its max_len (1.0) becomes the datapath's controller action
        FlowEntry f = FlowEntry.of(0, 9, 1, ANY, ANY, ANY, List.of(FlowEntry.controller(300)));
        assertEquals(List.of(), c10.handle(buf(OfCodec.encodeFlowMod(Of.V10, 5, Of.FC_ADD, f))));
        assertTrue(dp.flows("br0").toString(), dp.flows("br0").contains("priority=9,in_port=1,actions=CONTROLLER:300"));
    }

    @Test
    public void portModSetsThePortsConfigAsOvsOfctlSendsIt() throws Exception {
        OfConnection c = session(Of.V10);
        // ovs-ofctl mod-port br0 1 no-flood
        byte[] noFlood = Hex.buf("010f002000000004" + "0001" + macHex("p1") + "00000010000000100000000000000000").array();
        assertEquals(List.of(), c.handle(buf(noFlood)));
        assertEquals(Dpif.PC_NO_FLOOD, dp.portConfig("p1"));
        assertEquals(Dpif.PC_NO_FLOOD, configOfPort1(c, Of.V10));
        if (Hex.haveOvsOfctl()) {
            String show = Hex.ofpPrint(one(c.handle(buf(OfWriter.message(Of.V10, Of.FEATURES_REQUEST, 5).finish()))));
            assertTrue(show, show.contains(" 1(p1): addr:") && show.contains("config:     NO_FLOOD\n"));
        }
        // ovs-ofctl -O OpenFlow13 mod-port br0 1 down
        OfConnection c13 = session(Of.V13);
        byte[] down = Hex.buf("0410002800000004" + "0000000100000000" + macHex("p1")
                + "000000000001000000010000000000000000").array();
        assertEquals(List.of(), c13.handle(buf(down)));
        assertEquals(Dpif.PC_NO_FLOOD | Dpif.PC_PORT_DOWN, dp.portConfig("p1"));
        assertFalse(dp.port("p1").adminUp());
        assertEquals(Dpif.PC_PORT_DOWN, configOfPort1(c13, Of.V13)); // 1.3 has no NO_FLOOD
        assertEquals(Dpif.PC_NO_FLOOD | Dpif.PC_PORT_DOWN, configOfPort1(c, Of.V10));
        // 1.3 cannot say no-flood: ovs-ofctl sends a mask of 0 and nothing changes
        byte[] flood13 = Hex.buf("0410002800000004" + "0000000100000000" + macHex("p1")
                + "000000000010000000100000000000000000").array();
        assertEquals(List.of(), c13.handle(buf(flood13)));
        assertEquals(Dpif.PC_NO_FLOOD | Dpif.PC_PORT_DOWN, dp.portConfig("p1"));
        // up and flood again (1.0)
        byte[] up = Hex.buf("010f002000000006" + "0001" + macHex("p1") + "00000000000000110000000000000000").array();
        assertEquals(List.of(), c.handle(buf(up)));
        assertEquals(0, dp.portConfig("p1"));
        assertTrue(dp.port("p1").adminUp());

        // errors, as OVS's handle_port_mod answers them
        byte[] noPort = Hex.buf("010f002000000007" + "0009" + macHex("p1") + "00000001000000010000000000000000").array();
        assertError(one(c.handle(buf(noPort))), Of.V10, OfError.PORT_MOD_BAD_PORT, noPort);
        byte[] badMac = Hex.buf("0410002800000008" + "00000002000000000000000000010000"
                + "000000010000000100000000" + "00000000").array();
        assertError(one(c13.handle(buf(badMac))), Of.V13, OfError.PORT_MOD_BAD_HW_ADDR, badMac);
        byte[] recvStp = Hex.buf("010f002000000009" + "0002" + macHex("p2") + "00000008000000080000000000000000").array();
        assertError(one(c.handle(buf(recvStp))), Of.V10, OfError.PORT_MOD_BAD_CONFIG, recvStp);
        assertEquals(0, dp.portConfig("p2"));
        if (Hex.haveOvsOfctl()) {
            String err = Hex.ofpPrint(one(c.handle(buf(recvStp))));
            assertTrue(err, err.contains("NXBRC_UNENCODABLE_ERROR"));
            String err13 = Hex.ofpPrint(one(c13.handle(buf(badMac))));
            assertTrue(err13, err13.contains("OFPPMFC_BAD_HW_ADDR"));
        }
    }

    private static final String FRAME = "5254000000025254000000010800450000140001000040000000c0a80001c0a80002";

    /** Packet-outs as ovs-ofctl packet-out sends them (captured from ovs-ofctl 3.1): the packet leaves on port 2. */
    @Test
    public void packetOutSendsThePacketOnItsOutputPorts() throws Exception {
        io.pvio.dummy.DummyPort p1 = io.pvio.dummy.DummyPorts.dummy("p1");
        io.pvio.dummy.DummyPort p2 = io.pvio.dummy.DummyPorts.dummy("p2");
        OfConnection c = session(Of.V10);
        // ovs-ofctl packet-out br0 1 output:2 FRAME
        byte[] out2 = Hex.buf("010d002a00000006ffffffff000100080000000800020000" + FRAME).array();
        assertEquals(List.of(), c.handle(buf(out2)));
        assertEquals(FRAME, Hex.hex(p2.lastSent().get(0)));
        assertEquals(1, p2.sentPackets());
        assertEquals(0, p1.sentPackets());
        // ovs-ofctl packet-out br0 1 output:2,all,in_port,table,normal,flood,local FRAME: to 2 by output:2,
        // all, the table (its NORMAL flow floods), normal and flood; to 1 by in_port; there is no LOCAL port
        byte[] many = Hex.buf("010d006a00000006ffffffff00010038000000080002000000000008fffc000000000008fff8"
                + "000000000008fff9000000000008fffa000000000008fffb000000000008fffe0000" + FRAME).array();
        assertEquals(List.of(), c.handle(buf(many)));
        assertEquals(1 + 5, p2.sentPackets());
        assertEquals(1, p1.sentPackets());
        // ovs-ofctl -O OpenFlow13 packet-out br0 "in_port=local packet=FRAME actions=output:2,all,in_port,table"
        OfConnection c13 = session(Of.V13);
        byte[] po13 = Hex.buf("040d007a00000006fffffffffffffffe00400000000000000000001000000002000000000000000000000010"
                + "fffffffc000000000000000000000010fffffff8000000000000000000000010fffffff90000000000000000" + FRAME)
                .array();
        assertEquals(List.of(), c13.handle(buf(po13)));
        assertEquals(6 + 3, p2.sentPackets()); // output:2, all, table (NORMAL floods); no LOCAL port for in_port
        assertEquals(1 + 2, p1.sentPackets()); // all, table

        // errors as OVS: a reserved input port, a buffer, an action pvio lacks
        byte[] badIn = Hex.buf("010d002a00000007ffffffffff0000080000000800020000" + FRAME).array();
        assertError(one(c.handle(buf(badIn))), Of.V10, OfError.BAD_PORT, badIn);
        byte[] buffered = Hex.buf("010d002a0000000800000001000100080000000800020000" + FRAME).array();
        assertError(one(c.handle(buf(buffered))), Of.V10, OfError.BUFFER_UNKNOWN, buffered);
        byte[] setVlan = Hex.buf("010d002a00000009ffffffff000100080001000800050000" + FRAME).array();
        assertError(one(c.handle(buf(setVlan))), Of.V10, OfError.BAD_ACTION_TYPE, setVlan);
        if (Hex.haveOvsOfctl()) {
            String err = Hex.ofpPrint(one(c.handle(buf(badIn))));
            assertTrue(err, err.contains("OFPBRC_BAD_PORT"));
        }
        assertEquals(9, p2.sentPackets());
    }

    /** OFPST_QUEUE, as OVS answers for ports without queues. */
    @Test
    public void queueStatisticsOfPortsWithoutQueues() throws Exception {
        OfConnection c = session(Of.V10);
        // ovs-ofctl queue-stats br0: every queue of every port
        byte[] all = Hex.buf("011000140000000200050000fffc0000ffffffff").array();
        byte[] r = one(c.handle(buf(all)));
        assertEquals("0111000c0000000200050000", Hex.hex(r));
        if (Hex.haveOvsOfctl()) {
            assertTrue(Hex.ofpPrint(r), Hex.ofpPrint(r).startsWith("OFPST_QUEUE reply (xid=0x2): 0 queues"));
        }
        byte[] port1 = Hex.buf("011000140000000300050000" + "00010000ffffffff").array();
        assertEquals("0111000c0000000300050000", Hex.hex(one(c.handle(buf(port1)))));
        byte[] noPort = Hex.buf("011000140000000400050000" + "00630000ffffffff").array();
        assertError(one(c.handle(buf(noPort))), Of.V10, OfError.QUEUE_BAD_PORT, noPort);
        // ovs-ofctl -O OpenFlow13 queue-stats br0 1 5
        OfConnection c13 = session(Of.V13);
        byte[] q5 = Hex.buf("041200180000000200050000000000000000000100000005").array();
        assertError(one(c13.handle(buf(q5))), Of.V13, OfError.QUEUE_BAD_QUEUE, q5);
        byte[] any13 = Hex.buf("04120018000000030005000000000000ffffffffffffffff").array();
        assertEquals("041300100000000300050000" + "00000000", Hex.hex(one(c13.handle(buf(any13)))));
    }

    private static OfWriter statsRequest(int v, int type, int xid) {
        OfWriter w = OfWriter.message(v, v == Of.V10 ? Of.STATS_REQUEST_10 : Of.MULTIPART_REQUEST_13, xid).u16(type).u16(0);
        return v == Of.V13 ? w.zeros(4) : w;
    }

    /** A flow or aggregate request selecting everything. */
    private static byte[] allFlows(int v, int type) {
        OfWriter w = statsRequest(v, type, 8);
        if (v == Of.V10) {
            OfCodec.match10(w, FlowEntry.of(0, 0, ANY, ANY, ANY, ANY, List.of()));
            return w.u8(Of.TABLE_ALL).u8(0).u16(Of.P10_NONE).finish();
        }
        w.u8(Of.TABLE_ALL).zeros(3).u32(Of.P13_ANY).u32(Of.P13_ANY).zeros(4).u64(0).u64(0);
        OfCodec.match13(w, FlowEntry.of(0, 0, ANY, ANY, ANY, ANY, List.of()));
        return w.finish();
    }

    /** flow_count of an aggregate reply. */
    private long flowCount(OfConnection c, int v) {
        byte[] r = one(c.handle(buf(allFlows(v, Of.ST_AGGREGATE))));
        return ByteBuffer.wrap(r).getInt((v == Of.V10 ? 12 : 16) + 16) & 0xffff_ffffL;
    }

    @Test
    public void flowModsChangeTheDatapathAsOpenFlowSays() throws Exception {
        for (int v : new int[] {Of.V10, Of.V13}) {
            OfConnection c = session(v);
            FlowEntry f = FlowEntry.of(0x10, 7, 2, 0x525400000002L, ANY, 0x0806, List.of(1, FlowEntry.NORMAL));
            assertEquals(List.of(), c.handle(buf(OfCodec.encodeFlowMod(v, 1, Of.FC_DELETE, FlowEntry.of(0, 0, ANY, ANY, ANY, ANY, List.of())))));
            assertEquals(List.of(), dp.flows("br0"));
            assertEquals(List.of(), c.handle(buf(OfCodec.encodeFlowMod(v, 2, Of.FC_ADD, f))));
            assertEquals(List.of("cookie=0x10,priority=7,arp,in_port=2,dl_src=52:54:00:00:00:02,actions=output:1,NORMAL"),
                    dp.flows("br0"));
            // strict modify needs the priority; non-strict selects by the fields given
            if (v == Of.V13) { // (in 1.0 a modify that selects nothing adds: below)
                c.handle(buf(OfCodec.encodeFlowMod(v, 3, Of.FC_MODIFY_STRICT, FlowEntry.of(0, 8, 2, 0x525400000002L, ANY, 0x0806, List.of()))));
            }
            c.handle(buf(OfCodec.encodeFlowMod(v, 3, Of.FC_MODIFY, FlowEntry.of(0, 0, 2, ANY, ANY, ANY, List.of(FlowEntry.FLOOD)))));
            assertEquals(List.of("cookie=0x10,priority=7,arp,in_port=2,dl_src=52:54:00:00:00:02,actions=FLOOD"), dp.flows("br0"));
            // a modify that selects nothing adds the flow in OpenFlow 1.0 only
            c.handle(buf(OfCodec.encodeFlowMod(v, 4, Of.FC_MODIFY, FlowEntry.of(0, 9, 1, ANY, ANY, ANY, List.of(2)))));
            assertEquals(v == Of.V10 ? 2 : 1, dp.flows("br0").size());
            assertEquals(v == Of.V10 ? 2 : 1, flowCount(c, v));
            // flow statistics: one entry per flow
            byte[] st = one(c.handle(buf(allFlows(v, Of.ST_FLOW))));
            if (v == Of.V10) { // header, two entries of 88 bytes with one output action each
                assertEquals(12 + 2 * (88 + 8), st.length);
            } else { // header; entries of 48 bytes + match (OXM, padded) + apply_actions with one output
                assertEquals(16 + (48 + 32 + 24), st.length);
            }
            // strict delete with the wrong priority deletes nothing, then with the right one
            c.handle(buf(OfCodec.encodeFlowMod(v, 5, Of.FC_DELETE_STRICT, FlowEntry.of(0, 6, 2, 0x525400000002L, ANY, 0x0806, List.of()))));
            assertEquals(v == Of.V10 ? 2 : 1, dp.flows("br0").size());
            c.handle(buf(OfCodec.encodeFlowMod(v, 5, Of.FC_DELETE_STRICT, FlowEntry.of(0, 7, 2, 0x525400000002L, ANY, 0x0806, List.of()))));
            assertEquals(v == Of.V10 ? List.of("priority=9,in_port=1,actions=output:2") : List.of(), dp.flows("br0"));
            // refused requests change nothing
            List<String> before = dp.flows("br0");
            byte[] badCmd = OfCodec.encodeFlowMod(v, 7, 9, f);
            assertError(one(c.handle(buf(badCmd))), v, OfError.BAD_COMMAND, badCmd);
            assertEquals(before, dp.flows("br0"));
        }
    }

    /** NXST_FLOW and NXST_AGGREGATE with an NXM match (in_port and cookie), read back by OVS's decoder. */
    @Test
    public void nxmFlowStatistics() throws Exception {
        org.junit.Assume.assumeTrue("ovs-ofctl is not installed", io.pvio.ofproto.Hex.haveOvsOfctl());
        dp.putFlow("br0", FlowEntry.of(0x2a, 5, 1, ANY, 0x525400000002L, 0x800, List.of(2)));
        dp.putFlow("br0", FlowEntry.of(0x2b, 6, 2, ANY, ANY, ANY, List.of(FlowEntry.NORMAL)));
        OfConnection c = session(Of.V10);
        // NXST_FLOW, out_port NONE, in_port=1 (NXM_OF_IN_PORT) and cookie=0x2a/-1 (NXM_NX_COOKIE_W)
        OfWriter w = OfWriter.message(Of.V10, Of.STATS_REQUEST_10, 4).u16(Of.ST_VENDOR_10).u16(0).u32(Of.NX_VENDOR)
                .u32(Of.NXST_FLOW).zeros(4).u16(Of.P10_NONE).u16(6 + 20).u8(Of.TABLE_ALL).zeros(3)
                .u32(0x00000002).u16(1).u32(0x00013d10).u64(0x2a).u64(-1L).padTo8();
        String flow = io.pvio.ofproto.Hex.ofpPrint(one(c.handle(buf(w.finish()))));
        assertTrue(flow, flow.matches("NXST_FLOW reply \\(xid=0x4\\):\n cookie=0x2a, duration=\\d+(\\.\\d+)?s, table=0, "
                + "n_packets=0, n_bytes=0, idle_age=\\d+, priority=5,ip,in_port=1,dl_dst=52:54:00:00:00:02 actions=output:2\n"));
        OfWriter a = OfWriter.message(Of.V10, Of.STATS_REQUEST_10, 5).u16(Of.ST_VENDOR_10).u16(0).u32(Of.NX_VENDOR)
                .u32(Of.NXST_AGGREGATE).zeros(4).u16(Of.P10_NONE).u16(0).u8(Of.TABLE_ALL).zeros(3);
        assertEquals("NXST_AGGREGATE reply (xid=0x5): packet_count=0 byte_count=0 flow_count=3\n",
                io.pvio.ofproto.Hex.ofpPrint(one(c.handle(buf(a.finish())))));
        byte[] badField = OfWriter.message(Of.V10, Of.STATS_REQUEST_10, 6).u16(Of.ST_VENDOR_10).u16(0).u32(Of.NX_VENDOR)
                .u32(Of.NXST_FLOW).zeros(4).u16(Of.P10_NONE).u16(8).u8(Of.TABLE_ALL).zeros(3)
                .u32(0x00000e04).u32(0x01010101).finish(); // NXM_OF_IP_SRC
        assertError(one(c.handle(buf(badField))), Of.V10, OfError.BAD_FIELD, badField);
    }

    /** An NXT_FLOW_MOD as ovs-ofctl sends it in the NXM flow format: an NXM match, then output actions. */
    private static byte[] nxFlowMod(int xid, int command, long cookie, int priority, OfWriter nxm, int... outputs) {
        byte[] match = nxm.finishBody();
        OfWriter w = OfWriter.message(Of.V10, Of.VENDOR, xid).u32(Of.NX_VENDOR).u32(Of.NXT_FLOW_MOD).u64(cookie)
                .u16(command).u16(0).u16(0).u16(priority).u32(Of.NO_BUFFER).u16(Of.P10_NONE).u16(0)
                .u16(match.length).zeros(6).bytes(match, 0, match.length).padTo8();
        for (int p : outputs) {
            w.u16(Of.AT_OUTPUT).u16(8).u16(p).u16(0);
        }
        return w.finish();
    }

    /** NXT_FLOW_MOD, every command, read back by OVS's decoder; what 1.0 refuses, NXM refuses too. */
    @Test
    public void nxmFlowMods() throws Exception {
        org.junit.Assume.assumeTrue("ovs-ofctl is not installed", io.pvio.ofproto.Hex.haveOvsOfctl());
        OfConnection c = session(Of.V10);
        // priority=7,arp,in_port=2,dl_src=52:54:00:00:00:02 cookie 0x10, output:1 and NORMAL
        byte[] add = nxFlowMod(1, Of.FC_ADD, 0x10, 7, new OfWriter().u32(0x00000002).u16(2).u32(0x00000406)
                .mac(0x525400000002L).u32(0x00000602).u16(0x0806), 1, Of.P10_NORMAL);
        assertEquals("NXT_FLOW_MOD (xid=0x1): ADD priority=7,arp,in_port=2,dl_src=52:54:00:00:00:02 cookie:0x10 "
                + "actions=output:1,NORMAL\n", io.pvio.ofproto.Hex.ofpPrint(add));
        c.handle(buf(OfCodec.encodeFlowMod(Of.V10, 1, Of.FC_DELETE, FlowEntry.of(0, 0, ANY, ANY, ANY, ANY, List.of()))));
        assertEquals(List.of(), c.handle(buf(add)));
        assertEquals(List.of("cookie=0x10,priority=7,arp,in_port=2,dl_src=52:54:00:00:00:02,actions=output:1,NORMAL"),
                dp.flows("br0"));
        // modify by in_port (non-strict), then strict by cookie (NXM_NX_COOKIE) with the whole match
        byte[] modify = nxFlowMod(2, Of.FC_MODIFY, -1L, 0, new OfWriter().u32(0x00000002).u16(2), Of.P10_FLOOD);
        assertEquals(List.of(), c.handle(buf(modify)));
        assertEquals(List.of("cookie=0x10,priority=7,arp,in_port=2,dl_src=52:54:00:00:00:02,actions=FLOOD"), dp.flows("br0"));
        byte[] modifyStrict = nxFlowMod(3, Of.FC_MODIFY_STRICT, -1L, 7, new OfWriter().u32(0x00000002).u16(2)
                .u32(0x00000406).mac(0x525400000002L).u32(0x00000602).u16(0x0806).u32(0x00013c08).u64(0x10), 2);
        assertEquals("NXT_FLOW_MOD (xid=0x3): MOD_STRICT priority=7,arp,in_port=2,dl_src=52:54:00:00:00:02 "
                + "cookie:0x10/0xffffffffffffffff actions=output:2\n", io.pvio.ofproto.Hex.ofpPrint(modifyStrict));
        assertEquals(List.of(), c.handle(buf(modifyStrict)));
        assertEquals(List.of("cookie=0x10,priority=7,arp,in_port=2,dl_src=52:54:00:00:00:02,actions=output:2"), dp.flows("br0"));
        // a modify by a cookie that selects nothing adds nothing (it would add without the cookie)
        byte[] modifyNone = nxFlowMod(4, Of.FC_MODIFY, -1L, 0, new OfWriter().u32(0x00013c08).u64(0x11), 1);
        assertEquals(List.of(), c.handle(buf(modifyNone)));
        assertEquals(1, dp.flows("br0").size());
        // replace-flows' strict delete: the whole match, its cookie; another cookie deletes nothing
        OfWriter strictMatch = new OfWriter().u32(0x00000002).u16(2).u32(0x00000406).mac(0x525400000002L)
                .u32(0x00000602).u16(0x0806);
        byte[] delOther = nxFlowMod(5, Of.FC_DELETE_STRICT, 0, 7, strictMatch.u32(0x00013c08).u64(0x11));
        assertEquals(List.of(), c.handle(buf(delOther)));
        assertEquals(1, dp.flows("br0").size());
        c.handle(buf(nxFlowMod(6, Of.FC_ADD, 0, 3, new OfWriter().u32(0x00000002).u16(1), 2)));
        byte[] delStrict = nxFlowMod(7, Of.FC_DELETE_STRICT, 0, 7, new OfWriter().u32(0x00000002).u16(2)
                .u32(0x00000406).mac(0x525400000002L).u32(0x00000602).u16(0x0806).u32(0x00013c08).u64(0x10));
        assertEquals(List.of(), c.handle(buf(delStrict)));
        assertEquals(List.of("priority=3,in_port=1,actions=output:2"), dp.flows("br0"));
        // refused: a field pvio cannot match (NXM_OF_IP_SRC), an add that matches a cookie; nothing changes
        byte[] badField = nxFlowMod(8, Of.FC_ADD, 0, 1, new OfWriter().u32(0x00000602).u16(0x0800)
                .u32(0x00000e04).u32(0x0a000001), 2);
        assertError(one(c.handle(buf(badField))), Of.V10, OfError.BAD_FIELD, badField);
        byte[] addByCookie = nxFlowMod(9, Of.FC_ADD, 0, 1, new OfWriter().u32(0x00013d10).u64(1).u64(-1L), 2);
        assertError(one(c.handle(buf(addByCookie))), Of.V10, OfError.BAD_MATCH_TYPE, addByCookie);
        assertEquals(List.of("priority=3,in_port=1,actions=output:2"), dp.flows("br0"));
        byte[] delete = nxFlowMod(10, Of.FC_DELETE, 0, 0, new OfWriter());
        assertEquals(List.of(), c.handle(buf(delete)));
        assertEquals(List.of(), dp.flows("br0"));
    }

    /** ovs-ofctl's table=N in OpenFlow 1.0: NXT_FLOW_MOD_TABLE_ID (bytes it sent), then the table in the command. */
    @Test
    public void nxFlowModTableId() throws Exception {
        OfConnection c = session(Of.V10);
        assertEquals(List.of(), c.handle(buf("0104001800000006" + "000023200000000f0100000000000000")));
        FlowEntry f = FlowEntry.of(0, 3, 1, ANY, ANY, ANY, List.of(2));
        byte[] table0 = OfCodec.encodeFlowMod(Of.V10, 7, Of.FC_ADD, f);
        assertEquals(List.of(), c.handle(buf(table0)));
        assertEquals("priority=3,in_port=1,actions=output:2", dp.flows("br0").get(0));
        byte[] table1 = OfCodec.encodeFlowMod(Of.V10, 8, Of.FC_DELETE, f);
        ByteBuffer.wrap(table1).put(56, (byte) 1); // command's high byte
        assertError(one(c.handle(buf(table1))), Of.V10, OfError.BAD_TABLE_ID, table1);
        assertEquals(2, dp.flows("br0").size());
    }

    @Test
    public void checkOverlapAndOutPortFilter() throws Exception {
        OfConnection c = session(Of.V13);
        c.handle(buf(OfCodec.encodeFlowMod(Of.V13, 1, Of.FC_ADD, FlowEntry.of(0, 5, 1, ANY, ANY, ANY, List.of(2)))));
        byte[] overlap = OfCodec.encodeFlowMod(Of.V13, 2, Of.FC_ADD, FlowEntry.of(0, 5, ANY, ANY, ANY, 0x800, List.of(3)));
        ByteBuffer.wrap(overlap).putShort(44, (short) Of.FF_CHECK_OVERLAP);
        assertError(one(c.handle(buf(overlap))), Of.V13, OfError.OVERLAP, overlap);
        c.handle(buf(OfCodec.encodeFlowMod(Of.V13, 3, Of.FC_ADD, FlowEntry.of(0, 6, 2, ANY, ANY, ANY, List.of(FlowEntry.NORMAL)))));
        // delete everything that outputs to NORMAL
        byte[] del = OfCodec.encodeFlowMod(Of.V13, 4, Of.FC_DELETE, FlowEntry.of(0, 0, ANY, ANY, ANY, ANY, List.of()));
        ByteBuffer.wrap(del).putInt(36, (int) Of.P13_NORMAL);
        assertEquals(List.of(), c.handle(buf(del)));
        assertEquals(List.of("priority=5,in_port=1,actions=output:2"), dp.flows("br0"));
    }

    @Test
    public void manyFlowsAreSplitIntoRepliesWithTheMoreFlag() throws Exception {
        for (int i = 1; i <= 1500; i++) {
            dp.putFlow("br0", FlowEntry.of(i, i, ANY, i, ANY, ANY, List.of(1)));
        }
        for (int v : new int[] {Of.V10, Of.V13}) {
            List<byte[]> replies = session(v).handle(buf(allFlows(v, Of.ST_FLOW)));
            assertTrue(replies.size() > 1);
            int entries = 0;
            for (int i = 0; i < replies.size(); i++) {
                ByteBuffer r = ByteBuffer.wrap(replies.get(i));
                assertEquals(i < replies.size() - 1 ? Of.ST_REPLY_MORE : 0, r.getShort(10));
                for (int p = v == Of.V10 ? 12 : 16; p < r.limit(); p += r.getShort(p) & 0xffff) {
                    entries++;
                }
            }
            assertEquals(1501, entries); // and the bridge's NORMAL flow
        }
    }

    @Test
    public void withoutADatapathRequestsGetErrors() {
        OfConnection c = session(Of.V13);
        current = null;
        byte[] add = OfCodec.encodeFlowMod(Of.V13, 3, Of.FC_ADD, FlowEntry.of(0, 1, ANY, ANY, ANY, ANY, List.of()));
        assertError(one(c.handle(buf(add))), Of.V13, OfError.EPERM, add);
        byte[] ports = statsRequest(Of.V13, Of.ST_PORT_DESC, 5).finish();
        assertError(one(c.handle(buf(ports))), Of.V13, OfError.EPERM, ports);
        current = dp;
        assertEquals(List.of(), c.handle(buf(add)));
    }

    /** Random and mutated messages: every one gets an answer or nothing, and the session goes on. */
    @Test
    public void garbageNeverBreaksTheSession() throws Exception {
        Random rnd = new Random(18);
        List<String> before = dp.flows("br0");
        // bad input is answered with an error, never by the "cannot handle" catch-all (a WARNING)
        List<java.util.logging.LogRecord> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler h = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                if (r.getLevel().intValue() >= java.util.logging.Level.WARNING.intValue()) {
                    warnings.add(r);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        java.util.logging.Logger log = java.util.logging.Logger.getLogger("ofproto");
        log.addHandler(h);
        for (int v : new int[] {Of.V10, Of.V13}) {
            OfConnection c = session(v);
            byte[] seed = OfCodec.encodeFlowMod(v, 1, Of.FC_ADD,
                    FlowEntry.of(0, 3, 1, 0x525400000001L, 2, 0x800, List.of(2, FlowEntry.NORMAL)));
            for (int i = 0; i < 20_000; i++) {
                byte[] m;
                if (rnd.nextBoolean()) {
                    m = new byte[8 + rnd.nextInt(200)];
                    rnd.nextBytes(m);
                    m[1] = (byte) rnd.nextInt(32);
                } else {
                    m = seed.clone();
                    for (int k = rnd.nextInt(4); k >= 0; k--) {
                        m[8 + rnd.nextInt(m.length - 8)] = (byte) rnd.nextInt(256);
                    }
                    if (rnd.nextInt(4) == 0) {
                        m = java.util.Arrays.copyOf(m, 8 + rnd.nextInt(m.length - 8));
                    }
                    m[1] = (byte) (rnd.nextInt(3) == 0 ? rnd.nextInt(32) : Of.FLOW_MOD);
                }
                m[0] = (byte) v;
                ByteBuffer.wrap(m).putShort(2, (short) m.length);
                for (byte[] r : c.handle(buf(m))) {
                    assertEquals(v, r[0]);
                }
                assertFalse(c.closed());
            }
            byte[] echo = one(c.handle(buf(OfWriter.message(v, Of.ECHO_REQUEST, 99).finish())));
            assertEquals(Of.ECHO_REPLY, type(echo));
            dp.deleteFlows("br0", FlowEntry.of(0, 0, ANY, ANY, ANY, ANY, List.of()), false, ANY);
        }
        log.removeHandler(h);
        assertEquals(warnings.isEmpty() ? "" : warnings.get(0).getMessage() + ": " + warnings.get(0).getThrown(),
                0, warnings.size());
        assertTrue(before.size() == 1);
    }
}
