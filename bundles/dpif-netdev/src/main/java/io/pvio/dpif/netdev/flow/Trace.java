package io.pvio.dpif.netdev.flow;

import io.pvio.dpif.Dpif;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.function.ToIntFunction;

/**
 * {@code ofproto/trace}: what table 0 and NORMAL do with a flow, printed as OVS 3.1's ofproto-dpif-trace
 * prints it. The steps are the PMD's ({@code PmdThread.poll}, {@code output}, {@code normal}, {@code flood}):
 * the same {@link FlowTable#lookup} and a read-only {@link MacTable#lookup}; a trace learns nothing and
 * counts nothing.
 *
 * <p>OVS's "Megaflow:" line is left out: pvio's datapath has no megaflow cache (every packet is looked up in
 * table 0), so there is no datapath flow whose match could be shown.
 */
public final class Trace {
    /** OFPP_NONE: a flow without an input port (OVS prints it {@code in_port=ANY}). */
    public static final int ANY = 65535;
    private static final String SUPPORTED = "a pvio trace takes in_port, dl_src (eth_src), dl_dst (eth_dst),"
            + " dl_type (eth_type, ip, arp, ipv6, rarp), dl_vlan, dl_vlan_pcp and vlan_tci, the fields its flow table"
            + " and NORMAL read";
    /** In a flow's vlan_tci, as OVS has it: the frame has an 802.1Q header. */
    private static final int CFI = 0x1000;

    private Trace() {
    }

    /**
     * The traced flow: what the PMD reads of a frame, and its input port ({@link #ANY} for none); {@code vlanTci}
     * as OVS's flow has it (with {@link #CFI} when the frame has an 802.1Q header).
     */
    public record Key(int inPort, long dlSrc, long dlDst, int dlType, int vlanTci) {
        public Key(int inPort, long dlSrc, long dlDst, int dlType) {
            this(inPort, dlSrc, dlDst, dlType, 0);
        }
    }

    /**
     * Parses a flow in OVS's syntax for an exact flow ({@code in_port=1,dl_src=MAC,...}); fields not given are
     * 0, as in OVS. {@code ports} gives a port name's number on the bridge, or -1.
     *
     * @throws IllegalArgumentException with OVS's text, {@code Bad openflow flow syntax: FLOW: ...}
     */
    public static Key parse(String text, ToIntFunction<String> ports) {
        int inPort = ANY;
        long src = 0;
        long dst = 0;
        int type = 0;
        int tci = 0;
        List<String> set = new ArrayList<>(); // canonical names of the fields given
        for (String tok : text.trim().split("[,\\s]+")) {
            if (tok.isEmpty()) {
                continue;
            }
            int eq = tok.indexOf('=');
            String key = eq < 0 ? tok : tok.substring(0, eq);
            String val = eq < 0 ? "" : tok.substring(eq + 1);
            int proto = eq < 0 ? FlowParser.protocolType(key) : -1;
            if (proto >= 0) {
                if (set.contains("dl_type")) {
                    throw bad(text, "Ethernet type set multiple times");
                }
                set.add("dl_type");
                type = proto;
                continue;
            }
            String field = switch (key) {
                case "in_port" -> "in_port";
                case "dl_src", "eth_src" -> "dl_src";
                case "dl_dst", "eth_dst" -> "dl_dst";
                case "dl_type", "eth_type" -> "dl_type";
                case "dl_vlan", "dl_vlan_pcp", "vlan_tci" -> key;
                default -> throw bad(text, FlowParser.OVS_FIELDS.contains(key)
                        ? "field " + key + " is not supported by pvio (" + SUPPORTED + ")" : "unknown field " + key);
            };
            if (set.contains(field)) {
                throw bad(text, "field " + key + " set multiple times");
            }
            set.add(field);
            switch (field) {
                case "in_port" -> inPort = inPort(text, key, val, ports);
                case "dl_src" -> src = mac(text, key, val);
                case "dl_dst" -> dst = mac(text, key, val);
                case "dl_vlan" -> tci = tci & ~0xfff | (int) number(text, key, val, 4095) | CFI;
                case "dl_vlan_pcp" -> tci = tci & 0x0fff | (int) number(text, key, val, 7) << 13 | CFI;
                case "vlan_tci" -> tci = (int) number(text, key, val, 0xffff);
                default -> type = ethType(text, key, val);
            }
        }
        return new Key(inPort, src, dst, type, tci);
    }

    private static long number(String text, String key, String val, long max) {
        long n;
        try {
            n = val.startsWith("0x") || val.startsWith("0X") ? Long.parseLong(val.substring(2), 16) : Long.parseLong(val);
        } catch (NumberFormatException e) {
            throw badValue(text, key, val, "invalid number");
        }
        if (n < 0 || n > max) {
            throw badValue(text, key, val, "out of range 0.." + max);
        }
        return n;
    }

    private static IllegalArgumentException bad(String text, String why) {
        return new IllegalArgumentException("Bad openflow flow syntax: " + text + ": " + why);
    }

    private static IllegalArgumentException badValue(String text, String key, String val, String why) {
        return bad(text, "bad value for " + key + " (" + val + ": " + why + ")");
    }

    private static int inPort(String text, String key, String val, ToIntFunction<String> ports) {
        int n = -1;
        if (!val.isEmpty() && val.chars().allMatch(c -> c >= '0' && c <= '9')) {
            n = val.length() <= 5 ? Integer.parseInt(val) : -1;
            n = n == 0 || n == ANY ? ANY : n <= FlowParser.MAX_OFPORT || n == FlowParser.LOCAL ? n : -1;
        } else if (val.equalsIgnoreCase("LOCAL")) {
            n = FlowParser.LOCAL;
        } else if (val.equalsIgnoreCase("ANY") || val.equalsIgnoreCase("NONE")) {
            n = ANY;
        } else if (!val.isEmpty()) {
            n = ports.applyAsInt(val);
        }
        if (n < 0) {
            throw badValue(text, key, val, "invalid or unknown port for in_port");
        }
        return n;
    }

    private static long mac(String text, String key, String val) {
        if (val.contains("/")) {
            throw badValue(text, key, val, "wildcards not allowed here");
        }
        long m = FlowParser.parseMac(val);
        if (m < 0) {
            throw badValue(text, key, val, "invalid Ethernet address");
        }
        return m;
    }

    private static int ethType(String text, String key, String val) {
        long n;
        try {
            n = val.startsWith("0x") || val.startsWith("0X") ? Long.parseLong(val.substring(2), 16) : Long.parseLong(val);
        } catch (NumberFormatException e) {
            throw badValue(text, key, val, "bad syntax for eth_type value");
        }
        if (n < 0 || n > 0xffff) {
            throw badValue(text, key, val, "value too large for 2-byte field eth_type");
        }
        return (int) n;
    }

    /**
     * The trace of {@code k} through bridge {@code bridge}: {@code table} is its flow table, {@code macs} its MAC
     * table (read at {@code now}, {@link MacTable#nowSeconds}), {@code ports} its ports' numbers and {@code open}
     * those the PMDs can send to (an open netdev with tx queues), in the order they flood.
     */
    public static String run(String bridge, Key k, FlowTable table, MacTable macs, int now, SortedSet<Integer> ports,
            SortedSet<Integer> open) {
        return run(bridge, k, table, macs, now, ports, open, Map.of());
    }

    /**
     * {@link #run(String, Key, FlowTable, MacTable, int, SortedSet, SortedSet)} with the ports' OpenFlow config
     * bits ({@code Dpif.PC_*} by port number, ovs-ofctl mod-port), as the PMDs honour them: nothing received on a
     * port down or with NO_RECV is forwarded, nothing is sent to one down or with NO_FWD, floods leave NO_FLOOD
     * ports out.
     */
    public static String run(String bridge, Key k, FlowTable table, MacTable macs, int now, SortedSet<Integer> ports,
            SortedSet<Integer> open, Map<Integer, Integer> config) {
        return run(bridge, k, table, macs, now, ports, open, config, Map.of(), Map.of());
    }

    /**
     * {@link #run(String, Key, FlowTable, MacTable, int, SortedSet, SortedSet, Map)} with the ports' VLANs for
     * NORMAL (by port number; a port not there is a trunk of every VLAN) and names (for OVS's drop messages).
     */
    public static String run(String bridge, Key k, FlowTable table, MacTable macs, int now, SortedSet<Integer> ports,
            SortedSet<Integer> open, Map<Integer, Integer> config, Map<Integer, PortVlans> vlans,
            Map<Integer, String> names) {
        Ctx c = new Ctx(vlans, names);
        SortedSet<Integer> floods = new TreeSet<>(); // the flood list of the PMDs' BridgeView
        for (int p : open) {
            if ((config.getOrDefault(p, 0) & (Dpif.PC_PORT_DOWN | Dpif.PC_NO_FWD | Dpif.PC_NO_FLOOD)) == 0) {
                floods.add(p);
            }
        }
        StringBuilder sb = new StringBuilder("Flow: ").append(format(k)).append("\n\n");
        String header = "bridge(\"" + bridge + "\")";
        sb.append(header).append('\n').append("-".repeat(header.length())).append('\n');
        List<int[]> out = new ArrayList<>(); // {port, VLAN header it leaves with (PortVlans.output)}
        Flow f = table.lookup(k.inPort, k.dlSrc, k.dlDst, k.dlType);
        if (f == null) {
            sb.append(" 0. No match.\n    drop\n"); // the PMD drops a table miss
        } else {
            String m = f.matchFields();
            sb.append(" 0. ").append(m).append(m.isEmpty() ? "" : ", ").append("priority ").append(f.priority);
            if (f.cookie != 0) {
                sb.append(", cookie 0x").append(Long.toHexString(f.cookie));
            }
            sb.append('\n');
            int inConfig = config.getOrDefault(k.inPort, 0);
            if ((inConfig & (Dpif.PC_PORT_DOWN | Dpif.PC_NO_RECV)) != 0) {
                // PmdThread.poll drops such a port's batches; OVS's may_receive skips the actions
                sb.append("    >> input port ").append(k.inPort).append((inConfig & Dpif.PC_PORT_DOWN) != 0
                        ? " is down" : " has OFPPC_NO_RECV set").append(", dropping\n");
            } else {
                actions(sb, c, k, f, macs, now, ports, open, config, floods, out);
            }
        }
        sb.append("\nFinal flow: unchanged\nDatapath actions: "); // pvio's actions never modify a packet
        if (out.isEmpty()) {
            sb.append("drop");
        } else {
            int cur = frameVlan(k);
            List<String> acts = new ArrayList<>();
            for (int[] o : out) {
                int want = o[1];
                if (want != cur) { // OVS's commit_vlan_action: the header off, then the new one on
                    if (cur != 0) {
                        acts.add("pop_vlan");
                    }
                    if (want != 0) {
                        acts.add("push_vlan(" + ((want & PortVlans.AD) != 0 ? "tpid=0x88a8," : "") + "vid="
                                + (want & 0xfff) + ",pcp=" + (want >> 13 & 7) + ")");
                    }
                    cur = want;
                }
                acts.add(Integer.toString(o[0])); // the datapath's port numbers are the ofports
            }
            sb.append(String.join(",", acts));
        }
        return sb.append('\n').toString();
    }

    /** The ports' VLANs and names. */
    private record Ctx(Map<Integer, PortVlans> vlans, Map<Integer, String> names) {
        PortVlans of(int port) {
            return vlans.getOrDefault(port, PortVlans.DEFAULT);
        }
    }

    /** The traced frame's VLAN header as PortVlans encodes it (0: none; OVS: a tci without CFI is none). */
    private static int frameVlan(Key k) {
        return (k.vlanTci & CFI) != 0 ? (k.vlanTci & 0xefff) | CFI : 0;
    }

    /** The flow's actions, as PmdThread.poll runs them. */
    private static void actions(StringBuilder sb, Ctx c, Key k, Flow f, MacTable macs, int now,
            SortedSet<Integer> ports, SortedSet<Integer> open, Map<Integer, Integer> config, SortedSet<Integer> floods,
            List<int[]> out) {
        if (f.actions.length == 0) {
            sb.append("    drop\n");
        }
        for (int a : f.actions) {
            if (a == Flow.ACTION_NORMAL) {
                sb.append("    NORMAL\n");
                normal(sb, c, k, macs, now, ports, open, config, floods, out);
            } else if (a == Flow.ACTION_FLOOD) {
                sb.append("    FLOOD\n");
                flood(k.inPort, floods, out, frameVlan(k));
            } else if (io.pvio.dpif.FlowEntry.isController(a)) {
                sb.append("    CONTROLLER:").append(io.pvio.dpif.FlowEntry.controllerMaxLen(a)).append('\n'); // a packet-in
            } else {
                sb.append(a == FlowParser.LOCAL ? "    LOCAL\n" : "    output:" + a + "\n");
                output(sb, k.inPort, a, ports, open, config, out, frameVlan(k));
            }
        }
    }

    /** PmdThread.output: output to the input port is skipped, to a port the PMDs cannot send to is lost. */
    private static void output(StringBuilder sb, int in, int port, SortedSet<Integer> ports, SortedSet<Integer> open,
            Map<Integer, Integer> config, List<int[]> out, int header) {
        if (port == in) {
            sb.append("     >> skipping output to input port\n");
        } else if (!ports.contains(port)) {
            sb.append("     >> Nonexistent output port\n");
        } else if (!open.contains(port)) {
            sb.append("     >> output port ").append(port).append(" is not open, skipping output\n");
        } else if (!sendable(port, config, sb)) {
            return;
        } else {
            out.add(new int[] {port, header});
        }
    }

    /** False, with the trace's line, for a port the PMDs send nothing to (mod-port no-forward or down). */
    private static boolean sendable(int port, Map<Integer, Integer> config, StringBuilder sb) {
        int c = config.getOrDefault(port, 0);
        if ((c & Dpif.PC_NO_FWD) != 0) {
            sb.append("     -> OFPPC_NO_FWD set, skipping output\n"); // OVS's check_output_prerequisites
            return false;
        }
        if ((c & Dpif.PC_PORT_DOWN) != 0) {
            sb.append("     >> output port ").append(port).append(" is down, skipping output\n");
            return false;
        }
        return true;
    }

    /** PmdThread.flood: every port the PMDs can send to but the input port, in ofport order. */
    private static void flood(int in, SortedSet<Integer> open, List<int[]> out, int header) {
        for (int p : open) {
            if (p != in) {
                out.add(new int[] {p, header});
            }
        }
    }

    /** PmdThread.normal, without its learning of the source. */
    private static void normal(StringBuilder sb, Ctx c, Key k, MacTable macs, int now, SortedSet<Integer> ports,
            SortedSet<Integer> open, Map<Integer, Integer> config, SortedSet<Integer> floods, List<int[]> out) {
        if (k.inPort != ANY && !ports.contains(k.inPort)) {
            // the PMD only receives on the bridge's ports; OVS's NORMAL refuses such a flow so
            sb.append("     >>>> received packet on unknown port ").append(k.inPort).append(" <<<<\n");
            sb.append("     >> no input bundle, dropping\n");
            return;
        }
        int fv = frameVlan(k);
        PortVlans iv = c.of(k.inPort);
        if (k.inPort != ANY && !iv.inputValid(PortVlans.vid(fv))) {
            sb.append("     >>>> ").append(iv.inputRefusal(PortVlans.vid(fv), c.names.getOrDefault(k.inPort, "?")))
                    .append(" <<<<\n     >> disallowed VLAN VID for this input port, dropping\n");
            return;
        }
        int inner = iv.input(fv);
        int vlan = inner & 0xfff;
        int port = (k.dlDst >>> 40 & 1) != 0 ? -1 : macs.lookup(k.dlDst, vlan, now); // multicast: never learned
        if (port < 0) {
            sb.append("     -> no learned MAC for destination, flooding\n");
            for (int p : floods) {
                if (p != k.inPort && c.of(p).includes(vlan)) {
                    out.add(new int[] {p, c.of(p).output(inner)});
                }
            }
        } else if (port == k.inPort) {
            sb.append("     -> learned port is input port, dropping\n");
        } else if (!open.contains(port)) {
            sb.append("     >> learned port is unknown, dropping\n");
        } else {
            sb.append("     -> forwarding to learned port\n");
            if (sendable(port, config, sb)) {
                out.add(new int[] {port, c.of(port).output(inner)});
            }
        }
    }

    /** The flow as OVS's flow_format prints it; the fields pvio does not read are 0, as OVS has them. */
    static String format(Key k) {
        String in = k.inPort == ANY ? "ANY" : k.inPort == FlowParser.LOCAL ? "LOCAL" : Integer.toString(k.inPort);
        int tci = k.vlanTci;
        String vlan = (tci & CFI) != 0
                ? "dl_vlan=" + (tci & 0xfff) + ",dl_vlan_pcp=" + (tci >> 13 & 7) + ",vlan_tci1=0x0000"
                : tci != 0 ? String.format("vlan_tci=0x%04x,vlan_tci1=0x0000", tci) : "vlan_tci=0x0000";
        String l2 = "in_port=" + in + "," + vlan + ",dl_src=" + FlowParser.formatMac(k.dlSrc) + ",dl_dst="
                + FlowParser.formatMac(k.dlDst);
        String ip = "nw_proto=0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no";
        String arp = ",arp_spa=0.0.0.0,arp_tpa=0.0.0.0,arp_op=0,arp_sha=00:00:00:00:00:00,arp_tha=00:00:00:00:00:00";
        String mpls = ",mpls_label=0,mpls_tc=0,mpls_ttl=0,mpls_bos=0,mpls_lse1=0,mpls_lse2=0";
        return switch (k.dlType) {
            case 0x0800 -> "ip," + l2 + ",nw_src=0.0.0.0,nw_dst=0.0.0.0," + ip;
            case 0x86dd -> "ipv6," + l2 + ",ipv6_src=::,ipv6_dst=::,ipv6_label=0x00000," + ip;
            case 0x0806 -> "arp," + l2 + arp;
            case 0x8035 -> "rarp," + l2 + arp;
            case 0x8847 -> "mpls," + l2 + mpls;
            case 0x8848 -> "mplsm," + l2 + mpls;
            case 0x894f -> l2 + ",dl_type=0x894f,nsh_flags=0,nsh_ttl=0,nsh_mdtype=0,nsh_np=0,nsh_spi=0x0,nsh_si=0," + ip;
            default -> l2 + String.format(",dl_type=0x%04x", k.dlType);
        };
    }
}
