package io.pvio.vhost;

import static org.junit.Assume.assumeTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** DPDK's dpdk-testpmd with a virtio-user port, run without hugepages, as in dpdk-vhost-peer.sh. */
final class Testpmd implements AutoCloseable {
    private static final AtomicInteger SEQ = new AtomicInteger();
    private static final Pattern RX = Pattern.compile("RX-packets:\\s+(\\d+)");
    private static final Pattern TX = Pattern.compile("TX-packets:\\s+(\\d+)");

    final Process proc;
    final Path log;
    final String prefix;
    private final java.io.OutputStream stdin;

    static String binary() {
        for (String d : new String[] {"/usr/bin", "/usr/local/bin"}) {
            File f = new File(d, "dpdk-testpmd");
            if (f.canExecute()) {
                return f.getPath();
            }
        }
        return null;
    }

    /** Assume-skips without testpmd, but fails when CI=true. */
    static String require() {
        String b = binary();
        if (b == null && "true".equals(System.getenv("CI"))) {
            fail("dpdk-testpmd is not installed (CI=true): install the Debian package dpdk");
        }
        assumeTrue("dpdk-testpmd is not installed: skipping the DPDK front-end tests", b != null);
        return b;
    }

    /**
     * @param devargs extra virtio-user devargs, e.g. "server=1" or "queues=2,mrg_rxbuf=0"
     * @param fwd     rxonly or txonly
     */
    Testpmd(Path socket, String devargs, String fwd, int queues, int txpkts, Path dir) throws Exception {
        this(socket, devargs, fwd, queues, txpkts, dir, false);
    }

    /** With {@code interactive}, testpmd reads commands from {@link #command} (start, stop, quit). */
    Testpmd(Path socket, String devargs, String fwd, int queues, int txpkts, Path dir, boolean interactive)
            throws Exception {
        String bin = require();
        prefix = "pvio-vh-" + ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet();
        log = dir.resolve(prefix + ".log");
        String vdev = "net_virtio_user0,path=" + socket + ",queues=" + queues + (devargs.isEmpty() ? "" : "," + devargs);
        List<String> cmd = new ArrayList<>(List.of("stdbuf", "-oL", bin, "--lcores", "0@0,1@1", "--no-pci", "--no-huge", "-m", "256",
                "--file-prefix=" + prefix, "--no-telemetry", "--vdev", vdev, "--", "--total-num-mbufs=8192",
                "--nb-cores=1", "--rxq=" + queues, "--txq=" + queues, "--burst=32", "--forward-mode=" + fwd,
                interactive ? "-i" : "--stats-period=1"));
        if (txpkts > 1518) {
            cmd.add("--mbuf-size=" + ((txpkts + 128 + 63) / 64 * 64));
            cmd.add("--max-pkt-len=" + (txpkts + 4));
        }
        if (fwd.equals("txonly")) {
            cmd.add("--txpkts=" + txpkts);
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        if (!interactive) {
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        }
        proc = pb.start();
        stdin = interactive ? proc.getOutputStream() : null;
    }

    /** Sends one interactive command. */
    void command(String line) throws Exception {
        stdin.write((line + "\n").getBytes(StandardCharsets.US_ASCII));
        stdin.flush();
    }

    /** Waits until the output contains {@code text} {@code times} times. */
    void awaitOutput(String text, int times, long timeoutMs) throws Exception {
        long end = System.currentTimeMillis() + timeoutMs;
        while (System.currentTimeMillis() < end) {
            String out = output();
            int n = 0;
            for (int i = out.indexOf(text); i >= 0; i = out.indexOf(text, i + 1)) {
                n++;
            }
            if (n >= times) {
                return;
            }
            if (!proc.isAlive()) {
                fail("testpmd exited (" + proc.exitValue() + ") before printing '" + text + "':\n" + tail(out));
            }
            Thread.sleep(50);
        }
        fail("testpmd did not print '" + text + "' within " + timeoutMs + " ms:\n" + tail(output()));
    }

    String output() {
        try {
            return Files.readString(log, StandardCharsets.ISO_8859_1);
        } catch (Exception e) {
            return "";
        }
    }

    /** Waits until testpmd forwards (prints its first port statistics). */
    void awaitForwarding(long timeoutMs) throws Exception {
        long end = System.currentTimeMillis() + timeoutMs;
        while (System.currentTimeMillis() < end) {
            String out = output();
            if (out.contains("Port statistics")) {
                return;
            }
            if (!proc.isAlive()) {
                fail("testpmd exited (" + proc.exitValue() + "):\n" + tail(out));
            }
            Thread.sleep(50);
        }
        fail("testpmd did not start forwarding within " + timeoutMs + " ms:\n" + tail(output()));
    }

    /** Last RX-packets value printed so far (periodic statistics), or -1. */
    long lastRx() {
        return last(RX, output());
    }

    long lastTx() {
        return last(TX, output());
    }

    static long last(Pattern p, String out) {
        Matcher m = p.matcher(out);
        long v = -1;
        while (m.find()) {
            v = Long.parseLong(m.group(1));
        }
        return v;
    }

    /** SIGTERM, then waits for the exit (testpmd prints its final statistics). */
    String stop() throws Exception {
        proc.destroy();
        if (!proc.waitFor(20, TimeUnit.SECONDS)) {
            proc.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        return output();
    }

    /** SIGKILL: the front end disappears without a word. */
    void kill() throws Exception {
        proc.destroyForcibly();
        proc.waitFor(10, TimeUnit.SECONDS);
    }

    static String tail(String out) {
        String[] lines = out.split("\n");
        StringBuilder sb = new StringBuilder();
        for (int i = Math.max(0, lines.length - 30); i < lines.length; i++) {
            sb.append(lines[i]).append('\n');
        }
        return sb.toString();
    }

    @Override
    public void close() throws Exception {
        if (proc.isAlive()) {
            proc.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        for (String d : new String[] {"/var/run/dpdk/", System.getenv().getOrDefault("XDG_RUNTIME_DIR", "/tmp") + "/dpdk/"}) {
            File f = new File(d + prefix);
            File[] kids = f.listFiles();
            if (kids != null) {
                for (File k : kids) {
                    k.delete();
                }
            }
            f.delete();
        }
    }
}
