package io.pvio.dummy.netdev;

import io.pvio.netdev.NetdevException;
import java.util.Map;
import java.util.Set;

/** Validation helpers for Interface options (control path). */
public final class Options {
    private Options() {
    }

    /** Refuses any option not in {@code known}. */
    public static void onlyKnown(String type, String port, Map<String, String> options, Set<String> known)
            throws NetdevException {
        for (String k : options.keySet()) {
            if (!known.contains(k)) {
                throw new NetdevException(port + ": unknown option '" + k + "' for type " + type
                        + " (known: " + String.join(", ", new java.util.TreeSet<>(known)) + ")");
            }
        }
    }

    /** A decimal integer option in [min, max], or {@code dflt} when absent. */
    public static long longOpt(String port, Map<String, String> options, String key, long dflt, long min, long max)
            throws NetdevException {
        String v = options.get(key);
        if (v == null) {
            return dflt;
        }
        long n;
        try {
            n = Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new NetdevException(port + ": option " + key + "='" + v + "' is not an integer");
        }
        if (n < min || n > max) {
            throw new NetdevException(port + ": option " + key + "=" + n + " is out of range " + min + ".." + max);
        }
        return n;
    }

    /** A MAC option {@code xx:xx:xx:xx:xx:xx} as a 48-bit long, or {@code dflt} when absent. */
    public static long macOpt(String port, Map<String, String> options, String key, long dflt)
            throws NetdevException {
        String v = options.get(key);
        if (v == null) {
            return dflt;
        }
        long mac = parseMac(v);
        if (mac < 0) {
            throw new NetdevException(port + ": option " + key + "='" + v + "' is not a MAC address (xx:xx:xx:xx:xx:xx)");
        }
        return mac;
    }

    /** Parses {@code xx:xx:xx:xx:xx:xx}; returns -1 when malformed. */
    public static long parseMac(String s) {
        String[] parts = s.trim().split(":", -1);
        if (parts.length != 6) {
            return -1;
        }
        long mac = 0;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 2) {
                return -1;
            }
            int b;
            try {
                b = Integer.parseInt(p, 16);
            } catch (NumberFormatException e) {
                return -1;
            }
            mac = (mac << 8) | b;
        }
        return mac;
    }

    public static String formatMac(long mac) {
        return String.format("%02x:%02x:%02x:%02x:%02x:%02x", (mac >>> 40) & 0xff, (mac >>> 32) & 0xff,
                (mac >>> 24) & 0xff, (mac >>> 16) & 0xff, (mac >>> 8) & 0xff, mac & 0xff);
    }
}
