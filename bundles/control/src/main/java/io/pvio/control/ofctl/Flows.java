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

    private Flows() {
    }

    /** Parses "priority=10,in_port=1,actions=output:2"; throws IllegalArgumentException when malformed. */
    public static Parsed parse(String flow, boolean needActions) {
        String f = flow.trim();
        String actions = null;
        int ai = f.toLowerCase(Locale.ROOT).indexOf("actions=");
        if (ai >= 0) {
            actions = f.substring(ai + "actions=".length()).trim();
            f = f.substring(0, ai);
        } else if (needActions) {
            throw new IllegalArgumentException("must specify an action (e.g. actions=output:2)");
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
