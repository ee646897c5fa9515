package io.pvio.control.apply;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.DpifException;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.logging.Logger;

/**
 * Applies the {@code Open_vSwitch} other_config key by key, as ovs-vswitchd reads each key on its own: a
 * value the datapath refuses is logged and that key keeps the value in force; the other keys apply. For
 * a configuration that is not refused as a whole (OVSDB, a restore); pvio vsctl refuses the command instead.
 */
public final class OtherConfig {
    private static final Logger LOG = Logger.getLogger("bridge");

    private OtherConfig() {
    }

    /**
     * Brings {@code dpif}'s other_config to {@code want} where the datapath accepts it.
     *
     * @return the keys refused, with the datapath's reason (empty when all applied)
     */
    public static Map<String, String> apply(Dpif dpif, Map<String, String> want) {
        Map<String, String> refused = new TreeMap<>();
        if (want.equals(dpif.otherConfig())) {
            return refused;
        }
        try {
            dpif.setOtherConfig(want);
            LOG.info("Open_vSwitch other_config: " + new TreeMap<>(want));
            return refused;
        } catch (DpifException | RuntimeException e) {
            // one key at a time below
        }
        Map<String, String> now = new TreeMap<>(dpif.otherConfig());
        Map<String, String> before = Map.copyOf(now);
        Set<String> left = new TreeSet<>(want.keySet());
        left.addAll(now.keySet());
        left.removeIf(k -> Objects.equals(want.get(k), before.get(k)));
        boolean progress = true;
        while (progress && !left.isEmpty()) { // again while keys apply: a value may depend on another key
            progress = false;
            for (Iterator<String> it = left.iterator(); it.hasNext();) {
                String k = it.next();
                Map<String, String> next = new TreeMap<>(now);
                if (want.containsKey(k)) {
                    next.put(k, want.get(k));
                } else {
                    next.remove(k);
                }
                try {
                    dpif.setOtherConfig(next);
                    now = next;
                    refused.remove(k);
                    it.remove();
                    progress = true;
                } catch (DpifException | RuntimeException e) {
                    refused.put(k, e.getMessage() == null ? e.toString() : e.getMessage());
                }
            }
        }
        for (Map.Entry<String, String> r : refused.entrySet()) {
            String k = r.getKey();
            String kept = now.get(k);
            LOG.warning("Open_vSwitch other_config:" + k + (want.containsKey(k) ? "=" + want.get(k) : " removal")
                    + " refused, keeping " + (kept == null ? "it unset" : kept) + ": " + r.getValue());
        }
        if (!now.equals(before)) {
            LOG.info("Open_vSwitch other_config: " + now);
        }
        return refused;
    }
}
