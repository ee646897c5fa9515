package io.pvio.dpif;

/**
 * A packet for the controller, as OpenFlow's PACKET_IN carries it: sent by a flow's
 * {@link FlowEntry#controller(int)} action, or a packet no flow matched (OpenFlow 1.0's implicit table miss,
 * see {@link Dpif#setPacketInOnMiss}).
 *
 * @param inPort   the OpenFlow port it was received on ({@link FlowEntry#LOCAL} for the bridge's own)
 * @param cookie   the cookie of the flow that sent it (0 for an implicit miss)
 * @param priority the priority of that flow (0 for an implicit miss)
 * @param reason   {@link #ACTION}, {@link #EXPLICIT_MISS} or {@link #IMPLICIT_MISS}
 * @param maxLen   the action's max_len (65535 for an implicit miss)
 * @param packet   the whole packet (owned by the receiver)
 * @since 1.7
 */
public record PacketIn(int inPort, long cookie, int priority, int reason, int maxLen, byte[] packet) {
    /** A flow's controller action. */
    public static final int ACTION = 0;
    /**
     * The controller action of a table-miss flow (priority 0, matching every packet): OpenFlow 1.3 reports it
     * as reason no_match, 1.0 as action.
     */
    public static final int EXPLICIT_MISS = 1;
    /** No flow matched: reason no_match, for the connections below OpenFlow 1.3 only (as OVS). */
    public static final int IMPLICIT_MISS = 2;
}
