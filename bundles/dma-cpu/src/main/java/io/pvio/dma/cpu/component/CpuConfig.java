package io.pvio.dma.cpu.component;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Configuration of one CPU-copy channel: factory PID {@value CpuChannelComponent#FACTORY_PID}. */
@ObjectClassDefinition(id = CpuChannelComponent.FACTORY_PID, name = "pvio CPU DMA channel",
        description = "A DMA channel that copies on the calling CPU")
public @interface CpuConfig {
    @AttributeDefinition(name = "address", description = "PCI address of the channel, DDDD:BB:DD.F or BB:DD.F")
    String address();

    @AttributeDefinition(name = "ring.size", description = "Ring size: a power of two from 64 to 4096")
    int ring_size() default 256;
}
