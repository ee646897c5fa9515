package io.pvio.control.ofctl;

import java.util.Locale;
import java.util.TreeSet;

/**
 * A first reading of an ovs-ofctl flow, for add-flow's own error messages (the datapath parses it for real,
 * and the database stores the flows as the datapath keeps them).
 */
public final class Flows {
    public static final int DEFAULT_PRIORITY = 32768;

    /** A flow's match fields (normalised, without priority), its priority and its actions. */
    public record Parsed(TreeSet<String> match, int priority, String actions) {
        public String key() {
            return priority + "|" + String.join(",", match);
        }
    }

    /** {@code actions=} or {@code action=} at the start of a field. */
    private static final java.util.regex.Pattern ACTIONS = java.util.regex.Pattern.compile(
            "(?i)(?:^|(?<=[,\\s]))actions?=");

    private Flows() {
    }

    /** The header ovs-ofctl prints before the flows of dump-flows (OpenFlow 1.0 with Nicira extensions). */
    public static final String DUMP_HEADER = "NXST_FLOW reply (xid=0x4):";
    /** The same with a match: ovs-ofctl first asks the switch for its ports (names), so its xid is later. */
    public static final String DUMP_HEADER_FILTERED = "NXST_FLOW reply (xid=0x8):";

    /** Whether a match names {@code priority} (which only strict flow-mods carry, in OpenFlow 1.0). */
    public static boolean namesPriority(String match) {
        for (String field : match.trim().split("[,\\s]+")) {
            int eq = field.indexOf('=');
            if ((eq < 0 ? field : field.substring(0, eq)).equalsIgnoreCase("priority")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Parses "priority=10,in_port=1,actions=output:2" ({@code action=} too, as OVS reads it); throws
     * IllegalArgumentException when malformed.
     */
    public static Parsed parse(String flow, boolean needActions) {
        String f = flow.trim();
        String actions = null;
        java.util.regex.Matcher m = ACTIONS.matcher(f);
        if (m.find()) {
            actions = f.substring(m.end()).trim();
            f = f.substring(0, m.start());
        } else if (needActions) {
            throw new IllegalArgumentException("must specify an action");
        }
        TreeSet<String> match = new TreeSet<>();
        int priority = DEFAULT_PRIORITY;
        for (String field : f.split("[,\\s]+")) {
            if (field.isEmpty()) {
                continue;
            }
            String fl = field.toLowerCase(Locale.ROOT);
            if (fl.startsWith("priority=")) {
                try {
                    priority = Integer.parseInt(fl.substring("priority=".length()));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("bad priority in \"" + field + "\"");
                }
            } else {
                match.add(fl);
            }
        }
        return new Parsed(match, priority, actions);
    }
}
