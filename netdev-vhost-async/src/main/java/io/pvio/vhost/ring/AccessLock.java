package io.pvio.vhost.ring;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * A virtqueue's access lock: reentrant, taken by a CAS and released by a release store (DPDK's
 * rte_spinlock: no full fence on unlock, where ReentrantLock's volatile write drains the store buffer
 * that still holds the burst's stores into guest memory). {@link #tryLock} never waits; {@link #lock}
 * (control path, or a transmitter waiting out a rebind) spins briefly, then naps until it gets the lock.
 */
final class AccessLock {
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(AccessLock.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static final int SPINS = 1_000;
    private static final long NAP_NANOS = 20_000;

    @SuppressWarnings("unused") // through STATE: 0 free, 1 held
    private int state;
    /** The holder, written by it alone (a thread reads it only to recognise itself). */
    private Thread owner;
    private int holds;

    boolean tryLock() {
        Thread me = Thread.currentThread();
        if (owner == me) {
            holds++;
            return true;
        }
        if (STATE.compareAndSet(this, 0, 1)) {
            owner = me;
            holds = 1;
            return true;
        }
        return false;
    }

    void lock() {
        for (int i = 0; !tryLock(); i++) {
            if (i < SPINS) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(NAP_NANOS);
            }
        }
    }

    void unlock() {
        if (owner != Thread.currentThread()) {
            throw new IllegalMonitorStateException("access lock not held by " + Thread.currentThread().getName());
        }
        if (--holds == 0) {
            owner = null;
            STATE.setRelease(this, 0);
        }
    }

    boolean isHeldByCurrentThread() {
        return owner == Thread.currentThread();
    }

    int getHoldCount() {
        return owner == Thread.currentThread() ? holds : 0;
    }
}
