package io.pvio.dpif;

/**
 * A packet a flow's {@link FlowEntry#controller(int)} action sent to the controller, as OpenFlow's PACKET_IN
 * carries it.
 *
 * @param inPort   the OpenFlow port it was received on ({@link FlowEntry#LOCAL} for the bridge's own)
 * @param cookie   the cookie of the flow that sent it
 * @param priority the priority of that flow
 * @param tableMiss that flow matches every packet at priority 0 (an explicit table miss, which OpenFlow 1.3
 *                 reports as reason no_match)
 * @param maxLen   the action's max_len
 * @param packet   the whole packet (owned by the receiver)
 * @since 1.7
 */
public record PacketIn(int inPort, long cookie, int priority, boolean tableMiss, int maxLen, byte[] packet) {
}
