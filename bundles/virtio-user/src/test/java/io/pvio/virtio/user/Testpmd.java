package io.pvio.virtio.user;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Assume;

/**
 * dpdk-testpmd with DPDK's vhost PMD (net_vhost) as a real, independent vhost-user back end, launched the
 * way /work/shared/peers/dpdk-vhost-peer.sh does it: no hugepages, its own file prefix, io forwarding so
 * that a single port sends back what it receives.
 */
final class Testpmd implements AutoCloseable {
    static final String BINARY = System.getProperty("pvio.testpmd", "/usr/bin/dpdk-testpmd");
    private static final AtomicInteger SEQ = new AtomicInteger();

    /** Skips the test when testpmd is missing, unless CI=true (then it fails). */
    static void assume() {
        boolean present = new File(BINARY).canExecute();
        if (!present && "true".equals(System.getenv("CI"))) {
            throw new AssertionError("CI=true but " + BINARY + " is missing: install the dpdk package");
        }
        Assume.assumeTrue(BINARY + " not installed", present);
    }

    final Path socket;
    final Path log;
    private final String prefix;
    private final List<String> cmd = new ArrayList<>();
    private Process process;

    /**
     * @param client   net_vhost client=1 (connects to our server socket)
     * @param queues   queue pairs
     * @param fwdMode  testpmd forward mode (io, macswap, rxonly...)
     */
    Testpmd(Path socket, Path dir, boolean client, int queues, String fwdMode) {
        this.socket = socket;
        int n = SEQ.incrementAndGet();
        this.prefix = "pvio-vu-" + ProcessHandle.current().pid() + "-" + n;
        this.log = dir.resolve("testpmd-" + n + ".log");
        int cpus = Runtime.getRuntime().availableProcessors();
        String fwdCpu = cpus > 1 ? "1" : "0";
        String vdev = "net_vhost0,iface=" + socket + ",queues=" + queues + (client ? ",client=1" : "");
        cmd.addAll(List.of(BINARY, "--lcores", "0@0,1@" + fwdCpu, "--no-pci", "--no-huge", "-m", "512",
                "--file-prefix=" + prefix, "--no-telemetry", "--vdev", vdev));
        String extra = System.getProperty("pvio.testpmd.eal", "");
        if (!extra.isBlank()) {
            cmd.addAll(List.of(extra.trim().split("[,\\s]+")));
        }
        cmd.addAll(List.of("--",
                "--total-num-mbufs=8192", "--nb-cores=1", "--rxq=" + queues, "--txq=" + queues,
                "--mbuf-size=10240", "--max-pkt-len=9600", "--forward-mode=" + fwdMode, "--stats-period=1"));
    }

    Testpmd start() throws IOException {
        process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        return this;
    }

    /** Waits until the server-mode vhost socket exists (testpmd listening). */
    void awaitSocket(long timeoutMs) throws Exception {
        long end = System.currentTimeMillis() + timeoutMs;
        while (!Files.exists(socket)) {
            if (!process.isAlive()) {
                throw new AssertionError("testpmd exited: " + tail());
            }
            if (System.currentTimeMillis() > end) {
                throw new AssertionError("testpmd did not create " + socket + ": " + tail());
            }
            Thread.sleep(20);
        }
    }

    /**
     * Waits until testpmd forwards (its first periodic statistics): frames sent earlier may be discarded by
     * the RX flush testpmd does when forwarding starts.
     */
    void awaitForwarding(long timeoutMs) throws Exception {
        long end = System.currentTimeMillis() + timeoutMs;
        for (;;) {
            if (Files.exists(log) && Files.readString(log, java.nio.charset.StandardCharsets.ISO_8859_1)
                    .contains("Port statistics")) {
                return;
            }
            if (!process.isAlive()) {
                throw new AssertionError("testpmd exited: " + tail());
            }
            if (System.currentTimeMillis() > end) {
                throw new AssertionError("testpmd is not forwarding: " + tail());
            }
            Thread.sleep(50);
        }
    }

    boolean alive() {
        return process != null && process.isAlive();
    }

    String tail() {
        try {
            List<String> l = new ArrayList<>();
            for (String x : Files.readAllLines(log)) {
                if (!x.isBlank() && !x.contains("pps") && !x.contains("####") && !x.contains("RX-errors")
                        && !x.contains("RX-nombuf") && !x.contains("Port statistics") && !x.contains("Throughput")) {
                    l.add(x);
                }
            }
            return String.join("\n", l.subList(Math.max(0, l.size() - 30), l.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** SIGKILL (a crash, as far as the front end can tell). */
    void kill() throws InterruptedException {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        cleanup();
    }

    private void cleanup() {
        deleteTree(Path.of("/var/run/dpdk", prefix));
        deleteTree(Path.of(System.getenv().getOrDefault("XDG_RUNTIME_DIR", "/tmp"), "dpdk", prefix));
    }

    private static void deleteTree(Path p) {
        if (!Files.exists(p)) {
            return;
        }
        try (var s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        }
        cleanup();
    }
}
