package io.pvio.launcher;

import io.pvio.control.protocol.ControlClient;
import io.pvio.control.protocol.ControlProtocol;
import io.pvio.launcher.bench.Bench;
import io.pvio.launcher.bench.CoreLatency;
import io.pvio.launcher.daemon.Daemon;
import io.pvio.launcher.demo.Demo;
import io.pvio.launcher.log.LogSetup;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** pvio's command line: {@code pvio vswitchd|vsctl|ofctl|appctl|demo ...}. */
public final class Main {
    static final String USAGE = """
            usage: pvio COMMAND [--run-dir DIR] [ARG...]

              vswitchd [--shell] [--verbose] [--db unix:PATH|tcp:HOST:PORT]
                                               run the switch in the foreground (Ctrl-C or 'appctl exit' stops it);
                                               --db: configured by that ovsdb-server (ovs-vsctl), not conf.db
              vsctl ARG...                     configure bridges and ports (ovs-vsctl syntax)
              ofctl add-flow|add-flows|del-flows|dump-flows BRIDGE [FLOW|FILE]
              appctl COMMAND [ARG...]          run a daemon command ('appctl list-commands' lists them)
              demo [--seconds N] [--rate PPS] [--internal] [--engine model|dmadev]
                                               run a self-contained switch with two pktgen ports for N s,
                                               each sending PPS 1518-byte frames per second;
                                               --internal: the host pings the guest side through br0's
                                               internal port (needs root); --engine: its DMA copies on the
                                               IOAT model, or DPDK dmadev's dma_skeleton
              bench [--size 64,512,1518] [--mode cpu,async,async-cpu] [--direction enqueue,dequeue,pvp]
                    [--seconds 5] [--warmup 2] [--rate MPPS] [--json] [--no-pin]
                                               measure the vhost data path in-process (a table per case)
              c2c [--samples N]                one-way cache-line latency between two cores, in ns (run it
                                               under taskset -c A,B; launcher/bench-peer.sh records it)

            --run-dir DIR: the daemon's directory (conf.db, control socket, vswitchd.log, deploy/),
            default $PVIO_RUN_DIR or ./pvio-run.
            """;

    private Main() {
    }

    public static void main(String[] args) {
        if (System.getProperty("java.util.logging.manager") == null) {
            System.setProperty("java.util.logging.manager", "io.pvio.launcher.log.PvioLogManager");
        }
        System.exit(run(List.of(args), System.out, System.err));
    }

    /** Runs a command line and returns the exit status (tests call this directly). */
    public static int run(List<String> argv, PrintStream out, PrintStream err) {
        if (argv.isEmpty() || argv.get(0).equals("--help") || argv.get(0).equals("-h") || argv.get(0).equals("help")) {
            (argv.isEmpty() ? err : out).print(USAGE);
            return argv.isEmpty() ? 2 : 0;
        }
        String cmd = argv.get(0);
        Args a;
        try {
            a = Args.parse(argv.subList(1, argv.size()));
        } catch (IllegalArgumentException e) {
            err.println("pvio " + cmd + ": " + e.getMessage());
            return 2;
        }
        boolean local = cmd.equals("vswitchd") || cmd.equals("demo") || cmd.equals("c2c");
        if (local && (a.rest.contains("--help") || a.rest.contains("-h"))) {
            out.print(USAGE);
            return 0;
        }
        switch (cmd) {
            case "vswitchd":
                return vswitchd(a, err);
            case "vsctl":
            case "ofctl":
            case "appctl":
                return client(cmd, a, out, err);
            case "demo": {
                boolean internal = a.rest.remove("--internal");
                String engine = "model";
                int e = a.rest.indexOf("--engine");
                if (e >= 0 && e + 1 < a.rest.size()
                        && (a.rest.get(e + 1).equals("model") || a.rest.get(e + 1).equals("dmadev"))) {
                    engine = a.rest.get(e + 1);
                    a.rest.subList(e, e + 2).clear();
                }
                int rate = Demo.RATE;
                int r = a.rest.indexOf("--rate");
                if (r >= 0) {
                    String v = r + 1 < a.rest.size() ? a.rest.get(r + 1) : "";
                    try {
                        rate = Integer.parseInt(v);
                    } catch (NumberFormatException x) {
                        rate = -1;
                    }
                    if (rate < 1 || rate > 1_000_000) {
                        err.println("pvio demo: --rate needs packets per second, 1..1000000, not \"" + v + "\"");
                        return 2;
                    }
                    a.rest.subList(r, r + 2).clear();
                }
                if (!a.rest.isEmpty()) {
                    err.println("pvio demo: unknown option " + String.join(" ", a.rest) + " (usage: pvio demo"
                            + " [--seconds N] [--rate PPS] [--internal] [--engine model|dmadev] [--run-dir DIR])");
                    return 2;
                }
                return Demo.run(a.explicitRunDir ? a.runDir : null, a.seconds, internal, engine, rate, out, err);
            }
            case "bench":
                return Bench.run(a.explicitRunDir ? a.runDir : null, a.rest, a.explicitSeconds ? a.seconds : null,
                        out, err);
            case "c2c":
                return CoreLatency.run(a.rest, out, err);
            default:
                err.println("pvio: unknown command \"" + cmd + "\"");
                err.print(USAGE);
                return 2;
        }
    }

    /** --run-dir (all commands), --seconds (demo), --shell/--verbose (vswitchd); the rest is passed on. */
    static final class Args {
        Path runDir;
        boolean explicitRunDir;
        int seconds = 10;
        boolean explicitSeconds;
        boolean shell;
        boolean verbose;
        final List<String> rest = new ArrayList<>();

        static Args parse(List<String> in) {
            Args a = new Args();
            boolean forwarding = false; // after a standalone "--", everything belongs to the tool
            for (int i = 0; i < in.size(); i++) {
                String s = in.get(i);
                if (!forwarding && (s.equals("--run-dir") || s.startsWith("--run-dir="))) {
                    String v = s.contains("=") ? s.substring(s.indexOf('=') + 1) : i + 1 < in.size() ? in.get(++i) : null;
                    if (v == null || v.isEmpty()) {
                        throw new IllegalArgumentException("--run-dir needs a directory");
                    }
                    a.runDir = Path.of(v);
                    a.explicitRunDir = true;
                } else if (!forwarding && (s.equals("--seconds") || s.startsWith("--seconds="))) {
                    String v = s.contains("=") ? s.substring(s.indexOf('=') + 1) : i + 1 < in.size() ? in.get(++i) : "";
                    try {
                        a.seconds = Integer.parseInt(v);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("--seconds needs a number, not \"" + v + "\"");
                    }
                    a.explicitSeconds = true;
                    if (a.seconds < 1 || a.seconds > 86400) {
                        throw new IllegalArgumentException("--seconds must be 1..86400");
                    }
                } else {
                    if (s.equals("--")) {
                        forwarding = true;
                    }
                    a.rest.add(s);
                }
            }
            if (a.runDir == null) {
                String env = System.getenv("PVIO_RUN_DIR");
                a.runDir = Path.of(env == null || env.isEmpty() ? "pvio-run" : env);
            }
            return a;
        }
    }

    /** tcp:HOST:PORT's PORT is 1..65535. */
    private static boolean validPort(String target) {
        int p = Integer.parseInt(target.substring(target.lastIndexOf(':') + 1));
        return p >= 1 && p <= 65535;
    }

    private static int vswitchd(Args a, PrintStream err) {
        String db = null;
        for (int i = 0; i < a.rest.size(); i++) {
            String s = a.rest.get(i);
            if (s.equals("--db") || s.startsWith("--db=")) {
                db = s.contains("=") ? s.substring(5) : i + 1 < a.rest.size() ? a.rest.get(++i) : "";
                if (!db.matches("unix:.+|tcp:.+:\\d{1,5}") || db.startsWith("tcp:") && !validPort(db)) {
                    err.println("pvio vswitchd: --db needs unix:PATH or tcp:HOST:PORT, not \"" + db + "\"");
                    return 2;
                }
                continue;
            }
            switch (s) {
                case "--shell" -> a.shell = true;
                case "--verbose", "-v" -> a.verbose = true;
                case "--detach" -> {
                    err.println("pvio vswitchd: --detach is not supported; run it under systemd, nohup or '&'");
                    return 2;
                }
                default -> {
                    err.println("pvio vswitchd: unknown option " + s);
                    return 2;
                }
            }
        }
        Daemon d;
        try {
            d = Daemon.start(new Daemon.Options(a.runDir, a.shell, a.verbose, db), err);
        } catch (Exception e) {
            err.println("pvio vswitchd: cannot start: " + e.getMessage());
            return 1;
        }
        Path sock = ControlClient.socket(a.runDir.toAbsolutePath());
        for (int i = 0; i < 200 && !Files.exists(sock); i++) { // the control component may activate late
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (!a.shell && !Files.exists(sock)) { // without it no client reaches the daemon: not a running switch
            d.stop();
            LogSetup.uninstall();
            err.println("pvio vswitchd: cannot start: no control socket at " + sock + " (see "
                    + a.runDir.toAbsolutePath().resolve("vswitchd.log") + ")");
            return 1;
        }
        Thread hook = new Thread(() -> {
            d.stop();
            LogSetup.uninstall();
        }, "pvio-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            d.waitForStop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        d.stop();
        return 0;
    }

    private static int client(String tool, Args a, PrintStream out, PrintStream err) {
        List<String> argv = new ArrayList<>();
        argv.add(tool);
        argv.addAll(a.rest);
        int af = argv.indexOf("add-flows");
        Path stdinCopy = null;
        ControlProtocol.Reply r;
        try {
            if (tool.equals("ofctl") && af >= 0 && af + 2 < argv.size()) { // the daemon reads the file
                if (argv.get(af + 2).equals("-")) { // standard input, as ovs-ofctl: a private copy for the daemon
                    stdinCopy = Files.createTempFile("pvio-flows-", ".txt");
                    Files.copy(System.in, stdinCopy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    argv.set(af + 2, stdinCopy.toAbsolutePath().toString());
                } else {
                    argv.set(af + 2, Path.of(argv.get(af + 2)).toAbsolutePath().toString());
                }
            }
            r = ControlClient.call(ControlClient.socket(a.runDir.toAbsolutePath()), argv);
        } catch (ControlClient.NotRunningException e) {
            err.println(tool + ": " + e.getMessage());
            return 1;
        } catch (IOException e) {
            err.println(tool + ": talking to pvio-vswitchd: " + (e.getMessage() != null ? e.getMessage() : e));
            return 1;
        } finally {
            if (stdinCopy != null) {
                try {
                    Files.deleteIfExists(stdinCopy);
                } catch (IOException ignored) {
                    // a temporary file left behind
                }
            }
        }
        out.print(r.out());
        out.flush();
        err.print(r.err());
        err.flush();
        return r.status();
    }
}
