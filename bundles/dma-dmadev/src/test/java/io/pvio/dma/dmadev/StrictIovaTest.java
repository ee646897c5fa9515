package io.pvio.dma.dmadev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaDevice;
import io.pvio.dma.DmaException;
import io.pvio.dma.spi.EngineChannel;
import io.pvio.dma.spi.MemfdPair;
import org.junit.After;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * The strict IOVA mode of the shim stands in for an IOMMU: a copy touching memory that was not registered
 * (or was unregistered) fails with RTE_DMA_STATUS_INVALID_ADDR and leaves the destination untouched; the
 * channel goes on with the next copies.
 */
public class StrictIovaTest {
    private MemfdPair mem;
    private EngineChannel ch;

    @BeforeClass
    public static void eal() throws Exception {
        DmadevTestEal.start();
    }

    @Before
    public void setUp() throws Exception {
        mem = new MemfdPair("strict-iova", 1 << 20);
        ch = new EngineChannel("0000:00:06.0", "dmadev", new DmadevEngine("dma_skeleton0"), 64, "dma_dmadev");
        ch.start();
        DmadevEngine.setStrictIova(true);
    }

    @After
    public void tearDown() throws Exception {
        DmadevEngine.setStrictIova(false);
        ch.stop();
        DmaCompletions out = new DmaCompletions(64);
        while (ch.completedStatus(64, out) > 0) {
            // read what is left
        }
        ch.engine().close();
        mem.close();
    }

    private int status(int idx) {
        DmaCompletions out = new DmaCompletions(1);
        long polls = 0;
        while (ch.completedStatus(1, out) == 0) {
            if (++polls > 100_000_000L) {
                fail("copy " + idx + " never completed");
            }
        }
        assertEquals(idx, out.lastIdx());
        return out.status(0);
    }

    @Test
    public void onlyRegisteredMemoryIsReachable() throws Exception {
        long a = mem.aAddress;
        mem.a.put(0, (byte) 0x42);
        // nothing registered: refused, destination untouched
        assertEquals(0, ch.copy(a, a + 4096, 1, DmaDevice.FLAG_SUBMIT));
        assertEquals(DmaDevice.STATUS_INVALID_ADDR, status(0));
        assertEquals(0, mem.b.get(4096));
        // the first half registered: copies inside it land, one reaching past it fails
        DmadevEngine.mapMemory(a, 512 << 10);
        try {
            assertEquals(1, ch.copy(a, a + 4096, 1, DmaDevice.FLAG_SUBMIT));
            assertEquals(DmaDevice.STATUS_SUCCESSFUL, status(1));
            assertEquals(0x42, mem.b.get(4096));
            assertEquals(2, ch.copy(a, a + (512 << 10) - 8, 16, DmaDevice.FLAG_SUBMIT));
            assertEquals(DmaDevice.STATUS_INVALID_ADDR, status(2));
            // rte_dma_completed stops before a failed copy and says so
            mem.a.put(1, (byte) 0x43);
            ch.copy(a + 1, a + 8192, 1, 0);
            ch.copy(a + 1, a + (900 << 10), 1, 0);
            ch.copy(a + 1, a + 8193, 1, DmaDevice.FLAG_SUBMIT);
            DmaCompletions out = new DmaCompletions(8);
            int ok = 0;
            while (!out.hasError()) {
                ok += ch.completed(8, out);
            }
            assertEquals(1, ok);
            assertEquals(3, out.lastIdx());
            assertEquals(DmaDevice.STATUS_INVALID_ADDR, status(4));
            assertEquals(DmaDevice.STATUS_SUCCESSFUL, status(5));
            assertEquals(0x43, mem.b.get(8193));
        } finally {
            DmadevEngine.unmapMemory(a, 512 << 10);
        }
        // unregistered again: refused
        assertEquals(6, ch.copy(a, a + 4096, 1, DmaDevice.FLAG_SUBMIT));
        assertEquals(DmaDevice.STATUS_INVALID_ADDR, status(6));
        var s = new java.util.HashMap<String, Long>();
        ch.stats(s::put);
        assertEquals(4L, (long) s.get("failed"));
    }

    @Test
    public void unmappingWhatWasNeverMappedIsAnError() {
        try {
            DmadevEngine.unmapMemory(mem.aAddress, 4096);
            fail("unmap of a range never mapped");
        } catch (DmaException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("unmap"));
        }
        assertFalse(ch.info().has(DmaDevice.CAPA_HANDLES_ERRORS));
    }
}
