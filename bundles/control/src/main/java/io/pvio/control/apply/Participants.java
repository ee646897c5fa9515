package io.pvio.control.apply;

import io.pvio.dpif.ReconfigureParticipant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Logger;

/**
 * The {@link ReconfigureParticipant} services present (none when ofproto is not running), and the wait for
 * them between applying a change to the datapath and reporting it done. Thread-safe.
 */
public final class Participants {
    private static final Logger LOG = Logger.getLogger("bridge");
    /** How long a change waits for the participants, in all, before it is reported done anyway. */
    static final long TIMEOUT_MS = 5000;

    private final List<ReconfigureParticipant> present = new CopyOnWriteArrayList<>();
    private final long timeoutMs;

    public Participants() {
        this(TIMEOUT_MS);
    }

    Participants(long timeoutMs) {
        this.timeoutMs = timeoutMs;
    }

    public void add(ReconfigureParticipant p) {
        present.add(p);
    }

    public void remove(ReconfigureParticipant p) {
        present.remove(p);
    }

    /**
     * Tells every participant that the datapath changed and waits until each is done, at most
     * {@link #TIMEOUT_MS} in all. Never throws: a participant that fails or is late is logged.
     */
    public void reconfigured() {
        if (present.isEmpty()) {
            return;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        List<ReconfigureParticipant> all = List.copyOf(present);
        CompletableFuture<?>[] stages = new CompletableFuture<?>[all.size()];
        for (int i = 0; i < stages.length; i++) {
            try {
                stages[i] = all.get(i).reconfigured().toCompletableFuture();
            } catch (RuntimeException e) {
                stages[i] = CompletableFuture.failedFuture(e);
            }
        }
        for (int i = 0; i < stages.length; i++) {
            try {
                stages[i].get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                LOG.warning(all.get(i).getClass().getName() + ": not reconfigured after " + timeoutMs
                        + " ms; the change is reported done without it");
            } catch (ExecutionException e) {
                LOG.warning(all.get(i).getClass().getName() + ": reconfiguration failed: " + e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
