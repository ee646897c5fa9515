package io.pvio.ofproto.component;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.ReconfigureParticipant;
import io.pvio.netdev.ComponentConfig;
import io.pvio.netdev.RunDirectory;
import io.pvio.ofproto.conn.MgmtListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * OpenFlow for every bridge of the datapath: a {@link MgmtListener} on {@code RUN_DIR/<bridge>.mgmt} per
 * bridge, created and removed as bridges come and go: when the control plane applied a change
 * ({@link ReconfigureParticipant}, before it reports the change done), at once when the Dpif service changes,
 * and twice a second for changes made to the datapath by others. Without a datapath there are no bridges, so
 * no sockets; a new Dpif gets them back.
 */
@Component(immediate = true, service = ReconfigureParticipant.class,
        configurationPid = {RunDirectory.PID, OfprotoComponent.NAME}) // as dpif-netdev
public final class OfprotoComponent implements ReconfigureParticipant {
    static final String NAME = "io.pvio.ofproto.component.OfprotoComponent";
    static final Logger LOG = Logger.getLogger("ofproto");
    static final long POLL_MS = 500;

    private final Map<String, MgmtListener> listeners = new HashMap<>();
    /** Bridges whose socket could not be made: logged once, tried again only when the bridge comes back. */
    private final Set<String> failed = new HashSet<>();
    private volatile Dpif dpif;
    private Path runDir;
    /** Runs every {@link #sync}; null while stopped. */
    private volatile ScheduledExecutorService timer;
    /** The component properties of the DS activation, compared with updates. */
    private volatile Map<String, Object> activatedWith;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindDpif(Dpif d) {
        dpif = d;
        kick();
    }

    void unbindDpif(Dpif d) {
        if (dpif == d) {
            dpif = null;
            kick();
        }
    }

    /** DS: the run directory as {@link RunDirectory#resolve} gives it (ConfigAdmin, then pvio.run.dir). */
    @Activate
    void activate(BundleContext bc, Map<String, Object> props) {
        activatedWith = props;
        start(RunDirectory.resolve(props, bc::getProperty));
    }

    /** DS: an update of io.pvio.run or of this PID reopens the sockets only when it changes something. */
    @Modified
    void modified(ComponentContext cc, Map<String, Object> props) {
        if (!ComponentConfig.reactivateIfChanged(cc, activatedWith, props, LOG)) {
            activatedWith = props;
        }
    }

    /** Starts following the bridges (also from plain Java, for tests). */
    public synchronized void start(Path dir) {
        runDir = dir;
        try {
            Files.createDirectories(runDir);
        } catch (IOException e) {
            LOG.warning(() -> "cannot create run directory " + runDir + ": " + e);
        }
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ofproto");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::sync, 0, POLL_MS, TimeUnit.MILLISECONDS);
    }

    /** For tests: use {@code d} as the datapath. */
    public void setDpif(Dpif d) {
        dpif = d;
        kick();
    }

    private synchronized void kick() {
        if (timer != null) {
            timer.execute(this::sync);
        }
    }

    /**
     * The control plane changed the datapath: the sockets follow its bridges on the ofproto thread, and the
     * stage completes once they do (at once while stopped: stopping closes every socket).
     */
    @Override
    public CompletionStage<?> reconfigured() {
        ScheduledExecutorService t = timer;
        if (t == null) {
            return CompletableFuture.completedFuture(null);
        }
        try {
            return CompletableFuture.runAsync(this::sync, t);
        } catch (RejectedExecutionException e) { // stopping
            return CompletableFuture.completedFuture(null);
        }
    }

    @Deactivate
    public synchronized void stop() {
        if (timer != null) {
            timer.shutdown(); // ends the poll; syncs already asked for still run, so their stages complete
            try {
                timer.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            timer = null;
        }
        synchronized (listeners) {
            listeners.values().forEach(MgmtListener::close);
            listeners.clear();
        }
    }

    /** Makes the sockets follow the datapath's bridges. */
    private void sync() {
        Dpif d = dpif;
        Set<String> want;
        try {
            want = d == null ? Set.of() : new HashSet<>(d.bridges());
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "cannot list the bridges", e);
            return;
        }
        synchronized (listeners) {
            listeners.entrySet().removeIf(e -> {
                if (!want.contains(e.getKey())) {
                    e.getValue().close();
                    return true;
                }
                return false;
            });
            failed.retainAll(want);
            for (String br : want) {
                if (!listeners.containsKey(br) && !failed.contains(br)) {
                    try {
                        listeners.put(br, new MgmtListener(runDir, br, () -> dpif));
                    } catch (IOException | RuntimeException e) {
                        failed.add(br);
                        LOG.warning(() -> br + ": no OpenFlow socket: cannot listen on " + runDir + "/" + br
                                + ".mgmt: " + e);
                    }
                }
                MgmtListener l = listeners.get(br);
                if (l != null && d != null) {
                    try {
                        l.setControllers(d.controllers(br)); // and their links follow the bridge's controllers
                    } catch (io.pvio.dpif.DpifException | RuntimeException e) {
                        LOG.log(Level.FINE, br + ": cannot read its controllers", e);
                    }
                }
            }
        }
    }
}
