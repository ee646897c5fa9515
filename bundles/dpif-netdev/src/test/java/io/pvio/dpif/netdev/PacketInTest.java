package io.pvio.dpif.netdev;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import io.pvio.dpif.DpifException;
import io.pvio.dpif.FlowEntry;
import io.pvio.dpif.PacketIn;
import io.pvio.dummy.DummyPort;
import io.pvio.dummy.DummyPorts;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/**
 * The controller action: a flow's packets go to the bridge's packet-in queue whole, with the flow's cookie and
 * priority and the input port, beside its other actions; a full queue drops them and counts.
 */
public class PacketInTest extends DpTest {
    private static final String A = "52:54:00:00:00:01";
    private static final String B = "52:54:00:00:00:02";

    @Test
    public void aControllerActionQueuesTheWholePacket() throws Exception {
        dp.addBridge("br0");
        dp.addPort("br0", "n1", "dummy", Map.of(), 1);
        dp.addPort("br0", "n2", "dummy", Map.of(), 2);
        DummyPort n1 = DummyPorts.dummy("n1");
        DummyPort n2 = DummyPorts.dummy("n2");
        dp.delFlows("br0", "");
        dp.addFlow("br0", "cookie=0x5,in_port=1,actions=controller:200,output:2");
        dp.addFlow("br0", "priority=0,actions=controller");
        assertEquals(List.of(" cookie=0x5, in_port=1 actions=CONTROLLER:200,output:2",
                " cookie=0x0, priority=0 actions=CONTROLLER:65535"),
                dp.dumpFlows("br0").stream().map(l -> l.replaceAll(" duration=.* idle_age=\\d+,", "")).toList());
        assertNull(dp.takePacketIn("br0", 0));

        byte[] frame = eth(B, A, 0x0800, 300);
        assertTrue(n1.receive(frame));
        PacketIn pin = dp.takePacketIn("br0", 10_000);
        assertEquals(1, pin.inPort());
        assertEquals(0x5, pin.cookie());
        assertEquals(FlowEntry.DEFAULT_PRIORITY, pin.priority());
        assertEquals(PacketIn.ACTION, pin.reason());
        assertEquals(200, pin.maxLen());
        assertArrayEquals("the whole packet, as OVS (no buffers)", frame, pin.packet());
        await("and its other action", () -> n2.sentPackets() == 1);

        byte[] other = eth(A, B, 0x0806, 60);
        assertTrue(n2.receive(other));
        PacketIn miss = dp.takePacketIn("br0", 10_000);
        assertEquals(2, miss.inPort());
        assertEquals("priority 0, matching everything: a table-miss flow", PacketIn.EXPLICIT_MISS, miss.reason());
        assertEquals(65535, miss.maxLen());
        assertArrayEquals(other, miss.packet());
        assertNull(dp.takePacketIn("br0", 50));
        assertEquals(0, dp.packetInDrops("br0"));
        assertEquals(0, n1.sentPackets());
    }

    /** A table miss is a packet-in only while the OpenFlow side asks (a connection below 1.3 is open), as OVS. */
    @Test
    public void anImplicitTableMissWhenAsked() throws Exception {
        DummyPort n1 = bridgeWithoutFlows();
        assertTrue(n1.receive(eth(B, A, 0x0800, 60)));
        await("looked up", () -> lookups() == 1);
        assertNull("not asked: dropped", dp.takePacketIn("br0", 0));
        dp.setPacketInOnMiss("br0", true);
        byte[] frame = eth(B, A, 0x86dd, 90);
        assertTrue(n1.receive(frame));
        PacketIn pin = dp.takePacketIn("br0", 10_000);
        assertEquals(PacketIn.IMPLICIT_MISS, pin.reason());
        assertEquals(1, pin.inPort());
        assertEquals(0, pin.cookie());
        assertEquals(0xffff, pin.maxLen());
        assertArrayEquals(frame, pin.packet());
        assertEquals(0, dp.tableStats("br0").matched());
        dp.setPacketInOnMiss("br0", false);
        assertTrue(n1.receive(frame));
        await("looked up", () -> lookups() == 3);
        assertNull(dp.takePacketIn("br0", 0));
    }

    /** br0 with dummy port n1 (ofport 1) and no flow. */
    private DummyPort bridgeWithoutFlows() throws Exception {
        dp.addBridge("br0");
        dp.addPort("br0", "n1", "dummy", Map.of(), 1);
        dp.delFlows("br0", "");
        return DummyPorts.dummy("n1");
    }

    private long lookups() {
        try {
            return dp.tableStats("br0").lookups();
        } catch (DpifException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    public void aFullQueueDropsAndCounts() throws Exception {
        DummyPort n1 = bridgeWithoutFlows();
        dp.addFlow("br0", "actions=controller");
        int sent = Bridge.PACKET_INS + 100;
        for (int i = 0; i < sent; i++) {
            while (!n1.receive(eth(B, A, 0x0800, 60))) {
                Thread.sleep(1); // the dummy's receive queue is full: the PMD takes them
            }
        }
        await("all looked up", () -> {
            try {
                return dp.tableStats("br0").matched() == sent;
            } catch (DpifException e) {
                throw new AssertionError(e);
            }
        });
        assertEquals(100, dp.packetInDrops("br0"));
        int taken = 0;
        while (dp.takePacketIn("br0", 0) != null) {
            taken++;
        }
        assertEquals(Bridge.PACKET_INS, taken);
    }

    @Test
    public void badControllerActionsAreRefused() throws Exception {
        dp.addBridge("br0");
        assertRefused("br0", new String[][] {{"actions=controller:65536", "max_len 65536 is out of range 0..65535"},
                {"actions=controller:x", "max_len 'x' is not a number"},
                {"actions=controller(reason=no_match)", "action controller is not supported by pvio"}});
        try {
            dp.takePacketIn("nobr", 0);
            throw new AssertionError("a packet-in from no bridge");
        } catch (DpifException expected) {
            // no such bridge
        }
    }
}
