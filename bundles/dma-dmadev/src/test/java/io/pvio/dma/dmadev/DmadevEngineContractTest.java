package io.pvio.dma.dmadev;

import io.pvio.dma.spi.DmaEngine;
import io.pvio.dma.spi.DmaEngineContractTest;
import org.junit.Before;
import org.junit.BeforeClass;

/** The engine contract on DPDK's dma_skeleton through the shim (fault hooks included). */
public class DmadevEngineContractTest extends DmaEngineContractTest {
    private int next;

    @BeforeClass
    public static void eal() throws Exception {
        DmadevTestEal.start();
    }

    @Before
    public void firstDevice() {
        next = 0;
    }

    /** dma_skeleton0, then dma_skeleton1 (a device has one channel). */
    @Override
    protected DmaEngine newEngine(String address) throws Exception {
        return new DmadevEngine("dma_skeleton" + next++);
    }
}
