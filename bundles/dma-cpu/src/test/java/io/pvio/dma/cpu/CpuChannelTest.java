package io.pvio.dma.cpu;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;

import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaDevice;
import io.pvio.memory.NativeMemory;
import java.nio.ByteBuffer;
import org.junit.Test;

/** What the cpu engine does beyond the contract ({@link CpuEngineContractTest}). */
public class CpuChannelTest {
    @Test
    public void copiesRunAtSubmitOnTheCallingThread() throws Exception {
        CpuChannel ch = new CpuChannel("0000:00:04.0", 64);
        ch.start();
        ByteBuffer src = ByteBuffer.allocateDirect(40 * 1518);
        ByteBuffer dst = ByteBuffer.allocateDirect(40 * 1518);
        for (int i = 0; i < src.capacity(); i++) {
            src.put(i, (byte) (i * 7 + 1));
        }
        long s = NativeMemory.address(src);
        long d = NativeMemory.address(dst);
        for (int i = 0; i < 40; i++) {
            assertEquals(i, ch.copy(s + i * 1518L, d + i * 1518L, 1518, 0));
        }
        DmaCompletions out = new DmaCompletions(64);
        assertEquals("nothing runs before submit", 0, ch.completed(64, out));
        assertEquals(0, dst.get(0));
        ch.submit();
        assertEquals("done when submit returns", src, dst);
        assertEquals(10, ch.completed(10, out));
        assertEquals(9, out.lastIdx());
        assertEquals(30, ch.completedStatus(64, out));
        assertEquals(DmaDevice.STATUS_SUCCESSFUL, out.status(29));
        assertEquals(39, out.lastIdx());
        assertFalse(ch.info().has(DmaDevice.CAPA_HANDLES_ERRORS));
        assertEquals("cpu", ch.info().engine());
        ch.stop();
    }

    @Test(expected = UnsupportedOperationException.class)
    public void faultsAreRefused() throws Exception {
        new CpuChannel("0000:00:04.0", 64).setFaults(0.5, false);
    }
}
