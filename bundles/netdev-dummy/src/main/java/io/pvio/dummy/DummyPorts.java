package io.pvio.dummy;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Registry of the open {@code dummy} and {@code pktgen} ports of this bundle, by port name (unique in the
 * switch). Ports add themselves when opened and remove themselves when closed, so a test or a command finds
 * a port exactly while the datapath holds it open.
 */
public final class DummyPorts {
    private static final Map<String, Object> PORTS = new ConcurrentHashMap<>();

    private DummyPorts() {
    }

    /** The open dummy port {@code name}, or null. */
    public static DummyPort dummy(String name) {
        Object p = PORTS.get(name);
        return p instanceof DummyPort ? (DummyPort) p : null;
    }

    /** The open pktgen port {@code name}, or null. */
    public static PktgenPort pktgen(String name) {
        Object p = PORTS.get(name);
        return p instanceof PktgenPort ? (PktgenPort) p : null;
    }

    /** Open pktgen ports by name, sorted. */
    public static Map<String, PktgenPort> pktgens() {
        Map<String, PktgenPort> m = new TreeMap<>();
        PORTS.forEach((k, v) -> {
            if (v instanceof PktgenPort) {
                m.put(k, (PktgenPort) v);
            }
        });
        return m;
    }

    /** Open dummy ports by name, sorted. */
    public static Map<String, DummyPort> dummies() {
        Map<String, DummyPort> m = new TreeMap<>();
        PORTS.forEach((k, v) -> {
            if (v instanceof DummyPort) {
                m.put(k, (DummyPort) v);
            }
        });
        return m;
    }

    /** For the port implementations: registers an open port (replacing a stale entry of the same name). */
    public static void register(String name, Object port) {
        PORTS.put(name, port);
    }

    /** For the port implementations: removes {@code port} if it is still the one registered. */
    public static void unregister(String name, Object port) {
        PORTS.remove(name, port);
    }
}
