package io.pvio.launcher.daemon;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** What a demo or bench leaves of its temporary run directory: the log alone. */
public class InProcessTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void aTemporaryRunDirectoryKeepsOnlyItsLog() throws Exception {
        Path dir = tmp.newFolder("pvio-demo-1").toPath();
        Files.writeString(dir.resolve("vswitchd.log"), "2026-12-07T10:00:00.000Z|00001|vswitchd|INFO|started\n");
        Files.writeString(dir.resolve("conf.db"), "{}");
        Files.createDirectories(dir.resolve("felix-cache/bundle1/version0.0"));
        Files.write(dir.resolve("felix-cache/bundle1/version0.0/bundle.jar"), new byte[4096]);
        Files.createDirectories(dir.resolve("deploy"));
        ByteArrayOutputStream err = new ByteArrayOutputStream();

        InProcess.keepOnlyLog(dir, new PrintStream(err, true));
        try (var left = Files.list(dir)) {
            assertEquals(List.of("vswitchd.log"), left.map(p -> p.getFileName().toString()).toList());
        }
        assertEquals("", err.toString());
    }

    @Test
    public void withoutALogNothingIsLeft() throws Exception {
        Path dir = tmp.newFolder("pvio-bench-1").toPath();
        Files.createDirectories(dir.resolve("jna"));
        Files.writeString(dir.resolve("jna/libjnidispatch.so"), "x");
        InProcess.keepOnlyLog(dir, new PrintStream(new ByteArrayOutputStream(), true));
        assertFalse(Files.exists(dir));
    }
}
