package io.pvio.launcher.bench;

import io.pvio.control.protocol.ControlClient;
import io.pvio.control.protocol.ControlProtocol;
import io.pvio.launcher.daemon.InProcess;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code pvio bench}: builds each case's switch inside this process (the daemon in-process, driven through
 * its own control socket, exactly as vsctl/ofctl/appctl would), runs the generator for a warm-up, then
 * measures a window: throughput as validated by the sink pktgen, PMD busy time per packet
 * (dpif-netdev/pmd-stats-show), bytes allocated per packet by the PMD threads and GCs (MXBeans), DMA/CPU
 * copy counts of the vhost ports. After the window the generator stops, the path drains and every packet
 * is accounted for: delivered valid, dropped by a port (counted), corrupt, or lost (unaccounted).
 */
public final class Bench {
    private static final Pattern COUNTER = Pattern.compile("\"?([A-Za-z0-9_]+)\"?=(-?\\d+)");
    private static final String[] PMDS = {"pmd-c00", "pmd-c01"};
    static final int BE = 0;
    static final int FE = 1;

    private final Path socket;
    private final BenchOptions opt;
    private final PrintStream out;
    private final PrintStream err;
    private final double mhz;
    private final List<String> placementNotes = new ArrayList<>();

    private Bench(Path socket, BenchOptions opt, PrintStream out, PrintStream err) {
        this.socket = socket;
        this.opt = opt;
        this.out = out;
        this.err = err;
        double m = 0;
        try {
            m = Double.parseDouble(Probe.cpuInfo().getOrDefault("cpu MHz", "0"));
        } catch (NumberFormatException e) {
            // unknown
        }
        this.mhz = m;
    }

    public static int run(Path runDir, List<String> args, Integer seconds, PrintStream out, PrintStream err) {
        if (args.contains("--help") || args.contains("-h")) {
            out.println(BenchOptions.USAGE);
            return 0;
        }
        BenchOptions opt;
        try {
            opt = BenchOptions.parse(args, seconds);
        } catch (IllegalArgumentException e) {
            err.println("pvio bench: " + e.getMessage());
            return 2;
        }
        BenchOptions o = opt;
        if (!o.pin) {
            System.setProperty("pvio.dpif.pin-pmds", "false"); // the PMD threads would pin themselves
        }
        if (Probe.onlineCpus() < 2) {
            System.setProperty("pvio.dpif.cpus", "0-1"); // the two PMDs time-share the one CPU (a note says so)
        }
        return InProcess.run("bench", runDir, err, err, sock -> new Bench(sock, o, out, err).runAll());
    }

    // ------------------------------------------------------------------ control socket

    private ControlProtocol.Reply call(List<String> argv) throws IOException {
        return ControlClient.call(socket, argv);
    }

    private String must(String... argv) throws IOException {
        return must(List.of(argv));
    }

    private String must(List<String> argv) throws IOException {
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
                ControlProtocol.Reply r = call(List.of("appctl", "memory/show"));
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

    // ------------------------------------------------------------------ the run

    private int runAll() throws IOException, InterruptedException {
        waitReady();
        Map<String, String> ci = Probe.cpuInfo();
        err.println(String.format("pvio bench: %s, %d CPUs, %s MHz; JVM %s %s; GC: %s; load average %s",
                ci.getOrDefault("model name", "?"), Probe.onlineCpus(), ci.getOrDefault("cpu MHz", "?"),
                System.getProperty("java.vm.name"), System.getProperty("java.version"), Probe.gcNames(), loadavg()));
        // two PMDs: core 0 polls pvio's side and never sleeps, core 1 the Java front end (the "guest"), which
        // parks when idle only with --guest-sleep; perf metrics on for the copy% and free% columns
        must("vsctl", "set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0x3", "--", "set", "Open_vSwitch", ".",
                "other_config:pmd-sleep-max=" + (opt.guestSleepUs > 0 ? "0,1:" + opt.guestSleepUs : "0"), "--", "set",
                "Open_vSwitch", ".", "other_config:pmd-perf-metrics=true");
        Thread.sleep(200);
        pinPmds();
        List<Row> rows = new ArrayList<>();
        for (String mode : opt.modes) {
            setMode(mode);
            for (String dir : opt.directions) {
                for (int size : opt.sizes) {
                    Row r;
                    try {
                        r = runCase(mode, dir, size);
                    } catch (IOException e) {
                        r = new Row(dir, mode, size);
                        r.error = e.getMessage();
                        cleanup();
                    }
                    rows.add(r);
                    err.println("pvio bench: " + r.oneLine());
                }
            }
        }
        setMode("cpu");
        String placement = placement();
        if (opt.json) {
            out.println(Report.json(rows, placement, placementNotes, opt, mhz));
        } else {
            out.print(Report.table(rows, mhz));
            out.println();
            out.println("placement: " + placement);
            if (opt.idlePorts > 0) {
                out.println("idle ports: " + opt.idlePorts + " dpdkvhostuser ports on pmd-c00 with connected front ends"
                        + " (asynchronous tx queues in the async modes), no traffic");
            }
            for (String n : placementNotes) {
                out.println("note: " + n);
            }
            out.println(Report.LEGEND);
        }
        boolean ok = true;
        for (Row r : rows) {
            ok &= r.error == null && r.corrupt == 0 && r.unaccounted == 0 && r.leaked == 0;
        }
        return ok ? 0 : 1;
    }

    private static String loadavg() {
        try {
            return String.join(" ", List.of(Files.readString(Path.of("/proc/loadavg")).split(" ")).subList(0, 3));
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }

    /**
     * Pins pmd-c00 to CPU 0 and pmd-c01 to CPU 1 (what pmd-cpu-mask=0x3 means), unless --no-pin: the PMDs pin
     * themselves, this keeps a machine of one CPU working and says in the notes what did not pin.
     */
    private void pinPmds() {
        if (!opt.pin) {
            placementNotes.add("PMD threads not pinned (--no-pin): the kernel places them");
            return;
        }
        if (Probe.onlineCpus() < 2) {
            placementNotes.add("only " + Probe.onlineCpus() + " CPU: PMD threads time-share it; figures are not"
                    + " comparable");
        }
        for (Probe.Task t : Probe.tasks("pmd-c")) {
            int core;
            try {
                core = Integer.parseInt(t.comm().substring(5));
            } catch (NumberFormatException e) {
                continue;
            }
            int cpu = core % Math.max(1, Probe.onlineCpus());
            String e = Probe.pin(t.tid(), cpu);
            if (e != null) {
                placementNotes.add(t.comm() + " (tid " + t.tid() + ") not pinned: " + e);
            }
        }
    }

    /** Which thread is on which CPU now (last CPU it ran on, CPUs it may run on). */
    private static String placement() {
        StringBuilder sb = new StringBuilder();
        Map<String, Integer> others = new LinkedHashMap<>();
        for (Probe.Task t : Probe.tasks("pmd-c", "dma-", "virtio-user", "vhost", "C2 Comp", "C1 Comp", "G1", "GC")) {
            if (t.comm().startsWith("pmd-c")) {
                sb.append(sb.length() == 0 ? "" : "; ").append(t.comm()).append(" tid ").append(t.tid())
                        .append(" on cpu ").append(t.lastCpu()).append(" (allowed ").append(t.allowed()).append(')');
            } else {
                others.merge(t.comm().replaceAll("[0-9#:.]+$", "") + "* last on cpu " + t.lastCpu(), 1, Integer::sum);
            }
        }
        others.forEach((k, n) -> sb.append("; ").append(n).append(" x ").append(k));
        return sb.toString();
    }

    /**
     * cpu: synchronous copies; async: dma-ioat channels (or, with {@code --engine dmadev}, dma-dmadev channels on
     * dma_skeleton0/1); async-cpu: dma-cpu channels.
     */
    private void setMode(String mode) throws IOException {
        boolean async = !mode.equals("cpu");
        boolean dmadev = opt.engine.equals("dmadev");
        if (mode.equals("async-cpu")) {
            must("appctl", "bundle/stop", "io.pvio.dma-ioat");
            if (dmadev) {
                must("appctl", "bundle/stop", "io.pvio.dma-dmadev");
            }
            must("appctl", "bundle/start", "io.pvio.dma-cpu");
        } else {
            must("appctl", "bundle/stop", "io.pvio.dma-cpu");
            must("appctl", "bundle/start", "io.pvio.dma-ioat");
            if (dmadev) {
                must("appctl", "bundle/start", "io.pvio.dma-dmadev");
            }
            if (async && dmadev) {
                // the scenarios' channels move to dma_skeleton0/1 (dma/set reaches every engine's configurations)
                for (int fn = 0; fn < 2; fn++) {
                    String ch = "0000:00:04." + fn;
                    must("appctl", "dma/set", ch, "engine=dmadev", "device=dma_skeleton" + fn,
                            "ring.size=" + Math.max(256, opt.queueSize));
                    call(List.of("appctl", "dma/del", ch, "engine=model")); // gone already after the first case
                }
                long deadline = System.nanoTime() + 30_000_000_000L;
                String shown = "";
                while (!(channelUp(shown, "dma_skeleton0") && channelUp(shown, "dma_skeleton1"))) {
                    if (System.nanoTime() > deadline) {
                        throw new IOException("the dmadev channels did not come up within 30 s (see the dma_dmadev and"
                                + " dpdk lines of vswitchd.log); dma/show: " + shown);
                    }
                    shown = call(List.of("appctl", "dma/show")).out();
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IOException("interrupted");
                    }
                }
            } else if (async) {
                // the channels the scenarios use: their engine threads go to --engine-cpu, their rings hold
                // a whole virtqueue of copies
                for (String ch : List.of("0000:00:04.0", "0000:00:04.1")) {
                    must("appctl", "dma/set", ch, "engine.cpu=" + opt.engineCpu,
                            "ring.size=" + Math.max(256, opt.queueSize));
                }
            }
        }
        must("vsctl", "set", "Open_vSwitch", ".", "other_config:vhost-async-copy-support=" + async);
    }

    /** True when a line of dma/show's {@code out} names {@code word} and is up (not waiting for its driver). */
    private static boolean channelUp(String out, String word) {
        return out.lines().anyMatch(l -> l.contains(word) && l.contains(" up "));
    }

    private void cleanup() {
        for (String br : List.of("br0", "br1")) {
            try {
                call(List.of("vsctl", "--if-exists", "del-br", br));
            } catch (IOException e) {
                // best effort
            }
        }
    }

    private Row runCase(String mode, String direction, int size) throws IOException, InterruptedException {
        Row r = new Row(direction, mode, size);
        Scenario s = Scenario.of(direction, size, opt);
        cleanup();
        must("vsctl", "add-br", "br0", "--", "add-br", "br1");
        for (String br : List.of("br0", "br1")) {
            must("ofctl", "del-flows", br);
        }
        for (Map.Entry<String, List<String>> e : s.flows.entrySet()) {
            for (String f : e.getValue()) {
                must("ofctl", "add-flow", e.getKey(), f);
            }
        }
        must(s.addPorts(!mode.equals("cpu")));
        awaitLinks(s);
        checkPlacement(s, r);

        must("vsctl", "set", "Interface", s.gen, "options:enabled=true");
        Thread.sleep(opt.warmup * 1000L);
        Snap a = snap(s);
        Thread.sleep(opt.seconds * 1000L);
        Snap b = snap(s);
        must("vsctl", "set", "Interface", s.gen, "options:enabled=false");
        Map<String, Map<String, Long>> fin = drain(s);

        double dt = (b.nanos - a.nanos) / 1e9;
        long valid = get(b.ports.get(s.sink), "rx_valid") - get(a.ports.get(s.sink), "rx_valid");
        long bytes = get(b.ports.get(s.sink), "tx_bytes") - get(a.ports.get(s.sink), "tx_bytes");
        r.windowS = dt;
        r.windowPkts = valid;
        r.mpps = valid / dt / 1e6;
        r.gbps = bytes * 8 / dt / 1e9;
        for (int c = 0; c < 2; c++) {
            long proc = b.procNs[c] - a.procNs[c];
            r.pmdBusy[c] = (b.procNs[c] + b.idleNs[c] - a.procNs[c] - a.idleNs[c]) > 0
                    ? (double) proc / (b.procNs[c] + b.idleNs[c] - a.procNs[c] - a.idleNs[c]) : 0;
            r.nsPerPkt[c] = valid > 0 ? (double) proc / valid : Double.NaN;
            long alloc = b.alloc[c] - a.alloc[c];
            r.allocPerPkt[c] = valid > 0 && a.alloc[c] >= 0 ? (double) alloc / valid : Double.NaN;
            r.allocBytes[c] = alloc;
        }
        r.gcs = b.gc - a.gc;
        long tot = b.machine[0] - a.machine[0];
        long busy = b.machine[1] - a.machine[1];
        long self = b.self - a.self;
        r.otherLoadPct = tot > 0 ? Math.max(0, (busy - self) * 100.0 * Probe.onlineCpus() / tot) : Double.NaN;
        long dma = 0;
        long cpu = 0;
        long copyNs = 0;
        boolean haveCopies = false;
        boolean haveCopyNs = false;
        for (String v : s.vhostPorts()) {
            for (Map.Entry<String, Long> e : b.ports.get(v).entrySet()) {
                long d = e.getValue() - get(a.ports.get(v), e.getKey());
                if (e.getKey().endsWith("_copy_ns")) {
                    copyNs += d;
                    haveCopyNs = true;
                } else if (e.getKey().contains("dma_copies")) {
                    dma += d;
                    haveCopies = true;
                } else if (e.getKey().contains("cpu_copies")) {
                    cpu += d;
                    haveCopies = true;
                }
            }
        }
        // every vhost port is polled and sent to by pmd-c00 (pvio's side)
        long procBe = b.procNs[BE] - a.procNs[BE];
        r.copyShare = haveCopyNs && procBe > 0 ? (double) copyNs / procBe : Double.NaN;
        r.freeShare = procBe > 0 ? (double) (b.freeNs[BE] - a.freeNs[BE]) / procBe : Double.NaN;
        r.idleRxqShare = procBe > 0 ? (double) (b.idleRxqNs[BE] - a.idleRxqNs[BE]) / procBe : Double.NaN;
        r.dmaCopies = haveCopies ? dma : -1;
        r.cpuCopies = haveCopies ? cpu : -1;

        // accounting after the drain: every generated packet is valid, dropped (counted), corrupt or lost
        Map<String, Long> g = fin.get(s.gen);
        Map<String, Long> k = fin.get(s.sink);
        r.sent = get(g, "generated");
        r.valid = get(k, "rx_valid");
        r.corrupt = get(k, "rx_corrupt") + get(k, "rx_other") + get(k, "rx_duplicate");
        r.gaps = get(k, "rx_lost");
        long drops = 0;
        for (Scenario.Port p : s.ports) {
            drops += get(fin.get(p.name()), "tx_dropped") + get(fin.get(p.name()), "rx_dropped");
        }
        r.dropped = drops;
        r.unaccounted = r.sent - r.valid - r.dropped - r.corrupt;
        cleanup();
        r.leaked = awaitPoolEmpty();
        return r;
    }

    private void awaitLinks(Scenario s) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of("vsctl"));
        for (Scenario.Port p : s.ports) {
            if (argv.size() > 1) {
                argv.add("--");
            }
            argv.addAll(List.of("get", "Interface", p.name(), "link_state"));
        }
        long deadline = System.nanoTime() + 30_000_000_000L;
        String last = "";
        while (System.nanoTime() < deadline) {
            last = must(argv);
            if (!last.contains("down") && !last.isBlank()) {
                Thread.sleep(200); // let the datapath adopt the final rx queue layout
                return;
            }
            Thread.sleep(100);
        }
        throw new IOException("ports did not come up within 30 s: " + last.replace('\n', ' '));
    }

    /** Compares the rx queue assignment (pmd-rxq-show) with the intended one. */
    private void checkPlacement(Scenario s, Row r) throws IOException {
        Map<String, Integer> core = new HashMap<>();
        int cur = -1;
        Matcher pmd = Pattern.compile("core_id (\\d+)").matcher("");
        Matcher port = Pattern.compile("port: (\\S+)").matcher("");
        for (String line : must("appctl", "dpif-netdev/pmd-rxq-show").split("\n")) {
            if (pmd.reset(line).find()) {
                cur = Integer.parseInt(pmd.group(1));
            } else if (port.reset(line).find()) {
                core.put(port.group(1), cur);
            }
        }
        List<String> wrong = new ArrayList<>();
        for (Scenario.Port p : s.ports) {
            Integer c = core.get(p.name());
            if (c == null || c != p.core()) {
                wrong.add(p.name() + " on core " + c + " (meant " + p.core() + ")");
            }
        }
        if (!wrong.isEmpty()) {
            r.notes.add("rxq placement differs: " + String.join(", ", wrong));
        }
    }

    /** Waits until the sink has seen everything that is coming (counters stable for 300 ms, at most 10 s). */
    private Map<String, Map<String, Long>> drain(Scenario s) throws IOException, InterruptedException {
        Map<String, Map<String, Long>> last = portStats(s);
        int stable = 0;
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (stable < 3 && System.nanoTime() < deadline) {
            Thread.sleep(100);
            Map<String, Map<String, Long>> now = portStats(s);
            stable = now.equals(last) ? stable + 1 : 0;
            last = now;
        }
        return last;
    }

    /** Buffers still in use once both bridges are gone (0 = nothing leaked); waits up to 5 s. */
    private long awaitPoolEmpty() throws IOException, InterruptedException {
        long inUse = -1;
        Matcher m = Pattern.compile("in use (\\d+)").matcher("");
        for (int i = 0; i < 50; i++) {
            if (m.reset(must("appctl", "memory/show")).find()) {
                inUse = Long.parseLong(m.group(1));
                if (inUse == 0) {
                    return 0;
                }
            }
            Thread.sleep(100);
        }
        return inUse;
    }

    // ------------------------------------------------------------------ snapshots

    /** Counters at one instant. */
    private static final class Snap {
        long nanos;
        Map<String, Map<String, Long>> ports;
        final long[] procNs = new long[2];
        final long[] idleNs = new long[2];
        final long[] freeNs = new long[2];
        final long[] idleRxqNs = new long[2];
        final long[] alloc = new long[2];
        long gc;
        long[] machine;
        long self;
    }

    private Snap snap(Scenario s) throws IOException {
        Snap x = new Snap();
        long[] ids = {Probe.javaId(PMDS[0]), Probe.javaId(PMDS[1])};
        x.machine = Probe.machineJiffies();
        x.self = Probe.selfJiffies();
        x.gc = Probe.gcCount();
        for (int c = 0; c < 2; c++) {
            x.alloc[c] = Probe.allocatedBytes(ids[c]);
        }
        x.nanos = System.nanoTime();
        String pmd = must("appctl", "dpif-netdev/pmd-stats-show");
        x.ports = portStats(s);
        int cur = -1;
        Matcher core = Pattern.compile("core_id (\\d+)").matcher("");
        Matcher idle = Pattern.compile("idle cycles: (\\d+)").matcher("");
        Matcher proc = Pattern.compile("processing cycles: (\\d+)").matcher("");
        Matcher free = Pattern.compile("free_pkts cycles: (\\d+)").matcher("");
        Matcher idleRxq = Pattern.compile("idle rxq poll cycles: (\\d+)").matcher("");
        for (String line : pmd.split("\n")) {
            if (core.reset(line).find()) {
                cur = Integer.parseInt(core.group(1));
            } else if (cur >= 0 && cur < 2 && idle.reset(line).find()) {
                x.idleNs[cur] = Long.parseLong(idle.group(1));
            } else if (cur >= 0 && cur < 2 && proc.reset(line).find()) {
                x.procNs[cur] = Long.parseLong(proc.group(1));
            } else if (cur >= 0 && cur < 2 && free.reset(line).find()) {
                x.freeNs[cur] = Long.parseLong(free.group(1));
            } else if (cur >= 0 && cur < 2 && idleRxq.reset(line).find()) {
                x.idleRxqNs[cur] = Long.parseLong(idleRxq.group(1));
            }
        }
        return x;
    }

    /** The statistics column of every port of the scenario, by port. */
    private Map<String, Map<String, Long>> portStats(Scenario s) throws IOException {
        List<String> argv = new ArrayList<>(List.of("vsctl"));
        for (Scenario.Port p : s.ports) {
            if (argv.size() > 1) {
                argv.add("--");
            }
            argv.addAll(List.of("get", "Interface", p.name(), "statistics"));
        }
        String[] lines = must(argv).split("\n");
        Map<String, Map<String, Long>> out = new LinkedHashMap<>();
        for (int i = 0; i < s.ports.size(); i++) {
            Map<String, Long> m = new LinkedHashMap<>();
            if (i < lines.length) {
                Matcher mt = COUNTER.matcher(lines[i]);
                while (mt.find()) {
                    m.put(mt.group(1), Long.parseLong(mt.group(2)));
                }
            }
            out.put(s.ports.get(i).name(), m);
        }
        return out;
    }

    private static long get(Map<String, Long> m, String k) {
        return m == null ? 0 : m.getOrDefault(k, 0L);
    }
}
