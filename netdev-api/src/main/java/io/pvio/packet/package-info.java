/**
 * Off-heap packet buffers, their pools and batches: the units every netdev class exchanges with the
 * datapath. Nothing here allocates per packet.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.4.0")
package io.pvio.packet;
