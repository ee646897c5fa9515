package io.pvio.packet;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A lock-free LIFO stack of indices {@code 0..capacity-1} (Treiber's stack over an int "next" array),
 * the free list of a {@link PacketPool}. LIFO matters for speed: the buffer allocated next is the one freed
 * last, whose lines are still in the cache (DPDK's mempool cache does the same per lcore).
 *
 * <p>The top word packs a modification tag (bits 42-63, against ABA), the number of entries (bits 21-41) and
 * the top index + 1 (bits 0-20, 0 = empty): one CAS per push or pop, no allocation, and an exact size.
 */
final class IndexStack {
    static final int MAX_CAPACITY = (1 << 21) - 1;
    private static final long IDX_MASK = (1L << 21) - 1;
    private static final int COUNT_SHIFT = 21;
    private static final long COUNT_MASK = ((1L << 21) - 1) << COUNT_SHIFT;
    private static final int TAG_SHIFT = 42;
    private static final VarHandle TOP;
    private static final VarHandle NEXT = MethodHandles.arrayElementVarHandle(int[].class);

    static {
        try {
            TOP = MethodHandles.lookup().findVarHandle(IndexStack.class, "top", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final int[] next; // index + 1 of the entry below, 0 at the bottom
    @SuppressWarnings("unused") private long p01, p02, p03, p04, p05, p06, p07;
    private volatile long top;
    @SuppressWarnings("unused") private long p11, p12, p13, p14, p15, p16, p17;

    IndexStack(int capacity) {
        if (capacity <= 0 || capacity > MAX_CAPACITY) {
            throw new IllegalArgumentException("stack capacity " + capacity + " outside 1.." + MAX_CAPACITY);
        }
        next = new int[capacity];
    }

    private static long pack(long tag, long count, long idxPlusOne) {
        return (tag << TAG_SHIFT) | (count << COUNT_SHIFT) | idxPlusOne;
    }

    void push(int index) {
        for (;;) {
            long t = (long) TOP.getVolatile(this);
            NEXT.setRelease(next, index, (int) (t & IDX_MASK));
            long count = (t & COUNT_MASK) >>> COUNT_SHIFT;
            if (TOP.compareAndSet(this, t, pack((t >>> TAG_SHIFT) + 1, count + 1, index + 1))) {
                return;
            }
            Thread.onSpinWait();
        }
    }

    /**
     * Pushes the chain {@code first .. last} of {@code n} indices, already linked through {@link #link}, in
     * one CAS ({@code first} ends on top).
     */
    void pushChain(int first, int last, int n) {
        for (;;) {
            long t = (long) TOP.getVolatile(this);
            NEXT.setRelease(next, last, (int) (t & IDX_MASK));
            long count = (t & COUNT_MASK) >>> COUNT_SHIFT;
            if (TOP.compareAndSet(this, t, pack((t >>> TAG_SHIFT) + 1, count + n, first + 1))) {
                return;
            }
            Thread.onSpinWait();
        }
    }

    /** Links {@code index} above {@code below} for {@link #pushChain} (published by its CAS). */
    void link(int index, int below) {
        next[index] = below + 1;
    }

    /**
     * Pops {@code n} indices in one CAS into {@code out[0..n)} (top first): all of them, or none (returns
     * false). A successful CAS proves that nothing changed the stack since its top was read, so the walk was
     * consistent (every push or pop changes the tag); what a failed attempt wrote is overwritten by the next.
     */
    boolean popIndices(int[] out, int n) {
        for (;;) {
            long t = (long) TOP.getVolatile(this);
            long count = (t & COUNT_MASK) >>> COUNT_SHIFT;
            if (count < n) {
                return false;
            }
            int idxPlusOne = (int) (t & IDX_MASK);
            for (int k = 0; k < n; k++) {
                if (idxPlusOne == 0) {
                    idxPlusOne = -1;
                    break;
                }
                out[k] = idxPlusOne - 1;
                idxPlusOne = (int) NEXT.getAcquire(next, idxPlusOne - 1);
            }
            if (idxPlusOne >= 0
                    && TOP.compareAndSet(this, t, pack((t >>> TAG_SHIFT) + 1, count - n, idxPlusOne))) {
                return true;
            }
            Thread.onSpinWait();
        }
    }

    /** Pushes {@code idx[from..to)} in one CAS ({@code idx[from]} ends on top). */
    void pushIndices(int[] idx, int from, int to) {
        for (int k = from; k < to - 1; k++) {
            next[idx[k]] = idx[k + 1] + 1;
        }
        pushChain(idx[from], idx[to - 1], to - from);
    }

    /** Returns the index popped, or -1 when empty. */
    int pop() {
        for (;;) {
            long t = (long) TOP.getVolatile(this);
            int idxPlusOne = (int) (t & IDX_MASK);
            if (idxPlusOne == 0) {
                return -1;
            }
            int below = (int) NEXT.getAcquire(next, idxPlusOne - 1);
            long count = (t & COUNT_MASK) >>> COUNT_SHIFT;
            if (TOP.compareAndSet(this, t, pack((t >>> TAG_SHIFT) + 1, count - 1, below))) {
                return idxPlusOne - 1;
            }
            Thread.onSpinWait();
        }
    }

    /** Entries on the stack (exact). */
    int size() {
        return (int) ((top & COUNT_MASK) >>> COUNT_SHIFT);
    }
}
