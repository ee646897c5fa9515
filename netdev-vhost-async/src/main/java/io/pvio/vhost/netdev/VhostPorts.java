package io.pvio.vhost.netdev;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/** The open vhost-user ports of this bundle by name, for appctl and tests. */
public final class VhostPorts {
    private static final Map<String, VhostPort> PORTS = new ConcurrentHashMap<>();

    private VhostPorts() {
    }

    /** The open port {@code name}, or null. */
    public static VhostPort get(String name) {
        return PORTS.get(name);
    }

    /** Open ports, sorted by name. */
    public static Map<String, VhostPort> all() {
        return new TreeMap<>(PORTS);
    }

    static void register(VhostPort p) {
        PORTS.put(p.name(), p);
    }

    static void unregister(VhostPort p) {
        PORTS.remove(p.name(), p);
    }
}
