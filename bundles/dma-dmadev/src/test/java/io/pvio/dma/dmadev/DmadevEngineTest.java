package io.pvio.dma.dmadev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaDevice;
import io.pvio.dma.DmaException;
import io.pvio.dma.spi.EngineChannel;
import io.pvio.dma.spi.MemfdPair;
import java.util.HashMap;
import java.util.Map;
import org.junit.BeforeClass;
import org.junit.Test;

/** What the dmadev engine does beyond the contract: naming, refusals, one native call per burst and per poll. */
public class DmadevEngineTest {
    @BeforeClass
    public static void eal() throws Exception {
        DmadevTestEal.start();
    }

    @Test
    public void eal_isStartedOnceAndKeptWithOtherArguments() throws Exception {
        assertTrue(Eal.isUp());
        Eal.ensureStarted(java.util.List.of("--no-huge", "--vdev=dma_skeleton7"));
        assertEquals("the arguments in force are the first ones", String.join(" ", DmadevTestEal.ARGS),
                System.getProperty(Eal.ARGS_PROPERTY));
    }

    @Test
    public void anUnknownDeviceIsRefusedWithTheReason() {
        try {
            new DmadevEngine("dma_skeleton9");
            fail("no such device");
        } catch (DmaException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("no dmadev device 'dma_skeleton9'"));
            assertTrue(e.getMessage(), e.getMessage().contains("2 dmadev device(s)"));
        }
    }

    @Test
    public void aDeviceHasOneChannel() throws Exception {
        DmadevEngine first = new DmadevEngine("dma_skeleton1");
        first.open(64);
        try {
            new DmadevEngine("dma_skeleton1").open(64);
            fail("second channel on one device");
        } catch (DmaException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("already has a channel"));
        } finally {
            first.close();
        }
        DmadevEngine again = new DmadevEngine("dma_skeleton1");
        again.open(64);
        again.close();
    }

    @Test
    public void oneNativeCallPerBurstAndPerPoll() throws Exception {
        EngineChannel ch = new EngineChannel("0000:00:06.1", "dmadev", new DmadevEngine("dma_skeleton1"), 256,
                "dma_dmadev");
        assertEquals("dmadev", ch.info().engine());
        assertEquals("dma_skeleton1", ch.info().device());
        ch.start();
        try (MemfdPair mem = new MemfdPair("bursts", 1 << 20)) {
            DmaCompletions out = new DmaCompletions(64);
            int polls = 0;
            for (int burst = 0; burst < 10; burst++) {
                for (int i = 0; i < 32; i++) {
                    ch.copy(mem.aAddress + i * 64, mem.aAddress + 65536 + i * 64, 64, 0);
                }
                ch.submit();
                int got = 0;
                while (got < 32) {
                    got += ch.completed(64, out);
                    polls++;
                }
            }
            Map<String, Long> s = new HashMap<>();
            ch.stats(s::put);
            assertEquals(10L, (long) s.get("native_bursts"));
            assertEquals((long) polls, (long) s.get("native_polls"));
            assertEquals(320L, (long) s.get("completed"));
            assertEquals(0L, (long) s.get("lost"));
        } finally {
            ch.stop();
            ch.engine().close();
        }
    }

    @Test
    public void aStoppedChannelRefusesCopies() throws Exception {
        EngineChannel ch = new EngineChannel("0000:00:06.2", "dmadev", new DmadevEngine("dma_skeleton1"), 64,
                "dma_dmadev");
        try {
            assertEquals(DmaDevice.ESTOPPED, ch.copy(0, 0, 8, 0));
            assertEquals(0, ch.burstCapacity());
        } finally {
            ch.engine().close();
        }
    }
}
