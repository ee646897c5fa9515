package io.pvio.dpif.netdev;

import io.pvio.dpif.DpifException;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * {@code other_config:pmd-sleep-max} as OVS reads it: an optional default and {@code core:usecs} pairs,
 * e.g. {@code 50}, {@code 50,1:0} (every PMD may sleep up to 50 us when idle, core 1 never) or {@code 1:100}
 * (only core 1 sleeps). A PMD without its own value takes the default; unset: {@link #DEFAULT_US}.
 */
final class PmdSleep {
    static final int DEFAULT_US = 50;
    static final int MAX_US = 10_000;
    static final PmdSleep DEFAULT = new PmdSleep(TimeUnit.MICROSECONDS.toNanos(DEFAULT_US), Map.of());

    private final long defaultNanos;
    private final Map<Integer, Long> perCore;
    private final long[] byCore; // index core, -1: the default (read by idle PMDs: no boxing, no map)

    private PmdSleep(long defaultNanos, Map<Integer, Long> perCore) {
        this.defaultNanos = defaultNanos;
        this.perCore = perCore;
        int n = 0;
        for (int c : perCore.keySet()) {
            n = Math.max(n, c + 1);
        }
        byCore = new long[n];
        Arrays.fill(byCore, -1);
        perCore.forEach((c, ns) -> byCore[c] = ns);
    }

    static PmdSleep parse(String v) throws DpifException {
        if (v == null || v.isBlank()) {
            return DEFAULT;
        }
        Long dflt = null;
        Map<Integer, Long> cores = new TreeMap<>();
        for (String raw : v.split(",", -1)) {
            String tok = raw.trim();
            int colon = tok.indexOf(':');
            if (colon < 0) {
                if (dflt != null) {
                    throw new DpifException("pmd-sleep-max '" + v + "': more than one default value");
                }
                dflt = usecs(v, tok);
            } else {
                int core;
                try {
                    core = Integer.parseInt(tok.substring(0, colon).trim());
                    if (core < 0 || core > 1023) {
                        throw new NumberFormatException();
                    }
                } catch (NumberFormatException e) {
                    throw new DpifException("pmd-sleep-max '" + v + "': '" + tok + "' does not start with a core id"
                            + " in 0..1023");
                }
                if (cores.put(core, usecs(v, tok.substring(colon + 1).trim())) != null) {
                    throw new DpifException("pmd-sleep-max '" + v + "': core " + core + " given twice");
                }
            }
        }
        return new PmdSleep(dflt != null ? dflt : TimeUnit.MICROSECONDS.toNanos(DEFAULT_US),
                Collections.unmodifiableMap(cores));
    }

    private static long usecs(String whole, String tok) throws DpifException {
        try {
            long us = Long.parseLong(tok);
            if (us < 0 || us > MAX_US) {
                throw new NumberFormatException();
            }
            return TimeUnit.MICROSECONDS.toNanos(us);
        } catch (NumberFormatException e) {
            throw new DpifException("pmd-sleep-max '" + whole + "': '" + tok + "' is not a number of microseconds in 0.."
                    + MAX_US);
        }
    }

    /** Longest park of an idle PMD on {@code core}, in nanoseconds (0 = busy poll). */
    long nanosFor(int core) {
        long n = core >= 0 && core < byCore.length ? byCore[core] : -1;
        return n >= 0 ? n : defaultNanos;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        sb.append(TimeUnit.NANOSECONDS.toMicros(defaultNanos)).append(" us by default");
        perCore.forEach((c, n) -> sb.append(", core ").append(c).append(": ").append(TimeUnit.NANOSECONDS.toMicros(n))
                .append(" us"));
        return sb.toString();
    }
}
