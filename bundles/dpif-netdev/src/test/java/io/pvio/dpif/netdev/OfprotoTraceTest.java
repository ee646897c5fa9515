package io.pvio.dpif.netdev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.netdev.appctl.FdbShowCommand;
import io.pvio.dpif.netdev.appctl.OfprotoTraceCommand;
import io.pvio.dummy.DummyPort;
import io.pvio.dummy.DummyPorts;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/** ofproto/trace on a running datapath: the bridge's flows and learned MACs, read only; its argument errors. */
public class OfprotoTraceTest extends DpTest {
    private String trace(String... args) throws UnixctlException {
        return new OfprotoTraceCommand(dp).run(List.of(args));
    }

    private void refused(String message, String... args) {
        try {
            trace(args);
            fail(List.of(args) + " accepted");
        } catch (UnixctlException e) {
            assertEquals(message, e.getMessage());
        }
    }

    @Test
    public void normalTracesWhatThePmdLearnedAndLearnsNothing() throws Exception {
        dp.addBridge("br0");
        dp.addPort("br0", "n1", "dummy", Map.of(), -1);
        dp.addPort("br0", "n2", "dummy", Map.of(), -1);
        dp.addPort("br0", "n3", "dummy", Map.of(), 7);
        DummyPort d2 = DummyPorts.dummy("n2");
        String unlearned = trace("br0", "in_port=n1,dl_src=52:54:00:00:00:0a,dl_dst=52:54:00:00:00:0b");
        assertEquals("Flow: in_port=1,vlan_tci=0x0000,dl_src=52:54:00:00:00:0a,dl_dst=52:54:00:00:00:0b,dl_type=0x0000\n"
                + "\nbridge(\"br0\")\n-------------\n 0. priority 0\n    NORMAL\n"
                + "     -> no learned MAC for destination, flooding\n\nFinal flow: unchanged\nDatapath actions: 2,7\n",
                unlearned);
        // the trace learned nothing and counted nothing
        assertEquals(" port  VLAN  MAC                Age\n", new FdbShowCommand(dp).run(List.of("br0")));
        assertEquals(new Dpif.TableStats(0, 0), dp.tableStats("br0"));
        assertTrue(dp.dumpFlows("br0").get(0), dp.dumpFlows("br0").get(0).contains("n_packets=0,"));

        // B sends from n2: the PMD learns it, and the trace forwards to it
        assertTrue(d2.receive(eth(NormalAndFlowsTest.BCAST, NormalAndFlowsTest.B, 0x0806, 60)));
        FdbShowCommand fdb = new FdbShowCommand(dp);
        await("learned", () -> {
            try {
                return fdb.run(List.of("br0")).contains(NormalAndFlowsTest.B);
            } catch (UnixctlException e) {
                throw new AssertionError(e);
            }
        });
        String learned = trace("br0", "in_port=1,dl_dst=52:54:00:00:00:0b");
        assertTrue(learned, learned.endsWith("    NORMAL\n     -> forwarding to learned port\n\n"
                + "Final flow: unchanged\nDatapath actions: 2\n"));
        dp.addFlow("br0", "priority=10,in_port=7,actions=output:1,LOCAL");
        String local = trace("br0", "in_port=n3");
        assertTrue(local, local.contains("\n 0. in_port=7, priority 10\n    output:1\n    LOCAL\n"
                + "     >> Nonexistent output port\n")); // this bridge has no local port
        assertTrue(local, local.endsWith("Datapath actions: 1\n"));
    }

    /** The ports' mod-port bits, as the PMDs honour them (and as OVS's trace skips them). */
    @Test
    public void portConfigBitsAreTracedAsTheDataPathHonoursThem() throws Exception {
        dp.addBridge("br0");
        for (String p : new String[] {"n1", "n2", "n3", "n4"}) {
            dp.addPort("br0", p, "dummy", Map.of(), -1);
        }
        dp.addFlow("br0", "priority=10,in_port=1,actions=output:2,output:3");
        dp.addFlow("br0", "priority=10,in_port=4,actions=FLOOD");
        dp.setPortConfig("n2", Dpif.PC_NO_FWD, Dpif.PC_NO_FWD);
        dp.setPortConfig("n3", Dpif.PC_PORT_DOWN, Dpif.PC_PORT_DOWN);
        String out = trace("br0", "in_port=1");
        assertTrue(out, out.contains("    output:2\n     -> OFPPC_NO_FWD set, skipping output\n"
                + "    output:3\n     >> output port 3 is down, skipping output\n"));
        assertTrue(out, out.endsWith("Datapath actions: drop\n"));
        dp.setPortConfig("n1", Dpif.PC_NO_FLOOD, Dpif.PC_NO_FLOOD);
        dp.setPortConfig("n3", 0, Dpif.PC_PORT_DOWN);
        assertTrue(trace("br0", "in_port=4").endsWith("Datapath actions: 3\n")); // 1 no-flood, 2 no-forward
        dp.setPortConfig("n4", Dpif.PC_NO_RECV, Dpif.PC_NO_RECV);
        String noRecv = trace("br0", "in_port=4");
        assertTrue(noRecv, noRecv.contains("    >> input port 4 has OFPPC_NO_RECV set, dropping\n"));
        assertTrue(noRecv, noRecv.endsWith("Datapath actions: drop\n"));
    }

    @Test
    public void argumentsAndBridgesAreCheckedAsOvsChecksThem() throws Exception {
        dp.addBridge("br0");
        refused("nobr: unknown bridge", "nobr", "in_port=1");
        refused("Bad openflow flow syntax: in_port=9x: bad value for in_port (9x: invalid or unknown port for in_port)",
                "br0", "in_port=9x");
        refused("--foo: unknown option", "br0", "--foo", "in_port=1");
        refused("-generate: not supported by pvio (usage: ofproto/trace bridge br_flow)", "-generate", "br0", "in_port=1");
        refused("\"ofproto/trace\" command requires at least 1 arguments");
        String odp = "a datapath flow ([dp_name] odp_flow) is not supported by pvio, its datapath has none (usage:"
                + " ofproto/trace bridge br_flow)";
        refused(odp, "in_port(1),eth_type(0x1234)");
        refused(odp, "ovs-netdev", "in_port(1)");
        refused(odp, "br0");
        refused("a packet to trace is not supported by pvio (usage: ofproto/trace bridge br_flow)", "br0", "in_port=1",
                "0000");
        refused("too many arguments", "a", "b", "c", "d");
    }
}
