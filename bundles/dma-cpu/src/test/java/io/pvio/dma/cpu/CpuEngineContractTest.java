package io.pvio.dma.cpu;

import io.pvio.dma.spi.DmaEngine;
import io.pvio.dma.spi.DmaEngineContractTest;

/** The engine contract on the cpu engine (no fault injection). */
public class CpuEngineContractTest extends DmaEngineContractTest {
    @Override
    protected DmaEngine newEngine(String address) {
        return new CpuEngine();
    }

    @Override
    protected boolean injectsFaults() {
        return false;
    }
}
