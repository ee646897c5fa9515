package io.pvio.launcher;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.junit.Test;

public class MainTest {
    @Test
    public void runDirIsTakenOutAndTheRestPassedOn() {
        Main.Args a = Main.Args.parse(List.of("--run-dir", "/x", "add-br", "b", "--", "set", "Interface", "p",
                "options:run-dir=1", "--run-dir", "y"));
        assertEquals(Path.of("/x"), a.runDir);
        assertEquals(List.of("add-br", "b", "--", "set", "Interface", "p", "options:run-dir=1", "--run-dir", "y"),
                a.rest);
        assertEquals(Path.of("/z"), Main.Args.parse(List.of("show", "--run-dir=/z")).runDir);
    }

    @Test
    public void noDaemonIsAClearErrorWithStatus1() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = Main.run(List.of("vsctl", "--run-dir", "/nonexistent/pvio", "show"), new PrintStream(
                new ByteArrayOutputStream()), new PrintStream(err, true));
        assertEquals(1, rc);
        assertEquals("vsctl: pvio-vswitchd is not running (no socket at /nonexistent/pvio/pvio-vswitchd.ctl)\n",
                err.toString());
    }

    @Test
    public void unknownCommandAndBadOptions() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream e = new PrintStream(err, true);
        PrintStream o = new PrintStream(new ByteArrayOutputStream());
        assertEquals(2, Main.run(List.of("frob"), o, e));
        assertTrue(err.toString().contains("unknown command \"frob\""));
        assertEquals(2, Main.run(List.of("demo", "--seconds", "x"), o, e));
        assertEquals(2, Main.run(List.of("vswitchd", "--detach"), o, e));
        assertEquals(2, Main.run(List.of("vswitchd", "--db", "ssl:1.2.3.4:6640"), o, e));
        assertTrue(err.toString(), err.toString().contains("--db needs unix:PATH or tcp:HOST:PORT, not \"ssl:"));
        assertEquals(2, Main.run(List.of("vswitchd", "--db"), o, e));
        for (String port : List.of("0", "65536", "99999", "123456")) {
            assertEquals(port, 2, Main.run(List.of("vswitchd", "--db", "tcp:127.0.0.1:" + port), o, e));
            assertTrue(err.toString(), err.toString().contains("not \"tcp:127.0.0.1:" + port + "\""));
        }
        assertEquals(2, Main.run(List.of(), o, e));
        assertEquals(2, Main.run(List.of("demo", "--frob"), o, e));
        assertTrue(err.toString(), err.toString().contains("pvio demo: unknown option --frob"));
        assertEquals(2, Main.run(List.of("demo", "--rate", "0"), o, e));
        assertTrue(err.toString(), err.toString().contains("pvio demo: --rate needs packets per second, 1..1000000,"
                + " not \"0\""));
        assertEquals(2, Main.run(List.of("demo", "--rate"), o, e));
    }

    @Test
    public void helpOfALocalCommandPrintsTheUsageAndRunsNothing() {
        for (String cmd : List.of("demo", "vswitchd", "c2c")) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            assertEquals(cmd, 0, Main.run(List.of(cmd, "--help"), new PrintStream(out, true),
                    new PrintStream(err, true)));
            assertTrue(cmd + ": " + out, out.toString().startsWith("usage: pvio"));
            assertEquals(cmd, "", err.toString());
        }
    }
}
