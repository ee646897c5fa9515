package io.pvio.virtio.user.netdev;

import io.pvio.netdev.CustomStats;
import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.NetdevException;
import io.pvio.netdev.NetdevStats;
import io.pvio.packet.PacketBatch;
import io.pvio.virtio.user.VirtioUserConfig;
import io.pvio.virtio.user.VirtioUserDevice;
import io.pvio.virtio.user.VirtioUserStats;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.logging.Logger;

/**
 * An open {@code virtio-user} port. Queue pair i is rx queue i (frames from the back end) and tx queue i.
 * Synchronous: {@link #send} copies into guest buffers and frees the packets before returning.
 */
final class VirtioUserPort implements Netdev {
    private static final Logger LOG = Logger.getLogger("netdev_virtio_user");
    private static final VarHandle DROPS = MethodHandles.arrayElementVarHandle(long[].class);

    private final String name;
    private final VirtioUserDevice dev;
    private final NetdevContext ctx;
    private final Map<String, String> options;
    private final VirtioUserConfig cfg;
    private final Object[] txLocks;
    private final long[] txDropped;

    private VirtioUserPort(String name, VirtioUserDevice dev, VirtioUserConfig cfg, Map<String, String> options,
            NetdevContext ctx) {
        this.name = name;
        this.dev = dev;
        this.cfg = cfg;
        this.ctx = ctx;
        this.options = new TreeMap<>(options);
        int n = cfg.queuePairs();
        txLocks = new Object[n];
        for (int i = 0; i < n; i++) {
            txLocks[i] = new Object();
        }
        txDropped = new long[n * 8]; // one counter per queue, a cache line apart
    }

    static VirtioUserPort open(String name, VirtioUserConfig cfg, Map<String, String> options, NetdevContext ctx)
            throws NetdevException {
        VirtioUserDevice d;
        try {
            d = VirtioUserDevice.open(cfg);
        } catch (IOException | IllegalArgumentException e) {
            throw new NetdevException(name + ": cannot create virtio-user device on " + cfg.path() + ": "
                    + e.getMessage(), e);
        }
        VirtioUserPort p = new VirtioUserPort(name, d, cfg, options, ctx);
        d.setListener(() -> {
            LOG.info(name + ": link " + (d.isReady() ? "up" : "down"));
            ctx.changed();
        });
        if (d.isReady()) {
            ctx.changed(); // came up on the control thread before the listener was set
        }
        return p;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String type() {
        return VirtioUserClass.TYPE;
    }

    @Override
    public void setConfig(Map<String, String> newOptions) throws NetdevException {
        VirtioUserOptions.parse(name, newOptions, ctx.runDir());
        if (!new TreeMap<>(newOptions).equals(options)) {
            throw new NetdevException(name + ": the options of a virtio-user port cannot change while it runs ("
                    + options + " -> " + new TreeMap<>(newOptions) + "); delete and re-add the port");
        }
    }

    @Override
    public Map<String, String> getConfig() {
        return new TreeMap<>(options);
    }

    @Override
    public int nRxq() {
        return cfg.queuePairs();
    }

    @Override
    public int nTxq() {
        return cfg.queuePairs();
    }

    @Override
    public int rxqRecv(int qid, PacketBatch batch) {
        if (qid < 0 || qid >= cfg.queuePairs()) {
            return 0;
        }
        return dev.receive(qid, ctx.pool(), batch);
    }

    @Override
    public int send(int qid, PacketBatch batch, boolean concurrentTxq) {
        if (qid < 0 || qid >= cfg.queuePairs()) {
            drop(0, batch.size());
            batch.freeAll();
            return 0;
        }
        int sent;
        if (concurrentTxq) {
            synchronized (txLocks[qid]) {
                sent = dev.transmitBatch(qid, batch);
            }
        } else {
            sent = dev.transmitBatch(qid, batch);
        }
        drop(qid, batch.size() - sent);
        batch.freeAll();
        return 0;
    }

    private void drop(int qid, long n) {
        if (n > 0) {
            DROPS.getAndAdd(txDropped, qid * 8, n);
        }
    }

    @Override
    public int freePkts(int qid, boolean concurrentTxq) {
        return 0;
    }

    @Override
    public void getStats(NetdevStats stats) {
        VirtioUserStats s = dev.stats();
        stats.rxPackets = s.rxPackets;
        stats.rxBytes = s.rxBytes;
        stats.rxErrors = s.rxErrors;
        stats.rxDropped = s.rxDropped;
        stats.txPackets = s.txPackets;
        stats.txBytes = s.txBytes;
        stats.txErrors = s.txErrors;
        long d = 0;
        for (int i = 0; i < cfg.queuePairs(); i++) {
            d += (long) DROPS.getVolatile(txDropped, i * 8);
        }
        stats.txDropped = d;
    }

    @Override
    public void getCustomStats(CustomStats sink) {
        VirtioUserStats s = dev.stats();
        sink.put("tx_ring_full", s.txRingFull);
        sink.put("tx_not_ready", s.txNotReady);
        sink.put("kicks", s.kicks);
        sink.put("connections", dev.generation());
    }

    @Override
    public Map<String, String> status() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("socket", cfg.path().toString());
        m.put("mode", cfg.server() ? "server" : "client");
        m.put("ring", cfg.packed() ? "packed" : "split");
        m.put("state", dev.isReady() ? "ready" : dev.isConnected() ? "connected" : "disconnected");
        m.put("features", "0x" + Long.toHexString(dev.features()));
        m.put("protocol_features", "0x" + Long.toHexString(dev.protocolFeatures()));
        m.put("connections", Long.toString(dev.generation()));
        String err = dev.lastError();
        if (err != null) {
            m.put("last_error", err);
        }
        return m;
    }

    @Override
    public boolean carrier() {
        return dev.isReady();
    }

    /** The driver behind the port (tests). */
    VirtioUserDevice device() {
        return dev;
    }

    @Override
    public void close() {
        dev.setListener(null);
        dev.close();
    }
}
