package io.pvio.dpif.netdev;

import io.pvio.netdev.Netdev;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * An rx queue assigned to a PMD, with the PMD's view of the port's bridge. Its identity is immutable; the
 * poll state below belongs to the one PMD whose snapshot holds it.
 */
final class RxqRef {
    private static final VarHandle POLL_NS;

    static {
        try {
            POLL_NS = MethodHandles.lookup().findVarHandle(RxqRef.class, "pollNs", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final Port port;
    final Netdev netdev;
    final int qid;
    final int ofport;
    final BridgeView view;

    /** PMD-owned: consecutive polls that received nothing (saturates at {@link PmdThread#IDLE_AFTER}). */
    int emptyPolls;
    /** When the PMD adopted this queue ({@link System#nanoTime()}); written before its first poll. */
    volatile long sinceNs;
    /** Time in this queue's polls with perf metrics on: single writer (the PMD), opaque store and load. */
    @SuppressWarnings("unused") private long pollNs;

    RxqRef(Port port, Netdev netdev, int qid, BridgeView view) {
        this.port = port;
        this.netdev = netdev;
        this.qid = qid;
        this.ofport = port.ofport;
        this.view = view;
    }

    void addPollNs(long ns) {
        POLL_NS.setOpaque(this, (long) POLL_NS.getOpaque(this) + ns);
    }

    long pollNs() {
        return (long) POLL_NS.getOpaque(this);
    }
}
