package io.pvio.packet;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.Test;

public class PacketPoolTest {

    @Test
    public void accountsEveryBufferExactly() {
        PacketPool pool = new PacketPool("t", 8);
        assertEquals(0, pool.inUse());
        Packet a = pool.alloc();
        Packet b = pool.alloc();
        assertEquals(2, pool.inUse());
        a.free();
        assertEquals(1, pool.inUse());
        b.free();
        assertEquals(0, pool.inUse());
        assertEquals(8, pool.available());
    }

    @Test
    public void theBufferFreedLastIsAllocatedFirst() {
        PacketPool pool = new PacketPool("t", 8);
        Packet a = pool.alloc();
        Packet b = pool.alloc();
        a.free();
        b.free();
        assertEquals(b, pool.alloc());
        assertEquals(a, pool.alloc());
    }

    @Test
    public void emptyPoolReturnsNullAndCountsTheFailure() {
        PacketPool pool = new PacketPool("t", 2);
        assertNotNull(pool.alloc());
        assertNotNull(pool.alloc());
        assertNull(pool.alloc());
        assertEquals(1, pool.allocFailures());
    }

    @Test
    public void bulkAllocationIsAllOrNothing() {
        PacketPool pool = new PacketPool("t", 4);
        Packet[] out = new Packet[8];
        assertFalse(pool.allocBulk(out, 0, 5));
        assertEquals(0, pool.inUse());
        assertTrue(pool.allocBulk(out, 2, 4));
        assertEquals(4, pool.inUse());
        for (int i = 2; i < 6; i++) {
            out[i].free();
        }
        assertEquals(0, pool.inUse());
    }

    @Test
    public void doubleFreeIsRefused() {
        PacketPool pool = new PacketPool("t", 2);
        Packet p = pool.alloc();
        p.free();
        try {
            p.free();
            fail("double free accepted");
        } catch (IllegalStateException expected) {
            assertEquals(0, pool.inUse());
        }
    }

    @Test
    public void referencesKeepTheBufferUntilTheLastFree() {
        PacketPool pool = new PacketPool("t", 2);
        Packet p = pool.alloc();
        p.retain();
        p.free();
        assertEquals(1, pool.inUse());
        p.free();
        assertEquals(0, pool.inUse());
    }

    @Test
    public void chainedSegmentsCarryTheWholePacketAndFreeTogether() {
        PacketPool pool = new PacketPool("t", 4, 256, 64);
        Packet head = pool.alloc();
        int at = head.append(100);
        for (int i = 0; i < 100; i++) {
            head.buffer().put(at + i, (byte) i);
        }
        Packet seg = pool.alloc();
        seg.setSegmentData(0, 150);
        for (int i = 0; i < 150; i++) {
            seg.buffer().put(i, (byte) (100 + i));
        }
        head.chain(seg);
        assertEquals(250, head.length());
        assertEquals(2, head.segments());
        byte[] all = head.toByteArray();
        for (int i = 0; i < 250; i++) {
            assertEquals((byte) i, all[i]);
        }
        assertEquals(2, pool.inUse());
        head.free();
        assertEquals(0, pool.inUse());
    }

    @Test
    public void freshBufferHasHeadroomAndNoData() {
        PacketPool pool = new PacketPool("t", 1);
        Packet p = pool.alloc();
        p.append(60);
        p.setPort(3);
        p.free();
        Packet q = pool.alloc();
        assertEquals(PacketPool.DEFAULT_HEADROOM, q.headroom());
        assertEquals(0, q.length());
        assertEquals(-1, q.port());
        assertEquals(q.address() + q.dataOffset(), q.dataAddress());
    }

    @Test
    public void appendBeyondTheDataRoomIsRefused() {
        PacketPool pool = new PacketPool("t", 1, 256, 64);
        Packet p = pool.alloc();
        try {
            p.append(193);
            fail();
        } catch (IndexOutOfBoundsException expected) {
            assertEquals(0, p.length());
        }
    }

    @Test
    public void concurrentAllocAndFreeLoseNothing() throws Exception {
        PacketPool pool = new PacketPool("t", 64);
        race(4, me -> {
            Packet[] mine = new Packet[8];
            for (int round = 0; round < 20000; round++) {
                int n = 0;
                for (; n < mine.length; n++) {
                    mine[n] = pool.alloc();
                    if (mine[n] == null) {
                        break;
                    }
                    mine[n].setMeta(Thread.currentThread().getId());
                }
                for (int i = 0; i < n; i++) {
                    if (mine[i].meta() != Thread.currentThread().getId()) {
                        throw new AssertionError("buffer handed to two threads");
                    }
                    mine[i].free();
                }
            }
        });
        assertEquals(0, pool.inUse());
    }

    @Test
    public void bulkAllocationAndBatchFreeRaceWithSingleOperationsAndLoseNothing() throws Exception {
        PacketPool pool = new PacketPool("t", 256);
        PacketPool other = new PacketPool("o", 16);
        race(4, me -> {
            Packet[] mine = new Packet[PacketBatch.MAX];
            PacketBatch b = new PacketBatch();
            for (int round = 0; round < 20000; round++) {
                int n = 1 + (round + me) % PacketBatch.MAX;
                if (!pool.allocBulk(mine, 0, n)) {
                    continue;
                }
                for (int i = 0; i < n; i++) {
                    mine[i].setMeta(Thread.currentThread().getId());
                }
                for (int i = 0; i < n; i++) {
                    if (mine[i].meta() != Thread.currentThread().getId()) {
                        throw new AssertionError("buffer handed to two threads");
                    }
                    if (i % 5 == 4) {
                        mine[i].free();
                    } else {
                        if (i % 7 == 3) {
                            mine[i].retain();
                            mine[i].free(); // still one reference: freeAll must not take the fast path wrongly
                        }
                        b.add(mine[i]);
                    }
                }
                Packet foreign = other.alloc();
                if (foreign != null && !b.isFull()) {
                    b.add(foreign); // a packet of another pool goes back to its own
                } else if (foreign != null) {
                    foreign.free();
                }
                b.freeAll();
            }
        });
        assertEquals(0, pool.inUse());
        assertEquals(0, other.inUse());
        Packet[] all = new Packet[256];
        assertTrue("every buffer can be allocated again", pool.allocBulk(all, 0, 256));
        java.util.Set<Packet> distinct = new java.util.HashSet<>(java.util.Arrays.asList(all));
        assertEquals(256, distinct.size());
    }

    @Test
    public void batchFreesWhatItHolds() {
        PacketPool pool = new PacketPool("t", 40);
        PacketBatch b = new PacketBatch();
        while (!b.isFull()) {
            b.add(pool.alloc());
        }
        assertEquals(PacketBatch.MAX, pool.inUse());
        try {
            b.add(pool.alloc());
            fail();
        } catch (IllegalStateException expected) {
            // the packet allocated for the call is ours to free
        }
        assertEquals(PacketBatch.MAX + 1, pool.inUse());
        b.freeAll();
        assertEquals(1, pool.inUse());
        assertTrue(b.isEmpty());
    }

    /** Bulk operations go through the calling thread's cache: LIFO there, and counted as free. */
    @Test
    public void batchFreedIntoTheThreadCacheIsAllocatedFirstAndCountedFree() {
        PacketPool pool = new PacketPool("t", 1024);
        Packet[] out = new Packet[32];
        assertTrue(pool.allocBulk(out, 0, 32));
        assertEquals(32, pool.inUse());
        PacketBatch b = new PacketBatch();
        for (Packet p : out) {
            b.add(p);
        }
        b.freeAll();
        assertEquals(0, pool.inUse());
        assertEquals(1024, pool.available());
        Packet[] again = new Packet[32];
        assertTrue(pool.allocBulk(again, 0, 32));
        for (int k = 0; k < 32; k++) {
            assertSame("the last freed comes back first", out[31 - k], again[k]);
        }
        for (Packet p : again) {
            p.free(); // single frees go to the shared stack
        }
        assertEquals(0, pool.inUse());
    }

    /** A single alloc takes from the calling thread's cache when the shared stack is empty. */
    @Test
    public void singleAllocFallsBackOnTheThreadsOwnCache() {
        PacketPool pool = new PacketPool("t", 64);
        Packet[] two = new Packet[2];
        assertTrue(pool.allocBulk(two, 0, 2)); // fills this thread's cache from the shared stack
        java.util.List<Packet> rest = new java.util.ArrayList<>();
        for (Packet p; (p = pool.alloc()) != null;) {
            rest.add(p);
        }
        assertEquals("every buffer, the cached ones included", 62, rest.size());
        PacketBatch b = new PacketBatch();
        b.add(two[0]);
        b.add(two[1]);
        b.freeAll(); // into this thread's cache
        assertEquals(2, pool.available());
        Packet p = pool.alloc();
        assertSame("the last freed, from the cache", two[1], p);
        p.free();
        for (Packet q : rest) {
            q.free();
        }
        assertEquals(0, pool.inUse());
    }

    /**
     * A thread that frees in batches and allocates one by one (a PMD: dequeue, then send) works from its own
     * cache: the shared stack is touched half a cache at a time, not per packet, and LIFO order holds.
     */
    @Test
    public void singleAllocsComeFromTheThreadsCacheFirst() {
        PacketPool pool = new PacketPool("t", 1024); // caches of up to 64
        Packet first = pool.alloc();
        assertEquals("one refill of half a cache", 1024 - 32, pool.sharedAvailable());
        PacketBatch b = new PacketBatch();
        b.add(first);
        b.freeAll();
        for (int round = 0; round < 100; round++) {
            for (int k = 0; k < 16; k++) {
                b.add(pool.alloc());
            }
            Packet last = b.get(15);
            b.freeAll();
            assertEquals("the shared stack is not touched", 1024 - 32, pool.sharedAvailable());
            Packet again = pool.alloc();
            assertSame("the last freed comes back first", last, again);
            b.add(again);
            b.freeAll();
        }
        assertEquals(0, pool.inUse());
        assertEquals(1024, pool.available());
    }

    /** A data window whose end overflows an int is refused, as any window outside the buffer. */
    @Test
    public void windowsThatOverflowAreRefused() {
        PacketPool pool = new PacketPool("t", 16);
        Packet p = pool.alloc();
        for (int[] w : new int[][] {{1, Integer.MAX_VALUE}, {Integer.MAX_VALUE, 1}, {0, -1}}) {
            try {
                p.setData(w[0], w[1]);
                fail("window " + w[0] + "+" + w[1]);
            } catch (IndexOutOfBoundsException expected) {
                // refused
            }
            try {
                p.setSegmentData(w[0], w[1]);
                fail("segment window " + w[0] + "+" + w[1]);
            } catch (IndexOutOfBoundsException expected) {
                // refused
            }
        }
        try {
            pool.allocBulk(new Packet[4], 0, -1);
            fail("a negative count");
        } catch (IllegalArgumentException expected) {
            // refused, the pool untouched
        }
        p.free();
        assertEquals(0, pool.inUse());
    }

    /** Buffers left in the cache of a thread that ended are taken back when the pool runs dry. */
    @Test
    public void exhaustionReclaimsTheCachesOfEndedThreads() throws Exception {
        PacketPool pool = new PacketPool("t", 512); // caches of up to 32
        Packet[] two = new Packet[2];
        assertTrue(pool.allocBulk(two, 0, 2)); // this thread has a cache now
        PacketBatch b = new PacketBatch();
        b.add(two[0]);
        b.add(two[1]);
        b.freeAll();
        Thread t = new Thread(() -> burstsThroughTheCache(pool, 16, 10)); // ends with buffers in its cache
        t.start();
        t.join();
        int got = 0;
        java.util.List<Packet> all = new java.util.ArrayList<>();
        for (Packet p; (p = pool.alloc()) != null;) { // no inUse()/available() call before: alloc alone
            all.add(p);
            got++;
        }
        assertEquals(512, got);
        for (Packet p : all) {
            p.free();
        }
        assertEquals(0, pool.inUse());
    }

    /** What a thread's cache holds returns to the pool when the thread ends: nothing is stranded. */
    @Test
    public void theCacheOfAThreadThatEndedIsReclaimed() throws Exception {
        PacketPool pool = new PacketPool("t", 512);
        Thread t = new Thread(() -> burstsThroughTheCache(pool, 16, 10));
        t.start();
        t.join();
        assertEquals(0, pool.inUse());
        // every buffer can be had by this thread, one by one from the shared stack
        java.util.List<Packet> all = new java.util.ArrayList<>();
        for (Packet p; (p = pool.alloc()) != null;) {
            all.add(p);
        }
        assertEquals(512, all.size());
        for (Packet p : all) {
            p.free();
        }
        assertEquals(0, pool.inUse());
    }

    /** A thread's cache never holds more than 1/16 of the pool: the others can still allocate. */
    @Test
    public void aCacheCannotStarveOtherThreads() throws Exception {
        PacketPool pool = new PacketPool("t", 256);
        burstsThroughTheCache(pool, 8, 100);
        int[] got = new int[1];
        Thread other = new Thread(() -> {
            while (pool.alloc() != null) {
                got[0]++;
            }
        });
        other.start();
        other.join();
        assertTrue("other thread got " + got[0], got[0] >= 256 - 256 / 16);
    }

    /** {@code rounds} times: a burst of {@code n} allocated at once and freed as a batch. */
    private static void burstsThroughTheCache(PacketPool pool, int n, int rounds) {
        Packet[] out = new Packet[n];
        PacketBatch b = new PacketBatch();
        for (int round = 0; round < rounds; round++) {
            assertTrue(pool.allocBulk(out, 0, n));
            for (Packet p : out) {
                b.add(p);
            }
            b.freeAll();
        }
    }

    interface Body {
        void run(int me) throws Exception;
    }

    /** Runs {@code body} on {@code threads} threads started together; rethrows the first failure. */
    private static void race(int threads, Body body) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        AtomicReference<Throwable> err = new AtomicReference<>();
        Thread[] ts = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int me = t;
            ts[t] = new Thread(() -> {
                try {
                    go.await();
                    body.run(me);
                } catch (Throwable e) {
                    err.set(e);
                }
            });
            ts[t].start();
        }
        go.countDown();
        for (Thread t : ts) {
            t.join();
        }
        if (err.get() != null) {
            throw new AssertionError(err.get());
        }
    }

    /** The slab a DMA engine behind an IOMMU must have mapped: whole pages, every buffer inside it. */
    @Test
    public void slabIsWholePagesAndHoldsEveryBuffer() {
        PacketPool pool = new PacketPool("t", 3, 100, 10); // 3 * 128 bytes: less than a page
        assertEquals(0, pool.slabAddress() & 4095);
        assertEquals(4096, pool.slabSize());
        Packet[] all = new Packet[3];
        for (int i = 0; i < 3; i++) {
            all[i] = pool.alloc();
            assertTrue(all[i].address() >= pool.slabAddress());
            assertTrue(all[i].address() + pool.bufferSize() <= pool.slabAddress() + pool.slabSize());
        }
        for (Packet p : all) {
            p.free();
        }
        PacketPool big = new PacketPool("t", 64); // 64 * 2176 bytes: 34 pages and a bit
        assertEquals(0, big.slabSize() % 4096);
        assertTrue(big.slabSize() >= 64L * big.bufferSize() && big.slabSize() - 64L * big.bufferSize() < 4096);
    }

    /**
     * A batch keeps its pool's packets by index and another pool's by reference (PacketBatch): whatever the
     * mix, get returns what add, set and swap put, truncate and freeAll give each packet back to its own pool, and
     * an emptied batch takes the next packet's pool as its own.
     */
    @Test
    public void aBatchHoldsPacketsOfTwoPoolsAndFreesEachToItsOwn() {
        PacketPool a = new PacketPool("a", 64);
        PacketPool o = new PacketPool("o", 64);
        PacketBatch b = new PacketBatch();
        Packet[] want = new Packet[PacketBatch.MAX];
        for (int round = 0; round < 3; round++) {
            PacketPool first = round == 1 ? o : a; // round 1: the batch's pool is o
            for (int i = 0; i < PacketBatch.MAX; i++) {
                want[i] = (i % 3 == 1 ? (first == a ? o : a) : first).alloc();
                b.add(want[i]);
            }
            Packet x = o.alloc();
            Packet old = b.get(4);
            b.set(4, x); // a packet of either pool in place of one of the batch's pool
            old.free();
            want[4] = x;
            Packet y = a.alloc();
            old = b.get(7);
            b.set(7, y); // and in place of a foreign one
            old.free();
            want[7] = y;
            // swaps between packets kept by index and by reference (i % 3 == 1 is the other pool), and in place
            int[][] swaps = {{0, 3}, {2, 1}, {1, 10}, {5, 5}};
            for (int[] w : swaps) {
                b.swap(w[0], w[1]);
                Packet t = want[w[0]];
                want[w[0]] = want[w[1]];
                want[w[1]] = t;
            }
            for (int i = 0; i < PacketBatch.MAX; i++) {
                assertSame("round " + round + " packet " + i, want[i], b.get(i));
            }
            long bytes = 0;
            for (Packet p : want) {
                p.setData(p.headroom(), 60 + p.index() % 5);
                bytes += p.length();
            }
            assertEquals(bytes, b.bytes());
            for (int i = 20; i < PacketBatch.MAX; i++) {
                want[i].free();
            }
            b.truncate(20);
            assertEquals(20, b.size());
            assertSame(want[19], b.get(19));
            b.freeAll();
            assertEquals(0, a.inUse());
            assertEquals(0, o.inUse());
            assertTrue(b.isEmpty());
        }
        assertTrue("a's packets, appended by index", a.allocBulk(b, 5));
        b.add(o.alloc());
        assertTrue(o.allocBulk(b, 3));
        assertEquals(9, b.size());
        for (int i = 0; i < 9; i++) {
            assertSame(i < 5 ? a : o, b.get(i).pool());
            assertEquals("reset by the bulk allocation", a.defaultHeadroom(), b.get(i).dataOffset());
        }
        try {
            a.allocBulk(b, PacketBatch.MAX);
            fail("more than the batch's room");
        } catch (IllegalArgumentException expected) {
            assertEquals(9, b.size());
        }
        b.freeAll();
        assertEquals(0, a.inUse());
        assertEquals(0, o.inUse());
        PacketPool tiny = new PacketPool("t", 4);
        assertFalse("all or none", tiny.allocBulk(b, 5));
        assertTrue(b.isEmpty());
        assertEquals(0, tiny.inUse());
    }
}
