package io.pvio.dma.dmadev.component;

import io.pvio.dma.DmaException;
import io.pvio.dma.DmaMemory;
import io.pvio.dma.dmadev.DmadevEngine;
import io.pvio.dma.dmadev.Eal;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * dma-dmadev's {@link DmaMemory} service: guest memory and packet pool slabs registered for DMA (VFIO's
 * container map with IOVA = VA when VFIO is in use, and the strict mode's table). Ranges registered before
 * the EAL runs are kept and mapped when it starts ({@link #ealStarted}), before the first channel copies.
 *
 * <p>Registered before {@link EalComponent} (which references it) and so before any dmadev channel: users
 * bind and map their memory first. When the bundle stops, the channels (through EalComponent) go and drain
 * before this component deactivates and withdraws every range it was given.
 */
@Component(service = {DmaMemory.class, DmadevMemory.class}, immediate = true)
public final class DmadevMemory implements DmaMemory {
    private static final Logger LOG = Logger.getLogger("dpdk");

    /** Ranges registered through this service: {va, length, 1 when in the shim (and VFIO) now}. */
    private final List<long[]> ranges = new ArrayList<>();
    private boolean stopped;

    /** The EAL runs now: maps what was registered before. */
    synchronized void ealStarted() {
        int n = 0;
        for (long[] r : ranges) {
            if (r[2] == 0) {
                try {
                    DmadevEngine.mapMemory(r[0], r[1]);
                    r[2] = 1;
                    n++;
                } catch (DmaException e) {
                    LOG.severe(e.getMessage() + " (copies touching it will fail)");
                }
            }
        }
        if (n > 0) {
            LOG.info(n + " memory range(s) registered before EAL started mapped for DMA");
        }
    }

    /**
     * Withdraws every range it was given (users forget a service that goes and unmap nothing on it): the
     * channels were deactivated and drained before this runs. A restarted bundle's shim and the VFIO
     * container start clean.
     */
    @Deactivate
    synchronized void deactivate() {
        stopped = true;
        for (long[] r : ranges) {
            if (r[2] == 1) {
                try {
                    DmadevEngine.unmapMemory(r[0], r[1]);
                } catch (DmaException e) {
                    LOG.warning(e.getMessage());
                }
            }
        }
        if (!ranges.isEmpty()) {
            LOG.info(ranges.size() + " memory range(s) withdrawn from DMA");
        }
        ranges.clear();
    }

    @Override
    public synchronized void map(long va, long length) throws DmaException {
        if (stopped) {
            throw new DmaException("dma-dmadev is stopping: nothing more is mapped");
        }
        boolean up = Eal.isUp();
        if (up) {
            DmadevEngine.mapMemory(va, length);
        }
        ranges.add(new long[] {va, length, up ? 1 : 0});
    }

    @Override
    public synchronized void unmap(long va, long length) throws DmaException {
        for (int i = 0; i < ranges.size(); i++) {
            long[] r = ranges.get(i);
            if (r[0] == va && r[1] == length) {
                ranges.remove(i);
                if (r[2] == 1) {
                    DmadevEngine.unmapMemory(va, length);
                }
                return;
            }
        }
        throw new DmaException(String.format("DMA unmap of 0x%x+0x%x: not mapped", va, length));
    }

    /** Ranges registered now (mapped, or waiting for the EAL). */
    public synchronized int ranges() {
        return ranges.size();
    }

    @Override
    public String toString() {
        return "dpdk dmadev (" + (Eal.isUp() ? "EAL up" : "EAL not started") + ")";
    }
}
