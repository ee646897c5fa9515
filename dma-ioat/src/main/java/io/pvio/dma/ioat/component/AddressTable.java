package io.pvio.dma.ioat.component;

import java.util.HashMap;
import java.util.Map;

/** Which configuration (PID) owns which channel address, inside this bundle: one channel per address. */
final class AddressTable {
    private static final Map<String, String> OWNERS = new HashMap<>();

    private AddressTable() {
    }

    /** Claims {@code address} for {@code pid}; returns the other owner's PID when it is taken, else null. */
    static synchronized String claim(String address, String pid) {
        String owner = OWNERS.putIfAbsent(address, pid);
        return owner == null || owner.equals(pid) ? null : owner;
    }

    static synchronized void release(String address, String pid) {
        OWNERS.remove(address, pid);
    }

    /** The PID that owns {@code address}, or null. */
    static synchronized String owner(String address) {
        return OWNERS.get(address);
    }
}
