package io.pvio.dma.dmadev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.Test;

/** Without gcc the shim's build says so, succeeds, and builds nothing (the engine is refused at run time). */
public class BuildScriptTest {
    @Test
    public void withoutGccTheBuildSaysSoAndBuildsNothing() throws Exception {
        Path out = Files.createTempDirectory("dmadev-shim");
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "src/main/native/build.sh", out.toString())
                .redirectErrorStream(true);
        pb.environment().put("PATH", out.toString()); // no gcc, no pkg-config there
        Process p = pb.start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(text, 0, p.waitFor());
        assertTrue(text, text.contains("NOT building the dmadev shim: missing gcc"));
        assertTrue(text, text.contains("engine=dmadev will be refused"));
        assertFalse(Files.exists(out.resolve("libpvio_dmadev.so")));
        Files.delete(out);
    }
}
