package io.pvio.packet;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A bounded multi-producer multi-consumer queue of ints (D. Vyukov's sequence-numbered ring):
 * allocation-free, used as the free list of a {@link PacketPool}.
 *
 * <p>A slot is reusable only once the consumer that took it has released it, so {@link #offer} can find the
 * ring "full" while a consumer is preempted between taking a value and releasing its slot, even though
 * fewer values than slots are queued. Owners that know the ring cannot really be full (a pool never holds
 * more buffers than it has) size it with slack and retry.
 */
final class IndexRing {
    private static final VarHandle SEQ = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle HEAD;
    private static final VarHandle TAIL;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            HEAD = l.findVarHandle(IndexRing.class, "head", long.class);
            TAIL = l.findVarHandle(IndexRing.class, "tail", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final int mask;
    private final long[] seq;
    private final int[] values;
    @SuppressWarnings("unused") private long p01, p02, p03, p04, p05, p06, p07;
    private volatile long head; // next slot to take
    @SuppressWarnings("unused") private long p11, p12, p13, p14, p15, p16, p17;
    private volatile long tail; // next slot to fill
    @SuppressWarnings("unused") private long p21, p22, p23, p24, p25, p26, p27;

    IndexRing(int minCapacity) {
        int cap = Integer.highestOneBit(Math.max(2, minCapacity) - 1) << 1;
        mask = cap - 1;
        seq = new long[cap];
        values = new int[cap];
        for (int i = 0; i < cap; i++) {
            seq[i] = i;
        }
    }

    boolean offer(int value) {
        long pos = (long) TAIL.getOpaque(this);
        for (;;) {
            int slot = (int) (pos & mask);
            long s = (long) SEQ.getAcquire(seq, slot);
            long dif = s - pos;
            if (dif == 0) {
                if (TAIL.compareAndSet(this, pos, pos + 1)) {
                    values[slot] = value;
                    SEQ.setRelease(seq, slot, pos + 1);
                    return true;
                }
                pos = (long) TAIL.getOpaque(this);
            } else if (dif < 0) {
                return false;
            } else {
                pos = (long) TAIL.getOpaque(this);
            }
        }
    }

    /** Returns the value taken, or -1 when empty. */
    int poll() {
        long pos = (long) HEAD.getOpaque(this);
        for (;;) {
            int slot = (int) (pos & mask);
            long s = (long) SEQ.getAcquire(seq, slot);
            long dif = s - (pos + 1);
            if (dif == 0) {
                if (HEAD.compareAndSet(this, pos, pos + 1)) {
                    int v = values[slot];
                    SEQ.setRelease(seq, slot, pos + mask + 1);
                    return v;
                }
                pos = (long) HEAD.getOpaque(this);
            } else if (dif < 0) {
                return -1;
            } else {
                pos = (long) HEAD.getOpaque(this);
            }
        }
    }

    /** Number of values queued; exact when no operation is in progress. */
    int size() {
        long t = tail;
        long h = head;
        return (int) Math.max(0, t - h);
    }
}
