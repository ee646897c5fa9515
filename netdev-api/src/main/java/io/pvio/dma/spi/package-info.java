/**
 * What DMA providers share (DPDK's lib/dmadev beside drivers/dma/*): the driver interface
 * {@link io.pvio.dma.spi.DmaEngine}, the generic channel {@link io.pvio.dma.spi.EngineChannel} in front of an
 * engine (state, checks, counters, faults), and {@link io.pvio.dma.spi.ChannelPublisher}, the life cycle of
 * one channel service for a provider's DS component (address table, register, tear down, defaults).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package io.pvio.dma.spi;
