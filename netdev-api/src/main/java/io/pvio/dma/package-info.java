/**
 * The DMA copy channel contract that DMA back ends ({@code dma-ioat}, {@code dma-cpu}) provide and
 * asynchronous netdev classes use.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package io.pvio.dma;
