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
 * agree. {@link #reopen} and {@link #close} are OVS's vlog/reopen (after logrotate moved the file) and
 * vlog/close.
 */
public final class LogSetup {
    private static final Logger VLOG = Logger.getLogger("vlog");
    private static final AtomicLong SEQ = new AtomicLong();
    private static FileHandler installed;
    private static Logger root;

    private LogSetup() {
    }

    /** Replaces the root logger's handlers. Idempotent: a second call swaps the previous handler out. */
    public static synchronized void install(Path logFile, boolean verbose, PrintStream stderr) throws IOException {
        uninstall();
        FileHandler h = new FileHandler(logFile, new VswitchdFormatter(SEQ), verbose ? Level.ALL : Level.WARNING,
                stderr);
        h.open();
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

    /**
     * Closes the log file and opens it again by name (a new file if it was moved away), as OVS's
     * vlog/reopen; also reopens a file that {@link #close} closed.
     *
     * @throws IOException when the file cannot be opened (logging then goes on to stderr only)
     * @throws IllegalStateException when no log file is installed
     */
    public static void reopen() throws IOException {
        FileHandler h;
        synchronized (LogSetup.class) {
            h = installed;
        }
        if (h == null) {
            throw new IllegalStateException("Logging to file not configured");
        }
        VLOG.info("closing log file");
        try {
            h.open();
        } catch (IOException e) {
            VLOG.severe(e.getMessage()); // stderr still has it; the next reopen may succeed
            throw e;
        }
        VLOG.info("opened log file " + h.logFile);
    }

    /** Closes the log file until the next {@link #reopen}, as OVS's vlog/close (stderr still gets its part). */
    public static void close() {
        FileHandler h;
        synchronized (LogSetup.class) {
            h = installed;
        }
        if (h != null) {
            VLOG.info("closing log file");
            h.closeFile();
        }
    }

    /** The log file (when open) and stderr; its file can be closed and opened again. */
    private static final class FileHandler extends Handler {
        final Path logFile;
        private final VswitchdFormatter fmt;
        private final Level stderrLevel;
        private final PrintStream stderr;
        private Writer file; // null while closed; guarded by this

        FileHandler(Path logFile, VswitchdFormatter fmt, Level stderrLevel, PrintStream stderr) {
            this.logFile = logFile.toAbsolutePath();
            this.fmt = fmt;
            this.stderrLevel = stderrLevel;
            this.stderr = stderr;
        }

        /** (Re)opens the file by name; when that fails the file stays closed and the error says why. */
        synchronized void open() throws IOException {
            closeFile();
            try {
                Files.createDirectories(logFile.getParent());
                file = new BufferedWriter(new OutputStreamWriter(Files.newOutputStream(logFile,
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND), StandardCharsets.UTF_8));
            } catch (java.nio.file.FileSystemException e) {
                String why = e.getReason() != null ? e.getReason()
                        : e instanceof java.nio.file.AccessDeniedException ? "Permission denied"
                        : e instanceof java.nio.file.NoSuchFileException ? "No such file or directory"
                        : e instanceof java.nio.file.FileAlreadyExistsException ? "File exists"
                        : e.getClass().getSimpleName();
                throw new IOException("cannot open " + logFile + ": " + why, e);
            }
        }

        synchronized void closeFile() {
            if (file != null) {
                try {
                    file.close();
                } catch (IOException e) {
                    // closing anyway
                }
                file = null;
            }
        }

        @Override
        public synchronized void publish(LogRecord r) {
            if (!isLoggable(r)) {
                return;
            }
            String line = fmt.format(r, SEQ.incrementAndGet());
            if (file != null) {
                try {
                    file.write(line);
                    file.flush();
                } catch (IOException e) {
                    reportError("cannot write " + logFile, e, 1);
                }
            }
            if (stderr != null && r.getLevel().intValue() >= stderrLevel.intValue()) {
                stderr.print(line);
                stderr.flush();
            }
        }

        @Override
        public synchronized void flush() {
            if (file != null) {
                try {
                    file.flush();
                } catch (IOException e) {
                    // reported on next write
                }
            }
        }

        @Override
        public void close() {
            closeFile();
        }
    }
}
