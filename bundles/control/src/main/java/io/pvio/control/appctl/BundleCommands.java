package io.pvio.control.appctl;

import io.pvio.unixctl.UnixctlException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.wiring.FrameworkWiring;

/** bundle/list, bundle/start, bundle/stop and bundle/update: swapping back ends from the shell. */
public final class BundleCommands {
    private static final Logger LOG = Logger.getLogger("unixctl");
    private final BundleContext ctx;

    public BundleCommands(BundleContext ctx) {
        this.ctx = ctx;
    }

    static String state(int s) {
        return switch (s) {
            case Bundle.ACTIVE -> "Active";
            case Bundle.INSTALLED -> "Installed";
            case Bundle.RESOLVED -> "Resolved";
            case Bundle.STARTING -> "Starting";
            case Bundle.STOPPING -> "Stopping";
            case Bundle.UNINSTALLED -> "Uninstalled";
            default -> "?" + s;
        };
    }

    public String list() {
        StringBuilder sb = new StringBuilder(String.format("%4s  %-11s %-45s %s%n", "ID", "State", "Name", "Version"));
        for (Bundle b : ctx.getBundles()) {
            sb.append(String.format("%4d  %-11s %-45s %s%n", b.getBundleId(), state(b.getState()),
                    b.getSymbolicName(), b.getVersion()));
        }
        return sb.toString();
    }

    /** A bundle by id, symbolic name, or the symbolic name without the "io.pvio." prefix. */
    public Bundle find(String id) throws UnixctlException {
        if (id.matches("\\d+")) {
            Bundle b = ctx.getBundle(Long.parseLong(id));
            if (b != null) {
                return b;
            }
        }
        for (Bundle b : ctx.getBundles()) {
            String sn = b.getSymbolicName();
            if (id.equals(sn) || ("io.pvio." + id).equals(sn)) {
                return b;
            }
        }
        throw new UnixctlException("no bundle \"" + id + "\" (see bundle/list)");
    }

    /** True when stopping/updating {@code b} would stop the bundle serving this very command. */
    public boolean isSelfOrSystem(Bundle b) {
        return b.getBundleId() == 0 || b.getBundleId() == ctx.getBundle().getBundleId();
    }

    public String start(Bundle b) throws UnixctlException {
        try {
            b.start();
        } catch (BundleException | IllegalStateException e) {
            throw new UnixctlException("cannot start " + b.getSymbolicName() + ": " + e.getMessage());
        }
        LOG.info("bundle " + b.getSymbolicName() + " started");
        return b.getSymbolicName() + " " + state(b.getState()) + "\n";
    }

    public String stop(Bundle b) throws UnixctlException {
        try {
            b.stop();
        } catch (BundleException | IllegalStateException e) {
            throw new UnixctlException("cannot stop " + b.getSymbolicName() + ": " + e.getMessage());
        }
        LOG.info("bundle " + b.getSymbolicName() + " stopped");
        return b.getSymbolicName() + " " + state(b.getState()) + "\n";
    }

    /** Updates from {@code file} (or the bundle's location) and refreshes the bundles wired to it. */
    public String update(Bundle b, List<String> args) throws UnixctlException {
        try {
            if (args.isEmpty()) {
                b.update();
            } else {
                Path f = Path.of(args.get(0));
                if (!Files.isRegularFile(f)) {
                    throw new UnixctlException("bundle/update: no file " + f);
                }
                try (InputStream in = Files.newInputStream(f)) {
                    b.update(in);
                }
            }
        } catch (BundleException | IOException | IllegalStateException e) {
            throw new UnixctlException("cannot update " + b.getSymbolicName() + ": " + e.getMessage());
        }
        refresh(b);
        LOG.info("bundle " + b.getSymbolicName() + " updated");
        return b.getSymbolicName() + " " + b.getVersion() + " " + state(b.getState()) + "\n";
    }

    private void refresh(Bundle b) {
        CountDownLatch done = new CountDownLatch(1);
        ctx.getBundle(0).adapt(FrameworkWiring.class).refreshBundles(List.of(b), e -> {
            if (e.getType() == FrameworkEvent.PACKAGES_REFRESHED || e.getType() == FrameworkEvent.ERROR) {
                done.countDown();
            }
        });
        try {
            if (!done.await(30, TimeUnit.SECONDS)) {
                LOG.warning("refresh after updating " + b.getSymbolicName() + " did not finish in 30 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** pvio's bundles that are active now (symbolic name io.pvio.*), by id. */
    public List<Bundle> activePvio() {
        List<Bundle> l = new java.util.ArrayList<>();
        for (Bundle b : ctx.getBundles()) {
            String n = b.getSymbolicName();
            if (n != null && n.startsWith("io.pvio.") && b.getState() == Bundle.ACTIVE) {
                l.add(b);
            }
        }
        return l;
    }

    /**
     * In a container: stops {@code pvio} (the bundles of {@link #activePvio} taken now) on a thread of its
     * own, this bundle first (conf.db and the socket close) and the rest in reverse id order; never bundle 0.
     */
    public void stopPvio(List<Bundle> pvio) {
        Thread t = new Thread(() -> {
            List<Bundle> order = new java.util.ArrayList<>(pvio);
            order.sort((x, y) -> Long.compare(y.getBundleId(), x.getBundleId()));
            order.removeIf(b -> b.getBundleId() == ctx.getBundle().getBundleId());
            order.add(0, ctx.getBundle());
            for (Bundle b : order) {
                try {
                    b.stop();
                    LOG.info("exit: bundle " + b.getSymbolicName() + " stopped");
                } catch (BundleException | IllegalStateException e) {
                    LOG.severe("exit: cannot stop " + b.getSymbolicName() + ": " + e.getMessage());
                }
            }
        }, "pvio-exit");
        t.setDaemon(true);
        t.start();
    }

    /** Stops the whole daemon (the launcher exits when the framework has stopped). */
    public void exit() {
        Thread t = new Thread(() -> {
            try {
                ctx.getBundle(0).stop();
            } catch (BundleException | IllegalStateException e) {
                LOG.severe("exit: " + e.getMessage());
            }
        }, "pvio-exit");
        t.setDaemon(true);
        t.start();
    }
}
