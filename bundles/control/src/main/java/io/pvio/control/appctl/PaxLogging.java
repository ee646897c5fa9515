package io.pvio.control.appctl;

import java.io.IOException;
import java.util.Collections;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.logging.Level;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * The levels of Pax Logging (the logging of Karaf and other containers: it filters java.util.logging
 * records again and writes data/log/karaf.log), kept in step with vlog/set. They live in the ConfigAdmin
 * configuration {@link #PID} under the log4j2 keys Karaf's {@code log:set} writes:
 * {@code log4j2.logger.ID.name = MODULE} and {@code log4j2.logger.ID.level = DEBUG}.
 */
public final class PaxLogging {
    public static final String PID = "org.ops4j.pax.logging";
    /** Symbolic name of the bundle whose presence means Pax Logging is the container's logging. */
    public static final String API_BUNDLE = "org.ops4j.pax.logging.pax-logging-api";
    private static final Pattern NAME_KEY = Pattern.compile("log4j2\\.logger\\.([a-zA-Z0-9_]+)\\.name");
    private static final String ROOT_LEVEL = "log4j2.rootLogger.level";

    private PaxLogging() {
    }

    /** The log4j level of a java.util.logging level as vlog sets them. */
    static String log4j(Level l) {
        int v = l.intValue();
        if (v == Level.OFF.intValue()) {
            return "OFF";
        }
        if (v >= Level.SEVERE.intValue()) {
            return "ERROR";
        }
        if (v >= Level.WARNING.intValue()) {
            return "WARN";
        }
        if (v >= Level.INFO.intValue()) {
            return "INFO";
        }
        return "DEBUG";
    }

    /** The id of {@code module}'s logger entry: an existing one naming it, else as log:set makes one. */
    static String idOf(Dictionary<String, Object> p, String module) {
        for (String k : Collections.list(p.keys())) {
            Matcher m = NAME_KEY.matcher(k);
            if (m.matches() && module.equals(String.valueOf(p.get(k)).strip())) {
                return m.group(1);
            }
        }
        return module.replace('.', '_').toLowerCase(Locale.ROOT);
    }

    /**
     * Sets each module's level in {@code p}; true when something changed.
     */
    static boolean apply(Dictionary<String, Object> p, Map<String, Level> levels) {
        boolean changed = false;
        for (Map.Entry<String, Level> e : levels.entrySet()) {
            String id = idOf(p, e.getKey());
            String nameKey = "log4j2.logger." + id + ".name";
            String levelKey = "log4j2.logger." + id + ".level";
            String level = log4j(e.getValue());
            if (!Objects.equals(p.get(nameKey), e.getKey())) {
                p.put(nameKey, e.getKey());
                changed = true;
            }
            if (!Objects.equals(p.get(levelKey), level)) {
                p.put(levelKey, level);
                changed = true;
            }
        }
        return changed;
    }

    /** Updates {@link #PID} so that Pax Logging lets each module's records through as vlog does. */
    public static void set(ConfigurationAdmin cm, Map<String, Level> levels) throws IOException {
        Configuration c = cm.getConfiguration(PID, null);
        Dictionary<String, Object> p = c.getProperties();
        if (p == null) {
            p = new Hashtable<>();
        }
        if (apply(p, levels)) {
            c.update(p);
        }
    }

    /** vlog/list's second table: the root level and those of pvio's modules that have their own. */
    public static String list(ConfigurationAdmin cm) throws IOException {
        StringBuilder sb = new StringBuilder(String.format("%-18s %s%n%-18s %s%n", "pax logging", "level", "",
                "-----"));
        Map<String, String> all = levels(cm);
        sb.append(String.format("%-18s %s%n", "ROOT", all.getOrDefault("ROOT", "?")));
        for (String m : Vlog.modules()) {
            if (all.containsKey(m) && !m.equals("ROOT")) {
                sb.append(String.format("%-18s %s%n", m, all.get(m)));
            }
        }
        return sb.toString();
    }

    /** The level of the root logger (as ROOT) and of every logger entry. */
    static Map<String, String> levels(ConfigurationAdmin cm) throws IOException {
        Map<String, String> out = new TreeMap<>();
        Configuration c = cm.getConfiguration(PID, null);
        Dictionary<String, Object> p = c.getProperties();
        if (p == null) {
            return out;
        }
        out.put("ROOT", String.valueOf(p.get(ROOT_LEVEL)));
        for (String k : Collections.list(p.keys())) {
            Matcher m = NAME_KEY.matcher(k);
            Object level = p.get("log4j2.logger." + (m.matches() ? m.group(1) : "") + ".level");
            if (m.matches() && level != null) {
                out.put(String.valueOf(p.get(k)).strip(), level.toString().strip());
            }
        }
        return out;
    }
}
