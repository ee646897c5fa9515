package io.pvio.vhost.async;

import io.pvio.dma.DmaDevice;
import io.pvio.dma.DmaRegions;
import io.pvio.dma.PciAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * Binds vhost queues to DMA channels as channels come and go (the DS references of the vhost bundle call
 * {@link #addDevice}/{@link #removeDevice}) and as ports ask for them ({@link #request}).
 *
 * <p>For each PCI address the best channel (highest service ranking, then oldest) serves every queue that
 * asked for that address. When a channel goes away, each of its queues drains every copy in flight before
 * {@link #removeDevice} returns, then copies with the CPU until a channel with that address appears again.
 * With {@code vhost-async-copy-support} off ({@link #setEnabled}), no queue is bound.
 *
 * <p>Control path only; all methods are serialised on this object. Lock order: binder, then queue.
 */
public final class AsyncBinder {
    private static final Logger LOG = Logger.getLogger("netdev_dpdk");
    private static final long DRAIN_TIMEOUT_NANOS = 30_000_000_000L;

    private record Dev(DmaDevice device, String address, String driver, int ranking, long serviceId) {
    }

    private record Req(String address, int threshold) {
    }

    private final Map<String, List<Dev>> devices = new HashMap<>();
    private final Map<DmaDevice, DmaChannel> channels = new HashMap<>();
    private final Map<AsyncQueue, Req> requests = new LinkedHashMap<>();
    private final DmaRegions memory = new DmaRegions("vhost-user guest memory", LOG);
    private boolean enabled;
    private boolean announced;

    private static final Comparator<Dev> BEST = Comparator.comparingInt((Dev d) -> -d.ranking)
            .thenComparingLong(d -> d.serviceId);

    /**
     * The guest memory of this binder's ports, registered for DMA engines behind an IOMMU (the bundle's
     * DmaMemory references bind to it). Its own lock: not serialised with the binder.
     */
    public DmaRegions memory() {
        return memory;
    }

    /** vhost-async-copy-support: when false every queue copies with the CPU. */
    public synchronized void setEnabled(boolean on) {
        if (on == enabled && announced) {
            return;
        }
        announced = true;
        enabled = on;
        LOG.info("Async copy support for vhost-user-client " + (on ? "enabled." : "disabled."));
        for (AsyncQueue q : new ArrayList<>(requests.keySet())) {
            rebind(q);
        }
    }

    public synchronized boolean enabled() {
        return enabled;
    }

    /** A DMA channel service appeared. */
    public synchronized void addDevice(DmaDevice device, Map<String, ?> props) {
        String address;
        try {
            address = PciAddress.normalize(String.valueOf(props.get(DmaDevice.ADDRESS_PROPERTY)));
        } catch (IllegalArgumentException e) {
            LOG.warning("ignoring DMA channel with a bad " + DmaDevice.ADDRESS_PROPERTY + ": " + e.getMessage());
            return;
        }
        Object drv = props.get(DmaDevice.DRIVER_PROPERTY);
        Dev d = new Dev(device, address, drv == null ? "dma" : drv.toString(), intProp(props.get("service.ranking")),
                longProp(props.get("service.id")));
        List<Dev> list = devices.computeIfAbsent(address, a -> new ArrayList<>());
        list.add(d);
        list.sort(BEST);
        channels.put(device, new DmaChannel(device, address, d.driver));
        LOG.info("DMA channel " + d.driver + "@" + address + " available");
        for (Map.Entry<AsyncQueue, Req> e : new ArrayList<>(requests.entrySet())) {
            if (address.equals(e.getValue().address)) {
                rebind(e.getKey());
            }
        }
    }

    /** A DMA channel service is going away: its queues drain before this returns. */
    public synchronized void removeDevice(DmaDevice device) {
        DmaChannel ch = channels.get(device);
        if (ch == null) {
            return;
        }
        List<Dev> list = devices.get(ch.address());
        list.removeIf(d -> d.device == device);
        if (list.isEmpty()) {
            devices.remove(ch.address());
        }
        for (AsyncQueue q : new ArrayList<>(requests.keySet())) {
            if (q.tracker().channel() == ch) {
                rebind(q);
            }
        }
        channels.remove(device);
        LOG.info("DMA channel " + ch + " removed");
    }

    /** True when a channel with this address (any form) is available now. */
    public synchronized boolean hasChannel(String address) {
        return devices.containsKey(PciAddress.normalize(address));
    }

    /** Addresses of the channels available now. */
    public synchronized List<String> addresses() {
        List<String> a = new ArrayList<>(devices.keySet());
        a.sort(null);
        return a;
    }

    /**
     * Sets what queue {@code q} asks for: the channel at {@code address} (null: none) and the threshold.
     * Binds, rebinds or unbinds now, draining first when the channel changes.
     */
    public synchronized void request(AsyncQueue q, String address, int threshold) {
        if (address == null) {
            requests.put(q, new Req(null, Integer.MAX_VALUE));
        } else {
            requests.put(q, new Req(PciAddress.normalize(address), threshold));
        }
        rebind(q);
    }

    /** Queue {@code q} is closing: drain it, unbind it and forget it. */
    public synchronized void release(AsyncQueue q) {
        requests.put(q, new Req(null, Integer.MAX_VALUE));
        rebind(q);
        requests.remove(q);
    }

    /** What {@code q} is bound to, for show commands. */
    public synchronized String describe(AsyncQueue q) {
        Req r = requests.get(q);
        DmaChannel ch = q.tracker().channel();
        if (ch != null) {
            String s = ch + " threshold " + q.tracker().threshold() + " B"
                    + (ch.owners() > 1 ? " (shared by " + ch.owners() + " queues)" : "");
            if (target(r) != ch) {
                s += " (to be unbound: " + q.tracker().dmaInFlight() + " copies in flight did not complete)";
            }
            return s;
        }
        if (r == null || r.address == null) {
            return "cpu";
        }
        return "cpu (" + (enabled ? "waiting for DMA channel " + r.address : "async copy support disabled") + ")";
    }

    private DmaChannel target(Req r) {
        if (!enabled || r == null || r.address == null) {
            return null;
        }
        List<Dev> list = devices.get(r.address);
        return list == null || list.isEmpty() ? null : channels.get(list.get(0).device);
    }

    private void rebind(AsyncQueue q) {
        Req r = requests.get(q);
        DmaChannel want = target(r);
        CopyTracker t = q.tracker();
        DmaChannel have = t.channel();
        int threshold = r == null || r.address == null ? Integer.MAX_VALUE : r.threshold;
        if (want == have) {
            if (have != null) {
                q.exclusive(() -> t.setThreshold(threshold));
            }
            return;
        }
        if (have != null) {
            long start = System.nanoTime();
            boolean[] drained = new boolean[1];
            List<AsyncQueue> users = usersOf(have);
            withAll(users, 0, () -> {
                drained[0] = q.drainLocked();
                if (drained[0]) {
                    have.unregister(t.owner());
                    t.attach(null, -1, Integer.MAX_VALUE);
                }
            });
            long us = (System.nanoTime() - start) / 1000;
            if (drained[0]) {
                LOG.info(q.describe() + ": unbound from DMA channel " + have + " after draining in " + us + " us");
            } else {
                LOG.severe(q.describe() + ": DMA channel " + have + " is not completing its copies (" + t.dmaInFlight()
                        + " in flight); the queue stays bound to it until they complete and the binding is asked"
                        + " for again");
                return;
            }
        }
        if (want != null) {
            List<AsyncQueue> users = usersOf(want);
            users.add(q);
            withAll(users, 0, () -> t.attach(want, want.register(t), threshold));
            LOG.info(q.describe() + ": bound to DMA channel " + want + ", async threshold " + threshold + " B");
        }
    }

    /** Drain timeout, for AsyncQueue implementations. */
    public static long drainTimeoutNanos() {
        return DRAIN_TIMEOUT_NANOS;
    }

    private List<AsyncQueue> usersOf(DmaChannel ch) {
        List<AsyncQueue> out = new ArrayList<>();
        for (AsyncQueue q : requests.keySet()) {
            if (q.tracker().channel() == ch) {
                out.add(q);
            }
        }
        return out;
    }

    private static void withAll(List<AsyncQueue> qs, int i, Runnable r) {
        if (i == 0) {
            qs.sort(Comparator.comparingLong(AsyncQueue::lockOrder));
        }
        if (i == qs.size()) {
            r.run();
        } else {
            qs.get(i).exclusive(() -> withAll(qs, i + 1, r));
        }
    }

    private static int intProp(Object o) {
        return o instanceof Number n ? n.intValue() : 0;
    }

    private static long longProp(Object o) {
        return o instanceof Number n ? n.longValue() : 0L;
    }
}
