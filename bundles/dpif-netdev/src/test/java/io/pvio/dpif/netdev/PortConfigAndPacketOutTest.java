package io.pvio.dpif.netdev;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.DpifException;
import io.pvio.dpif.FlowEntry;
import io.pvio.dummy.DummyPort;
import io.pvio.dummy.DummyPorts;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/** OpenFlow port-mod (a port's config bits) and packet-out, as the data path carries them out. */
public class PortConfigAndPacketOutTest extends DpTest {
    static final String A = "52:54:00:00:00:0a";
    static final String B = "52:54:00:00:00:0b";
    static final String BCAST = "ff:ff:ff:ff:ff:ff";

    private DummyPort d1;
    private DummyPort d2;
    private DummyPort d3;

    private void threePorts() throws DpifException {
        dp.addBridge("br0");
        dp.addPort("br0", "n1", "dummy", Map.of(), 1);
        dp.addPort("br0", "n2", "dummy", Map.of(), 2);
        dp.addPort("br0", "n3", "dummy", Map.of(), 3);
        d1 = DummyPorts.dummy("n1");
        d2 = DummyPorts.dummy("n2");
        d3 = DummyPorts.dummy("n3");
    }

    private void inject(DummyPort in, byte[] frame) {
        assertTrue(in.receive(frame));
        await("frame taken", () -> in.rxBacklog() == 0);
        settle();
    }

    @Test
    public void aPortTakenDownReceivesAndSendsNothingUntilItIsUpAgain() throws Exception {
        threePorts();
        dp.setPortConfig("n2", Dpif.PC_PORT_DOWN, Dpif.PC_PORT_DOWN);
        assertEquals(Dpif.PC_PORT_DOWN, dp.portConfig("n2"));
        assertFalse(dp.port("n2").adminUp());
        assertTrue(dp.port("n1").adminUp());
        // a broadcast from n1 floods to n3 only
        inject(d1, eth(BCAST, A, 0x0800, 64));
        await("flooded to n3", () -> d3.sentPackets() == 1);
        // what n2 receives goes nowhere (and nothing is learned from it)
        inject(d2, eth(BCAST, B, 0x0800, 64));
        // an explicit output to n2 is dropped
        dp.addFlow("br0", "priority=10,in_port=3,actions=output:2");
        inject(d3, eth(B, A, 0x0800, 64));
        await("all freed", () -> dp.pool().inUse() == 0);
        assertEquals(0, d2.sentPackets());
        assertEquals(0, d1.sentPackets());
        assertEquals(1, d3.sentPackets());

        dp.setPortConfig("n2", 0, Dpif.PC_PORT_DOWN); // up
        assertEquals(0, dp.portConfig("n2"));
        assertTrue(dp.port("n2").adminUp());
        inject(d3, eth(B, A, 0x0800, 64));
        await("sent to n2", () -> d2.sentPackets() == 1);
        inject(d2, eth(BCAST, B, 0x0800, 64));
        await("n2 received and flooded", () -> d1.sentPackets() == 1 && d3.sentPackets() == 2);
        await("all freed", () -> dp.pool().inUse() == 0);
    }

    @Test
    public void noFloodNoForwardAndNoReceive() throws Exception {
        threePorts();
        dp.setPortConfig("n3", Dpif.PC_NO_FLOOD, Dpif.PC_NO_FLOOD);
        inject(d1, eth(BCAST, A, 0x0800, 64)); // NORMAL's flood leaves n3 out
        await("flooded to n2", () -> d2.sentPackets() == 1);
        dp.addFlow("br0", "priority=10,in_port=2,actions=output:3");
        inject(d2, eth(B, A, 0x0800, 64)); // but an output to it is sent
        await("output to a no-flood port", () -> d3.sentPackets() == 1);

        dp.setPortConfig("n3", Dpif.PC_NO_FWD, Dpif.PC_NO_FWD | Dpif.PC_NO_FLOOD);
        assertEquals(Dpif.PC_NO_FWD, dp.portConfig("n3"));
        inject(d2, eth(B, A, 0x0800, 64)); // output to a no-forward port is dropped
        // a no-forward port still receives
        dp.addFlow("br0", "priority=10,in_port=3,actions=output:1");
        inject(d3, eth(A, B, 0x0800, 64));
        await("n3 received", () -> d1.sentPackets() == 1);

        dp.setPortConfig("n3", Dpif.PC_NO_RECV, Dpif.PC_NO_FWD | Dpif.PC_NO_RECV);
        inject(d3, eth(A, B, 0x0800, 64)); // dropped on receipt
        inject(d2, eth(B, A, 0x0800, 64)); // but it is sent to
        await("n3 sent to again", () -> d3.sentPackets() == 2);
        await("all freed", () -> dp.pool().inUse() == 0);
        assertEquals(1, d1.sentPackets());
        assertTrue(dp.port("n3").adminUp());
    }

    @Test
    public void aBitTheDataPathCannotHonourIsRefused() throws Exception {
        threePorts();
        try {
            dp.setPortConfig("n1", Dpif.PC_NO_RECV_STP | Dpif.PC_NO_FLOOD, Dpif.PC_NO_RECV_STP | Dpif.PC_NO_FLOOD);
            fail("NO_RECV_STP accepted");
        } catch (DpifException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("NO_RECV_STP"));
        }
        assertEquals(0, dp.portConfig("n1"));
        dp.setPortConfig("n1", 0, Dpif.PC_NO_RECV_STP); // clearing it: nothing to do
        dp.setPortConfig("n1", Dpif.PC_NO_STP | Dpif.PC_NO_PACKET_IN, Dpif.PC_NO_STP | Dpif.PC_NO_PACKET_IN);
        assertEquals(Dpif.PC_NO_STP | Dpif.PC_NO_PACKET_IN, dp.portConfig("n1"));
        try {
            dp.setPortConfig("nope", Dpif.PC_PORT_DOWN, Dpif.PC_PORT_DOWN);
            fail("unknown port accepted");
        } catch (DpifException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("nope"));
        }
    }

    @Test
    public void aPacketOutLeavesOnItsOutputPorts() throws Exception {
        threePorts();
        byte[] f = eth(B, A, 0x0800, 70);
        dp.packetOut("br0", 1, List.of(2), f);
        await("sent on n2", () -> d2.sentPackets() == 1);
        assertArrayEquals(f, d2.lastSent().get(0));
        // output to the input port is skipped, IN_PORT sends there
        dp.packetOut("br0", 1, List.of(1, Dpif.OUT_IN_PORT), f);
        await("sent on n1", () -> d1.sentPackets() == 1);
        // FLOOD skips the input port and no-flood ports, ALL only the input port
        dp.setPortConfig("n3", Dpif.PC_NO_FLOOD, Dpif.PC_NO_FLOOD);
        dp.packetOut("br0", 1, List.of(FlowEntry.FLOOD), f);
        await("flooded", () -> d2.sentPackets() == 2);
        dp.packetOut("br0", 1, List.of(Dpif.OUT_ALL), f);
        await("to all", () -> d2.sentPackets() == 3 && d3.sentPackets() == 1);
        // no input port: NORMAL floods an unknown destination everywhere
        dp.setPortConfig("n3", 0, Dpif.PC_NO_FLOOD);
        dp.packetOut("br0", 0, List.of(FlowEntry.NORMAL), f);
        await("normal", () -> d1.sentPackets() == 2 && d2.sentPackets() == 4 && d3.sentPackets() == 2);
        // TABLE: the flow table as if received on the input port, counted in the flow
        dp.addFlow("br0", "priority=10,in_port=2,actions=output:3");
        dp.packetOut("br0", 2, List.of(Dpif.OUT_TABLE), f);
        await("table", () -> d3.sentPackets() == 3);
        assertTrue(dp.dumpFlows("br0").get(0), dp.dumpFlows("br0").get(0).contains("n_packets=1,"));
        // a port that does not exist is skipped; a down port is sent nothing
        dp.setPortConfig("n2", Dpif.PC_PORT_DOWN, Dpif.PC_PORT_DOWN);
        dp.packetOut("br0", 1, List.of(9, 2), f);
        settle();
        await("all freed", () -> dp.pool().inUse() == 0);
        assertEquals(4, d2.sentPackets());
        assertEquals(2, d1.sentPackets());
        assertEquals(3, d3.sentPackets());
        // several actions in one packet-out: one copy per destination
        dp.setPortConfig("n2", 0, Dpif.PC_PORT_DOWN);
        dp.packetOut("br0", 1, List.of(2, Dpif.OUT_ALL, Dpif.OUT_IN_PORT, Dpif.OUT_TABLE, FlowEntry.NORMAL,
                FlowEntry.FLOOD, FlowEntry.LOCAL), f);
        await("several", () -> d1.sentPackets() == 3);
        assertEquals(4 + 5, d2.sentPackets()); // output:2, ALL, the table (its NORMAL flow floods), NORMAL, FLOOD
        assertEquals(3 + 4, d3.sentPackets()); // ALL, the table, NORMAL, FLOOD
        try {
            dp.packetOut("nobr", 1, List.of(2), f);
            fail("unknown bridge accepted");
        } catch (DpifException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("nobr"));
        }
    }
}
