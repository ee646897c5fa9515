package io.pvio.virtio.user;

/** Counters of a {@link VirtioUserDevice} (sums over its queues); filled by {@link VirtioUserDevice#stats}. */
public final class VirtioUserStats {
    public long txPackets;
    public long txBytes;
    /** Frames not transmitted because every TX slot was still owned by the back end. */
    public long txRingFull;
    /** Frames not transmitted because the device was not ready (no back end). */
    public long txNotReady;
    /** Used-ring entries of TX queues that named no descriptor in flight (a back-end bug). */
    public long txErrors;
    public long rxPackets;
    public long rxBytes;
    /** Malformed RX completions (bad id, length or num_buffers); the buffers are reposted. */
    public long rxErrors;
    /** Frames received but dropped here (packet pool empty, caller's buffer too small). */
    public long rxDropped;
    /** Eventfd kicks sent to the back end. */
    public long kicks;

    public void clear() {
        txPackets = txBytes = txRingFull = txNotReady = txErrors = 0;
        rxPackets = rxBytes = rxErrors = rxDropped = kicks = 0;
    }

    @Override
    public String toString() {
        return "tx " + txPackets + " pkts " + txBytes + " B (ring full " + txRingFull + ", not ready " + txNotReady
                + ", errors " + txErrors + "), rx " + rxPackets + " pkts " + rxBytes + " B (errors " + rxErrors
                + ", dropped " + rxDropped + "), kicks " + kicks;
    }
}
