package io.pvio.control.ofctl;

import java.util.List;
import java.util.Locale;
import java.util.TreeSet;

/**
 * The flow bookkeeping the database needs, in ovs-ofctl's syntax: which stored flow an add-flow replaces
 * (same match and priority) and which ones a del-flows removes (those whose match contains the given one).
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

    /** add-flow's effect on the stored list: drop the flow with the same match and priority, append. */
    public static void add(List<String> flows, String flow) {
        String key = parse(flow, true).key();
        flows.removeIf(f -> safeKey(f).equals(key));
        flows.add(flow.trim());
    }

    /** del-flows' effect: drop every flow whose match contains {@code match} (all when null or blank). */
    public static void delete(List<String> flows, String match) {
        if (match == null || match.isBlank()) {
            flows.clear();
            return;
        }
        TreeSet<String> m = parse(match, false).match();
        flows.removeIf(f -> {
            try {
                return parse(f, false).match().containsAll(m);
            } catch (IllegalArgumentException e) {
                return false;
            }
        });
    }

    private static String safeKey(String f) {
        try {
            return parse(f, false).key();
        } catch (IllegalArgumentException e) {
            return "";
        }
    }
}
