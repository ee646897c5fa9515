package io.pvio.dma.dmadev.component;

import io.pvio.dma.DmaException;
import io.pvio.dma.DmaMemory;
import io.pvio.dma.dmadev.DmadevEngine;
import io.pvio.dma.dmadev.Eal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.logging.Logger;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.Designate;

/**
 * The one EAL of the JVM, started by the first dmadev channel that needs it ({@link #ensureStarted}) with
 * the arguments of configuration {@value #PID}: {@code args}, then {@code -a ADDR} for each allowed PCI
 * function (or {@code --no-pci}), then {@code --vdev=NAME} for each virtual device, and an {@code --lcores}
 * covering every CPU unless {@code args} names lcores (EAL pins only its own init thread). Never
 * re-initialised: a changed configuration or a bundle restart keeps the EAL that runs.
 *
 * <p>Also the {@link DmaMemory} service: guest memory and packet pool slabs registered for DMA (VFIO's
 * container map with IOVA = VA, and the strict mode's table). Ranges registered before the EAL runs are
 * kept and mapped when it starts, before the first channel copies; a range is unmapped as it was mapped.
 */
@Component(configurationPid = EalComponent.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {EalComponent.class, DmaMemory.class}, immediate = true)
@Designate(ocd = EalConfig.class)
public final class EalComponent implements DmaMemory {
    public static final String PID = "io.pvio.dpdk.eal";
    private static final Logger LOG = Logger.getLogger("dpdk");

    private volatile EalConfig config;
    /** Ranges registered through this service: {va, length, 1 when in the shim (and VFIO) now}. */
    private final List<long[]> ranges = new ArrayList<>();

    @Activate
    void activate(EalConfig cfg) {
        config = cfg;
        // nothing native is loaded before the first dmadev channel: a switch without one never maps DPDK
        if (Eal.isUp()) {
            LOG.info("EAL already runs in this process ('" + System.getProperty(Eal.ARGS_PROPERTY) + "'): kept");
            DmadevEngine.setStrictIova(cfg.iova_strict());
        } else {
            LOG.fine("EAL starts with the first dmadev channel");
        }
    }

    @Modified
    void modified(EalConfig cfg) {
        config = cfg;
        if (Eal.isUp()) {
            List<String> wanted = arguments(cfg);
            if (!String.join(" ", wanted).equals(System.getProperty(Eal.ARGS_PROPERTY))) {
                LOG.warning("EAL arguments changed to '" + String.join(" ", wanted)
                        + "': they take effect only after a restart of pvio");
            }
            DmadevEngine.setStrictIova(cfg.iova_strict());
        }
    }

    /** Unmaps what users left registered: a restarted bundle's shim and the VFIO container start clean. */
    @Deactivate
    synchronized void deactivate() {
        for (long[] r : ranges) {
            if (r[2] == 1) {
                try {
                    DmadevEngine.unmapMemory(r[0], r[1]);
                } catch (DmaException e) {
                    LOG.warning(e.getMessage());
                }
            }
        }
        ranges.clear();
    }

    /**
     * Starts EAL unless it runs, then maps the ranges registered so far (before any channel copies);
     * throws with the reason when it cannot.
     */
    public void ensureStarted() throws DmaException {
        EalConfig cfg = config;
        Eal.ensureStarted(arguments(cfg));
        synchronized (this) {
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
        DmadevEngine.setStrictIova(cfg.iova_strict());
        if (cfg.iova_strict()) {
            LOG.info("strict IOVA: dmadev copies outside registered memory fail");
        }
    }

    /** The EAL command line of {@code cfg} (without the program name). */
    static List<String> arguments(EalConfig cfg) {
        List<String> a = new ArrayList<>();
        String extra = cfg.args() == null ? "" : cfg.args().trim();
        if (!extra.isEmpty()) {
            a.addAll(Arrays.asList(extra.split("\\s+")));
        }
        boolean lcores = a.stream().anyMatch(w -> w.equals("-l") || w.equals("-c") || w.startsWith("--lcores"));
        if (!lcores) {
            int cpus = Runtime.getRuntime().availableProcessors();
            a.add("--lcores");
            a.add(cpus == 1 ? "0@(0)" : "0@(0-" + (cpus - 1) + ")");
        }
        String[] allow = cfg.allow() == null ? new String[0] : cfg.allow();
        if (allow.length == 0) {
            a.add("--no-pci");
        }
        for (String pci : allow) {
            if (!pci.isBlank()) {
                a.add("-a");
                a.add(pci.trim());
            }
        }
        for (String v : cfg.vdev() == null ? new String[0] : cfg.vdev()) {
            if (!v.isBlank()) {
                a.add("--vdev=" + v.trim());
            }
        }
        return a;
    }

    @Override
    public synchronized void map(long va, long length) throws DmaException {
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
