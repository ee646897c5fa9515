package io.pvio.dpif.netdev;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;

/**
 * The CPUs a PMD thread may be created for, as OVS's ovs-numa discovers them: this machine's online CPUs
 * ({@code /sys/devices/system/cpu/online}), or the list in system property {@code pvio.dpif.cpus} (same
 * syntax, e.g. {@code 0-3,8}) where the machine's own list is not the one wanted (tests, a container).
 * pmd-cpu-mask bits for other cores are ignored, as OVS ignores them.
 */
final class Cpus {
    static final String PROPERTY = "pvio.dpif.cpus";
    private static final Path ONLINE = Path.of("/sys/devices/system/cpu/online");

    private Cpus() {
    }

    /** The property's list if set, else the online CPUs, else 0..availableProcessors-1. */
    static BitSet machine() {
        String p = System.getProperty(PROPERTY);
        if (p != null && !p.isBlank()) {
            BitSet b = parse(p);
            if (b != null && !b.isEmpty()) {
                return b;
            }
            DpifNetdev.LOG.warning(() -> PROPERTY + "='" + p + "' is not a CPU list (e.g. 0-3,8); using the machine's");
        }
        try {
            BitSet b = parse(Files.readString(ONLINE));
            if (b != null && !b.isEmpty()) {
                return b;
            }
        } catch (IOException | RuntimeException e) {
            // below
        }
        BitSet b = new BitSet();
        b.set(0, Math.max(1, Runtime.getRuntime().availableProcessors()));
        return b;
    }

    /** A kernel CPU list ({@code 0-1}, {@code 0,2-5}), or null when malformed. */
    static BitSet parse(String list) {
        BitSet b = new BitSet();
        for (String part : list.strip().split(",")) {
            String[] r = part.strip().split("-", -1);
            try {
                if (r.length == 1) {
                    b.set(cpu(r[0]));
                } else if (r.length == 2 && cpu(r[0]) <= cpu(r[1])) {
                    b.set(cpu(r[0]), cpu(r[1]) + 1);
                } else {
                    return null;
                }
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return b;
    }

    private static int cpu(String s) {
        int c = Integer.parseInt(s.strip());
        if (c < 0 || c >= 4096) {
            throw new NumberFormatException(s);
        }
        return c;
    }

    /** {@code b} as a kernel CPU list, ranges joined ({@code 0-3,8}). */
    static String format(BitSet b) {
        StringBuilder sb = new StringBuilder();
        for (int i = b.nextSetBit(0); i >= 0; ) {
            int end = b.nextClearBit(i) - 1;
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(i);
            if (end > i) {
                sb.append('-').append(end);
            }
            i = b.nextSetBit(end + 1);
        }
        return sb.toString();
    }
}
