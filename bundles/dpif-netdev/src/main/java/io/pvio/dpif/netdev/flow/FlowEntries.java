package io.pvio.dpif.netdev.flow;

import io.pvio.dpif.FlowEntry;
import java.util.ArrayList;
import java.util.List;

/** Conversions between the datapath's {@link Flow}s and the API's {@link FlowEntry}, and table edits by entry. */
public final class FlowEntries {
    private FlowEntries() {
    }

    /** The flow's entry with its counters as of {@code nowNanos}. */
    public static FlowEntry toEntry(Flow f, long nowNanos) {
        List<Integer> acts = new ArrayList<>(f.actions.length);
        for (int a : f.actions) {
            acts.add(a == Flow.ACTION_NORMAL ? FlowEntry.NORMAL : a == Flow.ACTION_FLOOD ? FlowEntry.FLOOD : a);
        }
        return new FlowEntry(f.cookie, f.priority, f.inPort, f.dlSrc, f.dlDst, f.dlType, acts, f.packets(),
                f.bytes(), Math.max(0, nowNanos - f.createdNanos), f.idleAge(nowNanos), f.idleTimeout, f.hardTimeout,
                f.flags, (int) Math.max(0, (nowNanos - f.modifiedNanos) / 1_000_000_000L));
    }

    /**
     * One of OVS's hidden flows (a priority above OpenFlow's 65535, as fail-open's 15790320): matches everything,
     * sends to NORMAL; for ofproto/trace, which shows it as OVS does.
     */
    public static Flow hiddenNormal(int priority) {
        return new Flow(priority, FlowEntry.ANY, FlowEntry.ANY, FlowEntry.ANY, FlowEntry.ANY, 0,
                new int[] {Flow.ACTION_NORMAL});
    }

    /**
     * A new flow from an entry, checked as add-flow checks its text.
     *
     * @throws IllegalArgumentException with a message for the user
     */
    public static Flow fromEntry(FlowEntry e) {
        check(e.priority() >= 0 && e.priority() <= 0xffff, "priority " + e.priority() + " is out of range 0..65535");
        check(e.inPort() == FlowEntry.ANY || e.inPort() == FlowParser.LOCAL
                || (e.inPort() >= 1 && e.inPort() <= FlowParser.MAX_OFPORT),
                "in_port " + e.inPort() + " is out of range 1.." + FlowParser.MAX_OFPORT);
        check(e.dlSrc() == FlowEntry.ANY || (e.dlSrc() >= 0 && e.dlSrc() <= 0xffff_ffff_ffffL), "bad dl_src");
        check(e.dlDst() == FlowEntry.ANY || (e.dlDst() >= 0 && e.dlDst() <= 0xffff_ffff_ffffL), "bad dl_dst");
        check(e.dlType() == FlowEntry.ANY || (e.dlType() >= 0 && e.dlType() <= 0xffff), "bad dl_type " + e.dlType());
        check(e.idleTimeout() >= 0 && e.idleTimeout() <= 0xffff, "idle_timeout " + e.idleTimeout() + " is out of range 0..65535");
        check(e.hardTimeout() >= 0 && e.hardTimeout() <= 0xffff, "hard_timeout " + e.hardTimeout() + " is out of range 0..65535");
        return new Flow(e.priority(), e.inPort(), e.dlSrc(), e.dlDst(), e.dlType(), e.cookie(), actions(e),
                e.idleTimeout(), e.hardTimeout(), e.flags());
    }

    private static int[] actions(FlowEntry e) {
        int[] out = new int[e.actions().size()];
        for (int i = 0; i < out.length; i++) {
            int a = e.actions().get(i);
            if (a == FlowEntry.NORMAL) {
                out[i] = Flow.ACTION_NORMAL;
            } else if (a == FlowEntry.FLOOD) {
                out[i] = Flow.ACTION_FLOOD;
            } else if (FlowEntry.isController(a)) {
                out[i] = a; // the same code
            } else {
                check(a == FlowParser.LOCAL || (a >= 1 && a <= FlowParser.MAX_OFPORT), "output port " + a + " is out of range 1.." + FlowParser.MAX_OFPORT);
                out[i] = a;
            }
        }
        return out;
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalArgumentException("flow: " + what);
        }
    }

    /** Whether {@code f} is selected by {@code criteria} (strict: same match and priority). */
    public static boolean selects(FlowEntry criteria, Flow f, boolean strict) {
        if (strict) {
            return f.priority == criteria.priority() && f.inPort == criteria.inPort() && f.dlSrc == criteria.dlSrc()
                    && f.dlDst == criteria.dlDst() && f.dlType == criteria.dlType();
        }
        return (criteria.inPort() == FlowEntry.ANY || criteria.inPort() == f.inPort)
                && (criteria.dlSrc() == FlowEntry.ANY || criteria.dlSrc() == f.dlSrc)
                && (criteria.dlDst() == FlowEntry.ANY || criteria.dlDst() == f.dlDst)
                && (criteria.dlType() == FlowEntry.ANY || criteria.dlType() == f.dlType);
    }

    /**
     * {@code f} with new actions, keeping its cookie, age, idle age, timeouts, flags and counters; its hard
     * timeout counts from now (OVS: a modify keeps created, sets modified). Hits a PMD counts on the old flow
     * after the copy (a batch in progress) are lost.
     */
    public static Flow withActions(Flow f, Flow actionsFrom) {
        Flow n = new Flow(f.priority, f.inPort, f.dlSrc, f.dlDst, f.dlType, f.cookie, actionsFrom.actions, f.createdNanos,
                System.nanoTime(), f.idleTimeout, f.hardTimeout, f.flags);
        takeCounts(n, f);
        return n;
    }

    /**
     * Gives {@code n} (new, not yet published) {@code old}'s counters and last hit, as OVS forwards a replaced
     * rule's statistics. Hits a PMD counts on {@code old} after this are lost.
     */
    public static void takeCounts(Flow n, Flow old) {
        long now = System.nanoTime();
        n.count(old.packets(), old.bytes(), MacTable.nowSeconds(now) - old.idleAge(now));
    }

    /** Whether any action outputs to {@code port}. */
    public static boolean outputsTo(Flow f, int port) {
        for (int a : f.actions) {
            if (a == port) {
                return true;
            }
        }
        return false;
    }
}
