package io.pvio.vhost.netdev;

import io.pvio.dma.DmaDevice;
import io.pvio.dma.DmaMemory;
import io.pvio.vhost.async.AsyncBinder;
import io.pvio.vhost.ring.Virtqueue;
import java.util.Map;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The bundle's one {@link AsyncBinder}, fed with every {@link DmaDevice} service: the two vhost-user
 * netdev classes share it. A channel service that goes away is unbound only after every queue using it
 * has drained its copies in flight ({@link AsyncBinder#removeDevice}); those queues then copy with the CPU
 * until a channel with the same {@code dma.address} appears.
 *
 * <p>Every {@link DmaMemory} service (a DMA provider whose engines sit behind an IOMMU) gets the guest
 * memory of every port mapped, also what was mapped before it came ({@link AsyncBinder#memory()}).
 */
@Component(service = AsyncCopy.class, immediate = true)
public final class AsyncCopy {
    private final AsyncBinder binder = new AsyncBinder();

    public AsyncBinder binder() {
        return binder;
    }

    @Reference(service = DmaDevice.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY,
            unbind = "removeDevice")
    void addDevice(DmaDevice device, Map<String, Object> props) {
        binder.addDevice(device, props);
    }

    void removeDevice(DmaDevice device) {
        binder.removeDevice(device);
    }

    @Reference(service = DmaMemory.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY,
            unbind = "removeDmaMemory")
    void addDmaMemory(DmaMemory m) {
        binder.memory().addService(m);
    }

    void removeDmaMemory(DmaMemory m) {
        binder.memory().removeService(m);
    }

    /**
     * {@code other_config:vhost-async-copy-support} (default false) and {@code pmd-perf-metrics} (time the
     * copy phase of every burst: custom statistics {@code tx_qN_copy_ns}, {@code rx_qN_copy_ns}).
     */
    static void setOtherConfig(AsyncBinder binder, Map<String, String> otherConfig) {
        String v = otherConfig == null ? null : otherConfig.get("vhost-async-copy-support");
        binder.setEnabled("true".equalsIgnoreCase(v == null ? "" : v.trim()));
        String m = otherConfig == null ? null : otherConfig.get("pmd-perf-metrics");
        Virtqueue.setCopyTiming("true".equalsIgnoreCase(m == null ? "" : m.trim()));
    }
}
