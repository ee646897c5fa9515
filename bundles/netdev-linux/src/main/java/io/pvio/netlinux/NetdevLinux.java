package io.pvio.netlinux;

import java.util.Map;
import java.util.logging.Logger;

/** What the classes of this bundle share. */
final class NetdevLinux {
    /** OVS's module name for these ports. */
    static final Logger LOG = Logger.getLogger("netdev_linux");

    private NetdevLinux() {
    }

    /** These classes take no options (as OVS's system, internal and tap): anything else is refused. */
    static void noOptions(String type, String name, Map<String, String> options) throws io.pvio.netdev.NetdevException {
        if (options != null && !options.isEmpty()) {
            throw new io.pvio.netdev.NetdevException(name + ": " + type + " ports take no options (got "
                    + String.join(", ", new java.util.TreeMap<>(options).keySet()) + ")");
        }
    }
}
