package io.pvio.dma.ioat.component;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Configuration of one IOAT channel: factory PID {@value IoatChannelComponent#FACTORY_PID}. */
@ObjectClassDefinition(id = IoatChannelComponent.FACTORY_PID, name = "pvio IOAT DMA channel", description = "One Intel QuickData channel (modelled in software)")
public @interface IoatConfig {
    @AttributeDefinition(name = "address", description = "PCI address of the channel, DDDD:BB:DD.F or BB:DD.F (function 0-7)")
    String address();

    @AttributeDefinition(name = "ring.size", description = "Descriptor ring size: a power of two from 64 to 4096")
    int ring_size() default 256;

    @AttributeDefinition(name = "fault.error.rate", description = "Fraction (0..1) of copies completing with STATUS_ERROR")
    double fault_error_rate() default 0.0;

    @AttributeDefinition(name = "fault.stall", description = "The engine makes no progress until this is cleared")
    boolean fault_stall() default false;

    @AttributeDefinition(name = "engine.cpu", description = "Core to pin the engine thread to (-1: not pinned)")
    int engine_cpu() default -1;
}
