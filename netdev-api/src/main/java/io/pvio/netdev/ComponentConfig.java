package io.pvio.netdev;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.osgi.framework.Bundle;
import org.osgi.service.component.ComponentConstants;
import org.osgi.service.component.ComponentContext;

/**
 * Configuration updates for DS components that restart on a real change only.
 *
 * <p>Without a {@code @Modified} method Felix SCR deactivates and activates a component on every update of
 * its configuration, even one that changes only bookkeeping: Karaf's feature {@code <config>} followed by
 * Felix fileinstall re-reading {@code etc/PID.cfg} (which adds {@code felix.fileinstall.filename}) restarted
 * the datapath and closed the control socket a second after they came up. A component that reads its
 * configuration only when activated keeps its properties from activation and declares
 *
 * <pre>
 * &#64;Modified
 * void modified(ComponentContext cc, Map&lt;String, Object&gt; props) {
 *     ComponentConfig.reactivateIfChanged(cc, activatedWith, props, LOG);
 * }
 * </pre>
 */
public final class ComponentConfig {
    /**
     * Prefixes of keys that ConfigAdmin, SCR, Felix fileinstall and Karaf add and no component reads
     * ({@code service.pid}, {@code component.id}, {@code felix.fileinstall.filename},
     * {@code org.apache.karaf.features.configKey}...).
     */
    public static final List<String> BOOKKEEPING_PREFIXES = List.of("felix.fileinstall.", "service.",
            "component.", "org.apache.karaf.");

    private ComponentConfig() {
    }

    /** True when {@code key} is bookkeeping ({@link #BOOKKEEPING_PREFIXES}): its value changes nothing. */
    public static boolean isBookkeeping(String key) {
        for (String p : BOOKKEEPING_PREFIXES) {
            if (key.startsWith(p)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The keys whose values differ between {@code before} and {@code after} (sorted; present in one only,
     * or not equal, arrays compared by content), bookkeeping keys left out. Null maps count as empty.
     */
    public static Set<String> changedKeys(Map<String, ?> before, Map<String, ?> after) {
        Map<String, ?> b = before == null ? Map.of() : before;
        Map<String, ?> a = after == null ? Map.of() : after;
        Set<String> keys = new TreeSet<>(b.keySet());
        keys.addAll(a.keySet());
        keys.removeIf(k -> isBookkeeping(k) || Objects.deepEquals(b.get(k), a.get(k)));
        return keys;
    }

    /** True when {@link #changedKeys} is not empty: the update changes something a component may read. */
    public static boolean changed(Map<String, ?> before, Map<String, ?> after) {
        return !changedKeys(before, after).isEmpty();
    }

    /**
     * For a DS {@code @Modified} method of a component that reads its configuration only when activated:
     * when {@code after} differs from {@code before} in a key that is not bookkeeping, has SCR deactivate
     * the component and activate it again with the new configuration (as SCR does for a component without a
     * modified method), logs the changed keys at INFO and returns true; otherwise logs at FINE, leaves the
     * component running and returns false.
     *
     * <p>The reactivation disables and enables the component ({@link ComponentContext#disableComponent},
     * {@link ComponentContext#enableComponent}) from a new thread: Felix SCR holds the component's enable
     * latch while it calls the modified method, so disabling from the calling thread would wait for itself.
     * The component therefore runs with its old configuration until SCR has deactivated it; nothing is done
     * once its bundle is stopping (SCR disposes the component then).
     *
     * @param cc the component's context (its {@code component.name} is the one re-enabled)
     * @param before the properties the component was activated with
     * @param after the properties given to the modified method
     * @param log the component's logger
     */
    public static boolean reactivateIfChanged(ComponentContext cc, Map<String, ?> before, Map<String, ?> after,
            Logger log) {
        String name = String.valueOf(cc.getProperties().get(ComponentConstants.COMPONENT_NAME));
        Set<String> changed = changedKeys(before, after);
        if (changed.isEmpty()) {
            log.fine(() -> name + ": configuration update changes nothing it uses: kept running");
            return false;
        }
        List<String> diff = new ArrayList<>();
        for (String k : changed) {
            diff.add(k + ": " + show(before, k) + " -> " + show(after, k));
        }
        log.info(() -> name + ": configuration changed (" + String.join(", ", diff) + "): restarting");
        Bundle bundle = cc.getBundleContext().getBundle();
        Thread t = new Thread(() -> {
            try {
                // SCR schedules nothing for a stopping bundle: a disable then would never complete
                if (bundle.getState() == Bundle.ACTIVE) {
                    cc.disableComponent(name);
                }
                if (bundle.getState() == Bundle.ACTIVE) {
                    cc.enableComponent(name);
                }
            } catch (RuntimeException e) { // the bundle stopping meanwhile
                log.log(Level.WARNING, name + ": cannot restart with the new configuration", e);
            }
        }, "reactivate " + name);
        t.setDaemon(true);
        t.start();
        return true;
    }

    private static String show(Map<String, ?> props, String key) {
        if (props == null || !props.containsKey(key)) {
            return "(none)";
        }
        String s = Arrays.deepToString(new Object[] {props.get(key)}); // arrays by content
        return s.substring(1, s.length() - 1);
    }
}
