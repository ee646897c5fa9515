package io.pvio.control.apply;

import io.pvio.control.db.Db;
import io.pvio.control.db.Db.Bridge;
import io.pvio.control.db.Db.Port;
import io.pvio.dpif.Dpif;
import io.pvio.dpif.DpifException;
import io.pvio.dpif.PortInfo;
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
        // 1. ports that go away (deleted, moved, re-created, or renumbered as OVS's bridge does it) in
        //    surviving bridges; each is added back with the number it had if a later step is refused
        for (Bridge ob : from.bridges.values()) {
            Bridge nb = byUuid(to, ob.uuid);
            if (nb == null) {
                continue;
            }
            java.util.Set<String> going = new java.util.LinkedHashSet<>();
            for (Port op : ob.ports.values()) {
                Port np = nb.ports.get(op.name);
                if (np == null || !np.uuid.equals(op.uuid)) {
                    going.add(op.name);
                } else {
                    going.addAll(renumbered(dpif, ob.name, nb, np));
                }
            }
            for (String name : going) {
                Port op = ob.ports.get(name);
                PortInfo live = dpif.port(name);
                if (op == null || live == null) {
                    continue; // never restored into the datapath (refused at startup): nothing to delete
                }
                int had = live.ofport();
                dpif.delPort(name);
                a.undo.push(() -> dpif.addPort(ob.name, op.name, op.type, Map.copyOf(op.options), had));
                removed.add(name);
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
        // 4. new ports, and changed interfaces: those that request a number first, as OVS adds them
        for (Bridge nb : to.bridges.values()) {
            Bridge ob = byUuid(from, nb.uuid);
            java.util.List<Port> order = new java.util.ArrayList<>(nb.ports.values());
            order.sort(java.util.Comparator.comparingInt((Port p) -> p.ofportRequest > 0 ? 0 : 1));
            for (Port np : order) {
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
     * The ports to delete (and add again) so that {@code p} gets the ofport it requests, as OVS's bridge
     * decides it: none when it has that number or requests none; {@code p} alone when the number is free;
     * {@code p} and the port holding the number when that port did not request it too (both get numbers
     * again, requested ones first); none when it did (a conflict OVS leaves as it is).
     */
    private static java.util.List<String> renumbered(Dpif dpif, String bridge, Bridge nb, Port p) {
        PortInfo live = dpif.port(p.name);
        int want = p.ofportRequest;
        if (want < 1 || live == null || live.ofport() == want) {
            return java.util.List.of();
        }
        PortInfo holder = holder(dpif, bridge, want);
        if (holder == null) {
            return java.util.List.of(p.name);
        }
        Port hp = nb.ports.get(holder.name());
        if (hp != null && hp.ofportRequest == want) {
            LOG.warning("port " + p.name + ": ofport_request " + want + " is also requested by " + holder.name()
                    + ", which has it; " + p.name + " keeps ofport " + live.ofport());
            return java.util.List.of();
        }
        return java.util.List.of(holder.name(), p.name);
    }

    /** The port of {@code bridge} that has ofport {@code n} in the datapath, or null. */
    private static PortInfo holder(Dpif dpif, String bridge, int n) {
        for (PortInfo pi : dpif.ports(bridge)) {
            if (pi.ofport() == n) {
                return pi;
            }
        }
        return null;
    }

    private static Bridge byUuid(Db db, String uuid) {
        for (Bridge b : db.bridges.values()) {
            if (Objects.equals(b.uuid, uuid)) {
                return b;
            }
        }
        return null;
    }

    /**
     * Adds a port with its ofport_request, else the number it had (OVS keeps a port's ofport too). A requested
     * or former number that another port holds is not an error: the datapath chooses one, as OVS does.
     */
    private static void addPort(Dpif dpif, String bridge, Port p) throws DpifException {
        int want = p.ofportRequest > 0 ? p.ofportRequest : p.ofport;
        if (want > 0) {
            try {
                dpif.addPort(bridge, p.name, p.type, Map.copyOf(p.options), want);
                return;
            } catch (DpifException e) {
                PortInfo holder = holder(dpif, bridge, want);
                if (dpif.port(p.name) != null || holder == null) {
                    throw e;
                }
                if (p.ofportRequest > 0) {
                    LOG.warning("port " + p.name + ": ofport_request " + want + " is in use by " + holder.name()
                            + "; another number is chosen");
                }
            }
        }
        dpif.addPort(bridge, p.name, p.type, Map.copyOf(p.options), -1);
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
