package io.pvio.dma;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** PCI addresses as DPDK and OVS write them: {@code 0000:00:04.0}, or short {@code 00:04.0}. */
public final class PciAddress {
    private static final Pattern FORM = Pattern.compile(
            "(?:([0-9a-fA-F]{1,4}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\\.([0-7])");

    private PciAddress() {
    }

    /**
     * The full, lower-case form of {@code text} ({@code DDDD:BB:DD.F}).
     *
     * @throws IllegalArgumentException with a message for the user when {@code text} is not a PCI address
     */
    public static String normalize(String text) {
        Matcher m = text == null ? null : FORM.matcher(text.trim());
        if (m == null || !m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a PCI address (expected DDDD:BB:DD.F or BB:DD.F)");
        }
        int domain = m.group(1) == null ? 0 : Integer.parseInt(m.group(1), 16);
        int bus = Integer.parseInt(m.group(2), 16);
        int dev = Integer.parseInt(m.group(3), 16);
        int fn = Integer.parseInt(m.group(4));
        if (dev > 0x1f) {
            throw new IllegalArgumentException("'" + text + "': device number " + dev + " is above 0x1f");
        }
        return String.format("%04x:%02x:%02x.%d", domain, bus, dev, fn);
    }
}
