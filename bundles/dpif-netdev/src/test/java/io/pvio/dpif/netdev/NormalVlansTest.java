package io.pvio.dpif.netdev;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dpif.DpifException;
import io.pvio.dpif.netdev.appctl.FdbShowCommand;
import io.pvio.dummy.DummyPort;
import io.pvio.dummy.DummyPorts;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/**
 * NORMAL with the Port's tag, trunks and vlan_mode, as OVS's xlate_normal: what enters by a port, what leaves
 * by each, with which header (frames compared byte for byte), and what is learned in which VLAN.
 */
public class NormalVlansTest extends DpTest {
    static final String A = "52:54:00:00:00:0a";
    static final String B = "52:54:00:00:00:0b";
    static final String C = "52:54:00:00:00:0c";
    static final String BCAST = "ff:ff:ff:ff:ff:ff";

    private DummyPort[] ports(String... names) throws DpifException {
        dp.addBridge("br0");
        DummyPort[] d = new DummyPort[names.length];
        for (int i = 0; i < names.length; i++) {
            dp.addPort("br0", names[i], "dummy", Map.of(), i + 1);
            d[i] = DummyPorts.dummy(names[i]);
        }
        return d;
    }

    private void inject(DummyPort in, byte[] frame) {
        assertTrue(in.receive(frame));
        await("frame taken", () -> in.rxBacklog() == 0);
        settle();
    }

    /** {@code frame} with a VLAN header (TPID {@code tpid}, TCI {@code tci}) after its MACs. */
    static byte[] tagged(byte[] frame, int tpid, int tci) {
        ByteBuffer b = ByteBuffer.allocate(frame.length + 4);
        b.put(frame, 0, 12).putShort((short) tpid).putShort((short) tci).put(frame, 12, frame.length - 12);
        return b.array();
    }

    private static long[] sent(DummyPort... d) {
        long[] n = new long[d.length];
        for (int i = 0; i < d.length; i++) {
            n[i] = d[i].sentPackets();
        }
        return n;
    }

    private void awaitSent(DummyPort[] d, long... want) {
        await(() -> "sent " + java.util.Arrays.toString(sent(d)) + ", want " + java.util.Arrays.toString(want),
                () -> java.util.Arrays.equals(sent(d), want));
        settle();
        assertArrayEquals(want, sent(d)); // and nothing more after the PMD settled
    }

    private static byte[] last(DummyPort d) {
        List<byte[]> l = d.lastSent();
        return l.get(l.size() - 1);
    }

    @Test
    public void accessAndTrunkPorts() throws Exception {
        DummyPort[] d = ports("a10", "b10", "c20", "trunk", "t20");
        dp.setPortVlans("a10", "", 10, new int[0]);
        dp.setPortVlans("b10", null, 10, new int[] {30}); // trunks ignored in favor of the tag
        dp.setPortVlans("c20", "access", 20, new int[0]);
        dp.setPortVlans("t20", "trunk", -1, new int[] {20});
        byte[] bc = eth(BCAST, A, 0x0800, 64);
        // an untagged broadcast into VLAN 10: the other access port as it is, the trunk tagged 10
        inject(d[0], bc);
        awaitSent(d, 0, 1, 0, 1, 0);
        assertArrayEquals(bc, last(d[1]));
        assertArrayEquals(tagged(bc, 0x8100, 10), last(d[3]));
        // a tagged frame into an access port: dropped
        inject(d[1], tagged(eth(BCAST, B, 0x0800, 64), 0x8100, 10));
        awaitSent(d, 0, 1, 0, 1, 0);
        // VLAN 20 from the trunk: the access port of 20 untagged, the trunk of 20 as it came (PCP kept)
        byte[] c20 = tagged(eth(BCAST, C, 0x0806, 60), 0x8100, 5 << 13 | 20);
        inject(d[3], c20);
        awaitSent(d, 0, 1, 1, 1, 1);
        assertArrayEquals(eth(BCAST, C, 0x0806, 60), last(d[2]));
        assertArrayEquals(c20, last(d[4]));
        // a VLAN t20 does not trunk: dropped
        inject(d[4], tagged(eth(BCAST, B, 0x0800, 64), 0x8100, 10));
        awaitSent(d, 0, 1, 1, 1, 1);
        // learned per VLAN: A in 10 on a10, C in 20 on the trunk
        String fdb = new FdbShowCommand(dp).run(List.of("br0"));
        assertTrue(fdb, fdb.contains("    1    10  " + A));
        assertTrue(fdb, fdb.contains("    4    20  " + C));
        assertTrue(fdb, !fdb.contains(B)); // its frames were dropped before learning
        // unicast to A in VLAN 10 from the trunk: popped, to a10 only
        byte[] toA = eth(A, B, 0x0800, 70);
        inject(d[3], tagged(toA, 0x8100, 10));
        awaitSent(d, 1, 1, 1, 1, 1);
        assertArrayEquals(toA, last(d[0]));
        // the same MAC in VLAN 20 is another station: flooded in 20, A's entry in 10 is not used
        inject(d[3], tagged(eth(A, B, 0x0800, 70), 0x8100, 20));
        awaitSent(d, 1, 1, 2, 1, 2);
        // and A answers B in VLAN 10: B was learned on the trunk in 10, so the trunk gets it tagged
        inject(d[0], eth(B, A, 0x0800, 66));
        awaitSent(d, 1, 1, 2, 2, 2);
        assertArrayEquals(tagged(eth(B, A, 0x0800, 66), 0x8100, 10), last(d[3]));
        await("all freed", () -> dp.pool().inUse() == 0);
    }

    @Test
    public void nativeVlansAnd8021ad() throws Exception {
        DummyPort[] d = ports("nu", "nt", "acc20", "trunk");
        dp.setPortVlans("nu", "native-untagged", 10, new int[] {20});
        dp.setPortVlans("nt", "native-tagged", 10, new int[0]);
        dp.setPortVlans("acc20", "access", 20, new int[0]);
        byte[] bc = eth(BCAST, A, 0x0800, 64);
        // untagged into native-untagged 10: native-tagged and the trunk get it tagged 10, acc20 nothing
        inject(d[0], bc);
        awaitSent(d, 0, 1, 0, 1);
        assertArrayEquals(tagged(bc, 0x8100, 10), last(d[1]));
        assertArrayEquals(tagged(bc, 0x8100, 10), last(d[3]));
        // tagged 10 into native-tagged: native-untagged gets it untagged (its native VLAN)
        byte[] b10 = eth(BCAST, B, 0x0800, 64);
        inject(d[1], tagged(b10, 0x8100, 10));
        awaitSent(d, 1, 1, 0, 2);
        assertArrayEquals(b10, last(d[0]));
        // 20 into native-untagged (it trunks 20): acc20 untagged, the others tagged
        byte[] c20 = eth(BCAST, C, 0x0800, 64);
        inject(d[0], tagged(c20, 0x8100, 20));
        awaitSent(d, 1, 2, 1, 3);
        assertArrayEquals(c20, last(d[2]));
        assertArrayEquals(tagged(c20, 0x8100, 20), last(d[1]));
        // an 802.1ad header counts as a VLAN too, and keeps its TPID on a trunk
        byte[] ad = tagged(eth(BCAST, "52:54:00:00:00:0d", 0x0800, 64), 0x88a8, 20);
        inject(d[3], ad);
        awaitSent(d, 2, 3, 2, 3);
        assertArrayEquals(ad, last(d[1]));
        assertArrayEquals(ad, last(d[0]));
        assertArrayEquals(eth(BCAST, "52:54:00:00:00:0d", 0x0800, 64), last(d[2]));
        // a frame whose VLAN header is cut short: dropped
        byte[] partial = java.util.Arrays.copyOf(tagged(bc, 0x8100, 10), 16);
        inject(d[3], partial);
        awaitSent(d, 2, 3, 2, 3);
        await("all freed", () -> dp.pool().inUse() == 0);
    }

    @Test
    public void changesApplyToTrafficAndBadModesAreRefused() throws Exception {
        DummyPort[] d = ports("p1", "p2", "p3");
        inject(d[0], eth(BCAST, A, 0x0800, 64));
        awaitSent(d, 0, 1, 1); // all trunks: every port
        dp.setPortVlans("p3", "", 99, new int[0]);
        inject(d[0], eth(BCAST, A, 0x0800, 64));
        awaitSent(d, 0, 2, 1);
        try {
            dp.setPortVlans("p3", "dot1q-tunnel", 5, new int[0]);
            fail("dot1q-tunnel accepted");
        } catch (DpifException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("dot1q-tunnel is not supported by pvio"));
        }
        try {
            dp.setPortVlans("nosuch", "", 5, new int[0]);
            fail("an unknown port accepted");
        } catch (DpifException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("nosuch"));
        }
        inject(d[0], eth(BCAST, A, 0x0800, 64)); // p3 kept its access VLAN 99
        awaitSent(d, 0, 3, 1);
        dp.setPortVlans("p3", "", -1, new int[0]);
        inject(d[0], eth(BCAST, A, 0x0800, 64));
        awaitSent(d, 0, 4, 2);
    }

    /** As OVS's: a tagged frame's dl_type is the EtherType after its VLAN header, for many flows too. */
    @Test
    public void aTaggedFramesDlTypeIsItsInnerEtherType() throws Exception {
        DummyPort[] d = ports("p1", "p2", "p3");
        dp.addFlow("br0", "priority=100,ip,in_port=1,actions=output:2");
        dp.addFlow("br0", "priority=90,in_port=1,dl_type=0x8100,actions=output:3");
        byte[] ip = tagged(eth(B, A, 0x0800, 64), 0x8100, 7);
        inject(d[0], ip);
        awaitSent(d, 0, 1, 0);
        assertArrayEquals(ip, last(d[1]));
        List<String> many = new java.util.ArrayList<>(); // the burst lookup (many flows) reads it alike
        for (int i = 0; i < io.pvio.dpif.netdev.flow.FlowTable.BURST_FLOWS; i++) {
            many.add("priority=50,in_port=1,dl_src=02:00:00:00:" + String.format("%02x:%02x", i >> 8, i & 0xff)
                    + ",actions=drop");
        }
        dp.addFlows("br0", many);
        inject(d[0], ip);
        awaitSent(d, 0, 2, 0);
    }
}
