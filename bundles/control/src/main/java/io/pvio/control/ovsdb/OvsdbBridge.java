package io.pvio.control.ovsdb;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pvio.dpif.Dpif;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * pvio as an OVSDB client, as ovs-vswitchd is: monitors the {@code Open_vSwitch} database of an
 * ovsdb-server ({@code unix:PATH} or {@code tcp:HOST:PORT}), applies every change to the datapath and
 * writes back the Interface columns, the Bridges' datapath_id and datapath_version, and {@code cur_cfg}.
 * Reconnects with back-off (1 s doubling to 8 s, as OVS's reconnect) and resynchronises in full when the
 * server comes back.
 *
 * <p>One thread ("ovsdb") owns the replica and the reconciler; the connection's reader thread only queues.
 */
public final class OvsdbBridge implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger("bridge");
    private static final Logger RECONNECT = Logger.getLogger("reconnect");
    static final long MIN_BACKOFF_MS = 1000;
    static final long MAX_BACKOFF_MS = 8000;
    private static final long REPLY_TIMEOUT_S = 60;

    /** The columns ovs-vswitchd's bridge layer reads and pvio acts on. */
    static final Map<String, List<String>> MONITORED = Map.of(
            "Open_vSwitch", List.of("bridges", "other_config", "next_cfg"),
            "Bridge", List.of("name", "ports", "other_config", "controller", "fail_mode"),
            "Controller", List.of("target", "inactivity_probe"),
            "Port", List.of("name", "interfaces", "other_config", "qos", "tag", "trunks", "vlan_mode"),
            "QoS", List.of("type", "other_config"),
            "Interface", List.of("name", "type", "options", "ofport_request", "other_config", "ofport",
                    "ingress_policing_rate", "ingress_policing_burst"));

    private record Event(JsonRpc from, String kind, JsonNode msg) {
    }

    private final String target;
    private final Supplier<Dpif> dpif;
    private final Supplier<java.util.Collection<String>> ifaceTypes;
    private final Runnable reconfigured;
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final Replica replica = new Replica();
    private final Reconciler reconciler = new Reconciler();
    private final Thread thread;
    private volatile boolean stopping;
    private volatile JsonRpc rpc;

    /**
     * @param ifaceTypes the netdev classes present (written to {@code Open_vSwitch:iface_types})
     * @param reconfigured run on this bridge's thread after each change applied to the datapath and before
     *     {@code cur_cfg} is written; returns when the rest of the switch follows (e.g. the .mgmt sockets)
     * @throws IllegalArgumentException when {@code target} is neither unix:PATH nor tcp:HOST:PORT
     */
    public OvsdbBridge(String target, Supplier<Dpif> dpif, Supplier<java.util.Collection<String>> ifaceTypes,
            Runnable reconfigured) {
        JsonRpc.address(target);
        this.target = target;
        this.dpif = dpif;
        this.ifaceTypes = ifaceTypes;
        this.reconfigured = reconfigured;
        thread = new Thread(this::run, "ovsdb");
        thread.setDaemon(true);
    }

    public String target() {
        return target;
    }

    public OvsdbBridge start() {
        thread.start();
        return this;
    }

    /** The datapath was bound or unbound: apply the whole database to it again. */
    public void datapathChanged() {
        events.add(new Event(null, "datapath", null));
    }

    @Override
    public void close() {
        stopping = true;
        events.add(new Event(null, "stop", null));
        JsonRpc r = rpc;
        if (r != null) {
            r.close();
        }
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        long backoff = MIN_BACKOFF_MS;
        while (!stopping) {
            JsonRpc r;
            try {
                RECONNECT.info(target + ": connecting...");
                r = JsonRpc.connect(target, m -> events.add(new Event(rpc, "notify", m)),
                        () -> events.add(new Event(null, "closed", null)));
            } catch (IOException | RuntimeException e) {
                RECONNECT.warning(target + ": connection attempt failed (" + e.getMessage() + ")");
                RECONNECT.info(target + ": waiting " + backoff / 1000 + " seconds before reconnect");
                if (waitStop(backoff)) {
                    return;
                }
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
                continue;
            }
            rpc = r;
            RECONNECT.info(target + ": connected");
            backoff = MIN_BACKOFF_MS;
            try {
                session(r);
            } catch (IOException | ExecutionException | TimeoutException e) {
                LOG.warning(target + ": " + e.getMessage());
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.log(java.util.logging.Level.SEVERE, target + ": unexpected failure; reconnecting", e);
            } finally {
                r.close();
                rpc = null;
            }
            if (!stopping) {
                RECONNECT.info(target + ": connection dropped; waiting " + backoff / 1000 + " seconds before reconnect");
                if (waitStop(backoff)) {
                    return;
                }
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
            }
        }
    }

    /** Waits {@code ms}; true when asked to stop meanwhile. Other events are dropped (a resync follows). */
    private boolean waitStop(long ms) {
        long deadline = System.nanoTime() + ms * 1_000_000;
        try {
            for (long left = ms; left > 0; left = (deadline - System.nanoTime()) / 1_000_000) {
                Event e = events.poll(left, TimeUnit.MILLISECONDS);
                if (stopping || (e != null && e.kind().equals("stop"))) {
                    return true;
                }
            }
        } catch (InterruptedException e) {
            return true;
        }
        return stopping;
    }

    private void session(JsonRpc r) throws IOException, InterruptedException, ExecutionException, TimeoutException {
        events.removeIf(e -> e.kind().equals("closed") || e.kind().equals("notify")); // of earlier connections
        replica.clear();
        reconciler.reset();
        ArrayNode params = JsonRpc.MAPPER.createArrayNode();
        params.add("Open_vSwitch");
        params.add("pvio");
        ObjectNode requests = params.addObject();
        MONITORED.forEach((table, cols) -> requests.putObject(table).set("columns",
                JsonRpc.MAPPER.valueToTree(cols)));
        JsonNode initial = r.request("monitor", params).get(REPLY_TIMEOUT_S, TimeUnit.SECONDS);
        replica.apply(initial);
        Desired want = Desired.of(replica);
        LOG.info(target + ": database synchronised: " + want.bridges().size() + " bridge(s), "
                + want.interfaces().size() + " interface(s)");
        want = reconfigure(r);
        long nextStats = System.nanoTime() + want.statsInterval() * 1_000_000;
        while (!stopping) {
            long wait = Math.max(0, (nextStats - System.nanoTime()) / 1_000_000);
            Event e = events.poll(wait, TimeUnit.MILLISECONDS);
            if (e == null) { // statistics and state, as OVS's stats-update-interval
                Dpif d = dpif.get();
                if (d != null) {
                    transact(r, reconciler.writeBack(d, want, null, ifaceTypes.get()));
                }
                nextStats = System.nanoTime() + want.statsInterval() * 1_000_000;
                continue;
            }
            switch (e.kind()) {
                case "stop":
                    return;
                case "closed":
                    if (r.isClosed()) {
                        throw new IOException("connection lost");
                    }
                    break;
                case "write-failed":
                    reconciler.reset(); // rewrite everything on the next round
                    want = reconfigure(r);
                    break;
                case "datapath":
                    reconciler.reset();
                    want = reconfigure(r);
                    break;
                case "notify":
                    if (e.from() != r && e.from() != null) {
                        break;
                    }
                    if (applyNotification(e.msg())) {
                        // apply every update already queued before touching the datapath once
                        for (Event next; (next = events.peek()) != null && next.kind().equals("notify");) {
                            events.poll();
                            applyNotification(next.msg());
                        }
                        want = reconfigure(r);
                    }
                    break;
                default:
                    break;
            }
        }
    }

    /** Applies an {@code update} notification to the replica; false for any other notification. */
    private boolean applyNotification(JsonNode msg) throws IOException {
        JsonNode method = msg.get("method");
        JsonNode params = msg.get("params");
        if (method == null || !"update".equals(method.asText()) || params == null || params.size() != 2) {
            LOG.fine(target + ": ignored notification " + msg);
            return false;
        }
        replica.apply(params.get(1));
        return true;
    }

    /** Applies the replica to the datapath and writes back; returns what was applied. */
    private Desired reconfigure(JsonRpc r) {
        Desired want = Desired.of(replica);
        Dpif d = dpif.get();
        if (d == null) {
            LOG.warning("no datapath: the database is applied when one appears");
            return want;
        }
        reconciler.apply(d, want);
        reconfigured.run(); // as bridge_reconfigure() configures ofproto before cur_cfg is raised
        transact(r, reconciler.writeBack(d, want, want.rootUuid() == null ? null : want.nextCfg(), ifaceTypes.get()));
        return want;
    }

    /** Sends the write-back transaction (if any operation); a failure is logged and everything rewritten. */
    private void transact(JsonRpc r, ArrayNode ops) {
        if (ops.size() < 2) {
            return;
        }
        r.request("transact", ops).whenComplete((result, failure) -> {
            String why = failure != null ? failure.getMessage() : transactionError(result);
            if (why != null) {
                if (!r.isClosed()) {
                    LOG.warning(target + ": writing the status back failed: " + why);
                    events.add(new Event(r, "write-failed", null));
                }
            }
        });
    }

    private static String transactionError(JsonNode result) {
        if (result == null || !result.isArray()) {
            return "malformed reply " + result;
        }
        for (JsonNode op : result) {
            if (op != null && op.hasNonNull("error")) {
                return op.get("error").asText() + (op.hasNonNull("details") ? ": " + op.get("details").asText() : "");
            }
        }
        return null;
    }
}
