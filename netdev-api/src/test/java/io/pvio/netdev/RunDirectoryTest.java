package io.pvio.netdev;

import static org.junit.Assert.assertEquals;

import java.nio.file.Path;
import java.util.Map;
import org.junit.Test;

public class RunDirectoryTest {
    @Test
    public void configurationWinsOverFrameworkProperty() {
        assertEquals(Path.of("/cfg"), RunDirectory.resolve(Map.of("run.dir", "/cfg"), k -> "/fw"));
    }

    @Test
    public void frameworkPropertyWhenNotConfiguredOrBlank() {
        assertEquals(Path.of("/fw"), RunDirectory.resolve(Map.of(), k -> k.equals("pvio.run.dir") ? "/fw" : null));
        assertEquals(Path.of("/fw"), RunDirectory.resolve(Map.of("run.dir", " "), k -> "/fw"));
    }

    @Test
    public void defaultIsPvioRunInTheWorkingDirectory() {
        Path cwd = Path.of("").toAbsolutePath();
        assertEquals(cwd.resolve("pvio-run"), RunDirectory.resolve(null, null));
        assertEquals(cwd.resolve("pvio-run"), RunDirectory.resolve(Map.of(), k -> null));
        assertEquals(cwd.resolve("x"), RunDirectory.resolve(Map.of("run.dir", "a/../x"), null));
    }
}
