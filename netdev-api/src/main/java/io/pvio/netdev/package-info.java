/**
 * The netdev class contract, after Open vSwitch's {@code lib/netdev-provider.h}: port types are
 * {@link io.pvio.netdev.NetdevClass} services, open ports are {@link io.pvio.netdev.Netdev}s.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.8.0")
package io.pvio.netdev;
