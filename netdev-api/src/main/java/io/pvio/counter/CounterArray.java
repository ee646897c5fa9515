package io.pvio.counter;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A fixed array of {@link Counter}-like slots over one {@code long[]} (per-queue or per-statistic counters
 * without an object each), with {@link Counter}'s contract per slot: one writer at a time for each slot,
 * opaque stores and opaque loads, readers from any thread. Different slots may have different writers
 * (one per queue). {@link #CounterArray(int)} packs slots as adjacent longs (they share cache lines);
 * {@link #padded(int)} puts each slot on its own 64-byte line, for slots written by different threads at
 * high rates.
 */
public final class CounterArray {
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(long[].class);

    /** Longs per 64-byte cache line. */
    private static final int LINE = 8;

    private final long[] values;
    private final int length;
    private final int shift;

    /** {@code length} adjacent slots. */
    public CounterArray(int length) {
        this(length, 0);
    }

    private CounterArray(int length, int shift) {
        if (length < 0) {
            throw new IllegalArgumentException("length " + length);
        }
        this.values = new long[length << shift];
        this.length = length;
        this.shift = shift;
    }

    /** {@code length} slots, one per 64-byte cache line (per-queue counters of different PMD threads). */
    public static CounterArray padded(int length) {
        return new CounterArray(length, Integer.numberOfTrailingZeros(LINE));
    }

    public int length() {
        return length;
    }

    /** Adds {@code delta} to slot {@code i}. That slot's writer only. */
    public void add(int i, long delta) {
        SLOT.setOpaque(values, index(i), (long) SLOT.getOpaque(values, index(i)) + delta);
    }

    /** Stores {@code v} into slot {@code i}. That slot's writer only. */
    public void set(int i, long v) {
        SLOT.setOpaque(values, index(i), v);
    }

    /** Slot {@code i}, from any thread. */
    public long get(int i) {
        return (long) SLOT.getOpaque(values, index(i));
    }

    private int index(int i) {
        if (i < 0 || i >= length) {
            throw outOfRange(i);
        }
        return i << shift;
    }

    /** Out of line: add, set, get and index stay small enough for C2 to inline without a call-site profile. */
    private ArrayIndexOutOfBoundsException outOfRange(int i) {
        return new ArrayIndexOutOfBoundsException("counter " + i + " of " + length);
    }

    /** The sum of slots [0, n), from any thread (each slot read once; not a snapshot of all at one instant). */
    public long sum(int n) {
        long s = 0;
        for (int i = 0; i < n; i++) {
            s += get(i);
        }
        return s;
    }
}
