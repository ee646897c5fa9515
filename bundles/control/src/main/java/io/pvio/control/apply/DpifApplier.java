package io.pvio.control.apply;

import io.pvio.control.db.Db;
import io.pvio.control.db.Db.Bridge;
import io.pvio.control.db.Db.Port;
import io.pvio.dpif.Dpif;
import io.pvio.dpif.DpifException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.Objects;
import java.util.logging.Logger;

/**
 * Brings the datapath from one database state to another, step by step, and undoes the steps already
 * taken when one is refused, so that the datapath is left as it was. Rows are matched by uuid: a bridge or
 * port deleted and re-created in one command line is closed and opened again.
 */
public final class DpifApplier {
    private static final Logger LOG = Logger.getLogger("bridge");

    /** One datapath call that can be undone. */
    @FunctionalInterface
    interface Step {
        void run() throws DpifException;
    }

    /** Steps taken so far, to undo in reverse order. */
    public static final class Applied {
        private final Deque<Step> undo = new ArrayDeque<>();

        /** Undoes everything (best effort; failures are logged). */
        public void rollback(Dpif dpif) {
            while (!undo.isEmpty()) {
                try {
                    undo.pop().run();
                } catch (DpifException | RuntimeException e) {
                    LOG.severe("rollback step failed: " + e.getMessage());
                }
            }
        }
    }

    private DpifApplier() {
    }

    /**
     * Applies the difference between {@code from} and {@code to}.
     *
     * @return the undo log (for a caller that must roll back after a later failure, e.g. writing conf.db)
     * @throws DpifException the datapath's refusal; the steps already taken have been undone
     */
    public static Applied apply(Dpif dpif, Db from, Db to) throws DpifException {
        Applied a = new Applied();
        try {
            diff(dpif, from, to, a);
            return a;
        } catch (DpifException | RuntimeException e) {
            a.rollback(dpif);
            if (e instanceof DpifException de) {
                throw de;
            }
            throw new DpifException("datapath failed: " + e, e);
        }
    }

    private static void diff(Dpif dpif, Db from, Db to, Applied a) throws DpifException {
        if (!from.otherConfig.equals(to.otherConfig)) {
            Map<String, String> old = Map.copyOf(from.otherConfig);
            dpif.setOtherConfig(Map.copyOf(to.otherConfig));
            a.undo.push(() -> dpif.setOtherConfig(old));
        }
        java.util.Set<String> removed = new java.util.HashSet<>();
        // 1. ports that go away (deleted, moved, re-created or with a new ofport_request) in surviving bridges
        for (Bridge ob : from.bridges.values()) {
            Bridge nb = byUuid(to, ob.uuid);
            if (nb == null) {
                continue;
            }
            for (Port op : ob.ports.values()) {
                Port np = nb.ports.get(op.name);
                if (np == null || !np.uuid.equals(op.uuid) || renumbered(dpif, np)) {
                    if (dpif.port(op.name) == null) {
                        continue; // never restored into the datapath (refused at startup): nothing to delete
                    }
                    dpif.delPort(op.name);
                    a.undo.push(() -> addPort(dpif, ob.name, op));
                    removed.add(op.name);
                }
            }
        }
        // 2. bridges that go away
        for (Bridge ob : from.bridges.values()) {
            if (byUuid(to, ob.uuid) == null) {
                dpif.delBridge(ob.name);
                a.undo.push(() -> replayBridge(dpif, ob, true));
            }
        }
        // 3. new bridges
        for (Bridge nb : to.bridges.values()) {
            if (byUuid(from, nb.uuid) == null) {
                dpif.addBridge(nb.name);
                a.undo.push(() -> dpif.delBridge(nb.name));
                if (!nb.flows.equals(Db.DEFAULT_FLOWS)) {
                    replayFlows(dpif, nb, true);
                }
            }
        }
        // 4. new ports, and changed interfaces
        for (Bridge nb : to.bridges.values()) {
            Bridge ob = byUuid(from, nb.uuid);
            for (Port np : nb.ports.values()) {
                Port op = ob == null ? null : ob.ports.get(np.name);
                boolean fresh = op == null || !op.uuid.equals(np.uuid);
                boolean changed = fresh || !op.type.equals(np.type) || !op.options.equals(np.options);
                boolean inDatapath = dpif.port(np.name) != null; // false: refused when the database was restored
                if (fresh || removed.contains(np.name) || (!inDatapath && changed)) {
                    addPort(dpif, nb.name, np);
                    a.undo.push(() -> dpif.delPort(np.name));
                } else if (inDatapath && changed) {
                    dpif.setInterface(np.name, np.type, Map.copyOf(np.options));
                    a.undo.push(() -> dpif.setInterface(op.name, op.type, Map.copyOf(op.options)));
                }
            }
        }
    }

    /**
     * True when port {@code p} asks for an ofport other than the one it has in the datapath (it is then
     * deleted and added again with it). Clearing ofport_request, or asking for the number it has, keeps it.
     */
    private static boolean renumbered(Dpif dpif, Port p) {
        if (p.ofportRequest < 1) {
            return false;
        }
        io.pvio.dpif.PortInfo live = dpif.port(p.name);
        return live != null && live.ofport() != p.ofportRequest;
    }

    private static Bridge byUuid(Db db, String uuid) {
        for (Bridge b : db.bridges.values()) {
            if (Objects.equals(b.uuid, uuid)) {
                return b;
            }
        }
        return null;
    }

    /** Adds a port with its ofport_request, else the number it had (OVS keeps a port's ofport too). */
    private static void addPort(Dpif dpif, String bridge, Port p) throws DpifException {
        if (p.ofportRequest < 1 && p.ofport > 0) {
            try {
                dpif.addPort(bridge, p.name, p.type, Map.copyOf(p.options), p.ofport);
                return;
            } catch (DpifException e) {
                if (dpif.port(p.name) != null) {
                    throw e;
                }
                // its old number is taken: any number will do
            }
        }
        dpif.addPort(bridge, p.name, p.type, Map.copyOf(p.options), p.ofportRequest);
    }

    private static void replayFlows(Dpif dpif, Bridge b, boolean strict) throws DpifException {
        dpif.delFlows(b.name, null);
        for (String f : b.flows) {
            try {
                dpif.addFlow(b.name, f);
            } catch (DpifException e) {
                if (strict) {
                    throw e;
                }
                LOG.severe("bridge " + b.name + ": cannot restore flow \"" + f + "\": " + e.getMessage());
            }
        }
    }

    /** Adds a bridge with its flows and ports; strict stops at the first refusal. */
    private static void replayBridge(Dpif dpif, Bridge b, boolean strict) throws DpifException {
        dpif.addBridge(b.name);
        if (!b.flows.equals(Db.DEFAULT_FLOWS)) {
            replayFlows(dpif, b, strict);
        }
        // ports with an ofport_request first, then those that had a number, then the others
        java.util.List<Port> order = new java.util.ArrayList<>(b.ports.values());
        order.sort(java.util.Comparator.comparingInt((Port p) -> p.ofportRequest > 0 ? 0 : p.ofport > 0 ? 1 : 2));
        for (Port p : order) {
            try {
                addPort(dpif, b.name, p);
            } catch (DpifException e) {
                if (strict) {
                    throw e;
                }
                LOG.severe("bridge " + b.name + ": cannot add port " + p.name + ": " + e.getMessage());
            }
        }
    }

    /**
     * Replays the whole database into a freshly bound datapath (which keeps no configuration). A row the
     * datapath refuses is logged and skipped; the database keeps it.
     */
    public static void replay(Dpif dpif, Db db) {
        try {
            dpif.setOtherConfig(Map.copyOf(db.otherConfig));
        } catch (DpifException | RuntimeException e) {
            LOG.severe("cannot apply other_config " + db.otherConfig + ": " + e.getMessage());
        }
        for (Bridge b : db.bridges.values()) {
            try {
                if (dpif.bridges().contains(b.name)) {
                    continue; // already there (a datapath that survived us)
                }
                replayBridge(dpif, b, false);
            } catch (DpifException | RuntimeException e) {
                LOG.severe("cannot restore bridge " + b.name + ": " + e.getMessage());
            }
        }
        LOG.info("datapath configured from the database: " + db.bridges.size() + " bridge(s), "
                + db.bridges.values().stream().mapToInt(b -> b.ports.size()).sum() + " port(s)");
    }
}
