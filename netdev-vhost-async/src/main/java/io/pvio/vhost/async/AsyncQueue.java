package io.pvio.vhost.async;

/** A virtqueue that copies through a {@link CopyTracker}, as {@link AsyncBinder} sees it. */
public interface AsyncQueue {
    /** The queue's tracker. */
    CopyTracker tracker();

    /** Runs {@code action} with the queue's lock held: no data-path call on this queue runs meanwhile. */
    void exclusive(Runnable action);

    /**
     * With the queue's lock held: completes every copy in flight and makes the results visible to the guest
     * (used ring, notification). Returns false when the copies did not complete in time.
     */
    boolean drainLocked();

    /**
     * A key that orders queue locks globally (the binder takes several queues' locks in increasing key
     * order; a port's control thread takes its own queues' locks in increasing virtqueue order).
     */
    long lockOrder();

    /** For logs: e.g. {@code vhost0 txq1}. */
    String describe();
}
