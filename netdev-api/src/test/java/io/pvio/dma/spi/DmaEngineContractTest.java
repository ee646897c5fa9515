package io.pvio.dma.spi;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaDevice;
import io.pvio.dma.DmaException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.After;
import org.junit.Assume;
import org.junit.Before;
import org.junit.Test;

/**
 * The DMA engine contract, run on every engine (each provider extends this class with its engine): order,
 * ring indexes past 65,536, ring full, stop drains, restart, ring-size change, two channels on two threads,
 * faults; bytes are checked through a second mapping of a memfd.
 */
public abstract class DmaEngineContractTest {
    /** A poll loop gives up after this many polls without progress (an engine that lost copies). */
    private static final long IDLE_POLLS = 200_000_000L;

    protected MemfdPair mem;
    private final List<EngineChannel> channels = new ArrayList<>();

    /** A new stopped engine for channel {@code address}. */
    protected abstract DmaEngine newEngine(String address) throws Exception;

    /** Whether the engine injects faults (error rate, stall). */
    protected boolean injectsFaults() {
        return true;
    }

    /** The smallest ring the tests use (a power of two the engine accepts). */
    protected int smallRing() {
        return 64;
    }

    @Before
    public void mapMemory() throws Exception {
        mem = new MemfdPair("dma-contract", 4 << 20);
    }

    @After
    public void closeAll() throws Exception {
        for (EngineChannel c : channels) {
            c.setFaults(0, false);
            c.stop();
            DmaCompletions out = new DmaCompletions(256);
            while (c.completedStatus(256, out) > 0) {
                // read what is left
            }
            c.engine().close();
        }
        mem.close();
    }

    protected EngineChannel channel(String address, int ring) throws Exception {
        EngineChannel c = new EngineChannel(address, "test", newEngine(address), ring, "dma_test");
        channels.add(c);
        c.start();
        return c;
    }

    private void fillSource(int off, int len, int seed) {
        for (int i = 0; i < len; i++) {
            mem.a.put(off + i, (byte) (seed * 31 + i * 7));
        }
    }

    /** Polls until {@code n} more copies completed; checks they complete in order with the expected indexes. */
    private static int awaitCompleted(DmaDevice d, DmaCompletions out, int n, int firstIdx) {
        int got = 0;
        long idle = 0;
        while (got < n) {
            int k = d.completed(n - got, out);
            assertFalse("no copy fails here", out.hasError());
            if (k == 0) {
                if (++idle > IDLE_POLLS) {
                    fail(d + ": " + (n - got) + " copies never completed");
                }
                Thread.onSpinWait();
                continue;
            }
            idle = 0;
            got += k;
            assertEquals("last index after " + got + " copies", (firstIdx + got - 1) & 0xffff, out.lastIdx());
        }
        return got;
    }

    @Test
    public void copiesCompleteInOrderWithTheirBytes() throws Exception {
        EngineChannel c = channel("0000:00:04.0", 256);
        DmaCompletions out = new DmaCompletions(256);
        int src = 0;
        int dst = 2 << 20;
        int off = 0;
        int idx = 0;
        for (int burst = 0; burst < 40; burst++) {
            for (int i = 0; i < 32; i++) {
                int len = 1 + (burst * 32 + i) * 37 % 1500;
                fillSource(src + off, len, burst * 32 + i);
                int r = c.copy(mem.aAddress + src + off, mem.aAddress + dst + off, len, 0);
                assertEquals("ring index", idx & 0xffff, r);
                idx++;
                off += len;
            }
            c.submit();
            awaitCompleted(c, out, 32, idx - 32);
        }
        for (int i = 0; i < off; i++) {
            if (mem.b.get(dst + i) != mem.b.get(src + i)) {
                fail("byte " + i + " differs through the second mapping");
            }
        }
        assertEquals(0, c.inFlight());
        var s = new java.util.HashMap<String, Long>();
        c.stats(s::put);
        assertEquals(40 * 32L, (long) s.get("submitted"));
        assertEquals(40 * 32L, (long) s.get("completed"));
        assertEquals(0L, (long) s.get("failed"));
    }

    @Test
    public void ringIndexWrapsPast65536() throws Exception {
        EngineChannel c = channel("0000:00:04.1", smallRing());
        DmaCompletions out = new DmaCompletions(64);
        fillSource(0, 64, 5);
        int total = 70_000;
        int done = 0;
        while (done < total) {
            int b = Math.min(32, total - done);
            for (int i = 0; i < b; i++) {
                int r = c.copy(mem.aAddress, mem.aAddress + 4096 + ((done + i) & 63) * 64, 64, 0);
                assertEquals((done + i) & 0xffff, r);
            }
            c.submit();
            awaitCompleted(c, out, b, done);
            done += b;
        }
        assertEquals((total - 1) & 0xffff, out.lastIdx());
        for (int i = 0; i < 64; i++) {
            assertEquals(mem.b.get(i), mem.b.get(4096 + 63 * 64 + i));
        }
    }

    @Test
    public void aFullRingRefusesThenAcceptsAgain() throws Exception {
        int ring = smallRing();
        EngineChannel c = channel("0000:00:04.2", ring);
        assertEquals(ring, c.info().ringSize());
        int cap = c.burstCapacity();
        assertTrue("burst capacity " + cap, cap >= ring - 1 && cap <= ring);
        int accepted = 0;
        while (c.copy(mem.aAddress, mem.aAddress + 8192, 8, 0) >= 0) {
            accepted++;
            assertTrue("a ring of " + ring + " took " + accepted, accepted <= ring);
        }
        assertEquals("accepted until full", cap, accepted);
        assertEquals(DmaDevice.ENOSPC, c.copy(mem.aAddress, mem.aAddress + 8192, 8, 0));
        assertEquals(0, c.burstCapacity());
        c.submit();
        DmaCompletions out = new DmaCompletions(ring);
        awaitCompleted(c, out, accepted, 0);
        assertEquals(cap, c.burstCapacity());
        assertEquals(accepted & 0xffff, c.copy(mem.aAddress, mem.aAddress + 8192, 8, DmaDevice.FLAG_SUBMIT));
        awaitCompleted(c, out, 1, accepted);
        var s = new java.util.HashMap<String, Long>();
        c.stats(s::put);
        assertEquals("the two refused copies", 2L, (long) s.get("ring_full"));
    }

    @Test
    public void stopLetsEverySubmittedCopyComplete() throws Exception {
        EngineChannel c = channel("0000:00:04.3", 256);
        int n = c.burstCapacity();
        for (int i = 0; i < n; i++) {
            fillSource(i * 512, 512, i);
            assertEquals(i, c.copy(mem.aAddress + i * 512, mem.aAddress + (2 << 20) + i * 512, 512, 0));
        }
        // not submitted: stop submits them itself
        c.stop();
        assertFalse(c.isStarted());
        assertEquals(DmaDevice.ESTOPPED, c.copy(mem.aAddress, mem.aAddress + 8, 8, 0));
        DmaCompletions out = new DmaCompletions(512);
        assertEquals("every copy completed before stop returned", n, c.completed(512, out));
        assertEquals(n - 1, out.lastIdx());
        for (int i = 0; i < n * 512; i++) {
            if (mem.b.get((2 << 20) + i) != mem.b.get(i)) {
                fail("byte " + i + " not copied before stop returned");
            }
        }
    }

    @Test
    public void restartBeginsAtIndexZeroAndRefusesUnreadCompletions() throws Exception {
        EngineChannel c = channel("0000:00:04.4", smallRing());
        for (int i = 0; i < 10; i++) {
            c.copy(mem.aAddress, mem.aAddress + 4096, 64, 0);
        }
        c.stop();
        try {
            c.start();
            fail("start with unread completions");
        } catch (DmaException expected) {
            assertTrue(expected.getMessage(), expected.getMessage().contains("not yet read"));
        }
        DmaCompletions out = new DmaCompletions(64);
        assertEquals(10, c.completed(64, out));
        c.start();
        assertEquals(0, c.copy(mem.aAddress, mem.aAddress + 4096, 64, DmaDevice.FLAG_SUBMIT));
        awaitCompleted(c, out, 1, 0);
    }

    @Test
    public void ringSizeChangesOnlyWhenStopped() throws Exception {
        int small = smallRing();
        EngineChannel c = channel("0000:00:04.5", small);
        try {
            c.configure(small * 2);
            fail("configure while started");
        } catch (DmaException expected) {
            assertTrue(expected.getMessage(), expected.getMessage().contains("EBUSY"));
        }
        try {
            c.stop();
            c.configure(small + 1);
            fail("a ring that is not a power of two");
        } catch (DmaException expected) {
            assertTrue(expected.getMessage(), expected.getMessage().contains("power of two"));
        }
        c.configure(small * 2);
        c.start();
        assertEquals(small * 2, c.info().ringSize());
        int accepted = 0;
        while (c.copy(mem.aAddress, mem.aAddress + 8192, 8, 0) >= 0) {
            accepted++;
        }
        assertTrue("the bigger ring took " + accepted, accepted >= small * 2 - 1);
        c.submit();
        awaitCompleted(c, new DmaCompletions(small * 2), accepted, 0);
    }

    @Test
    public void twoChannelsOnTwoThreads() throws Exception {
        EngineChannel c1 = channel("0000:00:04.6", 256);
        EngineChannel c2 = channel("0000:00:04.7", 256);
        fillSource(0, 1 << 20, 9);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread[] threads = new Thread[2];
        EngineChannel[] cs = {c1, c2};
        for (int t = 0; t < 2; t++) {
            int me = t;
            threads[t] = new Thread(() -> {
                try {
                    DmaCompletions out = new DmaCompletions(64);
                    int base = (1 << 20) + me * (512 << 10);
                    int idx = 0;
                    for (int round = 0; round < 300; round++) {
                        for (int i = 0; i < 32; i++) {
                            int seg = (round * 32 + i) % 1024;
                            int r = cs[me].copy(mem.aAddress + seg * 512, mem.aAddress + base + seg * 512, 512, 0);
                            assertEquals(idx & 0xffff, r);
                            idx++;
                        }
                        cs[me].submit();
                        awaitCompleted(cs[me], out, 32, idx - 32);
                    }
                } catch (Throwable e) {
                    failure.set(e);
                }
            }, "contract-" + t);
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        for (int t = 0; t < 2; t++) {
            int base = (1 << 20) + t * (512 << 10);
            for (int i = 0; i < 512 << 10; i++) {
                if (mem.b.get(base + i) != mem.b.get(i)) {
                    fail("channel " + t + ": byte " + i + " differs");
                }
            }
        }
    }

    @Test
    public void failedCopiesAreReportedWithAStatus() throws Exception {
        Assume.assumeTrue("engine injects faults", injectsFaults());
        EngineChannel c = channel("0000:00:05.0", 256);
        c.setFaults(1.0, false);
        mem.b.put(8192, (byte) 0x5a);
        mem.a.put(0, (byte) 0x11);
        for (int i = 0; i < 4; i++) {
            c.copy(mem.aAddress, mem.aAddress + 8192 + i, 1, 0);
        }
        c.submit();
        DmaCompletions out = new DmaCompletions(16);
        long idle = 0;
        while (c.completed(16, out) == 0 && !out.hasError()) {
            if (++idle > IDLE_POLLS) {
                fail("the failed copies are never reported");
            }
        }
        assertTrue(out.hasError());
        int got = 0;
        while (got < 4) {
            int k = c.completedStatus(16, out);
            for (int i = 0; i < k; i++) {
                assertTrue("status " + out.status(i), out.status(i) != DmaDevice.STATUS_SUCCESSFUL);
            }
            got += k;
        }
        assertEquals(3, out.lastIdx());
        assertEquals("a failed copy is not performed", 0x5a, mem.b.get(8192));
        c.setFaults(0, false);
        assertEquals(4, c.copy(mem.aAddress, mem.aAddress + 8192, 1, DmaDevice.FLAG_SUBMIT));
        awaitCompleted(c, out, 1, 4);
        assertEquals(0x11, mem.b.get(8192));
        var s = new java.util.HashMap<String, Long>();
        c.stats(s::put);
        assertEquals(4L, (long) s.get("failed"));
    }

    @Test
    public void aStalledEngineCompletesNothingUntilCleared() throws Exception {
        Assume.assumeTrue("engine injects faults", injectsFaults());
        EngineChannel c = channel("0000:00:05.1", 256);
        c.setFaults(0, true);
        mem.a.put(0, (byte) 0x22);
        c.copy(mem.aAddress, mem.aAddress + 8192, 1, DmaDevice.FLAG_SUBMIT);
        DmaCompletions out = new DmaCompletions(16);
        for (int i = 0; i < 100_000; i++) {
            assertEquals("stalled", 0, c.completed(16, out));
        }
        assertEquals(1, c.inFlight());
        c.setFaults(0, false);
        awaitCompleted(c, out, 1, 0);
        assertEquals(0x22, mem.b.get(8192));
    }
}
