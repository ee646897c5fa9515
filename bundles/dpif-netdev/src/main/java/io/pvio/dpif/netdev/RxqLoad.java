package io.pvio.dpif.netdev;

import io.pvio.counter.Counter;
import io.pvio.counter.CounterArray;

/**
 * One rx queue's processing time, as OVS's per-rxq cycles: the time of the polls that received packets, in
 * the current interval and in the last {@link #INTERVALS} intervals of {@link #INTERVAL_NS}. Written only by
 * the PMD polling the queue (the next one after a reassignment, which the snapshot hand-over orders);
 * read by pmd-rxq-show and by the cycles and group assignments. It belongs to the port's queue, so a
 * reassignment keeps the history, as OVS's does.
 */
final class RxqLoad {
    /** OVS's PMD_INTERVAL_MAX: the intervals kept (a minute). */
    static final int INTERVALS = 12;
    /**
     * OVS's PMD_INTERVAL_LEN: 5 s. {@code -Dpvio.dpif.pmd-interval-ms} (at least 100) shortens it, and so the
     * minute of pmd-auto-lb, for tests.
     */
    static final long INTERVAL_NS = Math.max(100, Long.getLong("pvio.dpif.pmd-interval-ms", 5000)) * 1_000_000L;

    /** The current interval's time, PMD-owned (plain: only the polling PMD reads and writes it). */
    long currentNs;
    private final CounterArray intervals = new CounterArray(INTERVALS);
    /** Intervals stored so far; the next one goes at {@code stored % INTERVALS}. */
    private final Counter stored = new Counter();

    /** The polling PMD, at an interval's end: stores the current interval's time and starts the next. */
    void endInterval() {
        long n = stored.get();
        intervals.set((int) (n % INTERVALS), currentNs);
        stored.set(n + 1);
        currentNs = 0;
    }

    /** The sum of the newest {@code n} (at most {@link #INTERVALS}) stored intervals. */
    long recent(int n) {
        return recent(intervals, stored.get(), n);
    }

    /** OVS's get_interval_values: the newest {@code n} of the values in {@code ring}, {@code stored} written. */
    static long recent(CounterArray ring, long stored, int n) {
        long total = 0;
        for (int k = 1; k <= Math.min(n, INTERVALS); k++) {
            total += ring.get((int) Math.floorMod(stored - k, (long) INTERVALS));
        }
        return total;
    }
}
