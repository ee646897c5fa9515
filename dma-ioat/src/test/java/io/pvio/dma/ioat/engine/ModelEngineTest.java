package io.pvio.dma.ioat.engine;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaDevice;
import io.pvio.dma.DmaException;
import io.pvio.dma.spi.EngineChannel;
import io.pvio.memory.NativeMemory;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** The model engine's own behaviour (the generic contract is {@link ModelEngineContractTest}). */
public class ModelEngineTest {
    /** Hang guard only: no assertion depends on speed. */
    @Rule
    public Timeout guard = new Timeout(60, TimeUnit.SECONDS);

    private static final int AREA = 4 << 20;
    private ByteBuffer src;
    private ByteBuffer dst;
    private long srcAddr;
    private long dstAddr;
    private EngineChannel ch;
    /** The user's per-copy context, by ring index (as the vhost DmaChannel keeps it). */
    private final long[] hs = new long[65536];
    private final long[] hd = new long[65536];
    private boolean fenceNext;

    private static EngineChannel channel(ModelEngine e, int ring) throws DmaException {
        return new EngineChannel("0000:00:04.0", "ioat", e, ring, "dma_ioat");
    }

    private boolean enqueue(long s, long d, int len, long srcHandle, long dstHandle) {
        int idx = ch.copy(s, d, len, fenceNext ? DmaDevice.FLAG_FENCE : 0);
        if (idx < 0) {
            return false;
        }
        fenceNext = false;
        hs[idx] = srcHandle;
        hd[idx] = dstHandle;
        return true;
    }

    @Before
    public void setUp() throws Exception {
        src = ByteBuffer.allocateDirect(AREA);
        dst = ByteBuffer.allocateDirect(AREA);
        for (int i = 0; i < AREA; i++) {
            src.put(i, (byte) (i * 31 + (i >>> 8) * 7 + 1));
        }
        srcAddr = NativeMemory.address(src);
        dstAddr = NativeMemory.address(dst);
        ch = channel(new ModelEngine("0000:00:04.0", -1), 64);
        ch.start();
    }

    @After
    public void tearDown() {
        ch.stop();
    }

    private void assertCopied(int srcOff, int dstOff, int len) {
        for (int i = 0; i < len; i++) {
            if (src.get(srcOff + i) != dst.get(dstOff + i)) {
                fail("byte " + i + " of copy " + srcOff + "->" + dstOff + " (" + len + " bytes) differs");
            }
        }
    }

    /** Polls until {@code n} completions are collected into the handle arrays, in order of arrival. */
    private int collect(int n, long[] srcHandles, long[] dstHandles, int[] status) {
        DmaCompletions out = new DmaCompletions(32);
        int got = 0;
        while (got < n) {
            ch.submit();
            int k = ch.completedStatus(Math.min(32, n - got), out);
            assertEquals(k, out.count());
            for (int i = 0; i < k; i++) {
                int idx = (out.lastIdx() - k + 1 + i) & 0xffff;
                srcHandles[got] = hs[idx];
                dstHandles[got] = hd[idx];
                status[got] = out.status(i);
                got++;
            }
            if (k == 0) {
                Thread.onSpinWait();
            }
        }
        return got;
    }

    private Map<String, Long> stats() {
        Map<String, Long> m = new HashMap<>();
        ch.stats(m::put);
        return m;
    }

    @Test
    public void copiesCompleteInOrderWithTheirHandles() throws Exception {
        int n = 60;
        int off = 0;
        for (int i = 0; i < n; i++) {
            int len = 64 + i * 23;
            assertTrue(enqueue(srcAddr + off, dstAddr + off, len, 1000 + i, 2000 + i));
            off += len;
        }
        assertEquals(n, ch.inFlight());
        assertEquals(64 - n, ch.burstCapacity());
        long[] sh = new long[n];
        long[] dh = new long[n];
        int[] st = new int[n];
        collect(n, sh, dh, st);
        off = 0;
        for (int i = 0; i < n; i++) {
            assertEquals(1000 + i, sh[i]);
            assertEquals(2000 + i, dh[i]);
            assertEquals(DmaDevice.STATUS_SUCCESSFUL, st[i]);
            int len = 64 + i * 23;
            assertCopied(off, off, len);
            off += len;
        }
        assertEquals(0, ch.inFlight());
        assertEquals(64, ch.burstCapacity());
        assertEquals(Long.valueOf(n), stats().get("submitted"));
        assertEquals(Long.valueOf(n), stats().get("completed"));
    }

    @Test
    public void nothingRunsBeforeTheDoorbell() throws Exception {
        assertTrue(enqueue(srcAddr, dstAddr, 100, 1, 1));
        DmaCompletions out = new DmaCompletions(4);
        for (int i = 0; i < 1000; i++) {
            assertEquals(0, ch.completedStatus(4, out));
        }
        assertEquals(0, dst.get(0));
        ch.submit();
        collect(1, new long[1], new long[1], new int[1]);
        assertCopied(0, 0, 100);
    }

    @Test
    public void ringWrapsAroundManyTimes() throws Exception {
        int rounds = 40;
        int perRound = 50; // 2000 descriptors through a ring of 64
        long seq = 0;
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < perRound; i++) {
                int off = (int) ((seq * 1024) % (AREA - 1024));
                assertTrue(enqueue(srcAddr + off, dstAddr + off, 1000, seq, ~seq));
                seq++;
            }
            long[] sh = new long[perRound];
            long[] dh = new long[perRound];
            int[] st = new int[perRound];
            collect(perRound, sh, dh, st);
            for (int i = 0; i < perRound; i++) {
                long s = seq - perRound + i;
                assertEquals(s, sh[i]);
                assertEquals(~s, dh[i]);
                int off = (int) ((s * 1024) % (AREA - 1024));
                assertCopied(off, off, 1000);
            }
        }
        assertEquals(64, ch.burstCapacity());
    }

    @Test
    public void ringFullRefusesAndCounts() throws Exception {
        for (int i = 0; i < 64; i++) {
            assertTrue(enqueue(srcAddr + i * 64, dstAddr + i * 64, 64, i, i));
        }
        assertEquals(0, ch.burstCapacity());
        assertFalse(enqueue(srcAddr, dstAddr, 64, 99, 99));
        assertFalse(enqueue(srcAddr, dstAddr, 64, 99, 99));
        assertEquals(Long.valueOf(2), stats().get("ring_full"));
        assertEquals(Long.valueOf(64), stats().get("submitted"));
        // completed but unread copies keep their slots
        ch.submit();
        ch.stop();
        assertFalse(enqueue(srcAddr, dstAddr, 64, 99, 99));
        try {
            ch.start();
            fail("restart with unread completions (ring indexes restart at 0)");
        } catch (DmaException expected) {
            assertTrue(expected.getMessage(), expected.getMessage().contains("not yet read"));
        }
        long[] sh = new long[64];
        collect(64, sh, new long[64], new int[64]);
        for (int i = 0; i < 64; i++) {
            assertEquals(i, sh[i]);
        }
        ch.start();
        assertTrue(enqueue(srcAddr, dstAddr, 64, 100, 100));
        assertEquals(63, ch.burstCapacity());
    }

    @Test
    public void completedOpsHonoursMaxAndCapacity() throws Exception {
        for (int i = 0; i < 20; i++) {
            assertTrue(enqueue(srcAddr, dstAddr, 8, i, i));
        }
        ch.stop(); // waits: all 20 complete
        DmaCompletions small = new DmaCompletions(4);
        assertEquals(3, ch.completedStatus(3, small));
        assertEquals(2, small.lastIdx());
        assertEquals(4, ch.completedStatus(100, small));
        assertEquals(6, small.lastIdx());
        DmaCompletions big = new DmaCompletions(64);
        assertEquals(13, ch.completedStatus(64, big));
        assertEquals(19, big.lastIdx());
        assertEquals(0, ch.completedStatus(64, big));
        assertEquals(0, big.count());
        assertEquals("unchanged when nothing completed", 19, big.lastIdx());
    }

    @Test
    public void fenceMakesLaterCopiesSeeEarlierOnes() throws Exception {
        // A -> B, fence, B -> C: C must always hold A's bytes
        int len = 1518;
        for (int round = 0; round < 200; round++) {
            int a = (round * 4099) % (AREA / 2);
            int b = AREA / 2 + 1024 * (round % 100);
            int c = 8192 + 2048 * (round % 64);
            long bAddr = dstAddr + b;
            assertTrue(enqueue(srcAddr + a, bAddr, len, round, 0));
            fenceNext = true;
            assertTrue(enqueue(bAddr, dstAddr + c, len, round, 1));
            ch.submit();
            long[] sh = new long[2];
            long[] dh = new long[2];
            collect(2, sh, dh, new int[2]);
            assertEquals(0, dh[0]);
            assertEquals(1, dh[1]);
            assertCopied(a, c, len);
        }
        assertEquals(Long.valueOf(200), stats().get("fences"));
    }

    @Test
    public void everyCopyFailsAtErrorRateOne() throws Exception {
        ch.setFaults(1.0, false);
        for (int i = 0; i < 10; i++) {
            assertTrue(enqueue(srcAddr + i * 100, dstAddr + i * 100, 100, i, i));
        }
        int[] st = new int[10];
        long[] sh = new long[10];
        collect(10, sh, new long[10], st);
        for (int i = 0; i < 10; i++) {
            assertEquals(i, sh[i]);
            assertEquals(DmaDevice.STATUS_ERROR_UNKNOWN, st[i]);
        }
        for (int i = 0; i < 1000; i++) {
            assertEquals("a failed copy must not have been performed", 0, dst.get(i));
        }
        assertEquals(Long.valueOf(10), stats().get("failed"));
        assertEquals(Long.valueOf(10), stats().get("completed"));
    }

    @Test
    public void partialErrorRateMixesStatusesAndKeepsGoodCopies() throws Exception {
        ch.setFaults(0.3, false);
        int n = 2000;
        int errors = 0;
        for (int base = 0; base < n; base += 50) {
            for (int i = 0; i < 50; i++) {
                int off = (base + i) * 1024;
                assertTrue(enqueue(srcAddr + off, dstAddr + off, 512, base + i, 0));
            }
            long[] sh = new long[50];
            int[] st = new int[50];
            collect(50, sh, new long[50], st);
            for (int i = 0; i < 50; i++) {
                assertEquals(base + i, sh[i]);
                if (st[i] == DmaDevice.STATUS_SUCCESSFUL) {
                    assertCopied((base + i) * 1024, (base + i) * 1024, 512);
                } else {
                    assertEquals(DmaDevice.STATUS_ERROR_UNKNOWN, st[i]);
                    errors++;
                }
            }
        }
        assertTrue("errors " + errors, errors > 300 && errors < 900);
        assertEquals(Long.valueOf(errors), stats().get("failed"));
        ch.setFaults(0, false);
    }

    @Test
    public void stallStopsProgressUntilCleared() throws Exception {
        ch.setFaults(0, true);
        for (int i = 0; i < 10; i++) {
            assertTrue(enqueue(srcAddr + i * 100, dstAddr + i * 100, 100, i, i));
        }
        ch.submit();
        Thread.sleep(100);
        DmaCompletions out = new DmaCompletions(16);
        assertEquals(0, ch.completedStatus(16, out));
        assertEquals(10, ch.inFlight());
        assertEquals(Long.valueOf(1), stats().get("stalled"));
        ch.setFaults(0, false);
        collect(10, new long[10], new long[10], new int[10]);
        assertCopied(0, 0, 1000);
        assertEquals(0, ch.inFlight());
    }

    @Test
    public void stopCompletesEveryPendingCopy() throws Exception {
        ch.stop();
        ch.configure(4096);
        ch.start();
        int n = 4000;
        int len = 1000;
        for (int i = 0; i < n; i++) {
            assertTrue(enqueue(srcAddr + i * len, dstAddr + i * len, len, i, -i));
            if (i == n / 2) {
                ch.submit(); // the second half is queued but never rung by the user
            }
        }
        ch.stop();
        assertFalse(ch.isStarted());
        assertFalse(enqueue(srcAddr, dstAddr, 1, 0, 0));
        assertEquals(n, ch.inFlight());
        DmaCompletions out = new DmaCompletions(4096);
        assertEquals(n, ch.completedStatus(4096, out));
        for (int i = 0; i < n; i++) {
            assertEquals(i, hs[i]);
            assertEquals(-i, hd[i]);
            assertEquals(DmaDevice.STATUS_SUCCESSFUL, out.status(i));
        }
        assertCopied(0, 0, n * len);
        assertEquals(0, ch.inFlight());
    }

    @Test
    public void stopOfAStalledChannelStillCompletesEverything() throws Exception {
        ch.setFaults(0, true);
        for (int i = 0; i < 50; i++) {
            assertTrue(enqueue(srcAddr + i * 512, dstAddr + i * 512, 512, i, i));
        }
        ch.submit();
        ch.stop();
        DmaCompletions out = new DmaCompletions(64);
        assertEquals(50, ch.completedStatus(64, out));
        assertCopied(0, 0, 50 * 512);
    }

    @Test
    public void configureIsRefusedWhileStarted() throws Exception {
        try {
            ch.configure(128);
            fail("configure on a started channel");
        } catch (DmaException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("EBUSY"));
        }
        ch.stop();
        ch.configure(128);
        assertEquals(128, ch.info().ringSize());
        ch.start();
        for (int i = 0; i < 128; i++) {
            assertTrue(enqueue(srcAddr, dstAddr, 8, i, i));
        }
        assertFalse(enqueue(srcAddr, dstAddr, 8, 0, 0));
    }

    @Test
    public void configureIsRefusedWithUnreadCompletions() throws Exception {
        assertTrue(enqueue(srcAddr, dstAddr, 8, 1, 1));
        ch.stop();
        try {
            ch.configure(128);
            fail("configure would lose a completion");
        } catch (DmaException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("not yet read"));
        }
        assertEquals(1, ch.completedStatus(8, new DmaCompletions(8)));
        ch.configure(128);
    }

    @Test
    public void badRingSizesAreRefused() throws Exception {
        ch.stop();
        for (int bad : new int[] {0, -64, 1, 32, 63, 100, 8192, 1 << 30}) {
            try {
                ch.configure(bad);
                fail("ring size " + bad);
            } catch (DmaException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("power of two"));
            }
            try {
                new EngineChannel("0000:00:04.1", "ioat", new ModelEngine("0000:00:04.1", -1), bad, "dma_ioat");
                fail("ring size " + bad);
            } catch (DmaException e) {
                assertTrue(e.getMessage().contains("" + bad));
            }
        }
        for (int good : new int[] {64, 128, 256, 512, 1024, 2048, 4096}) {
            ch.configure(good);
            assertEquals(good, ch.info().ringSize());
        }
        assertEquals(64, ch.info().minRingSize());
        assertEquals(4096, ch.info().maxRingSize());
        assertEquals("ioat", ch.info().driver());
    }

    @Test
    public void restartKeepsWorking() throws Exception {
        for (int round = 0; round < 5; round++) {
            assertTrue(enqueue(srcAddr + round * 100, dstAddr + round * 100, 100, round, round));
            ch.submit();
            collect(1, new long[1], new long[1], new int[1]);
            ch.stop();
            ch.start();
        }
        assertCopied(0, 0, 500);
    }

    private static Thread engineThread(String name) {
        while (true) {
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if (t.getName().equals("dma-ioat-" + name)) {
                    return t;
                }
            }
        }
    }

    @Test
    public void idleEngineSleepsAndTheDoorbellWakesIt() throws Exception {
        ch.stop();
        ch = channel(new ModelEngine("0000:00:04.0", -1, 0), 64);
        ch.start();
        ch.submit();
        Thread engine = engineThread("0000:00:04.0");
        while (engine.getState() != Thread.State.TIMED_WAITING) {
            Thread.onSpinWait();
        }
        // asleep (no napping): the doorbell wakes it, which the channel counts (a system call for the submitter)
        long wakeups = stats().get("wakeups");
        assertTrue(enqueue(srcAddr, dstAddr, 100, 7, 7));
        ch.submit();
        assertEquals(wakeups + 1, (long) stats().get("wakeups"));
        long[] sh = new long[1];
        collect(1, sh, new long[1], new int[1]);
        assertEquals(7, sh[0]);
        assertCopied(0, 0, 100);
    }

    @Test
    public void nappingEngineTakesTheCopyWithoutAWakeup() throws Exception {
        ch.stop();
        ch = channel(new ModelEngine("0000:00:04.0", -1, 60_000_000_000L), 64);
        ch.start();
        Thread engine = engineThread("0000:00:04.0");
        long wakeups = -1;
        for (int i = 0; i < 20; i++) {
            while (engine.getState() != Thread.State.TIMED_WAITING) {
                Thread.onSpinWait();
            }
            assertTrue(enqueue(srcAddr + i * 100, dstAddr + i * 100, 100, i, i));
            ch.submit();
            long[] sh = new long[1];
            collect(1, sh, new long[1], new int[1]);
            assertEquals(i, sh[0]);
            if (i == 0) {
                wakeups = stats().get("wakeups"); // before its first work the idle engine sleeps
            }
        }
        assertCopied(0, 0, 2000);
        assertEquals(Long.valueOf(20), stats().get("doorbells"));
        assertEquals("doorbells after the first work found the engine napping", Long.valueOf(wakeups),
                stats().get("wakeups"));
    }

    @Test
    public void statsNameEveryCounter() throws Exception {
        Map<String, Long> s = stats();
        for (String k : new String[] {"submitted", "completed", "failed", "ring_full", "in_flight", "queued", "fences",
                "doorbells", "wakeups", "faults", "engine_busy_ppm", "stalled"}) {
            assertTrue(k, s.containsKey(k));
        }
    }

    @Test
    public void concurrentSubmitterAndStatsReader() throws Exception {
        Thread reader = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                stats();
            }
        });
        reader.start();
        int n = 20000;
        long[] sh = new long[16];
        int[] st = new int[16];
        long next = 0;
        long sent = 0;
        while (next < n) {
            while (sent < n && enqueue(srcAddr + (sent % 1000) * 64, dstAddr + (sent % 1000) * 64, 64, sent, 0)) {
                sent++;
            }
            ch.submit();
            int k = collect(Math.min(16, (int) (sent - next)), sh, new long[16], st);
            for (int i = 0; i < k; i++) {
                assertEquals(next++, sh[i]);
            }
        }
        reader.interrupt();
        reader.join();
        assertCopied(0, 0, 64000);
        assertEquals(Long.valueOf(n), stats().get("completed"));
    }

    /**
     * A copy into a mapping whose file was truncated (SIGBUS, an InternalError in Java) does not stop the
     * engine: it goes on with the next copies (before the engine caught the error, it ended the engine thread
     * and the next copies never completed). The JVM raises the error at the engine thread's next check, at
     * times during a later copy, which then completes with an error status (a submitter redoes failed copies);
     * every copy reported OK landed.
     */
    @Test
    public void aCopyFaultingOnATruncatedMappingDoesNotStopTheEngine() throws Exception {
        java.nio.file.Path f = java.nio.file.Files.createTempFile("pvio-ioat-fault", ".bin");
        try (java.nio.channels.FileChannel fc = java.nio.channels.FileChannel.open(f,
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            ByteBuffer m = fc.map(java.nio.channels.FileChannel.MapMode.READ_WRITE, 0, 1 << 20);
            fc.truncate(4096);
            long gone = NativeMemory.address(m) + 65536; // past the file's new end
            assertTrue(enqueue(srcAddr, gone, 512, 0, 0));
            long[] sh = new long[1];
            int[] st = new int[1];
            collect(1, sh, new long[1], st);
            int errors = 0;
            for (int i = 1; i <= 8; i++) {
                if (i > 4) {
                    Thread.sleep(20);
                }
                int off = 4096 * i;
                assertTrue(enqueue(srcAddr + off, dstAddr + off, 1518, i, 0));
                collect(1, sh, new long[1], st);
                assertEquals(i, sh[0]);
                if (st[0] == DmaDevice.STATUS_SUCCESSFUL) {
                    assertCopied(off, off, 1518);
                } else {
                    errors++;
                }
            }
            assertTrue("errors " + errors, errors <= 1);
            assertTrue(stats().get("faults") <= 1);
        } finally {
            java.nio.file.Files.deleteIfExists(f);
        }
    }
}
