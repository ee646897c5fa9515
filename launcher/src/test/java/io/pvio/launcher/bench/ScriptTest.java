package io.pvio.launcher.bench;

import java.io.File;
import java.nio.file.Path;
import org.junit.Assume;
import org.junit.Before;
import org.junit.Rule;
import org.junit.rules.TemporaryFolder;

/** A test of a launcher script, run by bash with its files in {@link #dir}; skipped where bash is missing. */
abstract class ScriptTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    /** The test's own folder (stand-in peers, jars, outputs). */
    Path dir;

    @Before
    public void needsBash() {
        Assume.assumeTrue("needs bash", onPath("bash"));
        dir = tmp.getRoot().toPath();
    }

    static boolean onPath(String cmd) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (new File(d, cmd).canExecute()) {
                return true;
            }
        }
        return false;
    }
}
