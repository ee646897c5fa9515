package io.pvio.dma.dmadev.component;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** DPDK's EAL for the dmadev engine: PID {@value EalComponent#PID}. Read once per JVM (EAL cannot restart). */
@ObjectClassDefinition(id = EalComponent.PID, name = "pvio DPDK EAL (dmadev)",
        description = "EAL arguments for the dmadev DMA engine; they take effect at the first dmadev channel")
public @interface EalConfig {
    @AttributeDefinition(name = "args", description = "EAL arguments (before the allow-list and vdevs)")
    String args() default "--no-huge -m 64 --no-shconf --no-telemetry";

    @AttributeDefinition(name = "allow", description = "PCI addresses of DMA functions to probe (-a); none: --no-pci")
    String[] allow() default {};

    @AttributeDefinition(name = "vdev", description = "Virtual devices to create (--vdev), e.g. dma_skeleton0")
    String[] vdev() default {"dma_skeleton0", "dma_skeleton1"};

    @AttributeDefinition(name = "iova.strict", description = "Copies outside registered memory fail (stands in for an IOMMU)")
    boolean iova_strict() default false;
}
