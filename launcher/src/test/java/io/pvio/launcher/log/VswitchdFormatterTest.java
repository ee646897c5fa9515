package io.pvio.launcher.log;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class VswitchdFormatterTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private static LogRecord rec(Level l, String logger, String msg, long millis) {
        LogRecord r = new LogRecord(l, msg);
        r.setLoggerName(logger);
        r.setInstant(java.time.Instant.ofEpochMilli(millis));
        return r;
    }

    @Test
    public void lineHasOvsShape() {
        VswitchdFormatter f = new VswitchdFormatter(new AtomicLong(9));
        // 2020-10-09T12:53:48.123Z
        long t = java.time.Instant.parse("2020-10-09T12:53:48.123Z").toEpochMilli();
        assertEquals("2020-10-09T12:53:48.123Z|00010|dpdk|INFO|hello\n", f.format(rec(Level.INFO, "dpdk", "hello", t)));
        assertEquals("2020-10-09T12:53:48.123Z|00011|bridge|ERR|x\n", f.format(rec(Level.SEVERE, "bridge", "x", t)));
        assertEquals("2020-10-09T12:53:48.123Z|00012|bridge|WARN|x\n", f.format(rec(Level.WARNING, "bridge", "x", t)));
        assertEquals("2020-10-09T12:53:48.123Z|00013|bridge|DBG|x\n", f.format(rec(Level.FINE, "bridge", "x", t)));
        assertEquals("2020-10-09T12:53:48.123Z|123456|root|DBG|x\n", f.format(rec(Level.FINEST, "", "x", t), 123456));
    }

    @Test
    public void parametersAndExceptionsAreFormatted() {
        VswitchdFormatter f = new VswitchdFormatter(new AtomicLong());
        LogRecord r = rec(Level.SEVERE, "unixctl", "port {0} failed", 0);
        r.setParameters(new Object[] {"p1"});
        r.setThrown(new IllegalStateException("boom"));
        String s = f.format(r);
        assertTrue(s, s.startsWith("1970-01-01T00:00:00.000Z|00001|unixctl|ERR|port p1 failed\n    java.lang.IllegalStateException: boom\n"));
        assertTrue(s.endsWith("\n"));
    }

    @Test
    public void installedHandlerWritesTheFileWithOneSequence() throws Exception {
        Path log = tmp.getRoot().toPath().resolve("run/vswitchd.log");
        LogSetup.install(log, false, null);
        try {
            Logger l = Logger.getLogger("bridge");
            l.info("one");
            l.warning("two");
            l.fine("not at INFO");
        } finally {
            LogSetup.uninstall();
        }
        List<String> lines = Files.readAllLines(log);
        assertEquals(2, lines.size());
        assertTrue(lines.get(0), lines.get(0).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\|\\d{5}\\|bridge\\|INFO\\|one"));
        long a = Long.parseLong(lines.get(0).split("\\|")[1]);
        long b = Long.parseLong(lines.get(1).split("\\|")[1]);
        assertEquals(a + 1, b);
        assertTrue(lines.get(1).endsWith("|bridge|WARN|two"));
    }
}
