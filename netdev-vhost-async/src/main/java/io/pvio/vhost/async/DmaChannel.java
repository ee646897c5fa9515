package io.pvio.vhost.async;

import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaDevice;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One DMA channel as the vhost queues use it: a {@link DmaDevice} service plus the queues ({@link CopyTracker}s)
 * that submit to it. Like DPDK's vhost (its per-vchan table of completion flags indexed by ring index), the
 * channel keeps per copy its owner and segment number in tables indexed by the copy's ring index, and routes
 * each completion to its tracker: several queues, of one port or of several, can share a channel.
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
    // by ring index & tableMask (at most ringSize <= maxRingSize copies are outstanding)
    private final int tableMask;
    private final short[] copyOwner;
    private final int[] copySeq;
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
        int max = Math.min(65536, Math.max(device.info().maxRingSize(), device.info().ringSize()));
        int size = Integer.highestOneBit(Math.max(1, max - 1)) << 1;
        tableMask = size - 1;
        copyOwner = new short[size];
        copySeq = new int[size];
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
        if (!shared) {
            return enqueueLocked(owner, seq, src, dst, len);
        }
        acquire();
        try {
            return enqueueLocked(owner, seq, src, dst, len);
        } finally {
            release();
        }
    }

    private boolean enqueueLocked(int owner, long seq, long src, long dst, int len) {
        int idx = device.copy(src, dst, len, 0);
        if (idx < 0) {
            return false;
        }
        copyOwner[idx & tableMask] = (short) owner;
        copySeq[idx & tableMask] = (int) seq;
        doorbellPending = true;
        return true;
    }

    /** Rings the doorbell if copies were queued since the last one. */
    void doorbell() {
        if (!shared) {
            if (doorbellPending) {
                device.submit();
                doorbellPending = false; // after: a submit that threw is rung again by the next doorbell
            }
            return;
        }
        acquire();
        try {
            if (doorbellPending) {
                device.submit();
                doorbellPending = false;
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

    /**
     * rte_dma_completed until it returns less than a full batch; when it stops at a failed copy,
     * rte_dma_completed_status tells the statuses (as DPDK's vhost does on has_error).
     */
    private int pollLocked() {
        int cap = completions.capacity();
        int total = 0;
        while (true) {
            int n = device.completed(cap, completions);
            route(n, false);
            total += n;
            if (completions.hasError()) {
                int k = device.completedStatus(cap, completions);
                route(k, true);
                total += k;
                if (k > 0) {
                    continue;
                }
            }
            if (n < cap) {
                return total;
            }
        }
    }

    /** Hands the {@code n} copies just reported (ending at lastIdx) to their trackers. */
    private void route(int n, boolean withStatus) {
        int idx = completions.lastIdx() - n + 1;
        for (int i = 0; i < n; i++, idx++) {
            int slot = idx & tableMask;
            CopyTracker t = owners[copyOwner[slot] & (MAX_OWNERS - 1)];
            if (t != null) {
                t.markDone(copySeq[slot], withStatus ? completions.status(i) : DmaDevice.STATUS_SUCCESSFUL);
            }
        }
    }

    @Override
    public String toString() {
        return driver + "@" + address;
    }
}
