package io.pvio.dpif.netdev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dpif.DpifException;
import io.pvio.dpif.FlowEntry;
import io.pvio.dummy.DummyPort;
import io.pvio.dummy.DummyPorts;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/** The structured flow calls OpenFlow uses: add, modify (counters kept), delete with out_port, counters. */
public class FlowEntriesTest extends DpTest {
    private static final int ANY = FlowEntry.ANY;

    private static FlowEntry flow(int priority, int inPort, List<Integer> actions) {
        return FlowEntry.of(0, priority, inPort, ANY, ANY, ANY, actions);
    }

    private FlowEntry entry(int i) {
        try {
            return dp.flowEntries("br0").get(i);
        } catch (DpifException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    public void addModifyDeleteKeepOrderAndCounters() throws Exception {
        dp.addBridge("br0");
        dp.addPort("br0", "n1", "dummy", Map.of(), -1);
        dp.addPort("br0", "n2", "dummy", Map.of(), -1);
        DummyPort d1 = DummyPorts.dummy("n1");
        DummyPort d2 = DummyPorts.dummy("n2");
        dp.deleteFlows("br0", flow(0, ANY, List.of()), false, ANY);
        assertEquals(List.of(), dp.flowEntries("br0"));

        dp.putFlow("br0", FlowEntry.of(0x5, 10, 1, ANY, 0x525400000002L, 0x0800, List.of(2)));
        dp.putFlow("br0", flow(20, 2, List.of(FlowEntry.NORMAL)));
        List<FlowEntry> fl = dp.flowEntries("br0");
        assertEquals(2, fl.size());
        assertEquals(20, fl.get(0).priority());
        assertEquals(0x525400000002L, fl.get(1).dlDst());
        assertEquals(0x5, fl.get(1).cookie());
        assertEquals(List.of("priority=20,in_port=2,actions=NORMAL",
                "cookie=0x5,priority=10,ip,in_port=1,dl_dst=52:54:00:00:00:02,actions=output:2"), dp.flows("br0"));

        // traffic is counted on the flow it hits
        assertTrue(d1.receive(eth("52:54:00:00:00:02", "52:54:00:00:00:01", 0x0800, 100)));
        await("forwarded", () -> d2.sentPackets() == 1);
        await("counted", () -> entry(1).packets() == 1);
        assertEquals(100, dp.flowEntries("br0").get(1).bytes());

        // non-strict modify of in_port=1 keeps the counters and the cookie, strict needs the priority
        assertEquals(0, dp.modifyFlows("br0", flow(11, 1, List.of()), true));
        assertEquals(1, dp.modifyFlows("br0", flow(0, 1, List.of(FlowEntry.FLOOD)), false));
        FlowEntry m = dp.flowEntries("br0").get(1);
        assertEquals(List.of(FlowEntry.FLOOD), m.actions());
        assertEquals(1, m.packets());
        assertEquals(0x5, m.cookie());

        // delete with out_port selects by action; strict by priority
        assertEquals(0, dp.deleteFlows("br0", flow(0, ANY, List.of()), false, 2).size());
        assertEquals(0, dp.deleteFlows("br0", flow(19, 2, List.of()), true, ANY).size());
        List<FlowEntry> gone = dp.deleteFlows("br0", flow(20, 2, List.of()), true, ANY);
        assertEquals(1, gone.size());
        assertEquals(1, dp.flowEntries("br0").size());
        // an add with the same match and priority replaces; without reset_counts (a 1.3 add) the counters stay
        dp.putFlow("br0", FlowEntry.of(0, 10, 1, ANY, 0x525400000002L, 0x0800, List.of()));
        assertEquals(List.of("priority=10,ip,in_port=1,dl_dst=52:54:00:00:00:02,actions=drop"), dp.flows("br0"));
        assertEquals(1, dp.flowEntries("br0").get(0).packets());
        assertEquals(100, dp.flowEntries("br0").get(0).bytes());
        dp.putFlow("br0", FlowEntry.of(0, 10, 1, ANY, 0x525400000002L, 0x0800, List.of(2))
                .withTimeouts(0, 0, FlowEntry.FF_RESET_COUNTS)); // a 1.0 add: the counters reset
        assertEquals(0, dp.flowEntries("br0").get(0).packets());
    }

    @Test
    public void badEntriesAreRefusedAndChangeNothing() throws Exception {
        dp.addBridge("br0");
        List<String> before = dp.flows("br0");
        for (FlowEntry bad : List.of(flow(70000, ANY, List.of()), flow(1, 0, List.of()), flow(1, ANY, List.of(0)),
                flow(1, ANY, List.of(70000)), FlowEntry.of(0, 1, ANY, 1L << 48, ANY, ANY, List.of()))) {
            try {
                dp.putFlow("br0", bad);
                fail("accepted " + bad);
            } catch (DpifException e) {
                assertTrue(e.getMessage(), e.getMessage().startsWith("flow: "));
            }
        }
        try {
            dp.flowEntries("nobr");
            fail();
        } catch (DpifException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("nobr"));
        }
        assertEquals(before, dp.flows("br0"));
    }
}
