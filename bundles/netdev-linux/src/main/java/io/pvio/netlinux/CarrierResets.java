package io.pvio.netlinux;

/**
 * OVS's carrier_resets (the Interface's link_resets): each change of a port's carrier, up to down or down to
 * up, counted from the carrier the port had once opened. OVS counts each change of IFF_RUNNING netlink
 * reports; a port here sees its carrier when it reads it (link_state, the system monitor's poll), so a change
 * undone between two reads is not counted.
 */
final class CarrierResets {
    private boolean last;
    private long count;

    CarrierResets(boolean carrier) {
        last = carrier;
    }

    /** Notes the carrier just read. */
    synchronized void see(boolean carrier) {
        if (carrier != last) {
            last = carrier;
            count++;
        }
    }

    synchronized long count() {
        return count;
    }
}
