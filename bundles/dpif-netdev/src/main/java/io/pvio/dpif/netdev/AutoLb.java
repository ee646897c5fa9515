package io.pvio.dpif.netdev;

import java.util.Map;
import java.util.logging.Logger;

/**
 * other_config:pmd-auto-lb and its settings, parsed as OVS 3.1's dpif_netdev_set_config does: a value out of
 * range takes the default, as OVS; a value that is not a number does too, with a warning (OVS says nothing).
 */
final class AutoLb {
    /** OVS's minute of the rebalance interval: the {@link RxqLoad#INTERVALS} intervals a load covers. */
    static final long MINUTE_NS = RxqLoad.INTERVAL_NS * RxqLoad.INTERVALS;
    static final AutoLb DEFAULT = new AutoLb(false, 1, 25, 95);

    final boolean enabled;
    /** pmd-auto-lb-rebal-interval: minutes between checks, 1 to 20000 (0: 1). */
    final long intervalMinutes;
    /** pmd-auto-lb-improvement-threshold: the variance improvement, in percent, that a rebalance needs. */
    final int improvementThreshold;
    /** pmd-auto-lb-load-threshold: the busy percentage that makes an interval overloaded. */
    final int loadThreshold;

    private AutoLb(boolean enabled, long intervalMinutes, int improvementThreshold, int loadThreshold) {
        this.enabled = enabled;
        this.intervalMinutes = intervalMinutes;
        this.improvementThreshold = improvementThreshold;
        this.loadThreshold = loadThreshold;
    }

    /** The settings in {@code config}; what changed from {@code prev} is logged as OVS logs it. */
    static AutoLb parse(Map<String, String> config, AutoLb prev, Logger log) {
        long interval = number(config, "pmd-auto-lb-rebal-interval", 1, log);
        if (interval > 20000) {
            interval = 1;
        }
        interval = Math.max(1, interval);
        long improve = number(config, "pmd-auto-lb-improvement-threshold", 25, log);
        if (improve > 100) {
            improve = 25;
        }
        long load = number(config, "pmd-auto-lb-load-threshold", 95, log);
        if (load > 100) {
            load = 95;
        }
        AutoLb next = new AutoLb("true".equalsIgnoreCase(config.get("pmd-auto-lb")), interval, (int) improve,
                (int) load);
        boolean changed = false;
        if (next.intervalMinutes != prev.intervalMinutes) {
            log.info("PMD auto load balance interval set to " + next.intervalMinutes + " mins");
            changed = true;
        }
        if (next.improvementThreshold != prev.improvementThreshold) {
            log.info("PMD auto load balance improvement threshold set to " + next.improvementThreshold + "%");
            changed = true;
        }
        if (next.loadThreshold != prev.loadThreshold) {
            log.info("PMD auto load balance load threshold set to " + next.loadThreshold + "%");
            changed = true;
        }
        if (next.enabled != prev.enabled || changed) {
            log.info(next.enabled ? "PMD auto load balance is enabled, interval " + next.intervalMinutes
                    + " mins, pmd load threshold " + next.loadThreshold + "%, improvement threshold "
                    + next.improvementThreshold + "%." : "PMD auto load balance is disabled.");
        }
        return next;
    }

    /** An unsigned decimal setting, as smap_get_ullong: absent or not a number gives {@code def}. */
    private static long number(Map<String, String> config, String key, long def, Logger log) {
        String v = config.get(key);
        if (v == null) {
            return def;
        }
        try {
            long n = Long.parseLong(v.trim());
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        log.warning(key + " '" + v + "' is not a non-negative decimal number: using " + def);
        return def;
    }
}
