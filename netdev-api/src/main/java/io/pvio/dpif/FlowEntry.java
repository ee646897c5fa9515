package io.pvio.dpif;

import java.util.List;

/**
 * One OpenFlow flow of a bridge's table 0, as OpenFlow carries it: a match on any subset of in_port,
 * dl_src, dl_dst, dl_type ({@link #ANY} = wildcarded), a priority, a cookie and an action list, with the
 * counters the datapath keeps for it. In a request (add, modify, delete) the counters are ignored.
 *
 * @param dlSrc         Ethernet source as a 48-bit number, or {@link #ANY}
 * @param dlDst         Ethernet destination as a 48-bit number, or {@link #ANY}
 * @param inPort        1..65279, {@link #LOCAL} or {@link #ANY}
 * @param actions       output ports (1..65279, {@link #LOCAL}), {@link #NORMAL}, {@link #FLOOD} or
 *                      {@link #controller(int)}, in order; empty = drop
 * @param durationNanos time since the flow was added (kept when only its actions were modified)
 * @param idleSeconds   whole seconds since a packet last hit the flow (or since it was added)
 * @param idleTimeout   seconds without a hit after which the datapath removes the flow, 0 = never (1..65535)
 * @param hardTimeout   seconds after its addition or last modification at which the datapath removes the
 *                      flow, 0 = never (1..65535)
 * @param flags         the flow's OpenFlow 1.3 flags ({@link #FF_SEND_FLOW_REM}: its removal is reported, see
 *                      {@link Dpif#flowRemovals}; {@link #FF_CHECK_OVERLAP}, {@link #FF_RESET_COUNTS},
 *                      {@link #FF_NO_PKT_COUNTS}, {@link #FF_NO_BYT_COUNTS}: kept and reported only)
 * @param hardAgeSeconds whole seconds since the flow was added or last modified (its actions)
 * @since 1.2 (timeouts, flags and hard age since 1.7)
 */
public record FlowEntry(long cookie, int priority, int inPort, long dlSrc, long dlDst, int dlType,
        List<Integer> actions, long packets, long bytes, long durationNanos, int idleSeconds, int idleTimeout,
        int hardTimeout, int flags, int hardAgeSeconds) {
    /** A wildcarded match field. */
    public static final int ANY = -1;
    /** Action: the NORMAL pipeline (MAC learning switch). */
    public static final int NORMAL = -1;
    /** Action: every port of the bridge but the input port. */
    public static final int FLOOD = -2;
    /** The bridge's local port (OFPP_LOCAL), in a match or an action. */
    public static final int LOCAL = 65534;
    private static final int CONTROLLER_BASE = -0x20000;

    /**
     * Action: to the controller (OFPP_CONTROLLER), as a packet-in of the whole packet ({@link Dpif#takePacketIn});
     * {@code maxLen} (0..65535) is kept and shown, as OVS keeps it (it buffers no packet, so sends them whole).
     *
     * @since 1.7
     */
    public static int controller(int maxLen) {
        if (maxLen < 0 || maxLen > 0xffff) {
            throw new IllegalArgumentException("max_len " + maxLen + " is out of range 0..65535");
        }
        return CONTROLLER_BASE + maxLen;
    }

    /**
     * Whether action {@code a} is {@link #controller(int)}.
     *
     * @since 1.7
     */
    public static boolean isController(int a) {
        return a >= CONTROLLER_BASE && a <= CONTROLLER_BASE + 0xffff;
    }

    /**
     * The max_len of a {@link #controller(int)} action.
     *
     * @since 1.7
     */
    public static int controllerMaxLen(int a) {
        return a - CONTROLLER_BASE;
    }

    /** OFPFF_SEND_FLOW_REM: the flow's removal is reported. */
    public static final int FF_SEND_FLOW_REM = 1;
    /** OFPFF_CHECK_OVERLAP: the add was checked for overlapping flows. */
    public static final int FF_CHECK_OVERLAP = 2;
    /** OFPFF_RESET_COUNTS (OpenFlow 1.0's adds always carry it, as OVS decodes them). */
    public static final int FF_RESET_COUNTS = 4;
    public static final int FF_NO_PKT_COUNTS = 8;
    public static final int FF_NO_BYT_COUNTS = 16;
    /** Priority of a flow added without one (OFP_DEFAULT_PRIORITY). */
    public static final int DEFAULT_PRIORITY = 32768;

    public FlowEntry {
        actions = List.copyOf(actions);
    }

    /** A permanent flow without flags (the 1.2 shape). */
    public FlowEntry(long cookie, int priority, int inPort, long dlSrc, long dlDst, int dlType,
            List<Integer> actions, long packets, long bytes, long durationNanos, int idleSeconds) {
        this(cookie, priority, inPort, dlSrc, dlDst, dlType, actions, packets, bytes, durationNanos, idleSeconds,
                0, 0, 0, (int) Math.min(Integer.MAX_VALUE, durationNanos / 1_000_000_000L));
    }

    /** A request: the flow without counters, permanent. */
    public static FlowEntry of(long cookie, int priority, int inPort, long dlSrc, long dlDst, int dlType,
            List<Integer> actions) {
        return new FlowEntry(cookie, priority, inPort, dlSrc, dlDst, dlType, actions, 0, 0, 0, 0);
    }

    /**
     * This flow with an idle and a hard timeout (seconds, 0 = none) and {@code flags} ({@link #FF_SEND_FLOW_REM}, ...).
     *
     * @since 1.7
     */
    public FlowEntry withTimeouts(int idle, int hard, int flags) {
        return new FlowEntry(cookie, priority, inPort, dlSrc, dlDst, dlType, actions, packets, bytes, durationNanos,
                idleSeconds, idle, hard, flags, hardAgeSeconds);
    }

    /**
     * Whether the flow's removal is reported ({@link #FF_SEND_FLOW_REM}).
     *
     * @since 1.7
     */
    public boolean sendFlowRem() {
        return (flags & FF_SEND_FLOW_REM) != 0;
    }

    /** Same match fields and priority (what strict modify/delete select, and what add replaces). */
    public boolean sameRule(FlowEntry o) {
        return priority == o.priority && inPort == o.inPort && dlSrc == o.dlSrc && dlDst == o.dlDst
                && dlType == o.dlType;
    }

    /**
     * Non-strict selection: every field {@code criteria} matches on, this flow matches on with the same
     * value (priority ignored), as OpenFlow's non-strict modify, delete and flow statistics select.
     */
    public boolean coveredBy(FlowEntry criteria) {
        return (criteria.inPort == ANY || criteria.inPort == inPort)
                && (criteria.dlSrc == ANY || criteria.dlSrc == dlSrc)
                && (criteria.dlDst == ANY || criteria.dlDst == dlDst)
                && (criteria.dlType == ANY || criteria.dlType == dlType);
    }

    /** Whether one packet could match both flows at the same priority (OFPFF_CHECK_OVERLAP). */
    public boolean overlaps(FlowEntry o) {
        return priority == o.priority && (inPort == ANY || o.inPort == ANY || inPort == o.inPort)
                && (dlSrc == ANY || o.dlSrc == ANY || dlSrc == o.dlSrc)
                && (dlDst == ANY || o.dlDst == ANY || dlDst == o.dlDst)
                && (dlType == ANY || o.dlType == ANY || dlType == o.dlType);
    }

    /** Whether the actions send to {@code port} (an OpenFlow out_port filter). */
    public boolean outputsTo(int port) {
        return actions.contains(port);
    }
}
