package io.pvio.launcher.it.guest;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** pvio.jar's daemon as a process on its own run directory, and its clients (vsctl, ofctl, appctl). */
public final class PvioDaemon implements AutoCloseable {
    private static final long TIMEOUT_MS = 60_000;
    private static final Pattern IN_USE = Pattern.compile("in use (\\d+)");
    private final String jar = System.getProperty("pvio.jar", "target/pvio.jar");
    private final String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    private final Path runDir;
    private Process daemon;

    public record Out(int status, String out, String err) {
    }

    public PvioDaemon(Path runDir) {
        this.runDir = runDir;
    }

    public Path runDir() {
        return runDir;
    }

    public void start() throws IOException, InterruptedException {
        Files.createDirectories(runDir);
        File log = runDir.resolveSibling(runDir.getFileName() + ".out").toFile();
        daemon = new ProcessBuilder(java, "-jar", jar, "vswitchd", "--run-dir", runDir.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        Path sock = runDir.resolve("pvio-vswitchd.ctl");
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
        while (!Files.exists(sock)) {
            if (!daemon.isAlive()) {
                throw new AssertionError("pvio vswitchd exited early, see " + log);
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no control socket within " + TIMEOUT_MS + " ms, see " + log);
            }
            Thread.sleep(50);
        }
    }

    /** Runs {@code pvio TOOL --run-dir RUN_DIR ARGS...}. */
    public Out pvio(String tool, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(java, "-jar", jar, tool, "--run-dir", runDir.toString()));
        cmd.addAll(Arrays.asList(args));
        Path out = Files.createTempFile("pvio-out", ".txt");
        Path err = Files.createTempFile("pvio-err", ".txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        try {
            if (!p.waitFor(TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                throw new AssertionError("pvio " + tool + " " + String.join(" ", args) + " did not finish");
            }
            return new Out(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** A client command that must exit 0; its standard output. */
    public String ok(String tool, String... args) throws IOException, InterruptedException {
        Out o = pvio(tool, args);
        if (o.status() != 0) {
            throw new AssertionError("pvio " + tool + " " + String.join(" ", args) + " exited " + o.status()
                    + ": " + o.err());
        }
        return o.out();
    }

    /** Packet buffers in use in the datapath's pool ({@code appctl memory/show}). */
    public int buffersInUse() throws IOException, InterruptedException {
        String show = ok("appctl", "memory/show");
        Matcher m = IN_USE.matcher(show);
        if (!m.find()) {
            throw new AssertionError("no \"in use N\" in memory/show: " + show);
        }
        return Integer.parseInt(m.group(1));
    }

    public String log() throws IOException {
        return Files.readString(runDir.resolve("vswitchd.log"));
    }

    /** {@code appctl exit}, SIGKILL if the daemon is still there after a minute. */
    @Override
    public void close() throws IOException, InterruptedException {
        if (daemon == null || !daemon.isAlive()) {
            return;
        }
        pvio("appctl", "exit");
        if (!daemon.waitFor(TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
            daemon.destroyForcibly();
        }
    }
}
