package io.pvio.dma.dmadev.component;

import io.pvio.dma.DmaException;
import io.pvio.dma.dmadev.DmadevEngine;
import io.pvio.dma.dmadev.Eal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.logging.Logger;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;

/**
 * The one EAL of the JVM, started by the first dmadev channel that needs it ({@link #ensureStarted}) with
 * the arguments of configuration {@value #PID}: {@code args}, then {@code -a ADDR} for each allowed PCI
 * function (or {@code --no-pci}), then {@code --vdev=NAME} for each virtual device, and an {@code --lcores}
 * covering every CPU unless {@code args} names lcores (EAL pins only its own init thread). Never
 * re-initialised: a changed configuration or a bundle restart keeps the EAL that runs.
 *
 * <p>It references {@link DmadevMemory}, the DmaMemory service, so that this service, and with it every
 * dmadev channel, comes only after the users bound to the memory service (their memory is mapped before a
 * channel can copy) and goes before it (the channels drained before the memory is withdrawn).
 */
@Component(configurationPid = EalComponent.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = EalComponent.class, immediate = true)
@Designate(ocd = EalConfig.class)
public final class EalComponent {
    public static final String PID = "io.pvio.dpdk.eal";
    private static final Logger LOG = Logger.getLogger("dpdk");

    private volatile EalConfig config;
    @Reference
    DmadevMemory memory;

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
            LOG.info("strict IOVA " + (cfg.iova_strict() ? "on: dmadev copies outside registered memory fail" : "off"));
        }
    }

    /**
     * Starts EAL unless it runs, then maps the ranges registered so far (before any channel copies);
     * throws with the reason when it cannot.
     */
    public void ensureStarted() throws DmaException {
        EalConfig cfg = config;
        Eal.ensureStarted(arguments(cfg));
        memory.ealStarted();
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
}
