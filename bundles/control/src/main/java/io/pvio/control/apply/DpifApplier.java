package io.pvio.control.apply;

import io.pvio.control.db.Db;
import io.pvio.control.db.Db.Bridge;
import io.pvio.control.db.Db.Port;
import io.pvio.dpif.Dpif;
import io.pvio.dpif.DpifException;
import io.pvio.dpif.PortInfo;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
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
        // 1. ports that go away (deleted, moved, re-created, or giving their number to a port that asks for
        //    it: OfportRules) in surviving bridges; each is added back with the number it had if a later step
        //    is refused
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
                }
            }
            going.addAll(OfportRules.displaced(plan(dpif, ob, nb).values()));
            for (String name : going) {
                Port op = ob.ports.get(name);
                PortInfo live = dpif.port(name);
                if (op == null || live == null) {
                    continue; // never restored into the datapath (refused at startup): nothing to delete
                }
                int had = live.ofport();
                dpif.delPort(name);
                a.undo.push(() -> {
                    dpif.addPort(ob.name, op.name, op.type, Map.copyOf(op.options), had);
                    setPortConfig(dpif, op);
                });
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
        // 4. new ports, and changed interfaces, in OfportRules' order
        for (Bridge nb : to.bridges.values()) {
            Bridge ob = byUuid(from, nb.uuid);
            Map<String, OfportRules.Port> plan = plan(dpif, ob, nb);
            java.util.Set<Integer> taken = OfportRules.taken(dpif, nb.name);
            java.util.Set<Integer> requested = OfportRules.requested(plan.values());
            for (OfportRules.Port pp : plan.values().stream().sorted(OfportRules.ADD_ORDER).toList()) {
                Port np = nb.ports.get(pp.name());
                Port op = ob == null ? null : ob.ports.get(np.name);
                boolean fresh = op == null || !op.uuid.equals(np.uuid);
                boolean changed = fresh || !op.type.equals(np.type) || !op.options.equals(np.options);
                boolean inDatapath = dpif.port(np.name) != null; // false: refused when the database was restored
                if (fresh || removed.contains(np.name) || (!inDatapath && changed)) {
                    OfportRules.addPort(dpif, nb.name, pp, np.type, Map.copyOf(np.options), taken, requested);
                    a.undo.push(() -> dpif.delPort(np.name));
                    setPortConfig(dpif, np);
                    continue;
                }
                if (inDatapath && changed) {
                    dpif.setInterface(np.name, np.type, Map.copyOf(np.options));
                    a.undo.push(() -> dpif.setInterface(op.name, op.type, Map.copyOf(op.options)));
                }
                if (inDatapath && !Objects.equals(affinity(op), affinity(np))) {
                    dpif.setRxqAffinity(np.name, affinity(np));
                    a.undo.push(() -> dpif.setRxqAffinity(op.name, affinity(op)));
                }
                if (inDatapath && !sameVlans(op, np)) {
                    setVlans(dpif, np);
                    a.undo.push(() -> setVlans(dpif, op));
                }
                if (inDatapath && (op.policingRate != np.policingRate || op.policingBurst != np.policingBurst)) {
                    dpif.setIngressPolicing(np.name, np.policingRate, np.policingBurst);
                    a.undo.push(() -> dpif.setIngressPolicing(op.name, op.policingRate, op.policingBurst));
                }
            }
        }
        // 5. each bridge's MAC (a port may have changed it) and datapath ID (other_config:datapath-id, else the MAC)
        for (Bridge nb : to.bridges.values()) {
            if (!dpif.bridges().contains(nb.name)) {
                continue;
            }
            String before = dpif.bridgeAddress(nb.name);
            String mac = BridgeAddress.pick(nb.uuid, nb.name, dpif.ports(nb.name), nb.otherConfig);
            if (!mac.equals(before)) {
                dpif.setBridgeAddress(nb.name, mac);
                a.undo.push(() -> dpif.setBridgeAddress(nb.name, before));
            }
            Bridge ob = byUuid(from, nb.uuid); // what the datapath has: from was applied
            long dpid = BridgeAddress.datapathId(nb.otherConfig);
            long oldDpid = ob == null ? 0 : BridgeAddress.datapathId(ob.otherConfig);
            if (dpid != oldDpid) {
                dpif.setDatapathId(nb.name, dpid);
                a.undo.push(() -> dpif.setDatapathId(nb.name, oldDpid));
            }
            List<String> ctl = List.copyOf(nb.controllers);
            List<String> oldCtl = ob == null ? List.of() : List.copyOf(ob.controllers);
            boolean secure = nb.failMode.equals("secure");
            boolean oldSecure = ob != null && ob.failMode.equals("secure");
            if (!ctl.equals(oldCtl) || secure != oldSecure) {
                dpif.setControllers(nb.name, ctl, secure); // may flush the bridge's flows, as OVS's connmgr
                a.undo.push(() -> dpif.setControllers(nb.name, oldCtl, oldSecure));
            }
            int[] macs = macTable(nb.otherConfig);
            int[] oldMacs = ob == null ? new int[2] : macTable(ob.otherConfig);
            if (!Arrays.equals(macs, oldMacs)) {
                dpif.setMacTableConfig(nb.name, macs[0], macs[1]);
                a.undo.push(() -> dpif.setMacTableConfig(nb.name, oldMacs[0], oldMacs[1]));
            }
        }
    }

    /**
     * The Bridge's {@code other_config:mac-aging-time} and {@code mac-table-size} as bridge_configure_mac_table
     * reads them (smap_get_int: absent or not a decimal int is 0, the default; a negative value, which OVS
     * passes on as unsigned, the largest).
     */
    public static int[] macTable(Map<String, String> otherConfig) {
        int[] v = new int[2];
        String[] keys = {"mac-aging-time", "mac-table-size"};
        for (int i = 0; i < 2; i++) {
            String s = otherConfig.get(keys[i]);
            try {
                v[i] = s == null ? 0 : Integer.parseInt(s);
            } catch (NumberFormatException e) {
                v[i] = 0;
            }
            if (v[i] < 0) {
                v[i] = Integer.MAX_VALUE;
            }
        }
        return v;
    }

    /**
     * {@code nb}'s ports as OfportRules sees them: a port of {@code ob} (null: none) with the same uuid has
     * its number in the datapath; the others are added.
     */
    private static Map<String, OfportRules.Port> plan(Dpif dpif, Bridge ob, Bridge nb) {
        Map<String, OfportRules.Port> plan = new java.util.LinkedHashMap<>();
        for (Port np : nb.ports.values()) {
            Port op = ob == null ? null : ob.ports.get(np.name);
            PortInfo live = op != null && op.uuid.equals(np.uuid) ? dpif.port(np.name) : null;
            int now = live != null && live.bridge().equals(nb.name) ? live.ofport() : -1;
            plan.put(np.name, new OfportRules.Port(np.name, now, np.ofportRequest, np.ofport, np.name.equals(nb.name)));
        }
        return plan;
    }

    /** The Interface's other_config:pmd-rxq-affinity, or null. */
    private static String affinity(Port p) {
        return p.ifaceOtherConfig.get("pmd-rxq-affinity");
    }

    /** Gives a port just added its Interface's pmd-rxq-affinity and ingress policing, when set (it has none). */
    private static void setPortConfig(Dpif dpif, Port p) throws DpifException {
        if (affinity(p) != null) {
            dpif.setRxqAffinity(p.name, affinity(p));
        }
        if (p.policingRate != 0) {
            dpif.setIngressPolicing(p.name, p.policingRate, p.policingBurst);
        }
        if (p.tag >= 0 || !p.trunks.isEmpty() || !p.vlanMode.isEmpty()) {
            setVlans(dpif, p);
        }
    }

    private static boolean sameVlans(Port a, Port b) {
        return a.tag == b.tag && a.trunks.equals(b.trunks) && a.vlanMode.equals(b.vlanMode);
    }

    /** The Port's tag, trunks and vlan_mode (port_configure). */
    private static void setVlans(Dpif dpif, Port p) throws DpifException {
        dpif.setPortVlans(p.name, p.vlanMode, p.tag, p.trunks.stream().mapToInt(Integer::intValue).toArray());
    }

    private static Bridge byUuid(Db db, String uuid) {
        for (Bridge b : db.bridges.values()) {
            if (Objects.equals(b.uuid, uuid)) {
                return b;
            }
        }
        return null;
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
        Map<String, OfportRules.Port> plan = plan(dpif, null, b);
        java.util.Set<Integer> taken = OfportRules.taken(dpif, b.name);
        java.util.Set<Integer> requested = OfportRules.requested(plan.values());
        for (OfportRules.Port pp : plan.values().stream().sorted(OfportRules.ADD_ORDER).toList()) {
            Port p = b.ports.get(pp.name());
            try {
                OfportRules.addPort(dpif, b.name, pp, p.type, Map.copyOf(p.options), taken, requested);
                setPortConfig(dpif, p);
            } catch (DpifException e) {
                if (strict) {
                    throw e;
                }
                LOG.severe("bridge " + b.name + ": cannot add port " + p.name + ": " + e.getMessage());
            }
        }
        dpif.setBridgeAddress(b.name, BridgeAddress.pick(b.uuid, b.name, dpif.ports(b.name), b.otherConfig));
        dpif.setDatapathId(b.name, BridgeAddress.datapathId(b.otherConfig));
        int[] macs = macTable(b.otherConfig);
        if (macs[0] != 0 || macs[1] != 0) {
            dpif.setMacTableConfig(b.name, macs[0], macs[1]);
        }
        if (!b.controllers.isEmpty() || b.failMode.equals("secure")) {
            dpif.setControllers(b.name, List.copyOf(b.controllers), b.failMode.equals("secure"));
        }
    }

    /** Whether the two rows of a bridge differ in their controllers or fail mode (its flows may be flushed). */
    public static boolean controlChanged(Bridge ob, Bridge nb) {
        return ob == null ? !nb.controllers.isEmpty() || nb.failMode.equals("secure")
                : !ob.controllers.equals(nb.controllers) || !ob.failMode.equals(nb.failMode);
    }

    /**
     * Replays the whole database into a freshly bound datapath (which keeps no configuration). A row the
     * datapath refuses is logged and skipped; the database keeps it.
     */
    public static void replay(Dpif dpif, Db db) {
        OtherConfig.apply(dpif, Map.copyOf(db.otherConfig)); // key by key: one a newer datapath refuses is logged
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
