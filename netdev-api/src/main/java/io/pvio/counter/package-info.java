/**
 * Counters written by one thread and read by any: the single-writer idiom of the data path (Agrona's
 * AtomicCounter, DPDK's per-queue stats), in one place.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package io.pvio.counter;
