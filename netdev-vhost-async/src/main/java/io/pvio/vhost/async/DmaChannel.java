package io.pvio.vhost.async;

import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaDevice;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One DMA channel as the vhost queues use it: a {@link DmaDevice} service plus the queues ({@link CopyTracker}s)
 * that submit to it. Completions are routed to their tracker by the owner number carried in the source
 * handle, so several queues, of one port or of several, can share a channel.
 *
 * <p>Locking: a channel with a single owner is used without any lock (its owner's queue lock already makes
 * it single-threaded). With several owners, submissions and completion polls take a spin lock. The switch
 * between the two modes is made by {@link AsyncBinder} while every owner's queue lock is held.
 */
public final class DmaChannel {
    private static final VarHandle LOCK;

    static {
        try {
            LOCK = MethodHandles.lookup().findVarHandle(DmaChannel.class, "lock", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static final int MAX_OWNERS = 256;

    private final DmaDevice device;
    private final String address;
    private final String driver;
    private final DmaCompletions completions = new DmaCompletions(64);
    private final CopyTracker[] owners = new CopyTracker[MAX_OWNERS];
    private int ownerCount;
    private volatile boolean shared;
    @SuppressWarnings("unused")
    private volatile int lock;
    private boolean doorbellPending;

    public DmaChannel(DmaDevice device, String address, String driver) {
        this.device = device;
        this.address = address;
        this.driver = driver;
    }

    public DmaDevice device() {
        return device;
    }

    public String address() {
        return address;
    }

    public String driver() {
        return driver;
    }

    /** Number of queues using the channel (control path). */
    public synchronized int owners() {
        return ownerCount;
    }

    /** Adds an owner; returns its number. Control path, with every owner's queue lock held. */
    synchronized int register(CopyTracker t) {
        for (int i = 0; i < MAX_OWNERS; i++) {
            if (owners[i] == null) {
                owners[i] = t;
                ownerCount++;
                shared = ownerCount > 1;
                return i;
            }
        }
        throw new IllegalStateException("DMA channel " + address + " has " + MAX_OWNERS + " users already");
    }

    /** Removes a drained owner. Control path, with every owner's queue lock held. */
    synchronized void unregister(int owner) {
        if (owners[owner] != null) {
            owners[owner] = null;
            ownerCount--;
            shared = ownerCount > 1;
        }
    }

    private void acquire() {
        while (!LOCK.compareAndSet(this, 0, 1)) {
            Thread.onSpinWait();
        }
    }

    private void release() {
        LOCK.setRelease(this, 0);
    }

    /** Queues one copy for {@code owner}'s segment {@code seq}; false when the channel's ring is full. */
    boolean enqueue(int owner, long seq, long src, long dst, int len) {
        long hdl = ((long) owner << 32) | (seq & 0xffffffffL);
        if (!shared) {
            boolean ok = device.enqueueCopy(src, dst, len, hdl, 0);
            doorbellPending |= ok;
            return ok;
        }
        acquire();
        try {
            boolean ok = device.enqueueCopy(src, dst, len, hdl, 0);
            doorbellPending |= ok;
            return ok;
        } finally {
            release();
        }
    }

    /** Rings the doorbell if copies were queued since the last one. */
    void doorbell() {
        if (!shared) {
            if (doorbellPending) {
                doorbellPending = false;
                device.performOps();
            }
            return;
        }
        acquire();
        try {
            if (doorbellPending) {
                doorbellPending = false;
                device.performOps();
            }
        } finally {
            release();
        }
    }

    /** Reads completions and hands each to its owner. Returns how many were read. */
    int poll() {
        if (!shared) {
            return pollLocked();
        }
        acquire();
        try {
            return pollLocked();
        } finally {
            release();
        }
    }

    private int pollLocked() {
        int total = 0;
        int n;
        do {
            n = device.completedOps(completions.capacity(), completions);
            for (int i = 0; i < n; i++) {
                long hdl = completions.srcHandle(i);
                CopyTracker t = owners[(int) (hdl >>> 32) & (MAX_OWNERS - 1)];
                if (t != null) {
                    t.markDone((int) hdl, completions.status(i));
                }
            }
            total += n;
        } while (n == completions.capacity());
        return total;
    }

    @Override
    public String toString() {
        return driver + "@" + address;
    }
}
