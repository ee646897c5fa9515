package io.pvio.vhost.ring;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.Test;

public class AccessLockTest {
    @Test
    public void reentrantForItsHolderOnly() throws Exception {
        AccessLock l = new AccessLock();
        assertTrue(l.tryLock());
        assertTrue(l.tryLock());
        assertEquals(2, l.getHoldCount());
        boolean[] other = new boolean[2];
        Thread t = new Thread(() -> {
            other[0] = l.tryLock();
            other[1] = l.isHeldByCurrentThread();
        });
        t.start();
        t.join();
        assertFalse("another thread took a held lock", other[0]);
        assertFalse(other[1]);
        l.unlock();
        assertTrue(l.isHeldByCurrentThread());
        l.unlock();
        assertFalse(l.isHeldByCurrentThread());
        assertEquals(0, l.getHoldCount());
    }

    @Test
    public void unlockByAnotherThreadIsRefused() throws Exception {
        AccessLock l = new AccessLock();
        l.lock();
        AtomicBoolean refused = new AtomicBoolean();
        Thread t = new Thread(() -> {
            try {
                l.unlock();
            } catch (IllegalMonitorStateException e) {
                refused.set(true);
            }
        });
        t.start();
        t.join();
        assertTrue(refused.get());
        assertTrue(l.isHeldByCurrentThread());
        l.unlock();
    }

    @Test
    public void lockWaitsForTheHolder() throws Exception {
        AccessLock l = new AccessLock();
        l.lock();
        CountDownLatch got = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            l.lock();
            got.countDown();
            l.unlock();
        });
        t.start();
        assertFalse("lock() returned while another thread held the lock", got.await(200, TimeUnit.MILLISECONDS));
        l.unlock();
        assertTrue(got.await(10, TimeUnit.SECONDS));
        t.join();
    }

    /** A data-path thread that tries every iteration and a control thread that waits: each holder is alone. */
    @Test
    public void mutualExclusionUnderContention() throws Exception {
        AccessLock l = new AccessLock();
        AtomicLong inside = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicBoolean overlap = new AtomicBoolean();
        Thread pmd = new Thread(() -> {
            while (!stop.get()) {
                if (l.tryLock()) {
                    if (inside.incrementAndGet() != 1) {
                        overlap.set(true);
                    }
                    inside.decrementAndGet();
                    l.unlock();
                }
            }
        });
        pmd.start();
        for (int i = 0; i < 20_000; i++) {
            l.lock();
            if (inside.incrementAndGet() != 1) {
                overlap.set(true);
            }
            inside.decrementAndGet();
            l.unlock();
        }
        stop.set(true);
        pmd.join(10_000);
        if (pmd.isAlive()) {
            fail("the data-path thread did not stop");
        }
        assertFalse("two threads held the lock at once", overlap.get());
    }
}
