package io.pvio.dma;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.logging.Logger;

/**
 * The memory one owner (the vhost back end's guest memory, the datapath's packet pool) has registered for
 * DMA, and the {@link DmaMemory} services it is registered with: DPDK's vhost calling
 * {@code rte_vfio_container_dma_map} for each guest region, with services that come and go.
 *
 * <ul>
 * <li>{@link #map} records a range and maps it on every bound service; {@link #unmap} unmaps it from the
 * services that took it and forgets it. The owner maps a range after it mmaps it and before any DMA user
 * sees it, and unmaps it once no DMA copy touches it any more, before it munmaps it.</li>
 * <li>{@link #addService}: the ranges recorded so far are mapped on the new service.</li>
 * <li>{@link #removeService}: the service is forgotten and nothing is unmapped on it: its provider's
 * channels may still be copying (services of one provider go in no set order), so the provider withdraws
 * what it was given itself, once its channels are gone (as dma-dmadev does when it deactivates).</li>
 * </ul>
 * A failed map does not stop the owner (as in DPDK's vhost: "DMA mapping errors won't stop
 * VHOST_USER_SET_MEM_TABLE"): it is logged, the range stays unmapped on that service, and a copy reaching
 * it fails and is redone with the CPU. Thread-safe; control path.
 */
public final class DmaRegions {
    private final String owner;
    private final Logger log;
    private final List<Range> ranges = new ArrayList<>();
    private final List<DmaMemory> services = new ArrayList<>();

    private static final class Range {
        final long va;
        final long length;
        final String what;
        /** Services this range is mapped on. */
        final Set<DmaMemory> on = Collections.newSetFromMap(new IdentityHashMap<>());

        Range(long va, long length, String what) {
            this.va = va;
            this.length = length;
            this.what = what;
        }

        @Override
        public String toString() {
            return String.format("%s: 0x%x+0x%x", what, va, length);
        }
    }

    /** @param owner for the log, e.g. "vhost-user guest memory"; @param log the owner's module logger */
    public DmaRegions(String owner, Logger log) {
        this.owner = owner;
        this.log = log;
    }

    /** A {@link DmaMemory} service appeared: every range recorded so far is mapped on it. */
    public synchronized void addService(DmaMemory m) {
        for (DmaMemory s : services) {
            if (s == m) {
                return;
            }
        }
        services.add(m);
        int ok = 0;
        for (Range r : ranges) {
            ok += mapOn(m, r) ? 1 : 0;
        }
        log.info(owner + ": DMA memory service " + m + " bound, " + ok + " of " + ranges.size()
                + " registered range(s) mapped on it");
    }

    /**
     * A {@link DmaMemory} service is going away: forgotten, nothing unmapped on it (its provider withdraws
     * the ranges it was given once its own channels are gone), nothing unmapped on it later.
     */
    public synchronized void removeService(DmaMemory m) {
        if (!services.removeIf(s -> s == m)) {
            return;
        }
        int n = 0;
        for (Range r : ranges) {
            n += r.on.remove(m) ? 1 : 0;
        }
        log.info(owner + ": DMA memory service " + m + " unbound; it had " + n + " range(s) mapped, its provider"
                + " withdraws them");
    }

    /**
     * Records {@code [va, va + length)} and maps it on every bound service. Returns how many services took
     * it. {@code what} names the range in the log.
     *
     * @throws IllegalArgumentException for an empty range or one overlapping a recorded range
     */
    public synchronized int map(long va, long length, String what) {
        if (length <= 0 || va + length < va) {
            throw new IllegalArgumentException(what + ": cannot register " + length + " bytes at 0x"
                    + Long.toHexString(va) + " for DMA");
        }
        for (Range r : ranges) {
            if (va < r.va + r.length && r.va < va + length) {
                throw new IllegalArgumentException(String.format("%s: 0x%x+0x%x overlaps %s, registered for DMA",
                        what, va, length, r));
            }
        }
        Range r = new Range(va, length, what);
        ranges.add(r);
        int ok = 0;
        for (DmaMemory m : services) {
            ok += mapOn(m, r) ? 1 : 0;
        }
        log.fine(() -> owner + ": registered " + r + " for DMA");
        return ok;
    }

    /**
     * Unmaps the range given to {@link #map} (same address and length) from the services that took it and
     * forgets it. Only once no DMA copy touches it any more. False (logged) when it was not registered.
     */
    public synchronized boolean unmap(long va, long length) {
        for (int i = 0; i < ranges.size(); i++) {
            Range r = ranges.get(i);
            if (r.va == va && r.length == length) {
                ranges.remove(i);
                for (DmaMemory m : r.on) {
                    unmapOn(m, r);
                }
                r.on.clear();
                log.fine(() -> owner + ": unregistered " + r + " for DMA");
                return true;
            }
        }
        log.warning(String.format("%s: 0x%x+0x%x was not registered for DMA: nothing unmapped", owner, va, length));
        return false;
    }

    /** Ranges recorded now. */
    public synchronized int ranges() {
        return ranges.size();
    }

    /** Bytes recorded now. */
    public synchronized long bytes() {
        long b = 0;
        for (Range r : ranges) {
            b += r.length;
        }
        return b;
    }

    /** Ranges mapped on {@code m} now. */
    public synchronized int mappedOn(DmaMemory m) {
        int n = 0;
        for (Range r : ranges) {
            n += r.on.contains(m) ? 1 : 0;
        }
        return n;
    }

    /** True when {@code [va, va + length)} lies inside one range mapped on every bound service. */
    public synchronized boolean covered(long va, long length) {
        for (Range r : ranges) {
            if (va >= r.va && va - r.va + length <= r.length) {
                return r.on.size() == services.size();
            }
        }
        return false;
    }

    private boolean mapOn(DmaMemory m, Range r) {
        try {
            m.map(r.va, r.length);
            r.on.add(m);
            return true;
        } catch (DmaException | RuntimeException e) {
            log.severe(owner + ": DMA engine map of " + r + " on " + m + " failed: " + e.getMessage()
                    + " (copies touching it will fail and be redone with the CPU)");
            return false;
        }
    }

    private void unmapOn(DmaMemory m, Range r) {
        try {
            m.unmap(r.va, r.length);
        } catch (DmaException | RuntimeException e) {
            log.severe(owner + ": DMA engine unmap of " + r + " on " + m + " failed: " + e.getMessage());
        }
    }

    @Override
    public synchronized String toString() {
        return owner + ": " + ranges.size() + " range(s) registered for DMA on " + services.size() + " service(s)";
    }
}
