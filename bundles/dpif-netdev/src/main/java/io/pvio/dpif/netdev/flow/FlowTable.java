package io.pvio.dpif.netdev.flow;

import java.util.ArrayList;
import java.util.List;

/**
 * An immutable table-0 flow table, highest priority first (ties: older first). Changes make a new table,
 * which the bridge publishes; PMDs read the published table once per rx batch.
 */
public final class FlowTable {
    private final Flow[] flows;

    public FlowTable(Flow... flows) {
        this.flows = flows;
    }

    /** The highest-priority flow matching the packet, or null (table miss: drop). Allocation-free. */
    public Flow lookup(int inPort, long src, long dst, int type) {
        Flow[] f = flows;
        for (int i = 0; i < f.length; i++) {
            if (f[i].matches(inPort, src, dst, type)) {
                return f[i];
            }
        }
        return null;
    }

    public int size() {
        return flows.length;
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

    /** This table minus the flows that {@code crit} covers (non-strict del-flows). */
    public FlowTable without(Flow crit) {
        List<Flow> out = new ArrayList<>();
        for (Flow f : flows) {
            if (!f.covers(crit)) {
                out.add(f);
            }
        }
        return new FlowTable(out.toArray(new Flow[0]));
    }
}
