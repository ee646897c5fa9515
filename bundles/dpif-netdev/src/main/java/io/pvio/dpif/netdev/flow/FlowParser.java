package io.pvio.dpif.netdev.flow;

import java.util.ArrayList;
import java.util.List;

/**
 * Parses flows in ovs-ofctl's syntax: {@code [priority=P,][ip|arp|ipv6,][in_port=N,][dl_src=MAC,]
 * [dl_dst=MAC,][dl_type=T,]actions=A[,A...]} with fields separated by commas or spaces, where an action is
 * {@code output:N}, a bare {@code N}, {@code normal}, {@code flood} or {@code drop}, and an empty list drops.
 * {@code table=0} and {@code cookie=C} are accepted. Unknown ports are allowed, as in OVS.
 */
public final class FlowParser {
    public static final int MAX_OFPORT = 65279;
    /** OFPP_LOCAL: the bridge's local port (the internal port named after the bridge). */
    public static final int LOCAL = 65534;

    private FlowParser() {
    }

    /** A flow for add-flow (actions required). */
    public static Flow parseFlow(String text) {
        return parse(text, true);
    }

    /** A match for del-flows (no actions; an empty text matches every flow). */
    public static Flow parseMatch(String text) {
        return parse(text == null ? "" : text, false);
    }

    /** @throws IllegalArgumentException with a message for the user */
    private static Flow parse(String text, boolean forAdd) {
        String t = text.trim();
        String matchPart = t;
        String actPart = null;
        int ai = indexOfActions(t);
        if (ai >= 0) {
            matchPart = t.substring(0, ai);
            actPart = t.substring(t.indexOf('=', ai) + 1).trim();
        }
        if (forAdd && actPart == null) {
            throw new IllegalArgumentException("flow '" + text + "': must specify an action (actions=...)");
        }
        if (!forAdd && actPart != null) {
            throw new IllegalArgumentException("flow '" + text + "': actions are not allowed here");
        }
        int priority = Flow.DEFAULT_PRIORITY;
        int inPort = -1;
        long dlSrc = -1;
        long dlDst = -1;
        int dlType = -1;
        long cookie = 0;
        String proto = null;
        for (String tok : matchPart.split("[,\\s]+")) {
            if (tok.isEmpty()) {
                continue;
            }
            int eq = tok.indexOf('=');
            String key = (eq < 0 ? tok : tok.substring(0, eq)).toLowerCase();
            String val = eq < 0 ? null : tok.substring(eq + 1);
            if (eq < 0) {
                int type = protocolType(key);
                if (type < 0) {
                    throw new IllegalArgumentException("flow '" + text + "': unknown field or protocol '" + tok + "'");
                }
                if (dlType >= 0 && dlType != type) {
                    throw new IllegalArgumentException("flow '" + text + "': '" + tok + "' conflicts with dl_type");
                }
                dlType = type;
                proto = key;
                continue;
            }
            if (val.isEmpty()) {
                throw new IllegalArgumentException("flow '" + text + "': field " + key + " has no value");
            }
            switch (key) {
                case "priority":
                    priority = (int) number(text, key, val, 0, 65535);
                    break;
                case "in_port":
                    inPort = val.equalsIgnoreCase("LOCAL") ? LOCAL : (int) number(text, key, val, 1, MAX_OFPORT);
                    break;
                case "dl_src":
                    dlSrc = mac(text, key, val);
                    break;
                case "dl_dst":
                    dlDst = mac(text, key, val);
                    break;
                case "dl_type": {
                    int type = (int) number(text, key, val, 0, 0xffff);
                    if (proto != null && type != dlType) {
                        throw new IllegalArgumentException("flow '" + text + "': dl_type conflicts with '" + proto + "'");
                    }
                    dlType = type;
                    break;
                }
                case "table":
                    if (number(text, key, val, 0, 254) != 0) {
                        throw new IllegalArgumentException("flow '" + text + "': only table 0 exists");
                    }
                    break;
                case "cookie":
                    if (val.contains("/")) {
                        throw new IllegalArgumentException("flow '" + text + "': cookie masks are not supported");
                    }
                    cookie = number(text, key, val, Long.MIN_VALUE, Long.MAX_VALUE);
                    break;
                default:
                    throw new IllegalArgumentException("flow '" + text + "': unknown field '" + key + "'"
                            + " (supported: priority, in_port, dl_src, dl_dst, dl_type, ip, arp, ipv6, table, cookie)");
            }
        }
        int[] actions = actPart == null ? new int[0] : actions(text, actPart);
        return new Flow(priority, inPort, dlSrc, dlDst, dlType, cookie, actions);
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

    private static int[] actions(String text, String list) {
        List<Integer> out = new ArrayList<>();
        boolean drop = false;
        for (String raw : list.split(",")) {
            String a = raw.trim();
            if (a.isEmpty()) {
                if (list.trim().isEmpty()) {
                    continue;
                }
                throw new IllegalArgumentException("flow '" + text + "': empty action in '" + list + "'");
            }
            String lower = a.toLowerCase();
            if (lower.equals("drop")) {
                drop = true;
            } else if (lower.equals("normal")) {
                out.add(Flow.ACTION_NORMAL);
            } else if (lower.equals("flood")) {
                out.add(Flow.ACTION_FLOOD);
            } else if (lower.equals("local") || lower.equals("output:local")) {
                out.add(LOCAL);
            } else if (lower.startsWith("output:")) {
                out.add((int) number(text, "output", a.substring(7), 1, MAX_OFPORT));
            } else if (Character.isDigit(a.charAt(0))) {
                out.add((int) number(text, "output", a, 1, MAX_OFPORT));
            } else {
                throw new IllegalArgumentException("flow '" + text + "': unknown action '" + a
                        + "' (supported: output:N, N, normal, flood, drop)");
            }
        }
        if (drop && !out.isEmpty()) {
            throw new IllegalArgumentException("flow '" + text + "': drop must be the only action");
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
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
            throw new IllegalArgumentException("flow '" + text + "': " + key + " '" + val + "' is not a number");
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException("flow '" + text + "': " + key + " " + n + " is out of range "
                    + min + ".." + max);
        }
        return n;
    }

    private static long mac(String text, String key, String val) {
        if (val.contains("/")) {
            throw new IllegalArgumentException("flow '" + text + "': " + key + " masks are not supported");
        }
        long m = parseMac(val);
        if (m < 0) {
            throw new IllegalArgumentException("flow '" + text + "': " + key + " '" + val
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
