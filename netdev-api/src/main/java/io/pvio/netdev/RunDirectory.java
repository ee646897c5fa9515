package io.pvio.netdev;

import java.nio.file.Path;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * The daemon's run directory (control socket, conf.db, vhost-user sockets), one for every bundle.
 *
 * <p>A DS component that needs it names {@link #PID} among its configuration PIDs and passes its component
 * properties and the framework's properties to {@link #resolve}: the ConfigAdmin value {@link #KEY} wins,
 * then the framework (or system) property {@link #FRAMEWORK_PROPERTY} (the launcher sets it), then
 * {@link #DEFAULT} relative to the working directory. Relative values are made absolute against the
 * working directory.
 */
public final class RunDirectory {
    /** ConfigAdmin PID of the run directory (Karaf: {@code etc/io.pvio.run.cfg}). */
    public static final String PID = "io.pvio.run";
    /** Key of the run directory in {@link #PID}. */
    public static final String KEY = "run.dir";
    /** Framework property read when {@link #PID} has no {@link #KEY}. */
    public static final String FRAMEWORK_PROPERTY = "pvio.run.dir";
    /** Used when nothing is configured: {@code pvio-run} in the working directory, as the launcher's. */
    public static final String DEFAULT = "pvio-run";

    private RunDirectory() {
    }

    /**
     * The run directory: {@code props.get(KEY)}, else {@code frameworkProperty.apply(FRAMEWORK_PROPERTY)},
     * else {@link #DEFAULT}; blank values count as absent.
     *
     * @param props component properties (may be null)
     * @param frameworkProperty e.g. {@code BundleContext::getProperty} (may be null)
     */
    public static Path resolve(Map<String, ?> props, UnaryOperator<String> frameworkProperty) {
        Object v = props == null ? null : props.get(KEY);
        String dir = v == null ? null : v.toString();
        if (blank(dir) && frameworkProperty != null) {
            dir = frameworkProperty.apply(FRAMEWORK_PROPERTY);
        }
        if (blank(dir)) {
            dir = DEFAULT;
        }
        return Path.of(dir.strip()).toAbsolutePath().normalize();
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }
}
