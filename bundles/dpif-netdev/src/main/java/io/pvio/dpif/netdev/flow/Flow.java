package io.pvio.dpif.netdev.flow;

import io.pvio.dpif.FlowRemoval;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One OpenFlow flow of table 0: a match on any subset of in_port, dl_src, dl_dst, dl_type (-1 = wildcard),
 * a priority and an action list. Immutable except its counters.
 *
 * <p>Counters: the first PMD thread that counts a flow owns it and adds to its own pair of counters without
 * a locked instruction (single writer, as OVS keeps a flow's stats per PMD); other threads add to the
 * shared pair atomically. Readers sum both pairs.
 */
public final class Flow {
    public static final int DEFAULT_PRIORITY = 32768;
    /** Action code: the NORMAL (MAC learning) pipeline. Other codes &gt; 0 are output ports. */
    public static final int ACTION_NORMAL = -1;
    /** Action code: every port of the bridge but the input port. */
    public static final int ACTION_FLOOD = -2;

    private static final VarHandle PACKETS;
    private static final VarHandle BYTES;
    private static final VarHandle USED;
    private static final VarHandle OWNER;
    private static final VarHandle SHARED;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            PACKETS = l.findVarHandle(Flow.class, "nPackets", long.class);
            BYTES = l.findVarHandle(Flow.class, "nBytes", long.class);
            USED = l.findVarHandle(Flow.class, "usedSec", int.class);
            OWNER = l.findVarHandle(Flow.class, "owner", int.class);
            SHARED = l.findVarHandle(Flow.class, "shared", Shared.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final int priority;
    final int inPort;
    final long dlSrc;
    final long dlDst;
    final int dlType;
    final long cookie;
    final int[] actions;
    final long createdNanos;
    /** When the flow was added or its actions last modified: the hard timeout counts from here. */
    final long modifiedNanos;
    /** Seconds without a hit before the flow expires, 0 = never. */
    final int idleTimeout;
    /** Seconds after {@link #modifiedNanos} at which the flow expires, 0 = never. */
    final int hardTimeout;
    /** OpenFlow 1.3's flags ({@link io.pvio.dpif.FlowEntry#FF_SEND_FLOW_REM}, ...): kept and reported. */
    final int flags;
    /** The port when the flow's only action is an output to it, else 0 (see {@link #singleOutput()}). */
    private final int singleOutput;
    /** The counter id (&gt; 0) of the thread that owns nPackets and nBytes; 0 until one claims them. */
    @SuppressWarnings("unused") private volatile int owner;
    @SuppressWarnings("unused") private long nPackets; // written by the owner only (opaque)
    @SuppressWarnings("unused") private long nBytes; // written by the owner only (opaque)
    /** Other threads' counts, created by the first of them (a side object: the flow stays small). */
    @SuppressWarnings("unused") private volatile Shared shared;

    private static final class Shared {
        final AtomicLong packets = new AtomicLong();
        final AtomicLong bytes = new AtomicLong();
    }
    /** {@link MacTable#nowSeconds} of the last hit, or of the creation; written by PMDs, read by dumps. */
    @SuppressWarnings("unused") private int usedSec;

    Flow(int priority, int inPort, long dlSrc, long dlDst, int dlType, long cookie, int[] actions) {
        this(priority, inPort, dlSrc, dlDst, dlType, cookie, actions, 0, 0, 0);
    }

    /** A new flow with timeouts (seconds, 0 = none) and OpenFlow 1.3 flags. */
    Flow(int priority, int inPort, long dlSrc, long dlDst, int dlType, long cookie, int[] actions, int idleTimeout,
            int hardTimeout, int flags) {
        this(priority, inPort, dlSrc, dlDst, dlType, cookie, actions, System.nanoTime(), idleTimeout, hardTimeout,
                flags);
    }

    private Flow(int priority, int inPort, long dlSrc, long dlDst, int dlType, long cookie, int[] actions, long now,
            int idleTimeout, int hardTimeout, int flags) {
        this(priority, inPort, dlSrc, dlDst, dlType, cookie, actions, now, now, idleTimeout, hardTimeout, flags);
    }

    /** A flow that keeps the age, timeouts and flags of one it replaces ({@link FlowEntries#withActions}). */
    Flow(int priority, int inPort, long dlSrc, long dlDst, int dlType, long cookie, int[] actions, long createdNanos,
            long modifiedNanos, int idleTimeout, int hardTimeout, int flags) {
        this.modifiedNanos = modifiedNanos;
        this.idleTimeout = idleTimeout;
        this.hardTimeout = hardTimeout;
        this.flags = flags;
        this.priority = priority;
        this.inPort = inPort;
        this.dlSrc = dlSrc;
        this.dlDst = dlDst;
        this.dlType = dlType;
        this.cookie = cookie;
        this.actions = actions;
        this.createdNanos = createdNanos;
        this.singleOutput = actions.length == 1 && actions[0] > 0 ? actions[0] : 0;
        this.usedSec = MacTable.nowSeconds(createdNanos);
    }

    public int priority() {
        return priority;
    }

    /**
     * The action codes (do not modify): ports &gt; 0, {@link #ACTION_NORMAL}, {@link #ACTION_FLOOD},
     * {@link io.pvio.dpif.FlowEntry#controller(int)}; empty = drop.
     */
    public int[] actions() {
        return actions;
    }

    /**
     * The port when the only action is output:port, else 0. The PMD reads it instead of {@link #actions()}:
     * with many flows the action list is one more cache miss per packet, and most flows output to one port.
     */
    public int singleOutput() {
        return singleOutput;
    }

    public boolean matches(int in, long src, long dst, int type) {
        return (inPort < 0 || inPort == in) && (dlSrc < 0 || dlSrc == src) && (dlDst < 0 || dlDst == dst)
                && (dlType < 0 || dlType == type);
    }

    /** Adds hits at {@code nowSec} ({@link MacTable#nowSeconds}) to the shared counters. */
    public void count(long packets, long bytes, int nowSec) {
        count(packets, bytes, nowSec, 0);
    }

    /**
     * Adds hits (one call per run of packets of a batch) at {@code nowSec}. {@code counter} (&gt; 0) names the
     * calling thread, unique among the threads that may count at the same time (a PMD: its core + 1): the
     * flow's owner adds without a locked instruction; 0 adds to the shared counters.
     */
    public void count(long packets, long bytes, int nowSec, int counter) {
        int o = (int) OWNER.getOpaque(this);
        if (counter > 0 && (o == counter || o == 0 && OWNER.compareAndSet(this, 0, counter))) {
            PACKETS.setOpaque(this, (long) PACKETS.getOpaque(this) + packets);
            BYTES.setOpaque(this, (long) BYTES.getOpaque(this) + bytes);
        } else {
            Shared sh = (Shared) SHARED.getAcquire(this);
            if (sh == null) {
                Shared mine = new Shared();
                sh = (Shared) SHARED.compareAndExchange(this, null, mine);
                if (sh == null) {
                    sh = mine;
                }
            }
            sh.packets.addAndGet(packets);
            sh.bytes.addAndGet(bytes);
        }
        if ((int) USED.getOpaque(this) != nowSec) {
            USED.setOpaque(this, nowSec); // several PMDs may race: any of their seconds will do
        }
    }

    /** Whole seconds since the last hit (or the creation), as ovs-ofctl's idle_age. */
    public int idleAge(long nowNanos) {
        int sinceHit = MacTable.nowSeconds(nowNanos) - (int) USED.getOpaque(this);
        // the hit's second is a tick of a whole-second clock: never older than the flow's own duration
        long alive = (nowNanos - createdNanos) / 1_000_000_000L;
        return (int) Math.max(0, Math.min(sinceHit, alive));
    }

    /** Whether the flow has an idle or a hard timeout. */
    public boolean expires() {
        return idleTimeout != 0 || hardTimeout != 0;
    }

    /**
     * Whether the flow has expired at {@code nowNanos}, as OVS's rule_expire: {@link FlowRemoval#HARD_TIMEOUT}
     * when its hard timeout passed since it was added or modified, else {@link FlowRemoval#IDLE_TIMEOUT} when
     * no packet hit it for its idle timeout (hits are kept to the second: the whole second of the last hit
     * counts as used), else -1.
     */
    public int expiry(long nowNanos) {
        if (hardTimeout != 0 && nowNanos - modifiedNanos > hardTimeout * 1_000_000_000L) {
            return FlowRemoval.HARD_TIMEOUT;
        }
        if (idleTimeout != 0) {
            long sinceCreated = nowNanos - createdNanos;
            int sinceHit = MacTable.nowSeconds(nowNanos) - (int) USED.getOpaque(this);
            // idle since the last hit's second ended, and never before the flow is idleTimeout old
            if (sinceHit > idleTimeout && sinceCreated > idleTimeout * 1_000_000_000L) {
                return FlowRemoval.IDLE_TIMEOUT;
            }
        }
        return -1;
    }

    public long packets() {
        Shared sh = (Shared) SHARED.getAcquire(this);
        return (long) PACKETS.getOpaque(this) + (sh == null ? 0 : sh.packets.get());
    }

    public long bytes() {
        Shared sh = (Shared) SHARED.getAcquire(this);
        return (long) BYTES.getOpaque(this) + (sh == null ? 0 : sh.bytes.get());
    }

    /** Whether the flow's removal is reported (OFPFF_SEND_FLOW_REM). */
    /** The flow matches every packet at priority 0: an OpenFlow table-miss flow. */
    public boolean tableMiss() {
        return priority == 0 && inPort < 0 && dlSrc < 0 && dlDst < 0 && dlType < 0;
    }

    public long cookie() {
        return cookie;
    }

    public boolean sendFlowRem() {
        return (flags & io.pvio.dpif.FlowEntry.FF_SEND_FLOW_REM) != 0;
    }

    /** Same match and priority (add-flow replaces such a flow, strict del-flows selects it). */
    public boolean sameRule(Flow o) {
        return priority == o.priority && inPort == o.inPort && dlSrc == o.dlSrc && dlDst == o.dlDst
                && dlType == o.dlType;
    }

    /** Non-strict del-flows: every field {@code crit} matches on, this flow matches on with the same value. */
    public boolean covers(Flow crit) {
        return (crit.inPort < 0 || crit.inPort == inPort) && (crit.dlSrc < 0 || crit.dlSrc == dlSrc)
                && (crit.dlDst < 0 || crit.dlDst == dlDst) && (crit.dlType < 0 || crit.dlType == dlType);
    }

    /** The match as ovs-ofctl prints it (priority omitted when default), possibly empty. */
    public String matchString() {
        String fields = matchFields();
        if (priority == DEFAULT_PRIORITY) {
            return fields;
        }
        return "priority=" + priority + (fields.isEmpty() ? "" : "," + fields);
    }

    /** The matched fields alone, in ovs-ofctl's order and syntax (no priority), possibly empty. */
    public String matchFields() {
        StringBuilder sb = new StringBuilder();
        String proto = FlowParser.protocolName(dlType);
        if (proto != null) {
            sep(sb).append(proto);
        }
        if (inPort >= 0) {
            sep(sb).append("in_port=").append(inPort == FlowParser.LOCAL ? "LOCAL" : Integer.toString(inPort));
        }
        if (dlSrc >= 0) {
            sep(sb).append("dl_src=").append(FlowParser.formatMac(dlSrc));
        }
        if (dlDst >= 0) {
            sep(sb).append("dl_dst=").append(FlowParser.formatMac(dlDst));
        }
        if (dlType >= 0 && proto == null) {
            sep(sb).append(String.format("dl_type=0x%04x", dlType));
        }
        return sb.toString();
    }

    private static StringBuilder sep(StringBuilder sb) {
        return sb.length() == 0 ? sb : sb.append(',');
    }

    public String actionsString() {
        if (actions.length == 0) {
            return "drop";
        }
        StringBuilder sb = new StringBuilder();
        for (int a : actions) {
            if (sb.length() > 0) {
                sb.append(',');
            }
            if (a == ACTION_NORMAL) {
                sb.append("NORMAL");
            } else if (a == ACTION_FLOOD) {
                sb.append("FLOOD");
            } else if (io.pvio.dpif.FlowEntry.isController(a)) {
                sb.append("CONTROLLER:").append(io.pvio.dpif.FlowEntry.controllerMaxLen(a)); // as ovs-ofctl
            } else {
                sb.append(a == FlowParser.LOCAL ? "LOCAL" : "output:" + a); // a reserved port by its name, as ovs-ofctl
            }
        }
        return sb.toString();
    }

    /** One ovs-ofctl dump-flows line, as it prints an NXST_FLOW reply (OpenFlow 1.0). */
    public String dumpLine(long nowNanos) {
        long ms = Math.max(0, (nowNanos - createdNanos) / 1_000_000);
        String match = matchString();
        long hardAge = Math.max(0, (nowNanos - modifiedNanos) / 1_000_000_000L);
        return String.format(" cookie=0x%x, duration=%d.%03ds, table=0, n_packets=%d, n_bytes=%d, %sidle_age=%d,"
                + " %s%sactions=%s", cookie, ms / 1000, ms % 1000, packets(), bytes(), timeouts(),
                idleAge(nowNanos), hardAge != ms / 1000 ? "hard_age=" + hardAge + ", " : "",
                match.isEmpty() ? "" : match + " ", actionsString());
    }

    /** idle_timeout and hard_timeout as ovs-ofctl prints them in an NXST_FLOW dump (which has no flags). */
    private String timeouts() {
        return (idleTimeout != 0 ? "idle_timeout=" + idleTimeout + ", " : "")
                + (hardTimeout != 0 ? "hard_timeout=" + hardTimeout + ", " : "");
    }

    /** Timeouts and flags in add-flow syntax, each followed by a comma. */
    private String timeoutsSpec() {
        StringBuilder sb = new StringBuilder();
        if (idleTimeout != 0) {
            sb.append("idle_timeout=").append(idleTimeout).append(',');
        }
        if (hardTimeout != 0) {
            sb.append("hard_timeout=").append(hardTimeout).append(',');
        }
        for (int i = 0; i < FlowParser.FLAGS.size(); i++) {
            // not check_overlap (refused in text) nor reset_counts (every add from text has it)
            if ((flags & 1 << i & ~(io.pvio.dpif.FlowEntry.FF_CHECK_OVERLAP | io.pvio.dpif.FlowEntry.FF_RESET_COUNTS)) != 0) {
                sb.append(FlowParser.FLAGS.get(i)).append(',');
            }
        }
        return sb.toString();
    }

    /** The flow in add-flow syntax (what {@link FlowParser} reads back), cookie included when not 0. */
    public String specString() {
        String m = matchString();
        return (cookie != 0 ? String.format("cookie=0x%x,", cookie) : "") + timeoutsSpec()
                + (m.isEmpty() ? "" : m + ",") + "actions=" + actionsString();
    }

    @Override
    public String toString() {
        String m = matchString();
        return (m.isEmpty() ? "" : m + ",") + "actions=" + actionsString();
    }
}
