package io.pvio.launcher.log;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;

/**
 * OVS's vswitchd.log line: {@code 2026-11-24T12:53:48.123Z|00010|dpdk|INFO|message} (UTC time with
 * milliseconds, a per-process sequence number of at least 5 digits, the module = the logger's name, the
 * level as ERR/WARN/INFO/DBG). A record with an exception gets its stack trace on the following lines.
 */
public final class VswitchdFormatter extends Formatter {
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
    private final AtomicLong seq;

    /** @param seq the sequence shared by every handler of the process (one number per record) */
    public VswitchdFormatter(AtomicLong seq) {
        this.seq = seq;
    }

    public static String level(Level l) {
        int v = l.intValue();
        if (v >= Level.SEVERE.intValue()) {
            return "ERR";
        }
        if (v >= Level.WARNING.intValue()) {
            return "WARN";
        }
        if (v >= Level.INFO.intValue()) {
            return "INFO";
        }
        return "DBG";
    }

    /** The module of a record: the logger name ("root" for the anonymous root logger). */
    static String module(LogRecord r) {
        String n = r.getLoggerName();
        return n == null || n.isEmpty() ? "root" : n;
    }

    @Override
    public String format(LogRecord r) {
        return format(r, seq.incrementAndGet());
    }

    /** Formats with a sequence number taken by the caller. */
    public String format(LogRecord r, long n) {
        StringBuilder sb = new StringBuilder(128);
        sb.append(TIME.format(Instant.ofEpochMilli(r.getMillis()))).append('|');
        sb.append(String.format("%05d", n)).append('|');
        sb.append(module(r)).append('|').append(level(r.getLevel())).append('|');
        String msg = formatMessage(r);
        sb.append(msg == null ? "" : msg.replace("\n", "\n    "));
        if (r.getThrown() != null) {
            StringWriter sw = new StringWriter();
            r.getThrown().printStackTrace(new PrintWriter(sw));
            sb.append('\n').append(sw.toString().stripTrailing().replace("\n", "\n    ").replaceFirst("^", "    "));
        }
        return sb.append('\n').toString();
    }
}
