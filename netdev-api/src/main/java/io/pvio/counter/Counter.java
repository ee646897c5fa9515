package io.pvio.counter;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A 64-bit counter with a single writer and any number of readers, as Agrona's {@code AtomicCounter} used
 * through its {@code *Ordered}/{@code *Plain} methods.
 *
 * <p>Contract: at any moment at most one thread calls {@link #add}, {@link #increment} or {@link #set}
 * (the owner: a PMD thread for its own counters, or whoever holds the lock that serialises the writers).
 * Writes are opaque stores of an opaque load plus the delta, so they cost what a plain store costs, are never
 * torn, and are never lost while the single-writer rule holds; with two concurrent writers increments are
 * lost (use a counter per writer and sum them instead). {@link #get} is an opaque load from any thread: it
 * sees every value in the order written, eventually, and establishes no happens-before with anything else
 * the writer did.
 */
public final class Counter {
    private static final VarHandle VALUE;

    static {
        try {
            VALUE = MethodHandles.lookup().findVarHandle(Counter.class, "value", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused") private long value; // via VALUE

    /** Adds {@code delta}. Writer only. */
    public void add(long delta) {
        VALUE.setOpaque(this, (long) VALUE.getOpaque(this) + delta);
    }

    /** Adds one. Writer only. */
    public void increment() {
        add(1);
    }

    /** Stores {@code v} (a writer publishing a total it keeps in a local). Writer only. */
    public void set(long v) {
        VALUE.setOpaque(this, v);
    }

    /** The value, from any thread. */
    public long get() {
        return (long) VALUE.getOpaque(this);
    }

    @Override
    public String toString() {
        return Long.toString(get());
    }
}
