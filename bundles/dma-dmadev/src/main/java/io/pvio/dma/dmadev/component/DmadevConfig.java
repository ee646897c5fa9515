package io.pvio.dma.dmadev.component;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** One DMA channel on a dmadev device: factory PID {@value DmadevChannelComponent#FACTORY_PID}. */
@ObjectClassDefinition(id = DmadevChannelComponent.FACTORY_PID, name = "pvio dmadev DMA channel",
        description = "A DMA channel on a DPDK dmadev device (CBDMA/IOAT, DSA work queue, dma_skeleton)")
public @interface DmadevConfig {
    @AttributeDefinition(name = "address", description = "The channel's name for vhost-async-attr: DDDD:BB:DD.F or BB:DD.F")
    String address();

    @AttributeDefinition(name = "device", description = "dmadev device name: dma_skeleton0, a PCI address (CBDMA), wq0.0 (DSA)")
    String device() default "dma_skeleton0";

    @AttributeDefinition(name = "ring.size", description = "Descriptors: a power of two the device accepts (64..4096)")
    int ring_size() default 256;

    @AttributeDefinition(name = "fault.error.rate", description = "Fraction (0..1) of copies the shim fails on purpose")
    double fault_error_rate() default 0.0;

    @AttributeDefinition(name = "fault.stall", description = "The shim reports no completion until this is cleared")
    boolean fault_stall() default false;
}
