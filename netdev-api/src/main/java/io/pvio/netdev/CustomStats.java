package io.pvio.netdev;

/** Receives a port's custom statistics (OVS's netdev_custom_stats): name/value counters. */
@FunctionalInterface
public interface CustomStats {
    void put(String name, long value);
}
