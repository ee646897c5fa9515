package io.pvio.control.appctl;

import io.pvio.unixctl.UnixctlException;
import java.io.UncheckedIOException;
import java.util.Collection;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;

/**
 * vlog/list and vlog/set on java.util.logging: an OVS module is the JUL logger of that name, OVS levels
 * map onto JUL levels (emer and err: SEVERE, warn: WARNING, info: INFO, dbg: FINE, off: OFF). Only the
 * "file" destination exists (the launcher's handlers decide what reaches stderr).
 */
public final class Vlog {
    /** Modules pvio's bundles log to; listed even before their logger exists. */
    static final List<String> KNOWN = List.of("bridge", "unixctl", "dpif_netdev", "netdev_dummy", "netdev_dpdk",
            "dpdk", "dma_ioat", "dma_cpu", "vhost_async", "virtio_user", "posix", "felix", "vlog");
    /** Strong references: JUL forgets the level of a logger nobody references. */
    private static final Map<String, Logger> CONFIGURED = new ConcurrentHashMap<>();

    private Vlog() {
    }

    static Level level(String ovs) {
        return switch (ovs.toLowerCase(Locale.ROOT)) {
            case "emer", "err" -> Level.SEVERE;
            case "warn" -> Level.WARNING;
            case "info" -> Level.INFO;
            case "dbg" -> Level.FINE;
            case "off" -> Level.OFF;
            default -> null;
        };
    }

    static String ovsName(Level l) {
        if (l == null) {
            return "INFO";
        }
        int v = l.intValue();
        if (v == Level.OFF.intValue()) {
            return "OFF";
        }
        if (v >= Level.SEVERE.intValue()) {
            return "ERR";
        }
        if (v >= Level.WARNING.intValue()) {
            return "WARN";
        }
        if (v >= Level.INFO.intValue()) {
            return "INFO";
        }
        return "DBG";
    }

    /** The level in force for a module (its own or inherited). */
    static Level effective(Logger l) {
        for (Logger x = l; x != null; x = x.getParent()) {
            if (x.getLevel() != null) {
                return x.getLevel();
            }
        }
        return Level.INFO;
    }

    static TreeSet<String> modules() {
        TreeSet<String> names = new TreeSet<>(KNOWN);
        Enumeration<String> e = LogManager.getLogManager().getLoggerNames();
        for (String n : Collections.list(e)) {
            if (!n.isEmpty() && !n.contains(".") && !n.contains("$")) {
                names.add(n);
            }
        }
        return names;
    }

    public static String list() {
        StringBuilder sb = new StringBuilder(String.format("%-18s %s%n%-18s %s%n", "", "file", "", "------"));
        for (String m : modules()) {
            sb.append(String.format("%-18s %s%n", m, ovsName(effective(Logger.getLogger(m)))));
        }
        return sb.toString();
    }

    /**
     * vlog/set SPEC...: each SPEC is words of a module (or ANY), a destination and a level, in any order; as in
     * OVS's vlog_set_levels_from_string, a missing module is every module and a missing level is dbg. No SPEC
     * changes nothing, as in OVS.
     */
    public static String set(List<String> specs) throws UnixctlException {
        Map<String, Level> todo = new TreeMap<>();
        for (String spec : specs) {
            String module = "any";
            Level lvl = null;
            for (String word : spec.split("[:\\s]+")) {
                String w = word.toLowerCase(Locale.ROOT);
                if (w.isEmpty()) {
                    continue;
                }
                Level l = level(w);
                if (l != null) {
                    lvl = l;
                } else if (w.equals("file") || w.equals("console") || w.equals("syslog") || w.equals("any")
                        && !module.equals("any")) {
                    continue; // destination: there is one log; accepted for compatibility
                } else if (w.equals("any")) {
                    module = "any";
                } else if (module.equals("any")) {
                    module = word;
                } else {
                    throw new UnixctlException("vlog/set: \"" + word + "\" in \"" + spec
                            + "\" is not a level (emer, err, warn, info, dbg, off) or destination");
                }
            }
            if (lvl == null) {
                lvl = Level.FINE; // dbg, as OVS
            }
            if (!module.equals("any") && !modules().contains(module)) {
                throw new UnixctlException("vlog/set: unknown module \"" + module + "\" (see vlog/list)");
            }
            todo.put(module, lvl);
        }
        todo.forEach((m, l) -> {
            if (m.equals("any")) {
                for (String mod : modules()) {
                    apply(mod, l);
                }
            } else {
                apply(m, l);
            }
        });
        return "";
    }

    /**
     * The service property of the launcher's log-file actions: a {@link Runnable} service with
     * {@code pvio.vlog.action=reopen} reopens the log file by name, {@code =close} closes it. There is
     * none when the process logs to no file (the Gogo shell of a test framework, say).
     */
    public static final String ACTION_PROPERTY = "pvio.vlog.action";

    /** vlog/reopen and vlog/close: runs the launcher's action; OVS's error when there is no log file. */
    public static String fileAction(BundleContext ctx, String action) throws UnixctlException {
        Collection<ServiceReference<Runnable>> refs;
        try {
            refs = ctx.getServiceReferences(Runnable.class, "(" + ACTION_PROPERTY + "=" + action + ")");
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(e);
        }
        if (refs.isEmpty()) {
            if (action.equals("close")) {
                return ""; // OVS: nothing to close is not an error
            }
            throw new UnixctlException("Logging to file not configured");
        }
        ServiceReference<Runnable> ref = refs.iterator().next();
        Runnable r = ctx.getService(ref);
        if (r == null) {
            throw new UnixctlException("Logging to file not configured");
        }
        try {
            r.run();
        } catch (UncheckedIOException e) {
            throw new UnixctlException(e.getMessage());
        } finally {
            ctx.ungetService(ref);
        }
        return "";
    }

    /** The levels vlog/set has given, by module. */
    public static Map<String, Level> configured() {
        Map<String, Level> m = new TreeMap<>();
        CONFIGURED.forEach((k, lg) -> {
            if (lg.getLevel() != null) {
                m.put(k, lg.getLevel());
            }
        });
        return m;
    }

    private static void apply(String module, Level l) {
        Logger lg = CONFIGURED.computeIfAbsent(module, Logger::getLogger);
        lg.setLevel(l);
        Logger.getLogger("unixctl").info("vlog/set: " + module + " set to " + ovsName(l));
    }
}
