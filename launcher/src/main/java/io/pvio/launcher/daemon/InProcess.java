package io.pvio.launcher.daemon;

import io.pvio.control.protocol.ControlClient;
import io.pvio.launcher.log.LogSetup;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** A switch started inside this JVM for one command ({@code demo}, {@code bench}), stopped when it returns. */
public final class InProcess {
    /** What runs against the switch, through its control socket. */
    @FunctionalInterface
    public interface Body {
        int run(Path socket) throws Exception;
    }

    private InProcess() {
    }

    /**
     * Starts the switch in {@code runDir} (a fresh temporary directory when null), runs {@code body}, stops
     * the switch. Refuses a run directory where a daemon already runs. Of a temporary directory only the log
     * is left once the switch has stopped (the framework's cache alone takes megabytes a run).
     *
     * @return the body's status, or 1 when the switch could not be started or the body threw
     */
    public static int run(String command, Path runDir, PrintStream info, PrintStream err, Body body) {
        Daemon d = null;
        Thread hook = null;
        Path temporary = null;
        try {
            if (runDir == null) {
                temporary = Files.createTempDirectory("pvio-" + command + "-");
            }
            Path dir = runDir != null ? runDir.toAbsolutePath() : temporary;
            Path sock = ControlClient.socket(dir);
            if (Files.exists(sock)) {
                try {
                    ControlClient.call(sock, List.of("appctl", "version"));
                    err.println("pvio " + command + ": a pvio-vswitchd already runs in " + dir + "; the " + command
                            + " needs a run directory of its own (omit --run-dir for a temporary one)");
                    return 1;
                } catch (IOException e) {
                    // stale socket: the new daemon replaces it
                }
            }
            info.println("pvio " + command + ": run directory " + dir + " (log: " + dir.resolve("vswitchd.log") + ")");
            d = Daemon.start(new Daemon.Options(dir, false, false), err);
            hook = new Thread(d::stop, "pvio-" + command + "-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            return body.run(sock);
        } catch (Exception e) {
            err.println("pvio " + command + ": " + e.getMessage());
            return 1;
        } finally {
            if (d != null) {
                d.stop();
                LogSetup.uninstall();
            }
            if (temporary != null) {
                keepOnlyLog(temporary, err);
            }
            if (hook != null) {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException e) {
                    // already shutting down
                }
            }
        }
    }

    /** Deletes everything in {@code dir} but vswitchd.log (and {@code dir} itself when no log was written). */
    static void keepOnlyLog(Path dir, PrintStream err) {
        Path log = dir.resolve("vswitchd.log");
        try (var walk = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) walk.sorted(java.util.Comparator.reverseOrder())::iterator) {
                if (!p.equals(log) && !(p.equals(dir) && Files.exists(log))) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            err.println("pvio: could not remove the temporary run directory " + dir + ": " + e.getMessage());
        }
    }
}
