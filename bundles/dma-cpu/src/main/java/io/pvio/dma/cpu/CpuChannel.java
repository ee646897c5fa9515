package io.pvio.dma.cpu;

import io.pvio.dma.DmaException;
import io.pvio.dma.spi.EngineChannel;

/** A stopped channel on a {@link CpuEngine}: the DMA channel that copies on the calling CPU. */
public final class CpuChannel extends EngineChannel {
    public static final String DRIVER = "cpu";

    public CpuChannel(String address, int ringSize) throws DmaException {
        super(address, DRIVER, new CpuEngine(), ringSize, "dma_cpu");
    }
}
