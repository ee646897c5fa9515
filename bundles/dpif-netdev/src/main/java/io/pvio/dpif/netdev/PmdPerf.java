package io.pvio.dpif.netdev;

import io.pvio.counter.CounterArray;
import java.util.Locale;

/**
 * A PMD's performance histograms and totals for {@code dpif-netdev/pmd-perf-show}, recorded only with
 * other_config:pmd-perf-metrics=true (OVS's lib/dpif-netdev-perf.c): cycles per iteration, packets per
 * iteration, cycles per packet (of iterations that received) and packets per rx batch, with OVS's bins and
 * walls. Cycles are nanoseconds (System.nanoTime, a 1 GHz clock), as in pmd-stats-show.
 *
 * <p>Also the histories of pmd-perf-show's -it and -ms: the last {@link #HISTORY_LEN} iterations sampled and
 * the last HISTORY_LEN milliseconds (of System.nanoTime) in which iterations were sampled, in preallocated rings.
 *
 * <p>Slots in {@link CounterArray}s: the PMD thread is the single writer of all of them and allocates
 * nothing; readers (the appctl command) read slot by slot, so a histogram or history read while the PMD runs
 * may be torn between slots, as in OVS, never out of bounds.
 */
final class PmdPerf {
    /** Bins per histogram, OVS's NUM_BINS; the last one holds the samples above the last wall. */
    static final int NUM_BINS = 32;
    static final int H_CYCLES = 0;
    static final int H_PKTS = 1;
    static final int H_CYCLES_PER_PKT = 2;
    static final int H_PKTS_PER_BATCH = 3;
    /** The most packets a vhost rx queue held at a receive of the iteration (OVS's max vhost qlen). */
    static final int H_VHOST_QLEN = 4;
    static final int N_HIST = 5;
    /** Totals over the iterations sampled: iterations, their cycles, the cycles of those that received, ... */
    static final int T_ITERATIONS = N_HIST * NUM_BINS;
    static final int T_CYCLES = T_ITERATIONS + 1;
    static final int T_BUSY_CYCLES = T_ITERATIONS + 2;
    static final int T_PKTS = T_ITERATIONS + 3;
    static final int T_BATCHES = T_ITERATIONS + 4;
    static final int T_VHOST_QFILL = T_ITERATIONS + 5;
    static final int N_SLOTS = T_ITERATIONS + 6;

    /**
     * OVS's walls: log 500..24M, log 0..1000, lin 100..30000, lin 0..32, log 0..512; upcalls/it lin 0..30,
     * cycles/upcall log 1000..1M.
     */
    static final long[][] WALLS = {
        logWalls(500, 24_000_000), logWalls(0, 1000), linWalls(100, 30_000), linWalls(0, 32), logWalls(0, 512)};
    static final long[] UPCALL_WALLS = linWalls(0, 30);
    static final long[] CYCLES_PER_UPCALL_WALLS = logWalls(1000, 1_000_000);

    /** OVS's HISTORY_LEN: entries of the iteration and millisecond histories. */
    static final int HISTORY_LEN = 1000;
    private static final int IT_NO = 0;
    private static final int IT_CYCLES = 1;
    private static final int IT_PKTS = 2;
    private static final int IT_BATCHES = 3;
    private static final int IT_QFILL = 4;
    private static final int IT_FIELDS = 5;
    private static final int MS_TIME = 0;
    private static final int MS_ITERATIONS = 1;
    private static final int MS_CYCLES = 2;
    private static final int MS_BUSY_CYCLES = 3;
    private static final int MS_PKTS = 4;
    private static final int MS_BATCHES = 5;
    private static final int MS_QFILL = 6;
    private static final int MS_FIELDS = 7;
    /** The history rings' last slot: the entry written next (the newest is the one before it). */
    private static final int IT_NEXT = HISTORY_LEN * IT_FIELDS;
    private static final int MS_NEXT = HISTORY_LEN * MS_FIELDS;

    private final CounterArray slots = new CounterArray(N_SLOTS);
    private final CounterArray itHistory = new CounterArray(IT_NEXT + 1);
    private final CounterArray msHistory = new CounterArray(MS_NEXT + 1);

    // ---- owned by the PMD thread ----
    private int itNext;
    private int msNext;
    /** Rx batches of the iteration not yet sampled. */
    private long iterBatches;
    /** The millisecond being summed up (Long.MIN_VALUE: none yet) and its sums. */
    private long msTime = Long.MIN_VALUE;
    private long msIterations;
    private long msCycles;
    private long msBusyCycles;
    private long msPkts;
    private long msBatches;
    private long msQfill;

    /**
     * Iteration {@code iterNo} of {@code cycles} that received {@code pkts} packets and ended at {@code endNs}
     * (System.nanoTime); {@code qfill}: the most packets a vhost rx queue held at one of its receives
     * ({@link io.pvio.netdev.Netdev#rxqRemaining} plus the batch), 0 without one. PMD thread only.
     */
    void iteration(long iterNo, long cycles, int pkts, int qfill, long endNs) {
        add(H_CYCLES, cycles);
        add(H_PKTS, pkts);
        add(H_VHOST_QLEN, qfill);
        slots.add(T_ITERATIONS, 1);
        slots.add(T_CYCLES, cycles);
        slots.add(T_VHOST_QFILL, qfill);
        if (pkts > 0) {
            add(H_CYCLES_PER_PKT, cycles / pkts);
            slots.add(T_BUSY_CYCLES, cycles);
            slots.add(T_PKTS, pkts);
        }
        int e = itNext * IT_FIELDS;
        itHistory.set(e + IT_NO, iterNo);
        itHistory.set(e + IT_CYCLES, cycles);
        itHistory.set(e + IT_PKTS, pkts);
        itHistory.set(e + IT_BATCHES, iterBatches);
        itHistory.set(e + IT_QFILL, qfill);
        itNext = itNext + 1 == HISTORY_LEN ? 0 : itNext + 1;
        itHistory.set(IT_NEXT, itNext);
        // as OVS: the iteration counts in the millisecond that was current when it started, which is
        // closed once an iteration ends in a later one
        long ms = Math.floorDiv(endNs, 1_000_000L);
        if (msTime == Long.MIN_VALUE) {
            msTime = ms;
        }
        msIterations++;
        msCycles += cycles;
        if (pkts > 0) {
            msBusyCycles += cycles;
        }
        msPkts += pkts;
        msBatches += iterBatches;
        msQfill += qfill;
        iterBatches = 0;
        if (ms != msTime) {
            int m = msNext * MS_FIELDS;
            msHistory.set(m + MS_TIME, msTime);
            msHistory.set(m + MS_ITERATIONS, msIterations);
            msHistory.set(m + MS_CYCLES, msCycles);
            msHistory.set(m + MS_BUSY_CYCLES, msBusyCycles);
            msHistory.set(m + MS_PKTS, msPkts);
            msHistory.set(m + MS_BATCHES, msBatches);
            msHistory.set(m + MS_QFILL, msQfill);
            msNext = msNext + 1 == HISTORY_LEN ? 0 : msNext + 1;
            msHistory.set(MS_NEXT, msNext);
            msTime = ms;
            msIterations = 0;
            msCycles = 0;
            msBusyCycles = 0;
            msPkts = 0;
            msBatches = 0;
            msQfill = 0;
        }
    }

    /** One rx batch of {@code pkts} (> 0) packets. PMD thread only. */
    void rxBatch(int pkts) {
        add(H_PKTS_PER_BATCH, pkts);
        slots.add(T_BATCHES, 1);
        iterBatches++;
    }

    private void add(int hist, long v) {
        slots.add(hist * NUM_BINS + bin(WALLS[hist], v), 1);
    }

    /** The first bin whose wall is at least {@code v}, else the last (OVS's histogram_add_sample). */
    static int bin(long[] walls, long v) {
        for (int i = 0; i < NUM_BINS - 1; i++) {
            if (v <= walls[i]) {
                return i;
            }
        }
        return NUM_BINS - 1;
    }

    /** Every slot, from any thread (slot by slot). */
    long[] read() {
        long[] v = new long[N_SLOTS];
        for (int i = 0; i < N_SLOTS; i++) {
            v[i] = slots.get(i);
        }
        return v;
    }

    /** OVS's histogram_walls_set_lin: NUM_BINS - 1 evenly spaced walls from min to max, then UINT32_MAX. */
    static long[] linWalls(long min, long max) {
        long[] w = new long[NUM_BINS];
        for (int i = 0; i < NUM_BINS - 1; i++) {
            w[i] = min + (i * (max - min)) / (NUM_BINS - 2);
        }
        w[NUM_BINS - 1] = 0xffff_ffffL;
        return w;
    }

    /**
     * OVS's histogram_walls_set_log: walls at exp steps from min to max, each at least one above the one
     * before (truncated to integers as C assigns a double to an int); min 0 gives a first wall of 0.
     */
    static long[] logWalls(long min, long max) {
        long[] w = new long[NUM_BINS];
        double logMin;
        int start;
        int bins;
        if (min > 0) {
            logMin = Math.log(min);
            start = 0;
            bins = NUM_BINS - 1;
        } else {
            logMin = 0; // log(1)
            start = 1;
            bins = NUM_BINS - 2;
        }
        double logMax = Math.log(max);
        int wall = start;
        for (int i = 0; i < bins; i++) {
            wall = (int) Math.max(wall, Math.exp(logMin + (i * (logMax - logMin)) / (bins - 1)));
            w[start + i] = wall++;
        }
        if (w[NUM_BINS - 2] < max) {
            w[NUM_BINS - 2] = max;
        }
        w[NUM_BINS - 1] = 0xffff_ffffL;
        return w;
    }

    /**
     * OVS's pmd_perf_format_histograms for the slots {@code v} (after a clear's baseline is subtracted).
     * Upcalls/it: every iteration sampled had 0 (pvio never upcalls); cycles/upcall: no sample.
     */
    static void formatHistograms(StringBuilder sb, long[] v) {
        String row = "   %-9s %-11d  %-9s %-11d  %-9s %-11d  %-9s %-11d  %-9s %-11d  %-9s %-11d  %-9s %-11d\n";
        sb.append("Histograms\n");
        sb.append(String.format(Locale.ROOT, "   %-21s  %-21s  %-21s  %-21s  %-21s  %-21s  %-21s\n",
                "cycles/it", "packets/it", "cycles/pkt", "pkts/batch", "max vhost qlen", "upcalls/it",
                "cycles/upcall"));
        long sampled = v[T_ITERATIONS];
        for (int i = 0; i < NUM_BINS; i++) {
            boolean last = i == NUM_BINS - 1;
            Object[] a = new Object[14];
            for (int h = 0; h < N_HIST; h++) {
                a[2 * h] = last ? ">" : Integer.toString((int) WALLS[h][i]);
                a[2 * h + 1] = v[h * NUM_BINS + i];
            }
            a[10] = last ? ">" : Long.toString(UPCALL_WALLS[i]);
            a[11] = i == 0 ? sampled : 0L;
            a[12] = last ? ">" : Long.toString(CYCLES_PER_UPCALL_WALLS[i]);
            a[13] = 0L;
            sb.append(String.format(Locale.ROOT, row, a));
        }
        if (sampled > 0) {
            sb.append("-".repeat(154)).append('\n');
            sb.append(String.format(Locale.ROOT, "   %-21s  %-21s  %-21s  %-21s  %-21s  %-21s  %-21s\n",
                    "cycles/it", "packets/it", "cycles/pkt", "pkts/batch", "vhost qlen", "upcalls/it",
                    "cycles/upcall"));
            long pkts = v[T_PKTS];
            long batches = v[T_BATCHES];
            sb.append(String.format(Locale.ROOT, "   %-21d  %-21.5f  %-21d  %-21.5f  %-21.5f  %-21.5f  %-21d\n",
                    v[T_CYCLES] / sampled, (double) pkts / sampled, pkts > 0 ? v[T_BUSY_CYCLES] / pkts : 0,
                    batches > 0 ? (double) pkts / batches : 0.0, (double) v[T_VHOST_QFILL] / sampled, 0.0, 0));
        }
    }

    /**
     * OVS's pmd_perf_format_iteration_history: the last {@code n} iterations sampled, newest first. Entries
     * of iterations up to {@code clearedAt} (a pmd-stats-clear) print as 0, as OVS's cleared history.
     */
    void formatIterationHistory(StringBuilder sb, int n, long clearedAt) {
        if (n == 0) {
            return;
        }
        long[] h = newest(itHistory, IT_NEXT, IT_FIELDS, n);
        sb.append(String.format(Locale.ROOT, "   %-17s   %-10s   %-10s   %-10s   %-10s   %-10s   %-10s   %-10s\n",
                "iter", "cycles", "packets", "cycles/pkt", "pkts/batch", "vhost qlen", "upcalls", "cycles/upcall"));
        for (int e = 0; e < h.length; e += IT_FIELDS) {
            boolean cleared = h[e + IT_NO] <= clearedAt;
            long no = cleared ? 0 : h[e + IT_NO];
            long cycles = cleared ? 0 : h[e + IT_CYCLES];
            long pkts = cleared ? 0 : h[e + IT_PKTS];
            long batches = cleared ? 0 : h[e + IT_BATCHES];
            long qfill = cleared ? 0 : h[e + IT_QFILL];
            sb.append(String.format(Locale.ROOT, "   %-17d   %-11d  %-11d  %-11d  %-11d  %-11d  %-11d  %-11d\n",
                    no, cycles, pkts, pkts > 0 ? cycles / pkts : 0, batches > 0 ? pkts / batches : 0, qfill, 0, 0));
        }
    }

    /**
     * OVS's pmd_perf_format_ms_history: the last {@code n} milliseconds completed, newest first ("vhost qlen":
     * the iterations' mean of their max vhost qlen); "ms" is System.nanoTime in milliseconds (OVS: its
     * monotonic clock's), "Kpps" the packets received in that millisecond. Milliseconds before
     * {@code clearedMs} print as 0.
     */
    void formatMsHistory(StringBuilder sb, int n, long clearedMs) {
        if (n == 0) {
            return;
        }
        long[] h = newest(msHistory, MS_NEXT, MS_FIELDS, n);
        sb.append(String.format(Locale.ROOT,
                "   %-12s   %-10s   %-10s   %-10s   %-10s   %-10s   %-10s   %-10s   %-10s\n", "ms", "iterations",
                "cycles/it", "Kpps", "cycles/pkt", "pkts/batch", "vhost qlen", "upcalls", "cycles/upcall"));
        for (int e = 0; e < h.length; e += MS_FIELDS) {
            long iterations = h[e + MS_ITERATIONS];
            boolean cleared = iterations == 0 || h[e + MS_TIME] < clearedMs;
            long pkts = cleared ? 0 : h[e + MS_PKTS];
            long batches = cleared ? 0 : h[e + MS_BATCHES];
            sb.append(String.format(Locale.ROOT,
                    "   %-12d   %-11d  %-11d  %-11d  %-11d  %-11d  %-11d  %-11d  %-11d\n",
                    cleared ? 0 : h[e + MS_TIME], cleared ? 0 : iterations, cleared ? 0 : h[e + MS_CYCLES] / iterations,
                    pkts, pkts > 0 ? h[e + MS_BUSY_CYCLES] / pkts : 0, batches > 0 ? pkts / batches : 0,
                    cleared ? 0 : h[e + MS_QFILL] / iterations, 0, 0));
        }
    }

    /**
     * The {@code n} newest entries of a history ring, newest first, copied before any formatting so that the
     * PMD overwrites as few of them as possible meanwhile.
     */
    private static long[] newest(CounterArray ring, int nextSlot, int fields, int n) {
        long[] h = new long[n * fields];
        int next = (int) ring.get(nextSlot);
        for (int i = 0; i < n; i++) {
            int e = Math.floorMod(next - 1 - i, HISTORY_LEN) * fields;
            for (int f = 0; f < fields; f++) {
                h[i * fields + f] = ring.get(e + f);
            }
        }
        return h;
    }
}
