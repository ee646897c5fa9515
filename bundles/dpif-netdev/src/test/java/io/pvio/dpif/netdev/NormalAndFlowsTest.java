package io.pvio.dpif.netdev;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dpif.DpifException;
import io.pvio.dpif.PortInfo;
import io.pvio.dpif.netdev.appctl.FdbShowCommand;
import io.pvio.dpif.netdev.flow.FlowTable;
import io.pvio.dummy.DummyPort;
import io.pvio.dummy.DummyPorts;
import java.util.List;
import java.util.Map;
import org.junit.Test;

public class NormalAndFlowsTest extends DpTest {
    static final String A = "52:54:00:00:00:0a";
    static final String B = "52:54:00:00:00:0b";
    static final String BCAST = "ff:ff:ff:ff:ff:ff";

    private DummyPort d1;
    private DummyPort d2;
    private DummyPort d3;

    private void threePorts() throws DpifException {
        dp.addBridge("br0");
        dp.addPort("br0", "n1", "dummy", Map.of(), -1);
        dp.addPort("br0", "n2", "dummy", Map.of(), -1);
        dp.addPort("br0", "n3", "dummy", Map.of(), 7);
        d1 = DummyPorts.dummy("n1");
        d2 = DummyPorts.dummy("n2");
        d3 = DummyPorts.dummy("n3");
    }

    /** Injects one frame on {@code in} and waits until the datapath has taken and processed it. */
    private void inject(DummyPort in, byte[] frame) {
        assertTrue(in.receive(frame));
        await("frame taken", () -> in.rxBacklog() == 0);
        settle();
    }

    @Test
    public void normalLearnsFloodsAndForwards() throws Exception {
        threePorts();
        assertEquals(List.of(1, 2, 7), dp.ports("br0").stream().map(PortInfo::ofport).toList());
        assertEquals("up", dp.port("n1").state());
        // unknown destination: flood to every other port
        inject(d1, eth(B, A, 0x0800, 64));
        await("flooded", () -> d2.sentPackets() == 1 && d3.sentPackets() == 1);
        assertEquals(0, d1.sentPackets());
        // B answers from n2: A was learned on port 1, so only n1 gets it
        inject(d2, eth(A, B, 0x0800, 80));
        await("unicast", () -> d1.sentPackets() == 1);
        assertArrayEquals(eth(A, B, 0x0800, 80), d1.lastSent().get(0));
        // and now A -> B goes to n2 only
        inject(d1, eth(B, A, 0x0800, 64));
        await("unicast 2", () -> d2.sentPackets() == 2);
        // broadcast floods
        inject(d3, eth(BCAST, "52:54:00:00:00:0c", 0x0806, 60));
        await("broadcast", () -> d1.sentPackets() == 2 && d2.sentPackets() == 3);
        assertEquals(1, d3.sentPackets());
        await("all freed", () -> dp.pool().inUse() == 0);
        String fdb = new FdbShowCommand(dp).run(List.of("br0"));
        assertTrue(fdb, fdb.startsWith(" port  VLAN  MAC                Age\n"));
        assertTrue(fdb, fdb.contains("    1     0  52:54:00:00:00:0a"));
        assertTrue(fdb, fdb.contains("    2     0  52:54:00:00:00:0b"));
        assertTrue(fdb, fdb.contains("    7     0  52:54:00:00:00:0c"));
        List<String> flows = dp.dumpFlows("br0");
        assertEquals(1, flows.size());
        assertTrue(flows.get(0), flows.get(0).matches(
                " cookie=0x0, duration=\\d+\\.\\d{3}s, table=0, n_packets=4, n_bytes=268, idle_age=\\d+,"
                + " priority=0 actions=NORMAL"));
        // deleting a port forgets what was learned on it
        dp.delPort("n2");
        assertTrue(new FdbShowCommand(dp).run(List.of("br0")).indexOf("52:54:00:00:00:0b") < 0);
        assertNull(DummyPorts.dummy("n2"));
    }

    @Test
    public void flowPrioritiesDropsAndMissingPorts() throws Exception {
        threePorts();
        dp.addFlow("br0", "priority=100,in_port=1,actions=output:7");
        dp.addFlow("br0", "priority=200,in_port=1,dl_type=0x0806,actions=drop");
        dp.addFlow("br0", "priority=50,in_port=2,actions=output:9"); // no port 9: allowed, dropped
        inject(d1, eth(B, A, 0x0800, 64));
        await("to n3", () -> d3.sentPackets() == 1);
        inject(d1, eth(B, A, 0x0806, 64));
        inject(d2, eth(A, B, 0x0800, 64));
        await("all freed", () -> dp.pool().inUse() == 0);
        assertEquals(1, d3.sentPackets());
        assertEquals(0, d2.sentPackets() + d1.sentPackets());
        assertEquals(2, dp.droppedPackets());
        List<String> flows = dp.dumpFlows("br0");
        assertEquals(4, flows.size());
        assertTrue(flows.get(0), flows.get(0).replaceFirst("idle_age=\\d+, ", "")
                .endsWith("n_packets=1, n_bytes=64, priority=200,arp,in_port=1 actions=drop"));
        assertTrue(flows.get(1), flows.get(1).replaceFirst("idle_age=\\d+, ", "")
                .endsWith("n_packets=1, n_bytes=64, priority=100,in_port=1 actions=output:7"));
        assertTrue(flows.get(2), flows.get(2).replaceFirst("idle_age=\\d+, ", "")
                .endsWith("n_packets=1, n_bytes=64, priority=50,in_port=2 actions=output:9"));
        assertTrue(flows.get(3), flows.get(3).replaceFirst("idle_age=\\d+, ", "")
                .endsWith("n_packets=0, n_bytes=0, priority=0 actions=NORMAL"));
        // output to several ports: one reference each
        dp.addFlow("br0", "priority=300,in_port=3,actions=output:1,output:2,output:7");
        dp.addFlow("br0", "priority=300,in_port=7,actions=output:1,output:2,output:7");
        inject(d3, eth(B, A, 0x0800, 100));
        await("multi output", () -> d1.sentPackets() == 1 && d2.sentPackets() == 1);
        assertEquals(1, d3.sentPackets()); // output to the input port is skipped
        // the same as a flow's only action (the PMD's single-output path): nothing sent, dropped
        dp.addFlow("br0", "priority=300,in_port=2,actions=output:2");
        inject(d2, eth(A, B, 0x0800, 64));
        await("all freed", () -> dp.pool().inUse() == 0);
        assertEquals(1, d2.sentPackets());
        assertEquals(3, dp.droppedPackets());
        assertEquals(1, dp.delFlows("br0", "in_port=7"));
        assertEquals(6, dp.dumpFlows("br0").size());
        assertEquals(6, dp.delFlows("br0", null));
        inject(d1, eth(B, A, 0x0800, 64)); // empty table: miss, drop
        await("all freed", () -> dp.pool().inUse() == 0);
        assertEquals(4, dp.droppedPackets());
    }

    /** A table large enough for burst lookups ({@link FlowTable#BURST_FLOWS}): every packet gets its own flow. */
    @Test
    public void aLargeTableForwardsEachPacketByItsOwnFlow() throws Exception {
        threePorts();
        int n = 10_000;
        assertTrue(n >= FlowTable.BURST_FLOWS);
        List<String> flows = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            flows.add("in_port=1,dl_src=" + src(i) + ",actions=output:" + (i % 2 == 0 ? 2 : 7));
        }
        dp.addFlows("br0", flows); // and priority=0,actions=NORMAL, from the bridge's creation
        int even = 0;
        int odd = 0;
        int unknown = 0;
        for (int k = 0; k < 600; k++) {
            int i = (k * 7919) % (n + 500); // above n: no flow of its own, NORMAL floods it
            while (!d1.receive(eth(B, src(i), 0x0800, 60))) {
                Thread.onSpinWait(); // the rx queue is full: the PMD is behind
            }
            if (i >= n) {
                unknown++;
            } else if (i % 2 == 0) {
                even++;
            } else {
                odd++;
            }
        }
        int toN2 = even + unknown;
        int toN3 = odd + unknown;
        await("forwarded", () -> d2.sentPackets() == toN2 && d3.sentPackets() == toN3);
        settle();
        assertEquals(toN2, d2.sentPackets());
        assertEquals(toN3, d3.sentPackets());
        assertEquals(0, d1.sentPackets());
        assertEquals(0, dp.droppedPackets());
        await("all freed", () -> dp.pool().inUse() == 0);
        int i0 = 7919 % (n + 500); // sent once (k = 1), and k * 7919 mod 10,500 repeats no value below 600
        List<String> one = dp.dumpFlows("br0", "dl_src=" + src(i0));
        assertEquals(one.toString(), 1, one.size());
        assertTrue(one.get(0), one.get(0).contains(" n_packets=1, n_bytes=60,"));
    }

    private static String src(int i) {
        return String.format("02:00:00:00:%02x:%02x", i >> 8 & 0xff, i & 0xff);
    }

    @Test
    public void dumpFlowsFilterIsNonStrictAndDelFlowsStrictIsExact() throws Exception {
        threePorts();
        dp.delFlows("br0", null);
        dp.addFlow("br0", "priority=300,in_port=1,dl_dst=52:54:00:00:00:0b,actions=output:2");
        dp.addFlow("br0", "priority=200,in_port=1,actions=output:7");
        dp.addFlow("br0", "in_port=1,actions=drop"); // priority 32768
        dp.addFlow("br0", "priority=100,ip,in_port=n2,actions=NORMAL");
        dp.addFlow("br0", "priority=0,actions=NORMAL");
        assertEquals(5, dp.dumpFlows("br0", null).size());
        assertEquals(5, dp.dumpFlows("br0", "").size());
        // non-strict: every flow whose match contains the filter's fields; priority ignored, names read
        assertEquals(3, dp.dumpFlows("br0", "in_port=1").size());
        assertEquals(3, dp.dumpFlows("br0", "in_port=n1,priority=7").size());
        List<String> ip = dp.dumpFlows("br0", "dl_type=0x0800");
        assertEquals(ip.toString(), 1, ip.size());
        assertTrue(ip.get(0), ip.get(0).endsWith("priority=100,ip,in_port=2 actions=NORMAL"));
        assertEquals(1, dp.dumpFlows("br0", "eth_dst=52:54:00:00:00:0B").size());
        assertEquals(0, dp.dumpFlows("br0", "in_port=7").size());
        try {
            dp.dumpFlows("br0", "in_port=nosuch");
            fail("unknown port name accepted");
        } catch (DpifException e) {
            assertEquals("nosuch: invalid or unknown port for in_port", e.getMessage());
        }
        // strict: the match and the priority (32768 when not given) exactly
        assertEquals(0, dp.delFlows("br0", "in_port=1,priority=1", true));
        assertEquals(1, dp.delFlows("br0", "in_port=1", true));
        assertEquals(2, dp.dumpFlows("br0", "in_port=1").size());
        assertEquals(1, dp.delFlows("br0", "priority=200,in_port=1", true));
        assertEquals(1, dp.delFlows("br0", "priority=0", true));
        assertEquals(List.of("priority=300,in_port=1,dl_dst=52:54:00:00:00:0b,actions=output:2",
                "priority=100,ip,in_port=2,actions=NORMAL"), dp.flows("br0"));
    }

    @Test
    public void dpifShowListsBridgesAndPortsByNameAsOvs() throws Exception {
        threePorts();
        dp.addPort("br0", "eth9", "", Map.of(), -1); // system: no class bound here, so not open
        dp.addBridge("br1");
        dp.addPort("br1", "m1", "dummy", Map.of("n_txq", "2", "n_rxq", "1"), 3);
        inject(d1, eth(B, A, 0x0800, 64));
        inject(d1, eth(B, A, 0x0800, 64));
        assertEquals("netdev@ovs-netdev: hit:2 missed:0\n"
                + "  br0:\n"
                + "    eth9 3/none: (system)\n"
                + "    n1 1/1: (dummy)\n"
                + "    n2 2/2: (dummy)\n"
                + "    n3 7/7: (dummy)\n"
                + "  br1:\n"
                + "    m1 3/3: (dummy: n_rxq=1, n_txq=2)\n", new io.pvio.dpif.netdev.appctl.DpifShowCommand(dp).run(List.of()));
        assertEquals("br0\nbr1\n", new io.pvio.dpif.netdev.appctl.OfprotoListCommand(dp).run(List.of()));
        assertEquals("netdev@br0\nnetdev@br1\n", new io.pvio.dpif.netdev.appctl.DpifDumpDpsCommand(dp).run(List.of()));
        try {
            new io.pvio.dpif.netdev.appctl.DpifShowCommand(dp).run(List.of("br0"));
            fail("an argument accepted");
        } catch (io.pvio.unixctl.UnixctlException e) {
            assertEquals("\"dpif/show\" command takes at most 0 arguments", e.getMessage());
        }
        dp.pmdStatsClear(null);
        assertTrue(new io.pvio.dpif.netdev.appctl.DpifShowCommand(dp).run(List.of())
                .startsWith("netdev@ovs-netdev: hit:0 missed:0\n"));
        // a bridge's internal port is the netdev datapath's tap, as OVS prints it
        dp.addPort("br1", "br1", "internal", Map.of(), -1);
        assertTrue(new io.pvio.dpif.netdev.appctl.DpifShowCommand(dp).run(List.of()).endsWith("  br1:\n"
                + "    br1 65534/none: (tap)\n    m1 3/3: (dummy: n_rxq=1, n_txq=2)\n"));
        // [dp]: the one datapath is ovs-netdev; another name is OVS's error
        assertTrue(new io.pvio.dpif.netdev.appctl.PmdStatsShowCommand(dp).run(List.of("ovs-netdev"))
                .startsWith("pmd thread numa_id 0 core_id "));
        assertTrue(new io.pvio.dpif.netdev.appctl.PmdRxqShowCommand(dp).run(List.of("ovs-netdev"))
                .startsWith("Displaying last 60 seconds pmd usage %\npmd thread numa_id 0 core_id "));
        for (io.pvio.unixctl.UnixctlCommand c : List.of(new io.pvio.dpif.netdev.appctl.PmdStatsShowCommand(dp),
                new io.pvio.dpif.netdev.appctl.PmdRxqShowCommand(dp), new io.pvio.dpif.netdev.appctl.PmdStatsClearCommand(dp))) {
            try {
                c.run(List.of("nodp"));
                fail("nodp accepted by " + c);
            } catch (io.pvio.unixctl.UnixctlException e) {
                assertEquals("please specify an existing datapath", e.getMessage());
            }
        }
    }

    @Test
    public void untypedPortIsSystemAndLocalPortIsLocal() throws Exception {
        dp.addBridge("br0");
        dp.addPort("br0", "eth9", "", Map.of(), -1);
        assertEquals("system", dp.port("eth9").type()); // OVS's default type; no system class bound here
        assertEquals("waiting", dp.port("eth9").state());
        dp.addPort("br0", "br0", "internal", Map.of(), -1);
        assertEquals(io.pvio.dpif.netdev.flow.FlowParser.LOCAL, dp.port("br0").ofport());
        dp.addFlow("br0", "in_port=LOCAL,actions=output:LOCAL");
        assertTrue(dp.dumpFlows("br0").toString(), dp.dumpFlows("br0").toString().contains("in_port=LOCAL"));
        assertTrue(dp.dumpFlows("br0").toString(), dp.dumpFlows("br0").toString().contains("in_port=LOCAL actions=LOCAL"));
    }

    @Test
    public void controlErrorsChangeNothing() throws Exception {
        threePorts();
        expect(() -> dp.addBridge("br0"), "already exists");
        expect(() -> dp.addPort("nobr", "x", "dummy", Map.of(), -1), "no bridge named nobr");
        expect(() -> dp.addPort("br0", "n1", "dummy", Map.of(), -1), "already exists");
        expect(() -> dp.addPort("br0", "n4", "dummy", Map.of(), 7), "ofport 7 is already used by n3");
        expect(() -> dp.addPort("br0", "n4", "dummy", Map.of("n_rxq", "0"), -1), "n_rxq=0 is out of range");
        expect(() -> dp.addPort("br0", "bad name", "dummy", Map.of(), -1), "not valid");
        expect(() -> dp.addFlow("br0", "in_port=1,actions=output:2,bogus"), "unknown action bogus");
        expect(() -> dp.addFlow("br0", "dl_src=1:2:3,actions=drop"), "not a MAC address");
        expect(() -> dp.setInterface("n1", null, Map.of("n_txq", "99")), "n_txq=99 is out of range");
        expect(() -> dp.setOtherConfig(Map.of("pmd-cpu-mask", "0x0")), "selects no core");
        expect(() -> dp.setOtherConfig(Map.of("pmd-cpu-mask", "xyz")), "not a hexadecimal core mask");
        expect(() -> dp.delPort("n9"), "no port named n9");
        assertNull(dp.port("n4"));
        assertEquals(3, dp.ports(null).size());
        assertEquals(Map.of(), dp.port("n1").options());
        assertEquals(1, dp.dumpFlows("br0").size());
        assertEquals(List.of("pmd-c00"), dp.pmdThreadNames());
        // setInterface with good options reconfigures live
        dp.setInterface("n1", null, Map.of("n_rxq", "2"));
        assertEquals(Map.of("n_rxq", "2"), dp.port("n1").options());
        String rxq = dp.pmdRxqShow();
        assertTrue(rxq, rxq.contains("port: n1                queue-id:  1 (enabled)"));
        dp.delBridge("br0");
        assertTrue(dp.bridges().isEmpty());
        assertNull(DummyPorts.dummy("n1"));
    }

    interface Call {
        void run() throws DpifException;
    }

    static void expect(Call c, String fragment) {
        try {
            c.run();
            fail("no error, expected: " + fragment);
        } catch (DpifException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(fragment));
        }
    }

    /**
     * flows() gives the table in add-flow syntax: added to an empty bridge, its lines recreate the same table
     * (what the control plane stores, so that a restart restores what the datapath had, del-flows included).
     */
    @Test
    public void flowsReadBackRecreateTheTable() throws Exception {
        dp.addBridge("br0");
        dp.addFlow("br0", "priority=10,in_port=1,actions=output:2");
        dp.addFlow("br0", "cookie=0x2a,priority=20,dl_type=0x0800,dl_src=52:54:00:00:00:01,actions=drop");
        dp.addFlow("br0", "priority=30,ip,in_port=2,actions=normal,output:3");
        dp.delFlows("br0", "in_port=1");
        java.util.List<String> kept = dp.flows("br0");
        assertEquals(3, kept.size()); // the two ip flows and the default one
        dp.addBridge("br1");
        dp.delFlows("br1", null);
        for (String f : kept) {
            dp.addFlow("br1", f);
        }
        assertEquals(kept, dp.flows("br1"));
        assertTrue(kept.toString(), kept.contains("cookie=0x2a,priority=20,ip,dl_src=52:54:00:00:00:01,actions=drop"));
    }
}
