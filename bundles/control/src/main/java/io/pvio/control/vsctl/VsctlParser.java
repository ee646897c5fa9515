package io.pvio.control.vsctl;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Splits an ovs-vsctl command line into commands: global options first, then commands separated by
 * {@code --}, each with its own leading options ({@code --may-exist}, {@code --if-exists},
 * {@code --columns=...}). Everything is checked before anything runs.
 */
public final class VsctlParser {

    /** One command: its name, its options and its arguments. */
    public record Cmd(String name, Set<String> options, List<String> args) {
        public boolean has(String option) {
            return options.contains(option);
        }

        /** The value of {@code --name=value}, or null. */
        public String option(String name) {
            for (String o : options) {
                if (o.startsWith(name + "=")) {
                    return o.substring(name.length() + 1);
                }
            }
            return null;
        }
    }

    /** Arity and options of each command: min args, max args (-1 = any), allowed options, mutating. */
    record Spec(int min, int max, Set<String> options, boolean mutates, String usage) {
    }

    static final Map<String, Spec> SPECS = Map.ofEntries(
            Map.entry("init", new Spec(0, 0, Set.of(), false, "init")),
            Map.entry("show", new Spec(0, 0, Set.of(), false, "show")),
            Map.entry("add-br", new Spec(1, 1, Set.of("--may-exist"), true, "add-br BRIDGE")),
            Map.entry("del-br", new Spec(1, 1, Set.of("--if-exists"), true, "del-br BRIDGE")),
            Map.entry("list-br", new Spec(0, 0, Set.of(), false, "list-br")),
            Map.entry("br-exists", new Spec(1, 1, Set.of(), false, "br-exists BRIDGE")),
            Map.entry("add-port", new Spec(2, -1, Set.of("--may-exist"), true, "add-port BRIDGE PORT [COLUMN[:KEY]=VALUE]...")),
            Map.entry("del-port", new Spec(1, 2, Set.of("--if-exists"), true, "del-port [BRIDGE] PORT")),
            Map.entry("list-ports", new Spec(1, 1, Set.of(), false, "list-ports BRIDGE")),
            Map.entry("list-ifaces", new Spec(1, 1, Set.of(), false, "list-ifaces BRIDGE")),
            Map.entry("port-to-br", new Spec(1, 1, Set.of(), false, "port-to-br PORT")),
            Map.entry("iface-to-br", new Spec(1, 1, Set.of(), false, "iface-to-br IFACE")),
            Map.entry("list", new Spec(1, -1, Set.of("--columns"), false, "list TABLE [RECORD]...")),
            Map.entry("get", new Spec(3, -1, Set.of("--if-exists"), false, "get TABLE RECORD COLUMN[:KEY]...")),
            Map.entry("set", new Spec(3, -1, Set.of("--if-exists"), true, "set TABLE RECORD COLUMN[:KEY]=VALUE...")),
            Map.entry("add", new Spec(4, -1, Set.of("--if-exists"), true, "add TABLE RECORD COLUMN KEY=VALUE...")),
            Map.entry("remove", new Spec(4, -1, Set.of("--if-exists"), true, "remove TABLE RECORD COLUMN KEY[=VALUE]...")),
            Map.entry("clear", new Spec(3, -1, Set.of("--if-exists"), true, "clear TABLE RECORD COLUMN...")),
            Map.entry("set-controller", new Spec(1, -1, Set.of(), true, "set-controller BRIDGE TARGET...")),
            Map.entry("del-controller", new Spec(1, 1, Set.of(), true, "del-controller BRIDGE")),
            Map.entry("get-controller", new Spec(1, 1, Set.of(), false, "get-controller BRIDGE")),
            Map.entry("set-fail-mode", new Spec(2, 2, Set.of(), true, "set-fail-mode BRIDGE MODE")),
            Map.entry("del-fail-mode", new Spec(1, 1, Set.of(), true, "del-fail-mode BRIDGE")),
            Map.entry("get-fail-mode", new Spec(1, 1, Set.of(), false, "get-fail-mode BRIDGE")));


    /** Global options: --no-wait and --timeout are accepted (nothing here waits on an outside process). */
    private static final Set<String> GLOBAL = Set.of("--no-wait", "--timeout", "--dry-run");

    /** The parsed command line. */
    public record Line(Set<String> globals, List<Cmd> commands) {
    }

    private VsctlParser() {
    }

    public static Line parse(List<String> argv) throws VsctlException {
        Set<String> globals = new LinkedHashSet<>();
        List<Cmd> cmds = new ArrayList<>();
        List<List<String>> groups = new ArrayList<>();
        List<String> cur = new ArrayList<>();
        for (String a : argv) {
            if (a == null) {
                throw new VsctlException("null argument");
            }
            if (a.equals("--")) {
                groups.add(cur);
                cur = new ArrayList<>();
            } else {
                cur.add(a);
            }
        }
        groups.add(cur);
        for (int g = 0; g < groups.size(); g++) {
            List<String> words = groups.get(g);
            Set<String> opts = new LinkedHashSet<>();
            int i = 0;
            while (i < words.size() && words.get(i).startsWith("--")) {
                String o = words.get(i++);
                String base = o.contains("=") ? o.substring(0, o.indexOf('=')) : o;
                if (GLOBAL.contains(base)) {
                    if (base.equals("--timeout") && !o.matches("--timeout=\\d+")) {
                        throw new VsctlException("--timeout needs a number of seconds (--timeout=N)");
                    }
                    globals.add(base);
                } else {
                    opts.add(o);
                }
            }
            if (i == words.size()) {
                if (!opts.isEmpty()) {
                    throw new VsctlException("missing command name after " + String.join(" ", opts));
                }
                continue; // empty group: "vsctl --no-wait -- add-br br0"
            }
            String name = words.get(i++);
            Spec spec = SPECS.get(name);
            if (spec == null) {
                throw new VsctlException("unknown command '" + name + "'; use --help for help");
            }
            for (String o : opts) {
                String base = o.contains("=") ? o.substring(0, o.indexOf('=')) : o;
                if (!spec.options().contains(base)) {
                    throw new VsctlException("'" + name + "' command has no '" + base + "' option");
                }
            }
            List<String> args = List.copyOf(words.subList(i, words.size()));
            if (args.size() < spec.min() || (spec.max() >= 0 && args.size() > spec.max())) {
                throw new VsctlException("'" + name + "' command requires "
                        + (spec.min() == spec.max() ? "exactly " + spec.min()
                                : spec.max() < 0 ? "at least " + spec.min() : spec.min() + " to " + spec.max())
                        + " argument" + (spec.max() == 1 ? "" : "s") + " (usage: " + spec.usage() + ")");
            }
            cmds.add(new Cmd(name, Set.copyOf(opts), args));
        }
        if (cmds.isEmpty()) {
            throw new VsctlException("missing command name (use --help for help)");
        }
        return new Line(globals, cmds);
    }

    public static boolean mutates(Cmd c) {
        return SPECS.get(c.name()).mutates();
    }

    /** A usage summary for --help. */
    public static String help() {
        StringBuilder sb = new StringBuilder("usage: vsctl [--no-wait] COMMAND [ARG...] [-- COMMAND [ARG...]]...\n"
                + "Tables: Open_vSwitch (record .), Bridge, Port, Interface.\nCommands:\n");
        new java.util.TreeMap<>(SPECS).forEach((k, s) -> sb.append("  ").append(s.usage()).append('\n'));
        return sb.toString();
    }
}
