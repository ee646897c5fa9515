package io.pvio.launcher.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * Options of {@code pvio bench}: {@code --size 64,512,1518}, {@code --mode cpu,async,async-cpu},
 * {@code --direction enqueue,dequeue,pvp}, {@code --seconds N} (measured window), {@code --warmup N},
 * {@code --json}, {@code --no-pin}, {@code --rate MPPS} (generator rate, 0 = as fast as it can),
 * {@code --engine-cpu N} (CPU of the dma-ioat engine threads, -1 = not pinned; default 1, the front end's CPU,
 * so that the copies run on the core that is not pvio's PMD), {@code --guest-sleep US} (the front end's PMD,
 * core 1, may park up to US microseconds when idle, as a guest driver waits for an interrupt: it leaves
 * its core to the DMA engine; default 0, busy polling), {@code --burst N} (with {@code --rate}: the generator
 * releases packets N at a time, as a batching source does; default 1), {@code --payload pattern|none|read}
 * (the generator writes and the sink checks every payload byte, default; or headers only, as DPDK's txonly, so
 * that the generator's own writes do not count in pvio's PMD cycles; {@code read}: headers only, and the sink
 * reads every payload byte, as a guest that uses what it receives), {@code --queue-size N} (the front ends'
 * virtqueues, as a guest's rx_queue_size; the DMA channels' rings are made at least as large; default 256),
 * {@code --idle-ports N} (N more dpdkvhostuser ports on pvio's PMD, each with a connected front end on the
 * other core and, in the async modes, an asynchronous tx queue, that carry no traffic: what idle ports cost
 * the busy pair; default 0), {@code --engine model|dmadev} (the engine of the {@code async} mode's channels:
 * the IOAT model, default, or DPDK dmadev on dma_skeleton0/1, which starts EAL in the switch).
 */
public final class BenchOptions {
    public static final List<String> MODES = List.of("cpu", "async", "async-cpu");
    public static final List<String> DIRECTIONS = List.of("enqueue", "dequeue", "pvp");

    List<Integer> sizes = List.of(64, 512, 1518);
    List<String> modes = MODES;
    List<String> directions = DIRECTIONS;
    int seconds = 5;
    int warmup = 2;
    boolean json;
    boolean pin = true;
    double rateMpps;
    int engineCpu = 1;
    int guestSleepUs;
    int burst = 1;
    String payload = "pattern";
    int queueSize = 256;
    int idlePorts;
    String engine = "model";

    static final String USAGE = """
            usage: pvio bench [--size 64,512,1518] [--mode cpu,async,async-cpu] [--direction enqueue,dequeue,pvp]
                              [--seconds 5] [--warmup 2] [--rate MPPS] [--engine-cpu 1] [--guest-sleep 0] [--burst 1]
                              [--payload pattern|none|read] [--queue-size 256] [--idle-ports 0]
                              [--engine model|dmadev] [--json] [--no-pin] [--run-dir DIR]
            """;

    /** Parses the words after {@code bench} ({@code --seconds} may already have been taken by the caller). */
    public static BenchOptions parse(List<String> args, Integer seconds) {
        BenchOptions o = new BenchOptions();
        if (seconds != null) {
            o.seconds = seconds;
        }
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            String key = a;
            String val = null;
            if (a.startsWith("--") && a.contains("=")) {
                key = a.substring(0, a.indexOf('='));
                val = a.substring(a.indexOf('=') + 1);
            }
            switch (key) {
                case "--json" -> o.json = true;
                case "--no-pin" -> o.pin = false;
                case "--size", "--sizes", "--mode", "--modes", "--direction", "--directions", "--warmup", "--seconds",
                        "--rate", "--engine-cpu", "--guest-sleep", "--burst", "--payload", "--queue-size", "--idle-ports",
                        "--engine" -> {
                    if (val == null) {
                        if (i + 1 >= args.size()) {
                            throw new IllegalArgumentException(key + " needs a value");
                        }
                        val = args.get(++i);
                    }
                    switch (key) {
                        case "--size", "--sizes" -> o.sizes = sizes(val);
                        case "--mode", "--modes" -> o.modes = words(val, MODES, "mode");
                        case "--direction", "--directions" -> o.directions = words(val, DIRECTIONS, "direction");
                        case "--warmup" -> o.warmup = integer(key, val, 0, 3600);
                        case "--seconds" -> o.seconds = integer(key, val, 1, 3600);
                        case "--engine-cpu" -> o.engineCpu = integer(key, val, -1, 1023);
                        case "--guest-sleep" -> o.guestSleepUs = integer(key, val, 0, 10_000);
                        case "--burst" -> o.burst = integer(key, val, 1, 32);
                        case "--idle-ports" -> o.idlePorts = integer(key, val, 0, 256);
                        case "--queue-size" -> {
                            o.queueSize = integer(key, val, 64, 4096);
                            if (Integer.bitCount(o.queueSize) != 1) {
                                throw new IllegalArgumentException("--queue-size must be a power of two, not " + val);
                            }
                        }
                        case "--engine" -> {
                            if (!val.equals("model") && !val.equals("dmadev")) {
                                throw new IllegalArgumentException("--engine is model or dmadev, not \"" + val + "\"");
                            }
                            o.engine = val;
                        }
                        case "--payload" -> {
                            if (!val.equals("pattern") && !val.equals("none") && !val.equals("read")) {
                                throw new IllegalArgumentException("--payload is pattern, none or read, not \""
                                        + val + "\"");
                            }
                            o.payload = val;
                        }
                        default -> o.rateMpps = rate(val);
                    }
                }
                default -> throw new IllegalArgumentException("unknown option " + a + "\n" + USAGE);
            }
        }
        return o;
    }

    private static List<Integer> sizes(String v) {
        List<Integer> out = new ArrayList<>();
        for (String s : v.split("[, ]+")) {
            if (s.isEmpty()) {
                continue;
            }
            int n = integer("--size", s, 60, 9000);
            if (!out.contains(n)) {
                out.add(n);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("--size needs at least one size");
        }
        return out;
    }

    private static List<String> words(String v, List<String> known, String what) {
        List<String> out = new ArrayList<>();
        for (String s : v.split("[, ]+")) {
            if (s.isEmpty()) {
                continue;
            }
            if (s.equals("all")) {
                return known;
            }
            if (!known.contains(s)) {
                throw new IllegalArgumentException("unknown " + what + " \"" + s + "\" (known: " + String.join(", ",
                        known) + ")");
            }
            if (!out.contains(s)) {
                out.add(s);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("--" + what + " needs at least one value");
        }
        // keep the canonical order: modes grouped, as they are switched
        out.sort((a, b) -> Integer.compare(known.indexOf(a), known.indexOf(b)));
        return out;
    }

    private static int integer(String key, String v, int min, int max) {
        int n;
        try {
            n = Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " needs a number, not \"" + v + "\"");
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException(key + " must be " + min + ".." + max + ", not " + n);
        }
        return n;
    }

    private static double rate(String v) {
        try {
            double d = Double.parseDouble(v.trim());
            if (d < 0 || d > 1000 || Double.isNaN(d)) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--rate needs Mpps in 0..1000 (0 = unlimited), not \"" + v + "\"");
        }
    }
}
