package io.pvio.dma.dmadev.component;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dma.DmaException;
import io.pvio.dma.dmadev.DmadevEngine;
import io.pvio.dma.dmadev.Eal;
import io.pvio.dma.spi.MemfdPair;
import java.util.List;
import org.junit.Test;

/**
 * The DmaMemory service of dma-dmadev with the EAL up: ranges go into the shim (and VFIO when in use) as
 * they are mapped, leave as they are unmapped, and every range left is withdrawn when the component goes.
 */
public class DmadevMemoryTest {
    @Test
    public void rangesFollowMapAndUnmapAndDeactivationUnmapsTheRest() throws Exception {
        Eal.ensureStarted(List.of("--no-huge", "-m", "64", "--no-pci", "--no-shconf", "--no-telemetry", "--lcores",
                "0@(0-" + (Runtime.getRuntime().availableProcessors() - 1) + ")", "--vdev=dma_skeleton0",
                "--vdev=dma_skeleton1"));
        try (MemfdPair mem = new MemfdPair("eal-memory", 1 << 20)) {
            DmadevMemory eal = new DmadevMemory();
            int before = DmadevEngine.mappedRanges();
            eal.map(mem.aAddress, 4096);
            eal.map(mem.aAddress + 8192, 100);
            assertEquals(before + 2, DmadevEngine.mappedRanges());
            assertEquals(2, eal.ranges());
            eal.unmap(mem.aAddress, 4096);
            assertEquals(before + 1, DmadevEngine.mappedRanges());
            try {
                eal.unmap(mem.aAddress, 4096);
                fail("unmapped twice");
            } catch (DmaException e) {
                assertTrue(e.getMessage(), e.getMessage().endsWith("not mapped"));
            }
            eal.deactivate();
            assertEquals("what was left is unmapped", before, DmadevEngine.mappedRanges());
            assertEquals(0, eal.ranges());
            try {
                eal.map(mem.aAddress, 4096);
                fail("mapped after deactivation");
            } catch (DmaException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("stopping"));
            }
            assertEquals(before, DmadevEngine.mappedRanges());
        }
    }
}
