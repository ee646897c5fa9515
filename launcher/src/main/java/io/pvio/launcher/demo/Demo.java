package io.pvio.launcher.demo;

import io.pvio.control.protocol.ControlClient;
import io.pvio.control.protocol.ControlProtocol;
import io.pvio.launcher.daemon.Daemon;
import io.pvio.launcher.log.LogSetup;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code pvio demo}: the switch in-process with a fresh run directory, bridge br0 with two pktgen ports
 * cross-connected by two flows, live counters once a second, then a clean stop and a summary proving that
 * every packet was accounted for and no buffer leaked.
 */
public final class Demo {
    static final String[] PORTS = {"pg0", "pg1"};
    private static final Pattern COUNTER = Pattern.compile("\"?([A-Za-z0-9_]+)\"?=(-?\\d+)");

    private final Path socket;
    private final PrintStream out;

    private Demo(Path socket, PrintStream out) {
        this.socket = socket;
        this.out = out;
    }

    public static int run(Path runDir, int seconds, PrintStream out, PrintStream err) {
        Daemon d = null;
        Thread hook = null;
        try {
            Path dir = runDir != null ? runDir.toAbsolutePath() : Files.createTempDirectory("pvio-demo-");
            Path sock = ControlClient.socket(dir);
            if (Files.exists(sock)) {
                try {
                    ControlClient.call(sock, List.of("appctl", "version"));
                    err.println("pvio demo: a pvio-vswitchd already runs in " + dir + "; the demo needs a run"
                            + " directory of its own (omit --run-dir for a temporary one)");
                    return 1;
                } catch (IOException e) {
                    // stale socket: the demo's daemon replaces it
                }
            }
            out.println("pvio demo: run directory " + dir + " (log: " + dir.resolve("vswitchd.log") + ")");
            d = Daemon.start(new Daemon.Options(dir, false, false), err);
            Daemon daemon = d;
            hook = new Thread(daemon::stop, "pvio-demo-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            Demo demo = new Demo(sock, out);
            return demo.run(seconds);
        } catch (Exception e) {
            err.println("pvio demo: " + e.getMessage());
            return 1;
        } finally {
            if (d != null) {
                d.stop();
                LogSetup.uninstall();
            }
            if (hook != null) {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException e) {
                    // already shutting down
                }
            }
        }
    }

    private ControlProtocol.Reply call(String... argv) throws IOException {
        return ControlClient.call(socket, List.of(argv));
    }

    private String must(String... argv) throws IOException {
        ControlProtocol.Reply r = call(argv);
        if (r.status() != 0) {
            throw new IOException(String.join(" ", argv) + ": " + r.err().strip());
        }
        return r.out();
    }

    private void waitReady() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        String last = "no control socket";
        while (System.nanoTime() < deadline) {
            try {
                ControlProtocol.Reply r = call("appctl", "memory/show");
                if (r.status() == 0) {
                    return;
                }
                last = r.err().strip();
            } catch (IOException e) {
                last = e.getMessage();
            }
            Thread.sleep(100);
        }
        throw new IOException("the switch did not come up within 30 s: " + last);
    }

    /** Each port's statistics column as numbers. */
    private List<Map<String, Long>> stats() throws IOException {
        List<String> argv = new ArrayList<>(List.of("vsctl"));
        for (String p : PORTS) {
            argv.addAll(List.of("--", "get", "Interface", p, "statistics"));
        }
        ControlProtocol.Reply r = ControlClient.call(socket, argv);
        if (r.status() != 0) {
            throw new IOException(r.err().strip());
        }
        List<Map<String, Long>> out = new ArrayList<>();
        for (String line : r.out().split("\n")) {
            Map<String, Long> m = new LinkedHashMap<>();
            Matcher mt = COUNTER.matcher(line);
            while (mt.find()) {
                m.put(mt.group(1), Long.parseLong(mt.group(2)));
            }
            out.add(m);
        }
        return out;
    }

    private static long get(Map<String, Long> m, String k) {
        return m.getOrDefault(k, 0L);
    }

    /** "pmd core 0 93.1% busy" parts of pmd-stats-show. */
    private String pmdSummary() {
        try {
            ControlProtocol.Reply r = call("appctl", "dpif-netdev/pmd-stats-show");
            if (r.status() != 0) {
                return "";
            }
            StringBuilder sb = new StringBuilder();
            Matcher core = Pattern.compile("core_id (\\d+)").matcher("");
            Matcher busy = Pattern.compile("processing cycles: \\d+ \\(([0-9.]+)%\\)").matcher("");
            for (String line : r.out().split("\n")) {
                if (core.reset(line).find()) {
                    sb.append(sb.length() == 0 ? "" : ", ").append("pmd ").append(core.group(1));
                } else if (busy.reset(line).find()) {
                    sb.append(' ').append(busy.group(1)).append("% busy");
                }
            }
            return sb.toString();
        } catch (IOException e) {
            return "";
        }
    }

    private int run(int seconds) throws IOException, InterruptedException {
        waitReady();
        // flows first, so that no packet meets the default NORMAL flow or an empty table
        must("vsctl", "--may-exist", "add-br", "br0");
        must("ofctl", "del-flows", "br0");
        must("ofctl", "add-flow", "br0", "in_port=1,actions=output:2");
        must("ofctl", "add-flow", "br0", "in_port=2,actions=output:1");
        // the ports open one after the other: they start paused, then both generators start at once
        must("vsctl", "--may-exist", "add-port", "br0", "pg0", "--", "set", "Interface", "pg0", "type=pktgen",
                "options:size=64", "options:enabled=false", "ofport_request=1",
                "--", "--may-exist", "add-port", "br0", "pg1", "--", "set", "Interface", "pg1", "type=pktgen",
                "options:size=64", "options:enabled=false", "ofport_request=2");
        must("vsctl", "remove", "Interface", "pg0", "options", "enabled", "--", "remove", "Interface", "pg1",
                "options", "enabled");
        out.print(must("vsctl", "show"));
        out.print(must("ofctl", "dump-flows", "br0"));
        out.println();
        long[] prevGen = new long[PORTS.length];
        long[] prevRx = new long[PORTS.length];
        long t0 = System.nanoTime();
        long prevT = t0;
        for (int s = 1; s <= seconds; s++) {
            long next = t0 + s * 1_000_000_000L;
            long wait = (next - System.nanoTime()) / 1_000_000;
            if (wait > 0) {
                Thread.sleep(wait);
            }
            List<Map<String, Long>> st = stats();
            long now = System.nanoTime();
            double dt = (now - prevT) / 1e9;
            prevT = now;
            StringBuilder line = new StringBuilder(String.format("[%3ds]", s));
            for (int i = 0; i < PORTS.length; i++) {
                Map<String, Long> m = i < st.size() ? st.get(i) : Map.of();
                long gen = get(m, "generated");
                long rx = get(m, "received");
                line.append(String.format("  %s: sent %7.3f Mpps, received %7.3f Mpps", PORTS[i],
                        (gen - prevGen[i]) / dt / 1e6, (rx - prevRx[i]) / dt / 1e6));
                prevGen[i] = gen;
                prevRx[i] = rx;
            }
            String pmd = pmdSummary();
            if (!pmd.isEmpty()) {
                line.append("  | ").append(pmd);
            }
            out.println(line);
        }
        // stop the generators (count below what they sent), then let the datapath drain
        must("vsctl", "set", "Interface", "pg0", "options:count=1", "--", "set", "Interface", "pg1", "options:count=1");
        List<Map<String, Long>> last = stats();
        for (int i = 0; i < 50; i++) {
            Thread.sleep(100);
            List<Map<String, Long>> now = stats();
            if (now.equals(last)) {
                break;
            }
            last = now;
        }
        out.println();
        out.println(String.format("%-6s %14s %14s %14s %10s %10s", "port", "sent", "received", "valid", "lost",
                "corrupt"));
        long sent = 0;
        long valid = 0;
        long bad = 0;
        for (int i = 0; i < PORTS.length; i++) {
            Map<String, Long> m = last.get(i);
            out.println(String.format("%-6s %14d %14d %14d %10d %10d", PORTS[i], get(m, "generated"),
                    get(m, "received"), get(m, "rx_valid"), get(m, "rx_lost"), get(m, "rx_corrupt")));
            sent += get(m, "generated");
            valid += get(m, "rx_valid");
            bad += get(m, "rx_corrupt") + get(m, "rx_duplicate") + get(m, "rx_other");
        }
        must("vsctl", "del-br", "br0");
        String mem = must("appctl", "memory/show").strip();
        Matcher inUse = Pattern.compile("in use (\\d+)").matcher(mem);
        long buffers = inUse.find() ? Long.parseLong(inUse.group(1)) : -1;
        out.println(String.format("total: sent %d, valid %d (%.2f%%), lost or dropped %d; buffers in use after"
                + " the ports closed: %d", sent, valid, sent > 0 ? 100.0 * valid / sent : 0.0, sent - valid, buffers));
        return buffers == 0 && bad == 0 ? 0 : 1;
    }
}
