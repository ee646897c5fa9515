/**
 * Native memory helpers shared by packet pools and DMA engines.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package io.pvio.memory;
