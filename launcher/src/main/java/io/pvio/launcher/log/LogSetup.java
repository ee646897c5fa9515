package io.pvio.launcher.log;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Installs the daemon's logging on the JUL root logger: every record goes to {@code <run dir>/vswitchd.log};
 * WARN and above (everything with verbose) also to stderr. Records are numbered once, so the file and stderr
 * agree.
 */
public final class LogSetup {
    private static final AtomicLong SEQ = new AtomicLong();
    private static Handler installed;
    private static Logger root;

    private LogSetup() {
    }

    /** Replaces the root logger's handlers. Idempotent: a second call swaps the previous handler out. */
    public static synchronized void install(Path logFile, boolean verbose, PrintStream stderr) throws IOException {
        uninstall();
        Files.createDirectories(logFile.toAbsolutePath().getParent());
        Writer file = new BufferedWriter(new OutputStreamWriter(Files.newOutputStream(logFile,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND), StandardCharsets.UTF_8));
        VswitchdFormatter fmt = new VswitchdFormatter(SEQ);
        Level stderrLevel = verbose ? Level.ALL : Level.WARNING;
        Handler h = new Handler() {
            @Override
            public synchronized void publish(LogRecord r) {
                if (!isLoggable(r)) {
                    return;
                }
                String line = fmt.format(r, SEQ.incrementAndGet());
                try {
                    file.write(line);
                    file.flush();
                } catch (IOException e) {
                    reportError("cannot write " + logFile, e, 1);
                }
                if (stderr != null && r.getLevel().intValue() >= stderrLevel.intValue()) {
                    stderr.print(line);
                    stderr.flush();
                }
            }

            @Override
            public void flush() {
                try {
                    file.flush();
                } catch (IOException e) {
                    // reported on next write
                }
            }

            @Override
            public synchronized void close() {
                try {
                    file.close();
                } catch (IOException e) {
                    // closing anyway
                }
            }
        };
        h.setLevel(Level.ALL);
        root = LogManager.getLogManager().getLogger("");
        for (Handler old : root.getHandlers()) {
            root.removeHandler(old);
        }
        root.setLevel(verbose ? Level.FINE : Level.INFO);
        root.addHandler(h);
        installed = h;
    }

    public static synchronized void uninstall() {
        if (installed != null) {
            root.removeHandler(installed);
            installed.close();
            installed = null;
        }
    }
}
