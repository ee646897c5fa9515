package io.pvio.dpif.netdev.flow;

import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * Parses flows in ovs-ofctl's syntax: {@code [priority=P,][ip|arp|ipv6,][in_port=N,][dl_src=MAC,]
 * [dl_dst=MAC,][dl_type=T,]actions=A[,A...]} with fields separated by commas or spaces, where an action is
 * {@code output:N}, a bare {@code N}, {@code normal}, {@code flood} or {@code drop}, and an empty list drops.
 * {@code table=0} and {@code cookie=C} are accepted. {@code action=} is read as {@code actions=}, as OVS does.
 * Ports are numbers (unknown ones allowed, as in OVS) or, when a port map is given, the names of the bridge's
 * ports, resolved to their numbers here (as ovs-ofctl resolves them before it sends the flow); error texts
 * are OVS's ({@code must specify an action}, {@code unknown action X}, {@code X: output to unknown port}).
 */
public final class FlowParser {
    public static final int MAX_OFPORT = 65279;
    /** OFPP_LOCAL: the bridge's local port (the internal port named after the bridge). */
    public static final int LOCAL = 65534;

    private FlowParser() {
    }

    private static final String MATCHES = "it matches priority, in_port, dl_src, dl_dst, dl_type, ip, arp, ipv6,"
            + " rarp, table, cookie";
    /** Match fields and flow options OVS has and pvio does not: refused as unsupported, not as unknown. */
    static final java.util.Set<String> OVS_FIELDS = java.util.Set.of("nw_src", "nw_dst", "nw_proto",
            "nw_tos", "nw_ecn", "nw_ttl", "nw_frag", "ip_src", "ip_dst", "tp_src", "tp_dst", "tcp_flags", "dl_vlan",
            "dl_vlan_pcp", "vlan_tci", "vlan_vid", "vlan_pcp", "mpls_label", "ipv6_src", "ipv6_dst", "ipv6_label",
            "arp_spa", "arp_tpa", "arp_sha", "arp_tha", "arp_op", "icmp_type", "icmp_code", "tun_id", "tunnel_id",
            "metadata", "reg0", "reg1", "reg2", "reg3", "reg4", "reg5", "reg6", "reg7", "ct_state", "ct_zone",
            "ct_mark", "pkt_mark", "skb_priority", "recirc_id", "out_port",
            "out_group", "importance", "check_overlap", "reset_counts", "no_packet_counts",
            "no_byte_counts", "tcp", "udp", "sctp", "icmp", "tcp6", "udp6", "sctp6", "icmp6", "mpls", "mplsm",
            "ipv4");
    /** Actions OVS has and pvio does not. */
    private static final java.util.Set<String> OVS_ACTIONS = java.util.Set.of("controller", "local", "in_port",
            "all", "enqueue", "mod_vlan_vid", "mod_vlan_pcp", "strip_vlan", "push_vlan", "pop_vlan", "mod_dl_src",
            "mod_dl_dst", "mod_nw_src", "mod_nw_dst", "mod_nw_tos", "mod_nw_ecn", "mod_tp_src", "mod_tp_dst",
            "set_field", "load", "move", "resubmit", "set_tunnel", "set_queue", "pop_queue", "dec_ttl", "note",
            "learn", "ct", "ct_clear", "group", "meter", "clone", "sample", "push_mpls", "pop_mpls", "output_trunc",
            "bundle", "multipath", "exit", "goto_table", "write_actions", "clear_actions", "write_metadata",
            "check_pkt_larger", "encap", "decap", "nat", "fin_timeout", "set_mpls_label", "set_mpls_ttl",
            "dec_mpls_ttl", "mod_nw_ttl", "set_nw_ttl");

    /** The flag keywords of add-flow, by bit of OpenFlow 1.3's flags (check_overlap is refused in text). */
    static final List<String> FLAGS = List.of("send_flow_rem", "check_overlap", "reset_counts", "no_packet_counts",
            "no_byte_counts");

    /** No port names: only numbers. */
    public static final ToIntFunction<String> NO_NAMES = name -> -1;

    /** A flow for add-flow (actions required), ports by number only. */
    public static Flow parseFlow(String text) {
        return parse(text, true, NO_NAMES);
    }

    /** A flow for add-flow; {@code ports} gives a port name's number, or -1 when there is no such port. */
    public static Flow parseFlow(String text, ToIntFunction<String> ports) {
        return parse(text, true, ports);
    }

    /** A match for del-flows (no actions; an empty text matches every flow), ports by number only. */
    public static Flow parseMatch(String text) {
        return parse(text == null ? "" : text, false, NO_NAMES);
    }

    /** A match for del-flows, with port names as in {@link #parseFlow(String, ToIntFunction)}. */
    public static Flow parseMatch(String text, ToIntFunction<String> ports) {
        return parse(text == null ? "" : text, false, ports);
    }

    /** @throws IllegalArgumentException with a message for the user */
    private static Flow parse(String text, boolean forAdd, ToIntFunction<String> ports) {
        String t = text.trim();
        String matchPart = t;
        String actPart = null;
        int ai = indexOfActions(t);
        if (ai >= 0) {
            matchPart = t.substring(0, ai);
            actPart = t.substring(t.indexOf('=', ai) + 1).trim();
        }
        if (forAdd && actPart == null) {
            throw new IllegalArgumentException("must specify an action");
        }
        if (!forAdd && actPart != null) {
            throw new IllegalArgumentException("actions are not allowed here");
        }
        int priority = Flow.DEFAULT_PRIORITY;
        int inPort = -1;
        long dlSrc = -1;
        long dlDst = -1;
        int dlType = -1;
        long cookie = 0;
        int idle = 0;
        int hard = 0;
        int flags = forAdd ? io.pvio.dpif.FlowEntry.FF_RESET_COUNTS : 0; // as OVS decodes ovs-ofctl's 1.0 adds
        String proto = null;
        for (String tok : matchPart.split("[,\\s]+")) {
            if (tok.isEmpty()) {
                continue;
            }
            int eq = tok.indexOf('=');
            String key = (eq < 0 ? tok : tok.substring(0, eq)).toLowerCase();
            String val = eq < 0 ? null : tok.substring(eq + 1);
            if (forAdd && eq < 0 && FLAGS.contains(key) && !key.equals("check_overlap")) {
                flags |= 1 << FLAGS.indexOf(key);
                continue;
            }
            if (eq < 0) {
                int type = protocolType(key);
                if (type < 0) {
                    throw new IllegalArgumentException(OVS_FIELDS.contains(key) ? "field " + key
                            + " is not supported by pvio (" + MATCHES + ")" : "unknown keyword " + tok);
                }
                if (dlType >= 0 && dlType != type) {
                    throw new IllegalArgumentException("'" + tok + "' conflicts with dl_type");
                }
                dlType = type;
                proto = key;
                continue;
            }
            if (val.isEmpty()) {
                throw new IllegalArgumentException("field " + key + " missing value");
            }
            switch (key) {
                case "priority":
                    priority = (int) number(text, key, val, 0, 65535);
                    break;
                case "in_port":
                    inPort = val.equalsIgnoreCase("LOCAL") ? LOCAL
                            : isNumber(val) ? (int) number(text, key, val, 1, MAX_OFPORT) : ports.applyAsInt(val);
                    if (inPort < 0) {
                        throw new IllegalArgumentException(val
                                + ": invalid or unknown port for in_port");
                    }
                    break;
                case "dl_src":
                case "eth_src":
                    dlSrc = mac(text, key, val);
                    break;
                case "dl_dst":
                case "eth_dst":
                    dlDst = mac(text, key, val);
                    break;
                case "dl_type":
                case "eth_type": {
                    int type = (int) number(text, key, val, 0, 0xffff);
                    if (proto != null && type != dlType) {
                        throw new IllegalArgumentException("dl_type conflicts with '" + proto + "'");
                    }
                    dlType = type;
                    break;
                }
                case "table":
                    if (number(text, key, val, 0, 254) != 0) {
                        throw new IllegalArgumentException("only table 0 exists");
                    }
                    break;
                case "idle_timeout":
                case "hard_timeout":
                    if (!forAdd) { // as ovs-ofctl: timeouts are for add-flow and mod-flows only
                        throw new IllegalArgumentException("unknown keyword " + key);
                    }
                    int secs = (int) number(text, key, val, 0, 65535);
                    if (key.equals("idle_timeout")) {
                        idle = secs;
                    } else {
                        hard = secs;
                    }
                    break;
                case "cookie":
                    if (val.contains("/")) {
                        throw new IllegalArgumentException("cookie masks are not supported");
                    }
                    cookie = number(text, key, val, Long.MIN_VALUE, Long.MAX_VALUE);
                    break;
                default:
                    throw new IllegalArgumentException(OVS_FIELDS.contains(key) ? "field " + key
                            + " is not supported by pvio (" + MATCHES + ")" : "unknown keyword " + key);
            }
        }
        int[] actions = actPart == null ? new int[0] : actions(text, actPart, ports);
        return new Flow(priority, inPort, dlSrc, dlDst, dlType, cookie, actions, idle, hard, flags);
    }

    private static int indexOfActions(String t) {
        String lower = t.toLowerCase();
        int i = 0;
        while ((i = lower.indexOf("action", i)) >= 0) {
            boolean startsToken = i == 0 || lower.charAt(i - 1) == ',' || Character.isWhitespace(lower.charAt(i - 1));
            int j = i + 6;
            if (j < lower.length() && lower.charAt(j) == 's') {
                j++;
            }
            if (startsToken && j < lower.length() && lower.charAt(j) == '=') {
                return i;
            }
            i = j;
        }
        return -1;
    }

    private static int[] actions(String text, String list, ToIntFunction<String> ports) {
        List<Integer> out = new ArrayList<>();
        boolean drop = false;
        for (String raw : list.split(",")) {
            String a = raw.trim();
            if (a.isEmpty()) {
                if (list.trim().isEmpty()) {
                    continue;
                }
                throw new IllegalArgumentException("empty action in '" + list + "'");
            }
            String lower = a.toLowerCase();
            if (lower.equals("drop")) {
                drop = true;
            } else if (lower.equals("normal")) {
                out.add(Flow.ACTION_NORMAL);
            } else if (lower.equals("flood")) {
                out.add(Flow.ACTION_FLOOD);
            } else if (lower.equals("controller") || lower.equals("output:controller")) {
                out.add(io.pvio.dpif.FlowEntry.controller(0xffff)); // OVS: the whole packet, max_len 65535
            } else if (lower.startsWith("controller:") || lower.startsWith("output:controller:")) {
                out.add(io.pvio.dpif.FlowEntry.controller((int) number(text, "max_len",
                        a.substring(a.lastIndexOf(':') + 1), 0, 0xffff)));
            } else if (lower.startsWith("controller(max_len=") && lower.endsWith(")")) {
                out.add(io.pvio.dpif.FlowEntry.controller((int) number(text, "max_len",
                        a.substring(19, a.length() - 1), 0, 0xffff)));
            } else if (lower.equals("local") || lower.equals("output:local")) {
                out.add(LOCAL);
            } else if (lower.startsWith("output:")) {
                String port = a.substring(7).trim();
                int n = isNumber(port) || port.isEmpty() ? (int) number(text, "output", port, 1, MAX_OFPORT)
                        : ports.applyAsInt(port);
                if (n < 0) {
                    throw new IllegalArgumentException(port + ": output to unknown port");
                }
                out.add(n);
            } else if (Character.isDigit(a.charAt(0))) {
                out.add((int) number(text, "output", a, 1, MAX_OFPORT));
            } else if (!a.contains(":") && !a.contains("(") && ports.applyAsInt(a) > 0) {
                out.add(ports.applyAsInt(a)); // a bare port name outputs to it, as in OVS
            } else {
                String name = lower.split("[:(]", 2)[0];
                throw new IllegalArgumentException(OVS_ACTIONS.contains(name) ? "action " + name
                        + " is not supported by pvio (it has output:PORT, PORT, normal, flood, controller[:MAX_LEN], drop)"
                        : "unknown action " + a);
            }
        }
        if (drop && !out.isEmpty()) {
            throw new IllegalArgumentException("drop must be the only action");
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** A decimal or 0x number (anything else is a port name). */
    private static boolean isNumber(String v) {
        String t = v.trim();
        if (t.startsWith("0x") || t.startsWith("0X")) {
            return t.length() > 2;
        }
        return !t.isEmpty() && t.chars().allMatch(c -> c >= '0' && c <= '9' || c == '-');
    }

    private static long number(String text, String key, String val, long min, long max) {
        long n;
        try {
            String v = val.trim();
            if (v.startsWith("0x") || v.startsWith("0X")) {
                n = Long.parseUnsignedLong(v.substring(2), 16);
            } else {
                n = Long.parseLong(v);
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " '" + val + "' is not a number");
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException(key + " " + n + " is out of range "
                    + min + ".." + max);
        }
        return n;
    }

    private static long mac(String text, String key, String val) {
        if (val.contains("/")) {
            throw new IllegalArgumentException(key + " masks are not supported");
        }
        long m = parseMac(val);
        if (m < 0) {
            throw new IllegalArgumentException(key + " '" + val
                    + "' is not a MAC address (xx:xx:xx:xx:xx:xx)");
        }
        return m;
    }

    /** {@code xx:xx:xx:xx:xx:xx} as a 48-bit long, or -1. */
    public static long parseMac(String s) {
        String[] parts = s.trim().split(":", -1);
        if (parts.length != 6) {
            return -1;
        }
        long mac = 0;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 2 || Character.digit(p.charAt(0), 16) < 0
                    || (p.length() == 2 && Character.digit(p.charAt(1), 16) < 0)) {
                return -1;
            }
            mac = mac << 8 | Integer.parseInt(p, 16);
        }
        return mac;
    }

    public static String formatMac(long mac) {
        return String.format("%02x:%02x:%02x:%02x:%02x:%02x", mac >>> 40 & 0xff, mac >>> 32 & 0xff,
                mac >>> 24 & 0xff, mac >>> 16 & 0xff, mac >>> 8 & 0xff, mac & 0xff);
    }

    static int protocolType(String name) {
        switch (name) {
            case "ip":
                return 0x0800;
            case "arp":
                return 0x0806;
            case "ipv6":
                return 0x86dd;
            case "rarp":
                return 0x8035;
            default:
                return -1;
        }
    }

    static String protocolName(int type) {
        switch (type) {
            case 0x0800:
                return "ip";
            case 0x0806:
                return "arp";
            case 0x86dd:
                return "ipv6";
            case 0x8035:
                return "rarp";
            default:
                return null;
        }
    }
}
