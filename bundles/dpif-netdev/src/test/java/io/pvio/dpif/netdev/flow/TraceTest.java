package io.pvio.dpif.netdev.flow;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;
import org.junit.Test;

/** ofproto/trace's parser and output; the expected texts are what OVS 3.1's ovs-vswitchd prints for them. */
public class TraceTest {
    private static final Map<String, Integer> NAMES = Map.of("p1", 1, "p2", 2, "p3", 3, "br0", FlowParser.LOCAL);
    private static final SortedSet<Integer> PORTS = new TreeSet<>(List.of(1, 2, 3, FlowParser.LOCAL));
    private final MacTable macs = new MacTable(16, 300);

    private static Trace.Key key(String flow) {
        return Trace.parse(flow, n -> NAMES.getOrDefault(n, -1));
    }

    private String trace(String flow, String... flows) {
        Flow[] fs = new Flow[flows.length];
        for (int i = 0; i < flows.length; i++) {
            fs[i] = FlowParser.parseFlow(flows[i]); // given highest priority first, as the table keeps them
        }
        return Trace.run("br0", key(flow), new FlowTable(fs), macs, 0, PORTS, PORTS);
    }

    private static String expected(String flow, String entry, String actions) {
        return "Flow: " + flow + "\n\nbridge(\"br0\")\n-------------\n" + entry + "\n" + actions
                + "\nFinal flow: unchanged\nDatapath actions: ";
    }

    @Test
    public void anExplicitFlowWithSeveralOutputs() {
        String t = trace("in_port=1,dl_dst=00:00:00:00:00:09",
                "priority=300,in_port=1,dl_dst=00:00:00:00:00:09,actions=output:2,output:3", "priority=0,actions=drop");
        assertEquals(expected("in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:09,"
                + "dl_type=0x0000", " 0. in_port=1,dl_dst=00:00:00:00:00:09, priority 300",
                "    output:2\n    output:3\n") + "2,3\n", t);
    }

    @Test
    public void theHighestPriorityWinsAndACookieIsShown() {
        String[] flows = {"priority=200,cookie=0x1f,in_port=2,actions=drop", "priority=150,ip,actions=output:1",
            "dl_src=00:00:00:00:00:06,actions=normal,output:2"};
        assertEquals(expected("in_port=2,vlan_tci=0x0000,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:00,"
                + "dl_type=0x0000", " 0. in_port=2, priority 200, cookie 0x1f", "    drop\n") + "drop\n",
                trace("in_port=2,dl_src=00:00:00:00:00:01", flows));
        assertEquals(expected("ip,in_port=3,vlan_tci=0x0000,dl_src=00:00:00:00:00:06,dl_dst=00:00:00:00:00:00,"
                + "nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_proto=0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no",
                " 0. ip, priority 150", "    output:1\n") + "1\n", trace("in_port=p3,eth_type=0x0800,dl_src=00:00:00:00:00:06", flows));
        // NORMAL, then an output: the flood's ports in ofport order, then the output again (the PMD sends twice)
        assertEquals(expected("in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:06,dl_dst=ff:ff:ff:ff:ff:ff,"
                + "dl_type=0x0000", " 0. dl_src=00:00:00:00:00:06, priority 32768", "    NORMAL\n"
                + "     -> no learned MAC for destination, flooding\n    output:2\n") + "2,3,65534,2\n",
                trace("in_port=p1,dl_src=00:00:00:00:00:06,dl_dst=ff:ff:ff:ff:ff:ff", flows));
    }

    /** p1 access 10, p2 trunk of 20, p3 and LOCAL trunks of every VLAN: as OVS 3.1 traces them (checked there). */
    @Test
    public void normalWithVlans() {
        Map<Integer, PortVlans> vlans = Map.of(1, PortVlans.of("", 10, new int[0]),
                2, PortVlans.of("trunk", -1, new int[] {20}));
        Map<Integer, String> names = Map.of(1, "p1", 2, "p2", 3, "p3");
        FlowTable t = new FlowTable(new Flow[] {FlowParser.parseFlow("priority=0,actions=NORMAL")});
        java.util.function.Function<String, String> tr = f -> Trace.run("br0", key(f), t, macs, 0, PORTS, PORTS,
                Map.of(), vlans, names);
        String flood = tr.apply("in_port=1,dl_dst=ff:ff:ff:ff:ff:ff");
        assertTrue(flood, flood.endsWith("Datapath actions: push_vlan(vid=10,pcp=0),3,65534\n"));
        String fromTrunk = tr.apply("in_port=3,dl_vlan=20,dl_vlan_pcp=3");
        assertTrue(fromTrunk, fromTrunk.startsWith("Flow: in_port=3,dl_vlan=20,dl_vlan_pcp=3,vlan_tci1=0x0000,"));
        assertTrue(fromTrunk, fromTrunk.endsWith("Datapath actions: 2,65534\n"));
        macs.learn(FlowParser.parseMac("00:00:00:00:00:01"), 10, 1, 0);
        assertTrue(tr.apply("in_port=3,dl_vlan=10,dl_dst=00:00:00:00:00:01").endsWith("Datapath actions: pop_vlan,1\n"));
        assertTrue(tr.apply("in_port=1,dl_vlan=0,dl_vlan_pcp=5,dl_dst=00:00:00:00:00:09")
                .endsWith("Datapath actions: pop_vlan,push_vlan(vid=10,pcp=5),3,65534\n"));
        assertTrue(tr.apply("in_port=1,dl_vlan=20").endsWith("    NORMAL\n     >>>> dropping VLAN 20 tagged packet"
                + " received on port p1 configured as VLAN 10 access port <<<<\n     >> disallowed VLAN VID for this input"
                + " port, dropping\n\nFinal flow: unchanged\nDatapath actions: drop\n"));
        assertTrue(tr.apply("in_port=2,dl_vlan=30").contains(">>>> dropping VLAN 30 packet received on port p2 not"
                + " configured for trunking VLAN 30 <<<<"));
    }

    @Test
    public void normalForwardsToALearnedPortAndFloodsAnUnlearnedOne() {
        macs.learn(FlowParser.parseMac("00:00:00:00:00:33"), 3, 0);
        String learned = trace("in_port=1,dl_dst=00:00:00:00:00:33", "priority=0,actions=NORMAL");
        assertEquals(expected("in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:33,"
                + "dl_type=0x0000", " 0. priority 0", "    NORMAL\n     -> forwarding to learned port\n") + "3\n", learned);
        String back = trace("in_port=3,dl_dst=00:00:00:00:00:33", "priority=0,actions=NORMAL");
        assertTrue(back, back.endsWith("    NORMAL\n     -> learned port is input port, dropping\n\nFinal flow:"
                + " unchanged\nDatapath actions: drop\n"));
        String unlearned = trace("in_port=1,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02", "priority=0,actions=NORMAL");
        assertTrue(unlearned, unlearned.endsWith("    NORMAL\n     -> no learned MAC for destination, flooding\n\n"
                + "Final flow: unchanged\nDatapath actions: 2,3,65534\n"));
        // a trace learns nothing: the source is still unknown
        assertEquals(-1, macs.lookup(FlowParser.parseMac("00:00:00:00:00:01"), 0));
        // a multicast destination floods, as the PMD does
        macs.learn(FlowParser.parseMac("01:00:5e:00:00:01"), 3, 0);
        assertTrue(trace("in_port=1,dl_dst=01:00:5e:00:00:01", "actions=NORMAL").endsWith("Datapath actions: 2,3,65534\n"));
        // a receiving port that is not the bridge's: OVS's words
        assertTrue(trace("in_port=9", "actions=NORMAL").endsWith("    NORMAL\n"
                + "     >>>> received packet on unknown port 9 <<<<\n     >> no input bundle, dropping\n\n"
                + "Final flow: unchanged\nDatapath actions: drop\n"));
    }

    @Test
    public void floodLocalAndOutputsThatGoNowhere() {
        String flood = trace("in_port=3,dl_type=0x88cc", "priority=150,in_port=3,dl_type=0x88cc,actions=FLOOD");
        assertEquals(expected("in_port=3,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,"
                + "dl_type=0x88cc", " 0. in_port=3,dl_type=0x88cc, priority 150", "    FLOOD\n") + "1,2,65534\n", flood);
        String local = trace("in_port=1,arp", "in_port=1,actions=LOCAL");
        assertEquals(expected("arp,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,"
                + "arp_spa=0.0.0.0,arp_tpa=0.0.0.0,arp_op=0,arp_sha=00:00:00:00:00:00,arp_tha=00:00:00:00:00:00",
                " 0. in_port=1, priority 32768", "    LOCAL\n") + "65534\n", local);
        assertTrue(trace("in_port=LOCAL", "actions=LOCAL").contains("Flow: in_port=LOCAL,vlan_tci"));
        assertTrue(trace("in_port=br0", "actions=LOCAL").endsWith("    LOCAL\n     >> skipping output to input port\n\n"
                + "Final flow: unchanged\nDatapath actions: drop\n"));
        assertTrue(trace("in_port=1", "actions=output:7").endsWith("    output:7\n     >> Nonexistent output port\n\n"
                + "Final flow: unchanged\nDatapath actions: drop\n"));
        // a port of the bridge whose device is not open: the PMD cannot send to it
        String closed = Trace.run("br0", key("in_port=1"), new FlowTable(FlowParser.parseFlow("actions=NORMAL,output:2")),
                macs, 0, PORTS, new TreeSet<>(List.of(1, 3)));
        assertTrue(closed, closed.endsWith("    output:2\n     >> output port 2 is not open, skipping output\n\n"
                + "Final flow: unchanged\nDatapath actions: 3\n"));
    }

    @Test
    public void aMissDrops() {
        String t = trace("in_port=1", "priority=5,in_port=2,actions=NORMAL");
        assertEquals(expected("in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,"
                + "dl_type=0x0000", " 0. No match.", "    drop\n") + "drop\n", t);
        // no in_port: OVS's ANY, which no flow's in_port matches
        assertTrue(trace("", "priority=5,in_port=2,actions=NORMAL").startsWith("Flow: in_port=ANY,vlan_tci=0x0000,"));
        assertTrue(trace("in_port=0", "in_port=2,actions=NORMAL").contains(" 0. No match.\n"));
    }

    @Test
    public void theFieldsAndValuesOvsAccepts() {
        assertEquals(new Trace.Key(1, 1, 2, 0x0800), key("in_port=1 eth_src=00:00:00:00:00:01,,eth_dst=0:0:0:0:0:2,ip"));
        assertEquals(new Trace.Key(FlowParser.LOCAL, 0, 0, 0x86dd), key("in_port=local,dl_type=34525"));
        assertEquals(new Trace.Key(Trace.ANY, 0, 0, 0x8035), key("rarp"));
        assertEquals(new Trace.Key(2, 0, 0, 0), key("in_port=p2"));
        assertTrue(Trace.format(key("ipv6")).endsWith(",ipv6_src=::,ipv6_dst=::,ipv6_label=0x00000,nw_proto=0,nw_tos=0,"
                + "nw_ecn=0,nw_ttl=0,nw_frag=no"));
        assertTrue(Trace.format(key("dl_type=0x8847")).startsWith("mpls,in_port=ANY,"));
    }

    @Test
    public void badFieldsAndValuesAreRefusedWithOvsTexts() {
        Map<String, String> bad = Map.of(
            "in_port=1,foo=1", "unknown field foo",
            "IN_PORT=1", "unknown field IN_PORT",
            "in_port=1,priority=5", "unknown field priority",
            "in_port=nop", "bad value for in_port (nop: invalid or unknown port for in_port)",
            "in_port=0x2", "bad value for in_port (0x2: invalid or unknown port for in_port)",
            "in_port=1,dl_src=zz", "bad value for dl_src (zz: invalid Ethernet address)",
            "dl_src=00:00:00:00:00:06/ff:ff:ff:00:00:00",
                "bad value for dl_src (00:00:00:00:00:06/ff:ff:ff:00:00:00: wildcards not allowed here)",
            "dl_type=zz", "bad value for dl_type (zz: bad syntax for eth_type value)",
            "eth_src=00:00:00:00:00:01,dl_src=00:00:00:00:00:01", "field dl_src set multiple times",
            "in_port=1,ip,arp", "Ethernet type set multiple times");
        for (Map.Entry<String, String> e : bad.entrySet()) {
            refused(e.getKey(), "Bad openflow flow syntax: " + e.getKey() + ": " + e.getValue());
        }
        refused("ip,nw_src=10.0.0.1", "Bad openflow flow syntax: ip,nw_src=10.0.0.1: field nw_src is not supported"
                + " by pvio (a pvio trace takes in_port, dl_src (eth_src), dl_dst (eth_dst), dl_type (eth_type, ip,"
                + " arp, ipv6, rarp), dl_vlan, dl_vlan_pcp and vlan_tci, the fields its flow table and NORMAL read)");
        refused("in_port=1,tcp", "Bad openflow flow syntax: in_port=1,tcp: field tcp is not supported by pvio (a pvio"
                + " trace takes in_port, dl_src (eth_src), dl_dst (eth_dst), dl_type (eth_type, ip, arp, ipv6, rarp),"
                + " dl_vlan, dl_vlan_pcp and vlan_tci, the fields its flow table and NORMAL read)");
    }

    private static void refused(String flow, String message) {
        try {
            key(flow);
            fail(flow + " accepted");
        } catch (IllegalArgumentException e) {
            assertEquals(message, e.getMessage());
        }
    }
}
