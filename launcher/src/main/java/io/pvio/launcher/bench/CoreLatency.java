package io.pvio.launcher.bench;

import java.io.PrintStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.List;

/**
 * {@code pvio c2c}: the one-way latency of a cache line between two cores, the cost every vhost-user packet
 * pays several times (descriptors, used ring, the guest's read of the frame). Two threads bounce a counter
 * held in one cache line; half a round trip is the figure.
 *
 * <p>On a virtual machine this is the one number that tells whether the host currently runs the vCPUs on
 * near cores (same core complex: about 40 ns on the machine of docs/performance.md) or far ones (another
 * die: 4x that), which changes both back ends' throughput by up to 2x and can change within a minute.
 * launcher/bench-peer.sh measures it before and after each run. Run it with the two CPUs idle, under
 * {@code taskset -c A,B}: the two spinning threads then sit one on each CPU.
 */
public final class CoreLatency {
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(long[].class);
    /** The bounced counter is line[IDX]: a whole cache line of padding on each side. */
    private static final int IDX = 8;

    private CoreLatency() {
    }

    /**
     * Median of {@code samples} measurements of {@code trips} round trips each, in nanoseconds one way.
     *
     * @throws IllegalStateException when the partner thread does not answer within 10 s
     */
    public static double measure(int samples, int trips) throws InterruptedException {
        long[] line = new long[2 * IDX + 1];
        long total = (long) samples * trips;
        Thread partner = new Thread(() -> {
            // answers every odd value with the next even one
            for (long want = 1; want < 2 * total; want += 2) {
                while ((long) SLOT.getAcquire(line, IDX) != want) {
                    Thread.onSpinWait();
                }
                SLOT.setRelease(line, IDX, want + 1);
            }
        }, "c2c-partner");
        partner.setDaemon(true);
        partner.start();
        double[] ns = new double[samples];
        long v = 0;
        long deadline = System.nanoTime() + 10_000_000_000L;
        for (int s = 0; s < samples; s++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < trips; i++) {
                SLOT.setRelease(line, IDX, v + 1);
                v += 2;
                while ((long) SLOT.getAcquire(line, IDX) != v) {
                    Thread.onSpinWait();
                    if ((i & 1023) == 0 && System.nanoTime() > deadline) {
                        throw new IllegalStateException("c2c: the partner thread did not answer (one CPU only?)");
                    }
                }
            }
            ns[s] = (System.nanoTime() - t0) / (2.0 * trips);
        }
        partner.join(1000);
        Arrays.sort(ns);
        return ns[samples / 2];
    }

    /** {@code pvio c2c [--samples N]}: prints {@code c2c_ns=<one-way latency>}. */
    public static int run(List<String> args, PrintStream out, PrintStream err) {
        int samples = 5;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--samples") && i + 1 < args.size()) {
                try {
                    samples = Integer.parseInt(args.get(++i));
                } catch (NumberFormatException e) {
                    samples = -1;
                }
                if (samples < 1 || samples > 1000) {
                    err.println("pvio c2c: --samples needs a number in 1..1000");
                    return 2;
                }
            } else {
                err.println("pvio c2c: unknown argument \"" + a + "\" (usage: pvio c2c [--samples N])");
                return 2;
            }
        }
        try {
            measure(1, 20_000); // warm-up: compiles the loops
            out.printf("c2c_ns=%.0f%n", measure(samples, 100_000));
            return 0;
        } catch (IllegalStateException e) {
            err.println("pvio " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }
}
