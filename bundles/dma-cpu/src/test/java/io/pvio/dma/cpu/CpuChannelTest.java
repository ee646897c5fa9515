package io.pvio.dma.cpu;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaDevice;
import io.pvio.dma.DmaException;
import io.pvio.memory.NativeMemory;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import org.junit.Before;
import org.junit.Test;

public class CpuChannelTest {
    private ByteBuffer src;
    private ByteBuffer dst;
    private long s;
    private long d;
    private CpuChannel ch;

    @Before
    public void setUp() throws DmaException {
        src = ByteBuffer.allocateDirect(1 << 20);
        dst = ByteBuffer.allocateDirect(1 << 20);
        for (int i = 0; i < src.capacity(); i++) {
            src.put(i, (byte) (i * 7 + (i >>> 9) + 3));
        }
        s = NativeMemory.address(src);
        d = NativeMemory.address(dst);
        ch = new CpuChannel("0000:00:04.0", 64);
        ch.start();
    }

    private void assertCopied(int off, int len) {
        for (int i = off; i < off + len; i++) {
            if (src.get(i) != dst.get(i)) {
                fail("byte " + i + " differs");
            }
        }
    }

    @Test
    public void everyCopyIsDoneAtPerformOpsAndReportedInOrder() {
        for (int i = 0; i < 40; i++) {
            assertTrue(ch.enqueueCopy(s + i * 1518L, d + i * 1518L, 1518, i, 100 + i));
        }
        DmaCompletions out = new DmaCompletions(64);
        assertEquals(0, ch.completedOps(64, out));
        assertEquals(0, dst.get(0));
        ch.performOps();
        assertCopied(0, 40 * 1518);
        assertEquals(10, ch.completedOps(10, out));
        assertEquals(30, ch.completedOps(64, out));
        for (int i = 0; i < 30; i++) {
            assertEquals(10 + i, out.srcHandle(i));
            assertEquals(110 + i, out.dstHandle(i));
            assertEquals(DmaDevice.STATUS_OK, out.status(i));
        }
        assertEquals(0, ch.inFlight());
    }

    @Test
    public void ringFullAndWrapAround() {
        DmaCompletions out = new DmaCompletions(64);
        long seq = 0;
        for (int round = 0; round < 20; round++) {
            for (int i = 0; i < 64; i++, seq++) {
                assertTrue(ch.enqueueCopy(s + (seq % 900) * 1000, d + (seq % 900) * 1000, 1000, seq, 0));
            }
            assertFalse(ch.enqueueCopy(s, d, 1, 0, 0));
            assertEquals(0, ch.freeSlots());
            ch.performOps();
            assertEquals(64, ch.completedOps(64, out));
            assertEquals(seq - 64, out.srcHandle(0));
            assertEquals(seq - 1, out.srcHandle(63));
        }
        assertCopied(0, 900 * 1000);
        Map<String, Long> stats = new HashMap<>();
        ch.stats(stats::put);
        assertEquals(Long.valueOf(20), stats.get("ring_full"));
        assertEquals(Long.valueOf(seq), stats.get("submitted"));
        assertEquals(Long.valueOf(seq), stats.get("completed"));
        assertEquals(Long.valueOf(0), stats.get("in_flight"));
    }

    @Test
    public void fencedDependentCopy() {
        assertTrue(ch.enqueueCopy(s, d, 1000, 1, 1));
        ch.fence();
        assertTrue(ch.enqueueCopy(d, d + 4096, 1000, 2, 2));
        ch.performOps();
        for (int i = 0; i < 1000; i++) {
            assertEquals(src.get(i), dst.get(4096 + i));
        }
    }

    @Test
    public void stopPerformsPendingCopiesAndKeepsTheirCompletions() throws DmaException {
        for (int i = 0; i < 64; i++) {
            assertTrue(ch.enqueueCopy(s + i * 1000L, d + i * 1000L, 1000, i, i));
        }
        ch.stop();
        assertFalse(ch.isStarted());
        assertFalse(ch.enqueueCopy(s, d, 1, 0, 0));
        assertCopied(0, 64 * 1000);
        try {
            ch.configure(128);
            fail("would lose completions");
        } catch (DmaException e) {
            assertTrue(e.getMessage().contains("not yet read"));
        }
        assertEquals(64, ch.completedOps(64, new DmaCompletions(64)));
        ch.configure(128);
        assertEquals(128, ch.info().ringSize());
    }

    @Test
    public void configureRefusedWhileStartedAndBadSizes() throws DmaException {
        try {
            ch.configure(128);
            fail();
        } catch (DmaException e) {
            assertTrue(e.getMessage().contains("EBUSY"));
        }
        ch.stop();
        for (int bad : new int[] {0, 32, 100, 8192, -1}) {
            try {
                ch.configure(bad);
                fail("ring " + bad);
            } catch (DmaException e) {
                assertTrue(e.getMessage().contains("power of two"));
            }
        }
        assertEquals("cpu", ch.info().driver());
    }
}
