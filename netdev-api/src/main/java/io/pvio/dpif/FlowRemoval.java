package io.pvio.dpif;

/**
 * A flow that left a bridge's table, as OpenFlow's FLOW_REMOVED reports it.
 *
 * @param seq    the removal's number, increasing across the datapath's bridges
 * @param bridge the bridge whose table held the flow
 * @param flow   the flow with its final counters, duration and timeouts
 * @param reason {@link #IDLE_TIMEOUT}, {@link #HARD_TIMEOUT} or {@link #DELETE} (OpenFlow's OFPRR_* values)
 * @since 1.7
 */
public record FlowRemoval(long seq, String bridge, FlowEntry flow, int reason) {
    /** No hit for the flow's idle timeout. */
    public static final int IDLE_TIMEOUT = 0;
    /** The flow's hard timeout passed since it was added or modified. */
    public static final int HARD_TIMEOUT = 1;
    /** Deleted by a flow-mod or del-flows. */
    public static final int DELETE = 2;
}
