package io.pvio.dpif.netdev.flow;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An immutable table-0 flow table, highest priority first (ties: older first). Changes make a new table,
 * which the bridge publishes; PMDs read the published table once per rx batch.
 *
 * <p>Lookups are a tuple-space search, as OVS's classifier and dpcls: flows are grouped by which fields they
 * match on (at most 16 groups for in_port, dl_src, dl_dst, dl_type), each group is a hash table from the
 * matched values to the group's first flow in table order, and groups are probed in order of their first
 * flow until no later group can hold an earlier one. So a lookup costs a few hash probes however many flows
 * the table has. A flow's rank is its index in table order; the lowest matching rank wins.
 */
public final class FlowTable {
    /**
     * Tables of at least this many flows are looked up a burst at a time ({@link #lookupBurst}); smaller ones
     * stay in the caches, where the passes cost more than they save.
     */
    public static final int BURST_FLOWS = Integer.getInteger("pvio.dpif.burst-lookup-flows", 8192);

    /** {@link #lookupBurst}'s rank of a packet with no matching flow (and the value that asks for a lookup). */
    public static final int MISS = Integer.MAX_VALUE;

    private final Flow[] flows;
    private final Subtable[] subtables;
    private final boolean burst;
    private final boolean expiring;

    public FlowTable(Flow... flows) {
        this.flows = flows;
        this.subtables = Subtable.build(flows);
        this.burst = flows.length >= BURST_FLOWS;
        boolean any = false;
        for (Flow f : flows) {
            any |= f.expires();
        }
        this.expiring = any;
    }

    /** Whether a flow of this table has an idle or a hard timeout (the expiry sweep skips tables without). */
    public boolean expiring() {
        return expiring;
    }

    /** Whether {@link #lookupBurst} is the faster way to look up this table (many flows), else {@link #rank}. */
    public boolean burstLookup() {
        return burst;
    }

    /**
     * {@link #lookup}'s flow as its rank ({@link #flow(int)}), or {@link #MISS}. Allocation-free. The PMD calls
     * it per packet, so the probe is written out here (as {@link Subtable#probe}) and hash and mix are within
     * the size C2 inlines without a profile: inlining this method into the PMD's loop inlines the whole lookup
     * (a callee's call sites may have no profile yet when C2 compiles that loop, just after traffic starts).
     */
    public int rank(int inPort, long src, long dst, int type) {
        Subtable[] st = subtables;
        Flow[] fl = flows;
        int best = MISS;
        for (int g = 0; g < st.length; g++) {
            Subtable s = st[g];
            if (s.firstRank >= best) {
                break; // groups are in order of their first flow: none of the rest can win
            }
            // the conditions, not masks: C2 compiles the fields a group does not match out of the hash
            long h = hash(s.in ? inPort : 0, s.src ? src : 0, s.dst ? dst : 0, s.type ? type : 0);
            int sig = (int) (h >>> 32);
            long[] slots = s.slots;
            int mask = s.mask;
            for (int i = (int) h & mask; ; i = (i + 1) & mask) {
                long e = slots[i];
                if (e == Subtable.EMPTY) {
                    break;
                }
                if ((int) (e >>> 32) == sig) {
                    Flow f = fl[(int) e];
                    if ((!s.in || f.inPort == inPort) && (!s.src || f.dlSrc == src) && (!s.dst || f.dlDst == dst)
                            && (!s.type || f.dlType == type)) {
                        best = Math.min(best, (int) e);
                        break;
                    }
                }
            }
        }
        return best;
    }

    /** The highest-priority flow matching the packet, or null (table miss: drop). Allocation-free. */
    public Flow lookup(int inPort, long src, long dst, int type) {
        int r = rank(inPort, src, dst, type);
        return r == MISS ? null : flows[r];
    }

    /**
     * {@link #lookup} for a burst from one input port. The caller sets {@code ranks[i]} to {@link #MISS} for
     * each packet to look up (and below 0 for one to skip); on return it is the rank of the packet's flow
     * ({@link #flow(int)}), or still MISS on a table miss. Each group is probed for the whole burst in passes
     * (hashes and first slots, then probes and the flows), so that the cache misses of many flows overlap
     * instead of following one another. {@code hashes} is scratch of at least {@code n}. Allocation-free.
     */
    public void lookupBurst(int inPort, long[] src, long[] dst, int[] type, int n, int[] ranks, long[] hashes) {
        Subtable[] st = subtables;
        for (int g = 0; g < st.length; g++) {
            st[g].findBurst(inPort, src, dst, type, n, ranks, hashes);
        }
    }

    /** The flow of rank {@code rank}, as {@link #lookupBurst} returns it. */
    public Flow flow(int rank) {
        return flows[rank];
    }

    public int size() {
        return flows.length;
    }

    /**
     * The match groups a lookup probes ({@link #rank}, {@link #lookupBurst}) for a packet whose flow has rank
     * {@code rank}, or {@link #MISS}: those whose first flow is not after it (all of them on a miss). What
     * pmd-stats-show averages as "subtable lookups per megaflow hit".
     */
    public int groupsProbed(int rank) {
        Subtable[] st = subtables;
        int g = 0;
        while (g < st.length && st[g].firstRank <= rank) {
            g++;
        }
        return g;
    }

    /** Number of match groups (hash probes a lookup may take, at most). */
    public int groups() {
        return subtables.length;
    }

    public List<Flow> flows() {
        return List.of(flows);
    }

    /** This table plus {@code flow}, replacing a flow with the same match and priority. */
    public FlowTable with(Flow flow) {
        List<Flow> out = new ArrayList<>(flows.length + 1);
        boolean placed = false;
        for (Flow f : flows) {
            if (f.sameRule(flow)) {
                continue;
            }
            if (!placed && f.priority < flow.priority) {
                out.add(flow);
                placed = true;
            }
            out.add(f);
        }
        if (!placed) {
            out.add(flow);
        }
        return new FlowTable(out.toArray(new Flow[0]));
    }

    /**
     * This table plus {@code added} in order, as many {@link #with} calls would make it, in one rebuild:
     * a flow replaces an earlier one with the same match and priority and goes after the flows of its
     * priority.
     */
    public FlowTable withAll(List<Flow> added) {
        List<Flow> all = new ArrayList<>(flows.length + added.size());
        all.addAll(Arrays.asList(flows));
        all.addAll(added);
        java.util.Set<List<Object>> seen = new java.util.HashSet<>();
        List<Flow> kept = new ArrayList<>(all.size());
        for (int i = all.size() - 1; i >= 0; i--) { // the last flow of each rule wins, at its own place
            Flow f = all.get(i);
            if (seen.add(List.of(f.priority, f.inPort, f.dlSrc, f.dlDst, f.dlType))) {
                kept.add(f);
            }
        }
        java.util.Collections.reverse(kept);
        kept.sort((a, b) -> Integer.compare(b.priority, a.priority)); // stable: ties keep their order
        return new FlowTable(kept.toArray(new Flow[0]));
    }

    /** This table minus the flows that {@code crit} covers (non-strict del-flows). */
    public FlowTable without(Flow crit) {
        return without(crit, false);
    }

    /** This table minus the flows {@code crit} selects: strict, the one with its match and priority. */
    public FlowTable without(Flow crit, boolean strict) {
        List<Flow> out = new ArrayList<>();
        for (Flow f : flows) {
            if (!(strict ? f.sameRule(crit) : f.covers(crit))) {
                out.add(f);
            }
        }
        return new FlowTable(out.toArray(new Flow[0]));
    }

    /**
     * A group's hash of the values it matches on (0 for the others): the slot from its low bits, the
     * signature from its upper 32. With mix, within the 35 bytes of bytecode that C2 inlines without a
     * call-site profile (see {@link #rank}).
     */
    static long hash(int in, long src, long dst, int type) {
        return mix(src * 0x9E3779B97F4A7C15L ^ Long.rotateLeft(dst * 0xC2B2AE3D27D4EB4FL, 31)
                ^ ((long) in << 32 | type) * 0x165667B19E3779F9L);
    }

    private static long mix(long h) {
        return h ^ h >>> 29 ^ h >>> 47;
    }

    /**
     * The flows that match on one set of fields: open addressing over the matched values (fields not
     * matched are hashed as 0). A slot is one long, the hash's upper 32 bits (a signature) beside the rank of
     * the first flow with those values, as OVS's signature match cache keeps a signature and an index: one
     * line per probe, and 2 MiB of slots for 100,000 flows where the matched values took 7 MB. A signature
     * hit is confirmed against the flow, which the caller loads next anyway.
     */
    private static final class Subtable {
        private static final int IN = 1;
        private static final int SRC = 2;
        private static final int DST = 4;
        private static final int TYPE = 8;
        /** An empty slot: rank -1 (ranks are below 2^31). */
        private static final long EMPTY = -1L;

        final boolean in;
        final boolean src;
        final boolean dst;
        final boolean type;
        final int firstRank;
        final int mask;
        /** signature << 32 | rank, or EMPTY. */
        final long[] slots;
        final Flow[] flows;
        @SuppressWarnings("unused") private int sink;

        private Subtable(int fields, int firstRank, int count, Flow[] flows) {
            in = (fields & IN) != 0;
            src = (fields & SRC) != 0;
            dst = (fields & DST) != 0;
            type = (fields & TYPE) != 0;
            this.firstRank = firstRank;
            this.flows = flows;
            int cap = Integer.highestOneBit(Math.max(2, count) * 2 - 1) << 1; // load factor <= 1/2
            mask = cap - 1;
            slots = new long[cap];
            Arrays.fill(slots, EMPTY);
        }

        static Subtable[] build(Flow[] flows) {
            int[] counts = new int[16];
            int[] first = new int[16];
            Arrays.fill(first, -1);
            for (int r = 0; r < flows.length; r++) {
                int m = fields(flows[r]);
                if (counts[m]++ == 0) {
                    first[m] = r;
                }
            }
            List<Subtable> out = new ArrayList<>();
            Subtable[] byFields = new Subtable[16];
            for (int m = 0; m < 16; m++) {
                if (counts[m] > 0) {
                    byFields[m] = new Subtable(m, first[m], counts[m], flows);
                    out.add(byFields[m]);
                }
            }
            for (int r = 0; r < flows.length; r++) {
                byFields[fields(flows[r])].insert(r);
            }
            out.sort((a, b) -> Integer.compare(a.firstRank, b.firstRank));
            return out.toArray(new Subtable[0]);
        }

        private static int fields(Flow f) {
            return (f.inPort >= 0 ? IN : 0) | (f.dlSrc >= 0 ? SRC : 0) | (f.dlDst >= 0 ? DST : 0)
                    | (f.dlType >= 0 ? TYPE : 0);
        }

        /** Whether flow {@code f} (of this group) has these values in the fields the group matches on. */
        private boolean same(Flow f, int inPort, long srcMac, long dstMac, int dlType) {
            return (!in || f.inPort == inPort) && (!src || f.dlSrc == srcMac) && (!dst || f.dlDst == dstMac)
                    && (!type || f.dlType == dlType);
        }

        /** Keeps the first (lowest-rank) flow for each set of values; ranks come in increasing order. */
        private void insert(int rank) {
            Flow f = flows[rank];
            long h = hash(in ? f.inPort : 0, src ? f.dlSrc : 0, dst ? f.dlDst : 0, type ? f.dlType : 0);
            int sig = (int) (h >>> 32);
            int i = (int) h & mask;
            for (long e = slots[i]; e != EMPTY; e = slots[i]) {
                if ((int) (e >>> 32) == sig && same(flows[(int) e], f.inPort, f.dlSrc, f.dlDst, f.dlType)) {
                    return; // an earlier flow with the same values wins for every packet
                }
                i = (i + 1) & mask;
            }
            slots[i] = (long) sig << 32 | rank;
        }

        /** Lowers {@code best[i]} to this group's rank for packet {@code i} where that is lower. */
        void findBurst(int inPort, long[] srcMac, long[] dstMac, int[] dlType, int n, int[] best, long[] hs) {
            long[] slots = this.slots;
            int first = firstRank;
            // pass 1: hashes, and the first slot's line loaded for every packet that may still improve
            long touched = 0;
            for (int i = 0; i < n; i++) {
                if (best[i] > first) {
                    long h = hash(in ? inPort : 0, src ? srcMac[i] : 0, dst ? dstMac[i] : 0, type ? dlType[i] : 0);
                    hs[i] = h;
                    touched += slots[(int) h & mask];
                }
            }
            if (touched == 42) {
                sink++; // keeps the loads: the sum is otherwise unused
            }
            // pass 2: probes and confirmations, the slots now in cache
            for (int i = 0; i < n; i++) {
                if (best[i] > first) {
                    int r = probe(hs[i], inPort, srcMac[i], dstMac[i], dlType[i]);
                    if (r >= 0 && r < best[i]) {
                        best[i] = r;
                    }
                }
            }
        }

        /** The rank of the first flow of this group matching the packet of hash {@code h}, or -1. */
        private int probe(long h, int inPort, long srcMac, long dstMac, int dlType) {
            int sig = (int) (h >>> 32);
            int i = (int) h & mask;
            while (true) {
                long e = slots[i];
                if (e == EMPTY) {
                    return -1;
                }
                if ((int) (e >>> 32) == sig) {
                    int r = (int) e;
                    if (same(flows[r], inPort, srcMac, dstMac, dlType)) {
                        return r;
                    }
                }
                i = (i + 1) & mask;
            }
        }
    }
}
