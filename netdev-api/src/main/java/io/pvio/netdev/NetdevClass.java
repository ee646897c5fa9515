package io.pvio.netdev;

import java.util.Map;

/**
 * A netdev class: one port type (OVS's {@code struct netdev_class}). Each class is an OSGi service
 * registered under this interface with the service property {@value #TYPE_PROPERTY} set to {@link #type()}
 * (e.g. {@code dummy}, {@code pktgen}, {@code dpdkvhostuserclient}). The datapath looks classes up by that
 * property; when a class's service goes away, the datapath closes every port of that class (after which
 * the class must hold no resources of theirs) and reopens them when a class of the same type comes back.
 */
public interface NetdevClass {
    /** Service property naming the type. */
    String TYPE_PROPERTY = "netdev.type";

    /** The type name, as in {@code ovs-vsctl set Interface NAME type=TYPE}. */
    String type();

    /**
     * construct + set_config: opens port {@code name} with {@code options} (the Interface's
     * {@code options:} column). Options are validated completely before anything is created.
     *
     * @throws NetdevException with a message fit for the user when an option is missing, unknown or
     *                         malformed, or the port cannot be created; nothing is left behind then
     */
    Netdev open(String name, Map<String, String> options, NetdevContext context) throws NetdevException;

    /**
     * The {@code Open_vSwitch} table's {@code other_config} column (e.g.
     * {@code vhost-async-copy-support=true}): called once when the datapath binds the class and again on
     * every change, before ports are opened with it. A class applies what concerns it to its open ports
     * live, without losing packets.
     */
    default void setOtherConfig(Map<String, String> otherConfig) {
    }
}
