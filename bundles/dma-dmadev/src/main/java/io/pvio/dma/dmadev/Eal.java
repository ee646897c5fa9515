package io.pvio.dma.dmadev;

import com.sun.jna.StringArray;
import io.pvio.dma.DmaException;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * DPDK's EAL in this JVM: initialised at most once per process (rte_eal_init cannot run twice, and pvio
 * never calls rte_eal_cleanup or rte_dma_close), on a thread of its own so that no caller's thread gets
 * EAL's lcore affinity. A bundle restart finds EAL already up (the system property
 * {@value #ARGS_PROPERTY}, JVM-wide, holds the arguments it was started with) and keeps it.
 */
public final class Eal {
    /** JVM-wide record of the arguments EAL was initialised with. */
    public static final String ARGS_PROPERTY = "pvio.dpdk.eal.args";
    private static final Logger LOG = Logger.getLogger("dpdk");
    private static String failure;

    private Eal() {
    }

    /** Why the dmadev engine cannot run here (no shim in the bundle, EAL failed), or null. */
    public static synchronized String unavailable() {
        Throwable e = Shim.loadError();
        if (e != null) {
            return "the dmadev shim (lib" + Shim.LIBRARY + ".so) cannot be loaded: " + e.getMessage()
                    + " (was the bundle built without gcc and DPDK's headers? install gcc, pkg-config and dpdk-dev and"
                    + " rebuild dma-dmadev)";
        }
        return failure;
    }

    /** Whether EAL runs in this JVM (does not load the shim when it does not). */
    public static synchronized boolean isUp() {
        return System.getProperty(ARGS_PROPERTY) != null && Shim.loadError() == null;
    }

    /**
     * Starts EAL with {@code args} unless it already runs (then a warning names the arguments in force when
     * they differ). Idempotent; thread-safe.
     *
     * @throws DmaException with the reason when the shim is missing or rte_eal_init failed
     */
    public static synchronized void ensureStarted(List<String> args) throws DmaException {
        String missing = unavailable();
        if (missing != null) {
            throw new DmaException(missing);
        }
        String running = System.getProperty(ARGS_PROPERTY);
        String wanted = String.join(" ", args);
        if (running != null) {
            if (!running.equals(wanted)) {
                LOG.warning("EAL already runs in this process with '" + running + "'; '" + wanted
                        + "' takes effect only after a restart of pvio");
            }
            return;
        }
        List<String> argv = new ArrayList<>();
        argv.add("pvio");
        argv.addAll(args);
        int[] result = new int[1];
        Thread t = new Thread(() -> result[0] = Shim.pvio_eal_init(argv.size(), new StringArray(argv.toArray(
                new String[0]))), "dpdk-eal-init");
        LOG.info("EAL ARGS: " + wanted);
        t.start();
        boolean interrupted = false;
        while (t.isAlive()) {
            try {
                t.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (result[0] < 0) {
            failure = "rte_eal_init(" + wanted + ") failed: " + Shim.pvio_strerror(result[0]);
            LOG.severe(failure);
            throw new DmaException(failure);
        }
        if (result[0] == 1) {
            LOG.warning("EAL was already initialised in this process (not by pvio): keeping it");
        }
        System.setProperty(ARGS_PROPERTY, wanted);
        LOG.info("EAL is up: " + Shim.pvio_dma_count() + " dmadev device(s)");
    }
}
