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

    /** The daemon's own files in the run directory, by exact name. */
    private static final java.util.Set<String> DAEMON_FILES = java.util.Set.of(
            "conf.db", "conf.db.tmp", "conf.db.bad", // the control bundle's database
            "pvio-vswitchd.ctl", "ovs-vswitchd.pid", // its control socket and pidfile
            "vswitchd.log", "deploy", "felix-cache", "jna"); // the launcher's

    private RunDirectory() {
    }

    /**
     * Whether {@code name} is, or may become, one of the daemon's own files in the run directory: those
     * above, {@code ovs-vswitchd.<pid>.ctl} (the control socket's alias) and every {@code <bridge>.mgmt}
     * (OpenFlow socket, bound as {@code <bridge>.mgmt.tmp} first). A bundle that creates files in the run
     * directory under names it is given (a {@code dpdkvhostuser} port's socket) must refuse these: the
     * daemon may not have created them yet (at startup, the database is restored before the control
     * socket is bound).
     */
    public static boolean isDaemonFile(String name) {
        return DAEMON_FILES.contains(name) || name.endsWith(".mgmt") || name.endsWith(".mgmt.tmp")
                || name.startsWith("ovs-vswitchd.") && name.endsWith(".ctl");
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
