package io.pvio.launcher.daemon;

import io.pvio.control.rundir.RunDirLock;
import io.pvio.launcher.log.FelixLogBridge;
import io.pvio.launcher.log.LogSetup;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;

/**
 * pvio-vswitchd: an embedded Felix with every bundle of pvio.jar, configured around one run directory:
 *
 * <pre>
 * RUN_DIR/conf.db              the configuration database (control bundle), unless --db names an ovsdb-server
 * RUN_DIR/pvio-vswitchd.ctl    the control socket (vsctl, ofctl, appctl)
 * RUN_DIR/vswitchd.log         the log
 * RUN_DIR/deploy/              FileInstall: drop bundles and .cfg files here
 * RUN_DIR/felix-cache/         Felix's bundle cache (cleaned at every start)
 * RUN_DIR/ovs-vswitchd.pid     locked by the control bundle while it runs here (one daemon per run directory);
 *                              ovs-appctl --target=ovs-vswitchd reads it
 * </pre>
 */
public final class Daemon {
    private static final Logger LOG = Logger.getLogger("vswitchd");

    /**
     * How to run.
     *
     * @param db {@code unix:PATH} or {@code tcp:HOST:PORT} of an ovsdb-server holding the configuration, or
     *           null for the embedded RUN_DIR/conf.db
     */
    public record Options(Path runDir, boolean shell, boolean verbose, String db) {
        public Options(Path runDir, boolean shell, boolean verbose) {
            this(runDir, shell, verbose, null);
        }
    }

    static final String CONTROL = "io.pvio.control";
    /** Started after every other bundle, in this order. */
    static final List<String> LAST = List.of(CONTROL, "org.apache.felix.gogo.shell");
    private final Framework framework;
    private final Path runDir;
    private final java.util.concurrent.atomic.AtomicBoolean stopped = new java.util.concurrent.atomic.AtomicBoolean();

    private Daemon(Framework framework, Path runDir) {
        this.framework = framework;
        this.runDir = runDir;
    }

    /** The framework properties for a run directory. */
    static Map<String, Object> config(Options o, Path runDir) {
        Map<String, Object> cfg = new HashMap<>();
        cfg.put(Constants.FRAMEWORK_STORAGE, runDir.resolve("felix-cache").toString());
        cfg.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        // netdev-api reaches sun.misc.Unsafe (module jdk.unsupported), which Felix does not export by default
        cfg.put(Constants.FRAMEWORK_SYSTEMPACKAGES_EXTRA, "sun.misc");
        cfg.put("felix.log.logger", new FelixLogBridge());
        cfg.put("felix.log.level", o.verbose() ? "4" : "2");
        cfg.put("pvio.run.dir", runDir.toString());
        if (o.db() != null) {
            cfg.put("pvio.db", o.db());
        }
        cfg.put("pvio.launcher", "true"); // appctl exit stops this framework
        cfg.put("felix.fileinstall.dir", runDir.resolve("deploy").toString());
        cfg.put("felix.fileinstall.poll", "1000");
        cfg.put("felix.fileinstall.noInitialDelay", "true");
        cfg.put("felix.fileinstall.log.level", "2");
        cfg.put("ds.loglevel", "warn");
        if (!o.shell()) {
            cfg.put("gosh.args", "--nointeractive"); // else Gogo stops the framework when stdin is at EOF
        }
        return cfg;
    }

    /** Starts the framework and every embedded bundle (but those of {@link EmbeddedBundles#NOT_STARTED}). */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static Daemon start(Options o, PrintStream stderr) throws IOException, BundleException {
        Path runDir = o.runDir().toAbsolutePath().normalize();
        Files.createDirectories(runDir.resolve("deploy"));
        // the control bundle holds the lock; checked here before felix-cache, another daemon's, is cleaned
        RunDirLock.check(runDir);
        LogSetup.install(runDir.resolve("vswitchd.log"), o.verbose(), stderr);
        if (System.getProperty("jna.tmpdir") == null) { // JNA unpacks its native library here, not under $HOME
            Path jna = runDir.resolve("jna");
            Files.createDirectories(jna);
            System.setProperty("jna.tmpdir", jna.toString());
        }
        // bundles that read the run directory from system properties rather than the framework's
        System.setProperty("pvio.run.dir", runDir.toString());
        Iterator<FrameworkFactory> it = ServiceLoader.load(FrameworkFactory.class).iterator();
        if (!it.hasNext()) {
            throw new BundleException("no OSGi framework on the class path");
        }
        Framework fw = it.next().newFramework((Map) config(o, runDir));
        fw.init();
        registerVlogActions(fw.getBundleContext());
        LOG.info("pvio-vswitchd starting in " + runDir);
        List<Bundle> toStart = new ArrayList<>();
        for (EmbeddedBundles.Entry e : EmbeddedBundles.list()) {
            try (InputStream in = e.open().get()) {
                Bundle b = fw.getBundleContext().installBundle("pvio:bundles/" + e.name(), in);
                boolean fragment = b.getHeaders().get(Constants.FRAGMENT_HOST) != null;
                if (!fragment && !EmbeddedBundles.NOT_STARTED.contains(b.getSymbolicName())) {
                    toStart.add(b);
                }
            } catch (BundleException ex) {
                LOG.severe("cannot install " + e.name() + ": " + ex.getMessage());
            }
        }
        fw.start();
        // the control bundle last, once the datapath is up: its socket appearing means "ready"
        // and the shell after it, so that its commands exist when the prompt appears
        toStart.sort((x, y) -> Integer.compare(LAST.indexOf(x.getSymbolicName()), LAST.indexOf(y.getSymbolicName())));
        for (Bundle b : toStart) {
            if (CONTROL.equals(b.getSymbolicName())) {
                awaitService(fw, "io.pvio.dpif.Dpif", 10_000);
            }
            try {
                b.start();
            } catch (BundleException ex) {
                LOG.log(Level.SEVERE, "cannot start " + b.getSymbolicName() + ": " + ex.getMessage(), ex);
            }
        }
        LOG.info("pvio-vswitchd started: " + fw.getBundleContext().getBundles().length + " bundles");
        return new Daemon(fw, runDir);
    }

    /** The property of the Runnable services that the control bundle's vlog/reopen and vlog/close run. */
    public static final String VLOG_ACTION = "pvio.vlog.action";

    /** vlog/reopen and vlog/close act on the launcher's log file: Runnable services (java.* types, no API). */
    private static void registerVlogActions(org.osgi.framework.BundleContext ctx) {
        Runnable reopen = () -> {
            try {
                LogSetup.reopen();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e.getMessage(), e);
            }
        };
        ctx.registerService(Runnable.class, reopen, new java.util.Hashtable<>(Map.of(VLOG_ACTION, "reopen")));
        ctx.registerService(Runnable.class, LogSetup::close, new java.util.Hashtable<>(Map.of(VLOG_ACTION, "close")));
    }

    private static void awaitService(Framework fw, String clazz, long ms) {
        long deadline = System.nanoTime() + ms * 1_000_000;
        while (fw.getBundleContext().getServiceReference(clazz) == null) {
            if (System.nanoTime() > deadline) {
                LOG.warning("no " + clazz + " service after " + ms + " ms; starting the control plane anyway");
                return;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    public Framework framework() {
        return framework;
    }

    public Path runDir() {
        return runDir;
    }

    /** Blocks until the framework has stopped (appctl exit, Gogo's exit, or {@link #stop}). */
    public void waitForStop() throws InterruptedException {
        FrameworkEvent ev = framework.waitForStop(0);
        if (ev.getType() == FrameworkEvent.ERROR) {
            LOG.log(Level.SEVERE, "framework stopped with an error", ev.getThrowable());
        }
    }

    /** Stops the framework and waits (at most 30 s) for it. Idempotent. */
    public void stop() {
        if (stopped.getAndSet(true)) {
            return;
        }
        try {
            if ((framework.getState() & (Bundle.ACTIVE | Bundle.STARTING | Bundle.STOPPING)) != 0) {
                framework.stop();
                FrameworkEvent ev = framework.waitForStop(30_000);
                if (ev.getType() == FrameworkEvent.WAIT_TIMEDOUT) {
                    LOG.severe("framework did not stop within 30 s");
                }
            }
        } catch (BundleException | InterruptedException e) {
            LOG.severe("stopping the framework: " + e.getMessage());
        }
        LOG.info("pvio-vswitchd stopped");
    }
}
