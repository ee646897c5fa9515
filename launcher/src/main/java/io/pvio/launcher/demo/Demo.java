package io.pvio.launcher.demo;

import io.pvio.control.protocol.ControlClient;
import io.pvio.control.protocol.ControlProtocol;
import io.pvio.launcher.daemon.InProcess;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code pvio demo}: the switch in-process with a fresh run directory. Host bridge br0 connects generator
 * pg0 to vhost-user port vhu0, whose copies into and out of the guest go to DMA channels; guest bridge br1
 * connects pvio's Java virtio front end fe0 (on vhu0's socket) to generator pg1. Live counters once a
 * second, then a clean stop and a summary proving that every packet was accounted for and no buffer
 * leaked.
 */
public final class Demo {
    /** The two generators, then the vhost-user port and the Java front end. */
    static final String[] PORTS = {"pg0", "pg1", "vhu0", "fe0"};
    static final int SIZE = 1518;
    /** Default packets per second of each generator (--rate). */
    public static final int RATE = 50_000;
    /** Generators run at a tenth of the rate for this long before the per-second lines. */
    static final long WARMUP_MS = 1000;
    /** The guest's ring size. */
    static final int QUEUE_SIZE = 4096;
    private static final Pattern COUNTER = Pattern.compile("\"?([A-Za-z0-9_]+)\"?=(-?\\d+)");

    /** --internal: the guest side's namespace and the addresses of br0 (host) and br1 (guest side). */
    static final String GUEST_NS = "pvio-demo";
    static final String HOST_ADDR = "10.99.0.1";
    static final String GUEST_ADDR = "10.99.0.2";
    private static final String PG0_MAC = "02:70:76:00:00:01";
    private static final String PG1_MAC = "02:70:76:00:00:02";

    private final Path socket;
    private final PrintStream out;
    private final boolean internal;
    private final String engine;
    private final int rate;

    private Demo(Path socket, PrintStream out, boolean internal, String engine, int rate) {
        this.socket = socket;
        this.engine = engine;
        this.rate = rate;
        this.out = out;
        this.internal = internal;
    }

    public static int run(Path runDir, int seconds, PrintStream out, PrintStream err) {
        return run(runDir, seconds, false, "model", RATE, out, err);
    }

    /**
     * With {@code internal}, br0's local port (a tap on the host) gets {@link #HOST_ADDR} and br1's local port
     * moves into namespace {@link #GUEST_NS} with {@link #GUEST_ADDR}: {@code ping 10.99.0.2} from the host
     * then crosses br0, the vhost-user port and its DMA copies, the Java front end and br1.
     */
    public static int run(Path runDir, int seconds, boolean internal, String engine, int rate, PrintStream out,
            PrintStream err) {
        return InProcess.run("demo", runDir, out, err, sock -> new Demo(sock, out, internal, engine, rate).run(seconds));
    }

    private int warmRate() {
        return Math.max(1, rate / 10);
    }

    /** Runs a host command (ip, ping) for --internal; its output is returned, a failure throws. */
    private static String host(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String o = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", cmd) + ": " + o.strip());
        }
        return o;
    }

    private void hostSide() throws IOException, InterruptedException {
        host("ip", "link", "set", "br0", "up");
        host("ip", "addr", "add", HOST_ADDR + "/24", "dev", "br0");
        host("ip", "netns", "add", GUEST_NS);
        host("ip", "link", "set", "br1", "netns", GUEST_NS);
        host("ip", "netns", "exec", GUEST_NS, "ip", "link", "set", "br1", "up");
        host("ip", "netns", "exec", GUEST_NS, "ip", "addr", "add", GUEST_ADDR + "/24", "dev", "br1");
        String ping = java.nio.file.Files.isExecutable(Path.of("/usr/bin/ping")) ? "/usr/bin/ping" : null;
        String[] cmd = ping != null ? new String[] {ping, "-c", "3", "-W", "2", GUEST_ADDR}
                : new String[] {"busybox", "ping", "-c", "3", "-W", "2", GUEST_ADDR};
        String o;
        try {
            o = host(cmd);
        } catch (IOException e) {
            o = e.getMessage();
        }
        out.println("host br0 " + HOST_ADDR + " -> vhu0 (DMA copies) -> fe0 -> br1 " + GUEST_ADDR + " (namespace "
                + GUEST_NS + "):");
        for (String l : o.strip().split("\n")) {
            if (l.contains("packets transmitted") || l.contains("round-trip") || l.contains("rtt")) {
                out.println("  " + l.strip());
            }
        }
        out.println("  while the demo runs: ping " + GUEST_ADDR + " (from the host), or ip netns exec " + GUEST_NS
                + " ping " + HOST_ADDR);
        out.println();
    }

    /**
     * Engine dmadev: channels 00:04.0 and 00:04.1 move from the IOAT model to DPDK's dma_skeleton0 and 1
     * (EAL starts in this process); refused with the reason when the dmadev shim or DPDK is missing.
     */
    private void useDmadev() throws IOException, InterruptedException {
        for (int fn = 0; fn < 2; fn++) {
            String ch = "0000:00:04." + fn;
            must("appctl", "dma/set", ch, "engine=dmadev", "device=dma_skeleton" + fn);
            must("appctl", "dma/del", ch, "engine=model");
        }
        try {
            waitFor("the dmadev channels", out -> channelUp(out, "dma_skeleton1"), "appctl", "dma/show");
        } catch (IOException e) {
            throw new IOException("the dmadev channels did not come up (see the dma_dmadev and dpdk lines of "
                    + socket.getParent().resolve("vswitchd.log") + "): " + e.getMessage(), e);
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

    /** True when a line of dma/show's {@code out} names {@code word} and is up (not waiting for its driver). */
    private static boolean channelUp(String out, String word) {
        return out.lines().anyMatch(l -> l.contains(word) && l.contains(" up "));
    }

    private void waitFor(String what, java.util.function.Predicate<String> done, String... argv)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        String last = "";
        while (System.nanoTime() < deadline) {
            ControlProtocol.Reply r = call(argv);
            last = r.status() == 0 ? r.out() : r.err();
            if (r.status() == 0 && done.test(r.out())) {
                return;
            }
            Thread.sleep(100);
        }
        throw new IOException(what + " did not happen within 30 s: " + last.strip());
    }

    private int run(int seconds) throws IOException, InterruptedException {
        if (internal) {
            for (String dev : new String[] {"br0", "br1"}) { // never take over a device the host already has
                if (java.nio.file.Files.exists(Path.of("/sys/class/net", dev))) {
                    throw new IOException("--internal: this host already has a network device named " + dev
                            + "; the demo creates its own br0 and br1 (delete it, or run the demo without --internal)");
                }
            }
        }
        waitReady();
        waitFor("the DMA channels", out -> channelUp(out, "0000:00:04.1"), "appctl", "dma/show");
        if (engine.equals("dmadev")) {
            useDmadev();
        }
        Path dir = socket.getParent();
        // the host side: generator pg0 and the vhost-user port, whose copies into and out of the guest
        // go through DMA channels 00:04.0 and 00:04.1 (the IOAT model, or dmadev)
        must("vsctl", "--no-wait", "set", "Open_vSwitch", ".", "other_config:vhost-async-copy-support=true");
        for (String br : new String[] {"br0", "br1"}) {
            // flows first, so that no packet meets the default NORMAL flow
            must("vsctl", "--may-exist", "add-br", br);
            must("ofctl", "del-flows", br);
            if (!internal) {
                must("ofctl", "add-flow", br, "in_port=1,actions=output:2");
                must("ofctl", "add-flow", br, "in_port=2,actions=output:1");
            }
        }
        if (internal) { // the generators' frames by their source MAC; the rest between a local port and the ring
            String[][] f = {{"br0", "1", "2", PG1_MAC}, {"br1", "2", "1", PG0_MAC}};
            for (String[] b : f) {
                must("ofctl", "add-flow", b[0], "in_port=" + b[1] + ",actions=output:" + b[2]);
                must("ofctl", "add-flow", b[0], "priority=40000,in_port=" + b[2] + ",dl_src=" + b[3] + ",actions=output:"
                        + b[1]);
                must("ofctl", "add-flow", b[0], "in_port=" + b[2] + ",actions=LOCAL");
                must("ofctl", "add-flow", b[0], "in_port=LOCAL,actions=output:" + b[2]);
            }
        }
        String macs0 = internal ? "options:src_mac=" + PG0_MAC : "options:size=" + SIZE;
        String macs1 = internal ? "options:src_mac=" + PG1_MAC : "options:size=" + SIZE;
        must("vsctl", "--may-exist", "add-port", "br0", "pg0", "--", "set", "Interface", "pg0", "type=pktgen",
                "options:size=" + SIZE, "options:rate=" + warmRate(), "options:enabled=false", "ofport_request=1", macs0);
        must("vsctl", "--may-exist", "add-port", "br0", "vhu0", "--", "set", "Interface", "vhu0",
                "type=dpdkvhostuser", "options:vhost-async-attr=(txq0,00:04.0,256),(rxq0,00:04.1,256)",
                "ofport_request=2");
        // the guest side: pvio's Java virtio front end on the vhost-user socket, and generator pg1
        must("vsctl", "--may-exist", "add-port", "br1", "fe0", "--", "set", "Interface", "fe0", "type=virtio-user",
                "options:path=" + dir.resolve("vhu0"), "options:queue_size=" + QUEUE_SIZE, "ofport_request=1");
        must("vsctl", "--may-exist", "add-port", "br1", "pg1", "--", "set", "Interface", "pg1", "type=pktgen",
                "options:size=" + SIZE, "options:rate=" + warmRate(), "options:enabled=false", "ofport_request=2", macs1);
        waitFor("the vhost-user connection", out -> out.contains("carrier up"), "appctl", "netdev-vhost/show", "vhu0");
        must("vsctl", "remove", "Interface", "pg0", "options", "enabled", "--", "remove", "Interface", "pg1",
                "options", "enabled");
        out.print(must("vsctl", "show"));
        out.println();
        out.println("pg0 -> br0 -> vhu0 (vhost-user, DMA copies) => guest ring => fe0 (virtio-user) -> br1 -> pg1, and back");
        out.println("DMA channels 00:04.0, 00:04.1: " + (engine.equals("dmadev")
                ? "DPDK dmadev engine on dma_skeleton0, dma_skeleton1" : "the IOAT model engine"));
        out.println();
        if (internal) {
            hostSide();
        }
        // warm-up: the generators have run at a tenth of the rate since they were enabled, while the JIT
        // compiles the data path (the first ~0.2 s, interpreted, forward a fraction of the full rate)
        Thread.sleep(WARMUP_MS);
        List<Map<String, Long>> w = stats();
        long warmDrops = w.size() > 3 ? get(w.get(2), "tx_dropped") + get(w.get(3), "tx_dropped") : 0;
        out.println(String.format("warm-up: %.1f s at %d frames/s per generator, %d dropped on a full ring; now %d",
                WARMUP_MS / 1000.0, warmRate(), warmDrops, rate));
        must("vsctl", "set", "Interface", "pg0", "options:rate=" + rate, "--", "set", "Interface", "pg1",
                "options:rate=" + rate);
        long[] prevGen = new long[PORTS.length];
        long[] prevRx = new long[PORTS.length];
        for (int i = 0; i < 2 && i < w.size(); i++) {
            prevGen[i] = get(w.get(i), "generated");
            prevRx[i] = get(w.get(i), "received");
        }
        long prevDma = w.size() > 2 ? sum(w.get(2), "async_dma_copies") : 0;
        long prevDrops = warmDrops;
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
            for (int i = 0; i < 2; i++) {
                Map<String, Long> m = i < st.size() ? st.get(i) : Map.of();
                long gen = get(m, "generated");
                long rx = get(m, "received");
                line.append(String.format("  %s: sent %6.3f Mpps, received %6.3f Mpps", PORTS[i],
                        (gen - prevGen[i]) / dt / 1e6, (rx - prevRx[i]) / dt / 1e6));
                prevGen[i] = gen;
                prevRx[i] = rx;
            }
            long dma = st.size() > 2 ? sum(st.get(2), "async_dma_copies") : 0;
            line.append(String.format("  vhu0: %6.3f M DMA copies/s", (dma - prevDma) / dt / 1e6));
            prevDma = dma;
            long drops = st.size() > 3 ? get(st.get(2), "tx_dropped") + get(st.get(3), "tx_dropped") : 0;
            line.append(String.format("  ring full: %d dropped", drops - prevDrops));
            prevDrops = drops;
            String pmd = pmdSummary();
            if (!pmd.isEmpty()) {
                line.append("  | ").append(pmd);
            }
            out.println(line);
        }
        // stop the generators (count below what they sent), then let the rings drain
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
        for (int i = 0; i < 2; i++) {
            Map<String, Long> m = last.get(i);
            out.println(String.format("%-6s %14d %14d %14d %10d %10d", PORTS[i], get(m, "generated"),
                    get(m, "received"), get(m, "rx_valid"), get(m, "rx_lost"), get(m, "rx_corrupt")));
            sent += get(m, "generated");
            valid += get(m, "rx_valid");
            bad += get(m, "rx_corrupt") + get(m, "rx_duplicate") + get(m, "rx_other") + get(m, "rx_out_of_order");
        }
        Map<String, Long> vhu = last.get(2);
        Map<String, Long> fe = last.get(3);
        long ringFull = get(vhu, "tx_dropped") + get(fe, "tx_dropped");
        out.println(String.format("vhu0: %d copies by DMA, %d by the CPU, %d DMA errors redone; %d packets dropped on a"
                + " full ring (counted)", sum(vhu, "async_dma_copies"), sum(vhu, "async_cpu_copies"),
                sum(vhu, "async_dma_errors"), ringFull));
        long hostFrames = internal ? localRx() : 0;
        must("vsctl", "del-br", "br0", "--", "del-br", "br1");
        if (internal) {
            try {
                host("ip", "netns", "del", GUEST_NS);
            } catch (IOException e) {
                out.println("could not delete namespace " + GUEST_NS + ": " + e.getMessage());
            }
        }
        String mem = must("appctl", "memory/show").strip();
        Matcher inUse = Pattern.compile("in use (\\d+)").matcher(mem);
        long buffers = inUse.find() ? Long.parseLong(inUse.group(1)) : -1;
        long unaccounted = sent - valid - ringFull;
        out.println(String.format("total: sent %d, valid %d (%.2f%%), dropped on a full ring %d, unaccounted %d;"
                + " buffers in use after the ports closed: %d", sent, valid, sent > 0 ? 100.0 * valid / sent : 0.0,
                ringFull, unaccounted, buffers));
        if (internal) { // the ring also carried the hosts' frames (ping, ARP, IPv6): its drops may include them
            out.println(String.format("--internal: %d frames from the hosts' local ports; the ring drops above may"
                    + " include some of them", hostFrames));
        }
        boolean accounted = internal ? unaccounted <= 0 && unaccounted >= -hostFrames : unaccounted == 0;
        return buffers == 0 && bad == 0 && accounted ? 0 : 1;
    }

    /** Frames the two local ports received from the host side (--internal). */
    private long localRx() throws IOException {
        ControlProtocol.Reply r = call("vsctl", "get", "Interface", "br0", "statistics", "--", "get", "Interface",
                "br1", "statistics");
        long n = 0;
        Matcher m = Pattern.compile("\\brx_packets=(\\d+)").matcher(r.out());
        while (m.find()) {
            n += Long.parseLong(m.group(1));
        }
        return n;
    }

    /** Sum of the counters whose name ends with {@code suffix} (per-queue custom stats). */
    private static long sum(Map<String, Long> m, String suffix) {
        long t = 0;
        for (Map.Entry<String, Long> e : m.entrySet()) {
            if (e.getKey().endsWith(suffix)) {
                t += e.getValue();
            }
        }
        return t;
    }
}
