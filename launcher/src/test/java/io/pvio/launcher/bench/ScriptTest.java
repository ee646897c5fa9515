package io.pvio.launcher.bench;

import static org.junit.Assert.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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

    /** How a script run ended: its exit status, stdout and stderr. */
    record Run(int exit, String out, String err) {
    }

    /** Runs {@code script} (in launcher/) with bash and {@code args}; fails if it takes over {@code seconds}. */
    Run script(String script, long seconds, List<String> args) throws Exception {
        return script(script, seconds, args, Map.of());
    }

    /** {@link #script(String, long, List)} with {@code env} added to the script's environment. */
    Run script(String script, long seconds, List<String> args, Map<String, String> env) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("bash", new File(script).getAbsolutePath()));
        cmd.addAll(args);
        Path out = tmp.newFile().toPath();
        Path err = tmp.newFile().toPath();
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        assertTrue(script + " did not finish", p.waitFor(seconds, TimeUnit.SECONDS));
        return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
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
