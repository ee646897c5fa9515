package io.pvio.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;

/**
 * {@link VhostPathBench}'s operations timed by this thread's CPU time instead of the wall clock, so that
 * other processes' load on a shared machine costs little precision (time this thread waits for a CPU is not
 * counted; their effect on its caches still is). Prints the minimum, median and maximum CPU nanoseconds per
 * packet over N samples of 20,000 bursts of 32 packets, CPU copies:
 * {@code java -cp bench/target/benchmarks.jar io.pvio.bench.VhostPathCpuTime enqueue|dequeue SIZE [N]}.
 */
public final class VhostPathCpuTime {
    private static final int BURSTS = 20_000;

    private VhostPathCpuTime() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2 || !(args[0].equals("enqueue") || args[0].equals("dequeue"))) {
            System.err.println("usage: VhostPathCpuTime enqueue|dequeue SIZE [SAMPLES]");
            System.exit(2);
        }
        boolean enqueue = args[0].equals("enqueue");
        int samples = args.length > 2 ? Integer.parseInt(args[2]) : 9;
        VhostPathBench b = new VhostPathBench();
        b.size = Integer.parseInt(args[1]);
        b.mode = "cpu";
        b.setUp();
        try {
            ThreadMXBean tm = ManagementFactory.getThreadMXBean();
            for (int w = 0; w < 5; w++) {
                run(b, enqueue);
            }
            double[] ns = new double[samples];
            for (int k = 0; k < samples; k++) {
                long t0 = tm.getCurrentThreadCpuTime();
                run(b, enqueue);
                ns[k] = (tm.getCurrentThreadCpuTime() - t0) / (double) BURSTS / 32;
            }
            Arrays.sort(ns);
            System.out.printf("%s %d B: CPU ns per packet min %.1f median %.1f max %.1f (%d samples)%n", args[0],
                    b.size, ns[0], ns[samples / 2], ns[samples - 1], samples);
        } finally {
            b.tearDown();
        }
    }

    private static int run(VhostPathBench b, boolean enqueue) {
        int s = 0;
        for (int i = 0; i < BURSTS; i++) {
            s += enqueue ? b.enqueue() : b.dequeue();
        }
        return s;
    }
}
