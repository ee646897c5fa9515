package io.pvio.ofproto.codec;

import static io.pvio.ofproto.Hex.buf;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.junit.Assume.assumeTrue;

import io.pvio.dpif.FlowEntry;
import io.pvio.ofproto.Hex;
import io.pvio.ofproto.codec.OfCodec.FlowMod;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.function.Consumer;
import org.junit.Test;

public class OfCodecTest {
    private static final int ANY = FlowEntry.ANY;
    private static final long MAC2 = 0x525400000002L;

    /** Bytes ovs-ofctl 3.1 sent (strace): OpenFlow 1.0 and 1.3 flow-mods. */
    @Test
    public void decodesWhatOvsOfctlSends() throws Exception {
        // ovs-ofctl add-flow br0 cookie=0x10,priority=7,in_port=2,dl_src=52:54:00:00:00:02,dl_type=0x0806,actions=output:1,normal
        FlowEntry want = FlowEntry.of(0x10, 7, 2, MAC2, ANY, 0x0806, List.of(1, FlowEntry.NORMAL));
        FlowMod m10 = OfCodec.decodeFlowMod(Of.V10, buf("010e005800000006003820ea0002525400000002000000000000"
                + "0000000008060000000000000000000000000000000000000000000000100000000000000007ffffffffffff0000"
                + "000000080001000000000008fffa0000"));
        // as OVS decodes it: a 1.0 add always resets the counters
        assertEquals(want.withTimeouts(0, 0, FlowEntry.FF_RESET_COUNTS), m10.flow());
        assertEquals(Of.FC_ADD, m10.command());
        assertEquals(Of.NO_BUFFER, m10.bufferId());
        assertEquals(null, m10.outPort());
        // the same with -O OpenFlow13
        FlowMod m13 = OfCodec.decodeFlowMod(Of.V13, buf("040e00780000000600000000000000100000000000000000000000000"
                + "0000007ffffffffffffffffffffffff000000000001001c8000000400000002800008065254000000028000"
                + "0a0208060000000000040028000000000000001000000001000000000000000000000010fffffffa0000000000000000"));
        assertEquals(want, m13.flow());
        assertEquals(0, m13.tableId());
        assertEquals(true, m13.anyGroup());
        // ovs-ofctl -O OpenFlow13 --strict del-flows br0 priority=7,in_port=2
        FlowMod d13 = OfCodec.decodeFlowMod(Of.V13, buf("040e00400000000600000000000000000000000000000000ff040000"
                + "00000007ffffffffffffffffffffffff000000000001000c800000040000000200000000"));
        assertEquals(Of.FC_DELETE_STRICT, d13.command());
        assertEquals(Of.TABLE_ALL, d13.tableId());
        assertEquals(FlowEntry.of(0, 7, 2, ANY, ANY, ANY, List.of()), d13.flow());
        // ovs-ofctl mod-flows br0 in_port=1,actions=normal
        FlowMod mod = OfCodec.decodeFlowMod(Of.V10, buf("010e005000000006003820fe00010000000000000000000000000000000000000000000000000000"
                + "000000000000000000000000000000000001000000008000ffffffffffff000000000008fffa0000"));
        assertEquals(Of.FC_MODIFY, mod.command());
        assertEquals(FlowEntry.of(0, 32768, 1, ANY, ANY, ANY, List.of(FlowEntry.NORMAL)), mod.flow());
    }

    @Test
    public void flowModsRoundTripInBothVersions() throws Exception {
        List<FlowEntry> flows = List.of(
                FlowEntry.of(0, 32768, ANY, ANY, ANY, ANY, List.of()),
                FlowEntry.of(0x1234_5678_9abcL, 0, 65279, ANY, ANY, ANY, List.of(FlowEntry.NORMAL)),
                FlowEntry.of(-1L, 65535, 1, 0xffff_ffff_ffffL, 0, 0x86dd, List.of(2, 3, FlowEntry.FLOOD)),
                FlowEntry.of(7, 100, ANY, ANY, MAC2, 0, List.of(65279)),
                FlowEntry.of(8, 100, FlowEntry.LOCAL, ANY, ANY, ANY, List.of(FlowEntry.LOCAL, 1)),
                FlowEntry.of(9, 100, 1, ANY, ANY, ANY, List.of(2)).withTimeouts(10, 65535, FlowEntry.FF_SEND_FLOW_REM),
                FlowEntry.of(10, 0, ANY, ANY, ANY, ANY, List.of(FlowEntry.controller(65535), FlowEntry.controller(0), 3)));
        for (int v : new int[] {Of.V10, Of.V13}) {
            for (int cmd = Of.FC_ADD; cmd <= Of.FC_DELETE_STRICT; cmd++) {
                for (FlowEntry f : flows) {
                    FlowMod m = OfCodec.decodeFlowMod(v, buf(OfCodec.encodeFlowMod(v, 3, cmd, f)));
                    FlowEntry want = v == Of.V10 && cmd == Of.FC_ADD // 1.0's adds reset the counters
                            ? f.withTimeouts(f.idleTimeout(), f.hardTimeout(), f.flags() | FlowEntry.FF_RESET_COUNTS) : f;
                    assertEquals(v + "/" + cmd, want, m.flow());
                    assertEquals(f.idleTimeout(), m.idle());
                    assertEquals(f.hardTimeout(), m.hard());
                    assertEquals(cmd, m.command());
                }
            }
        }
    }

    /** Open vSwitch's own decoder reads pvio's flow statistics and flow-mods as intended. */
    @Test
    public void ovsReadsWhatPvioEncodes() throws Exception {
        assumeTrue("ovs-ofctl (openvswitch-common) is not installed", Hex.haveOvsOfctl());
        FlowEntry f = new FlowEntry(0x10, 7, 2, MAC2, ANY, 0x0806, List.of(1, FlowEntry.NORMAL, FlowEntry.FLOOD),
                3, 180, 1_500_123_456L, 7);
        FlowEntry drop = FlowEntry.of(0, 32768, ANY, ANY, 0x0a0b0c0d0e0fL, ANY, List.of());
        String line1 = " cookie=0x10, duration=1.500s, table=0, n_packets=3, n_bytes=180, "
                + "priority=7,arp,in_port=2,dl_src=52:54:00:00:00:02 actions=output:1,NORMAL,FLOOD\n";
        String line2 = " cookie=0x0, duration=0s, table=0, n_packets=0, n_bytes=0, dl_dst=0a:0b:0c:0d:0e:0f actions=drop\n";
        for (int v : new int[] {Of.V10, Of.V13}) {
            OfWriter w = OfWriter.message(v, v == Of.V10 ? Of.STATS_REPLY_10 : Of.MULTIPART_REPLY_13, 4)
                    .u16(Of.ST_FLOW).u16(0);
            if (v == Of.V13) {
                w.zeros(4);
            }
            OfCodec.flowStats(v, w, f);
            OfCodec.flowStats(v, w, drop);
            String of13 = v == Of.V13 ? " (OF1.3)" : "";
            assertEquals("OFPST_FLOW reply" + of13 + " (xid=0x4):\n" + line1 + line2, Hex.ofpPrint(w.finish()));
            assertEquals("OFPT_FLOW_MOD" + of13 + " (xid=0x9): MOD_STRICT priority=7,arp,in_port=2,dl_src=52:54:00:00:00:02"
                    + (v == Of.V10 ? " cookie:0x10" : "") + " actions=output:1,NORMAL,FLOOD\n",
                    Hex.ofpPrint(OfCodec.encodeFlowMod(v, 9, Of.FC_MODIFY_STRICT, f)));
        }
        String tf = Hex.ofpPrint(OfCodec.tableFeatures(OfWriter.message(Of.V13, Of.MULTIPART_REPLY_13, 5)
                .u16(Of.ST_TABLE_FEATURES_13).u16(0).zeros(4)).finish());
        assertEquals(tf, true, tf.startsWith("OFPST_TABLE_FEATURES reply (OF1.3) (xid=0x5):\n  table 0:\n") && !tf.contains("WARN")
                && tf.contains("in_port_oxm eth_{src,dst,type}"));
    }

    @Test
    public void errorsAreEncodedAsOvsDoes() throws Exception {
        assumeTrue("ovs-ofctl (openvswitch-common) is not installed", Hex.haveOvsOfctl());
        byte[] req = OfCodec.encodeFlowMod(Of.V10, 6, Of.FC_ADD, FlowEntry.of(0, 1, ANY, ANY, ANY, ANY, List.of()));
        String e10 = Hex.ofpPrint(OfCodec.error(Of.V10, 6, OfError.BAD_WILDCARDS, buf(req), null));
        assertEquals(e10, true, e10.startsWith("OFPT_ERROR (xid=0x6): OFPBMC_BAD_WILDCARDS\nOFPT_FLOW_MOD (xid=0x6):"));
        byte[] req13 = OfCodec.encodeFlowMod(Of.V13, 7, Of.FC_ADD, FlowEntry.of(0, 1, ANY, ANY, ANY, ANY, List.of()));
        for (OfError e : OfError.values()) {
            String p10 = Hex.ofpPrint(OfCodec.error(Of.V10, 6, e, buf(req), null));
            String p13 = Hex.ofpPrint(OfCodec.error(Of.V13, 7, e, buf(req13), e == OfError.HELLO_INCOMPATIBLE ? "x" : null));
            assertEquals(e + ": " + p10, false, p10.contains("decode error") || !p10.matches("(?s)OFPT_ERROR \\(xid=0x6\\): (OFP|NX)[A-Z_]+\\n.*"));
            assertEquals(e + ": " + p13, true, p13.startsWith("OFPT_ERROR (OF1.3) (xid=0x7): OFP"));
        }
        assertEquals("OFPT_ERROR (OF1.3) (xid=0x7): OFPBMC_BAD_FIELD",
                Hex.ofpPrint(OfCodec.error(Of.V13, 7, OfError.BAD_FIELD, buf(req13), null)).lines().findFirst().get());
        assertEquals("OFPT_ERROR (xid=0x6): OFPBAC_BAD_OUT_PORT",
                Hex.ofpPrint(OfCodec.error(Of.V10, 6, OfError.BAD_OUT_PORT, buf(req), null)).lines().findFirst().get());
        // the whole request comes back, as OVS's ofperr_encode_reply: ovs-ofctl decodes it past byte 64
        byte[] big = OfCodec.encodeFlowMod(Of.V10, 8, Of.FC_ADD, FlowEntry.of(0, 1, ANY, ANY, ANY, ANY,
                List.of(1, 2, 3, 4, 5)));
        assertTrue(big.length > 64);
        String whole = Hex.ofpPrint(OfCodec.error(Of.V10, 8, OfError.BAD_OUT_PORT, buf(big), null));
        assertTrue(whole, whole.contains("output:5") && !whole.contains("decode error"));
    }

    // ------------------------------------------------------------------ malformed

    private static void refused(int v, byte[] msg, OfError want) {
        try {
            FlowMod m = OfCodec.decodeFlowMod(v, buf(msg));
            fail("decoded " + m);
        } catch (OfException e) {
            assertEquals(e.getMessage(), want, e.error());
        }
    }

    private static byte[] fm10(Consumer<OfWriter> match, Consumer<OfWriter> actions) {
        OfWriter w = OfWriter.message(Of.V10, Of.FLOW_MOD, 1);
        match.accept(w);
        w.u64(0).u16(0).u16(0).u16(0).u16(1).u32(Of.NO_BUFFER).u16(Of.P10_NONE).u16(0);
        actions.accept(w);
        return w.finish();
    }

    private static void match10(OfWriter w, int wildcards, int inPort) {
        w.u32(wildcards).u16(inPort).zeros(Of.MATCH_10_LEN - 6);
    }

    private static byte[] fm13(Consumer<OfWriter> match, Consumer<OfWriter> instructions) {
        OfWriter w = OfWriter.message(Of.V13, Of.FLOW_MOD, 1);
        w.u64(0).u64(0).u8(0).u8(Of.FC_ADD).u16(0).u16(0).u16(1).u32(Of.NO_BUFFER).u32(Of.P13_ANY).u32(Of.P13_ANY)
                .u16(0).zeros(2);
        match.accept(w);
        instructions.accept(w);
        return w.finish();
    }

    /** An OXM match of the given fields (u32 header, value bytes). */
    private static Consumer<OfWriter> oxm(long... headerThenBytes) {
        return w -> {
            int at = w.length();
            w.u16(1).u16(0);
            for (int i = 0; i < headerThenBytes.length; ) {
                long h = headerThenBytes[i++];
                w.u32(h);
                for (int k = 0; k < (h & 0xff); k++) {
                    w.u8((int) headerThenBytes[i++]);
                }
            }
            w.putU16(at + 2, w.length() - at);
            w.padTo8();
        };
    }

    private static final Consumer<OfWriter> NONE = w -> { };
    private static final Consumer<OfWriter> ALL10 = w -> match10(w, Of.FW_ALL, 0);

    @Test
    public void malformedOpenFlow10FlowModsGetOvssErrors() {
        byte[] ok = fm10(ALL10, w -> w.u16(0).u16(8).u16(2).u16(0));
        ByteBuffer cut = ByteBuffer.wrap(ok, 0, 60).slice();
        try {
            OfCodec.decodeFlowMod(Of.V10, cut);
            fail();
        } catch (OfException e) {
            assertEquals(OfError.BAD_LEN, e.error());
        }
        refused(Of.V10, fm10(w -> match10(w, Of.FW_ALL & ~Of.FW_NW_PROTO, 0), NONE), OfError.BAD_WILDCARDS);
        refused(Of.V10, fm10(w -> match10(w, Of.FW_ALL & ~(0x3f << 8), 0), NONE), OfError.BAD_WILDCARDS);
        refused(Of.V10, fm10(w -> match10(w, Of.FW_ALL & ~Of.FW_IN_PORT, 0), NONE), OfError.BAD_VALUE);
        refused(Of.V10, fm10(w -> match10(w, Of.FW_ALL & ~Of.FW_IN_PORT, 0xfffd), NONE), OfError.BAD_VALUE);
        refused(Of.V10, fm10(ALL10, w -> w.u16(1).u16(8).u16(5).u16(0)), OfError.BAD_ACTION_TYPE);
        refused(Of.V10, fm10(ALL10, w -> w.u16(0xffff).u16(8).u32(0x2320)), OfError.BAD_ACTION_VENDOR);
        refused(Of.V10, fm10(ALL10, w -> w.u16(0).u16(0).u16(2).u16(0)), OfError.BAD_ACTION_LEN);
        refused(Of.V10, fm10(ALL10, w -> w.u16(0).u16(16).u16(2).u16(0)), OfError.BAD_ACTION_LEN);
        refused(Of.V10, fm10(ALL10, w -> w.u16(0).u16(8).u16(2)), OfError.BAD_ACTION_LEN);
        refused(Of.V10, fm10(ALL10, w -> w.u16(0).u16(8).u16(0xfff9).u16(0)), OfError.BAD_OUT_PORT); // TABLE
        refused(Of.V10, fm10(ALL10, w -> w.u16(0).u16(8).u16(0).u16(0)), OfError.BAD_OUT_PORT);
    }

    /** Port-mods, packet-outs and queue statistics requests as ovs-ofctl 3.1 sends them (captured). */
    @Test
    public void portModPacketOutAndQueueStatsAsOvsOfctlSendsThem() throws Exception {
        // mod-port br0 1 no-flood (1.0); -O OpenFlow13 mod-port br0 1 down; -O OpenFlow13 mod-port br0 1 no-flood
        assertEquals(new OfCodec.PortMod(1, 0xaa55aa550003L, 0x10, 0x10, 0), OfCodec.decodePortMod(Of.V10,
                buf("010f002000000004" + "0001aa55aa55000300000010000000100000000000000000")));
        assertEquals(new OfCodec.PortMod(1, 0xaa55aa550003L, 1, 1, 0), OfCodec.decodePortMod(Of.V13,
                buf("04100028000000040000000100000000aa55aa550003000000000001000000010000000000000000")));
        assertEquals(new OfCodec.PortMod(FlowEntry.LOCAL, 0xaa55aa550003L, 0, 0, 0), OfCodec.decodePortMod(Of.V13,
                buf("0410002800000004fffffffe00000000aa55aa550003000000000010000000100000000000000000")));
        String frame = "5254000000025254000000010800450000140001000040000000c0a80001c0a80002";
        // packet-out br0 1 output:2,all,in_port,table,normal,flood,local FRAME
        OfCodec.PacketOut po = OfCodec.decodePacketOut(Of.V10, buf("010d006a00000006ffffffff00010038000000080002"
                + "000000000008fffc000000000008fff8000000000008fff9000000000008fffa000000000008fffb000000000008fffe0000"
                + frame));
        assertEquals(Of.NO_BUFFER, po.bufferId());
        assertEquals(1, po.inPort());
        assertEquals(List.of(2, io.pvio.dpif.Dpif.OUT_ALL, io.pvio.dpif.Dpif.OUT_IN_PORT, io.pvio.dpif.Dpif.OUT_TABLE,
                FlowEntry.NORMAL, FlowEntry.FLOOD, FlowEntry.LOCAL), po.actions());
        assertEquals(frame, Hex.hex(po.packet()));
        // -O OpenFlow13 packet-out br0 "in_port=local packet=FRAME actions=output:2,all,in_port,table"
        OfCodec.PacketOut po13 = OfCodec.decodePacketOut(Of.V13, buf("040d007a00000006fffffffffffffffe004000000000"
                + "00000000001000000002000000000000000000000010fffffffc000000000000000000000010fffffff8000000000000000000000010fffffff90000000000000000" + frame));
        assertEquals(FlowEntry.LOCAL, po13.inPort());
        assertEquals(List.of(2, io.pvio.dpif.Dpif.OUT_ALL, io.pvio.dpif.Dpif.OUT_IN_PORT, io.pvio.dpif.Dpif.OUT_TABLE),
                po13.actions());
        assertEquals(frame, Hex.hex(po13.packet()));
        // packet-out br0 none|controller output:2 FRAME: no input port; 0xff00 is OFPBRC_BAD_PORT, as OVS
        assertEquals(0, OfCodec.decodePacketOut(Of.V10, buf("010d002a00000006ffffffffffff00080000000800020000"
                + frame)).inPort());
        assertEquals(0, OfCodec.decodePacketOut(Of.V10, buf("010d002a00000006fffffffffffd00080000000800020000"
                + frame)).inPort());
        try {
            OfCodec.decodePacketOut(Of.V10, buf("010d002a00000006ffffffffff0000080000000800020000" + frame));
            fail("in_port 0xff00 accepted");
        } catch (OfException e) {
            assertEquals(OfError.BAD_PORT, e.error());
        }
        // queue-stats br0 (1.0: port OFPP_ALL = any); -O OpenFlow13 queue-stats br0 1 5
        ByteBuffer q = buf("011000140000000200050000fffc0000ffffffff");
        q.position(12);
        assertEquals(new OfCodec.QueueStatsRequest(-1, Of.QUEUE_ALL), OfCodec.decodeQueueStatsRequest(Of.V10, q));
        ByteBuffer q13 = buf("041200180000000200050000000000000000000100000005");
        q13.position(16);
        assertEquals(new OfCodec.QueueStatsRequest(1, 5), OfCodec.decodeQueueStatsRequest(Of.V13, q13));
    }

    @Test
    public void malformedOpenFlow13FlowModsGetOvssErrors() {
        long inPort = 0x8000_0004L;
        long ethDst = 0x8000_0606L;
        long ethDstMasked = 0x8000_070cL;
        Consumer<OfWriter> out2 = w -> w.u16(4).u16(24).zeros(4).u16(0).u16(16).u32(2).u16(0).zeros(6);
        refused(Of.V13, fm13(w -> w.u16(0).u16(4).zeros(4), NONE), OfError.BAD_MATCH_TYPE);
        refused(Of.V13, fm13(oxm(0x8000_1401L, 6), NONE), OfError.BAD_FIELD); // ip_proto
        refused(Of.V13, fm13(oxm(0xffff_0004L, 0, 0, 0, 1), NONE), OfError.BAD_FIELD); // experimenter class
        refused(Of.V13, fm13(oxm(inPort, 0, 0, 0, 1, inPort, 0, 0, 0, 2), NONE), OfError.DUP_FIELD);
        refused(Of.V13, fm13(oxm(inPort, 0, 0, 0, 0), NONE), OfError.BAD_VALUE);
        refused(Of.V13, fm13(oxm(ethDstMasked, 1, 2, 3, 4, 5, 6, 0xff, 0xff, 0xff, 0, 0, 0), NONE), OfError.BAD_MASK);
        refused(Of.V13, fm13(oxm(0x8000_0005L, 1, 2, 3, 4, 5), NONE), OfError.BAD_MATCH_LEN); // eth_dst of 5 bytes
        refused(Of.V13, fm13(w -> w.u16(1).u16(200).zeros(4), NONE), OfError.BAD_MATCH_LEN);
        refused(Of.V13, fm13(oxm(), w -> w.u16(1).u16(8).u8(1).zeros(3)), OfError.UNSUP_INST); // goto_table
        refused(Of.V13, fm13(oxm(), w -> out2.andThen(out2).accept(w)), OfError.UNSUP_INST); // two apply_actions
        refused(Of.V13, fm13(oxm(), w -> w.u16(4).u16(3).zeros(4)), OfError.BAD_INST_LEN);
        refused(Of.V13, fm13(oxm(), w -> w.u16(4).u16(64).zeros(4)), OfError.BAD_INST_LEN);
        refused(Of.V13, fm13(oxm(), w -> w.u16(4).u16(24).zeros(4).u16(0x19).u16(16).zeros(12)), OfError.BAD_ACTION_TYPE);
        refused(Of.V13, fm13(oxm(), w -> w.u16(4).u16(24).zeros(4).u16(0).u16(16).u32(0xfffffff9L).zeros(8)),
                OfError.BAD_OUT_PORT);
        // a fully masked eth_dst is a wildcard, an exact mask a plain match
        try {
            FlowMod m = OfCodec.decodeFlowMod(Of.V13, buf(fm13(oxm(ethDstMasked, 1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 0), out2)));
            assertEquals(FlowEntry.of(0, 1, ANY, ANY, ANY, ANY, List.of(2)), m.flow());
            m = OfCodec.decodeFlowMod(Of.V13, buf(fm13(oxm(ethDst, 1, 2, 3, 4, 5, 6), out2)));
            assertEquals(0x010203040506L, m.flow().dlDst());
        } catch (OfException e) {
            throw new AssertionError(e);
        }
    }
}
