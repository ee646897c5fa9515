package io.pvio.dma.ioat.engine;

import io.pvio.dma.spi.DmaEngine;
import io.pvio.dma.spi.DmaEngineContractTest;

/** The engine contract on the IOAT model. */
public class ModelEngineContractTest extends DmaEngineContractTest {
    @Override
    protected DmaEngine newEngine(String address) {
        return new ModelEngine(address, -1);
    }
}
