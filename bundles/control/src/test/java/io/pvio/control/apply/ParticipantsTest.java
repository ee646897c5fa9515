package io.pvio.control.apply;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pvio.dpif.ReconfigureParticipant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Test;

/** The wait for the participants: every one is told, a done one releases it, a stuck one costs the timeout. */
public class ParticipantsTest {

    @Test
    public void waitsUntilEveryParticipantIsDone() throws Exception {
        Participants ps = new Participants(60_000);
        ps.reconfigured(); // none: returns at once
        CompletableFuture<Void> later = new CompletableFuture<>();
        AtomicInteger told = new AtomicInteger();
        ps.add(() -> {
            told.incrementAndGet();
            return CompletableFuture.completedFuture(null);
        });
        ps.add(() -> {
            told.incrementAndGet();
            return later;
        });
        Thread t = new Thread(ps::reconfigured);
        t.start();
        t.join(200);
        assertTrue("returned before the second participant was done", t.isAlive());
        later.complete(null);
        t.join(60_000);
        assertTrue(!t.isAlive());
        assertEquals(2, told.get());
    }

    @Test
    public void aStuckFailingOrRemovedParticipantDoesNotHoldTheChange() {
        Participants ps = new Participants(200);
        ReconfigureParticipant stuck = CompletableFuture::new;
        ps.add(stuck);
        ps.add(() -> CompletableFuture.failedFuture(new IllegalStateException("broken")));
        ps.add(() -> {
            throw new IllegalStateException("thrown");
        });
        long t0 = System.nanoTime();
        ps.reconfigured();
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(ms + " ms", ms >= 200 && ms < 30_000);
        ps.remove(stuck);
        ps.reconfigured(); // would not return in time if stuck were still asked
    }
}
