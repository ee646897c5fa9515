package io.pvio.dpif.netdev;

import io.pvio.dma.DmaMemory;
import io.pvio.dma.DmaRegions;
import io.pvio.dpif.Dpif;
import io.pvio.dpif.DpifException;
import io.pvio.dpif.FlowEntry;
import io.pvio.dpif.FlowRemoval;
import io.pvio.dpif.PortInfo;
import io.pvio.dpif.netdev.flow.Flow;
import io.pvio.dpif.netdev.flow.FlowEntries;
import io.pvio.dpif.netdev.flow.FlowParser;
import io.pvio.dpif.netdev.flow.FlowTable;
import io.pvio.dpif.netdev.flow.MacTable;
import io.pvio.dpif.netdev.flow.Trace;
import io.pvio.netdev.ComponentConfig;
import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevClass;
import io.pvio.netdev.NetdevException;
import io.pvio.netdev.NetdevStats;
import io.pvio.netdev.RunDirectory;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketPool;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;
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
 * The userspace datapath (OVS's dpif-netdev): bridges, ports backed by {@link NetdevClass} services, a flow
 * table with NORMAL per bridge, and PMD threads.
 *
 * <h2>Reconfiguration</h2>
 * Every change of what the PMDs poll or send to goes through {@link #reconfigure}: (1) each PMD is given a
 * paused snapshot and acknowledges it, which it does only after draining its in-flight tx queues (freePkts
 * until 0, bounded); (2) with no PMD inside any port, ports are closed/opened, PMD threads added/removed and
 * queue layouts re-read; (3) new snapshots are published and acknowledged. So {@link Netdev#close()} never
 * runs while a PMD is inside that port, and a tx queue never changes its txqid/concurrency flag with
 * packets in flight. Flow tables are published separately (volatile) and need no pause.
 *
 * <p>Control state is guarded by one lock; {@link io.pvio.netdev.NetdevContext#changed()} only queues a
 * reconfiguration on the control thread, so ports may call it from any thread.
 */
@Component(service = Dpif.class, immediate = true, property = DpifNetdev.TYPE_PROPERTY + "=netdev",
        configurationPid = {RunDirectory.PID, Component.NAME}) // run dir first: Felix SCR 2.2 stops at the
                                                                // first PID with no configuration when activating
public final class DpifNetdev implements Dpif {
    static final Logger LOG = Logger.getLogger("dpif_netdev");
    /** Service property distinguishing this datapath (the appctl commands target it). */
    public static final String TYPE_PROPERTY = "dpif.type";
    /** Component property: buffers in the shared pool. */
    public static final String POOL_BUFFERS = "pool.buffers";
    /** Component property: the run directory lent to ports ({@link RunDirectory#KEY}). */
    public static final String RUN_DIR = RunDirectory.KEY;
    public static final int DEFAULT_POOL_BUFFERS = 16384;
    /** The type of a port added without one (OVS's "" = a kernel interface, netdev-linux's system class). */
    public static final String SYSTEM = "system";
    /** Idle PMDs park up to this long unless other_config:pmd-sleep-max says otherwise (0 = busy poll). */
    public static final int DEFAULT_SLEEP_US = PmdSleep.DEFAULT_US;

    private final Object lock = new Object();
    private final Map<String, List<NetdevClass>> classes = new HashMap<>();
    private final Map<NetdevClass, long[]> rankOf = new java.util.IdentityHashMap<>(); // {ranking, service.id}
    private final Map<String, Bridge> bridges = new TreeMap<>();
    private final Map<String, Port> ports = new TreeMap<>();
    private final List<PmdThread> pmds = new ArrayList<>();
    /**
     * Per core: the counters and histograms at the last pmd-stats-clear (what the show commands subtract), and
     * the time the counters covered then (PmdThread.S_ACCOUNTED_TO).
     */
    private final Map<Integer, Baseline> statsBaseline = new HashMap<>();
    private final AtomicBoolean reconfigureQueued = new AtomicBoolean();
    private volatile Map<String, String> otherConfig = Map.of();
    private volatile PacketPool pool;
    /** The pool's slab, registered for DMA engines behind an IOMMU (every DmaMemory service). */
    private final DmaRegions dmaMemory = new DmaRegions("dpif-netdev packet pool", LOG);
    private volatile Path runDir;
    /** The component properties of the DS activation, compared with updates (null outside DS). */
    private volatile Map<String, Object> activatedWith;
    private volatile int pmdCount;
    private volatile PmdSleep pmdSleep = PmdSleep.DEFAULT;
    /** OVS's VLOG_WARN_ONCE for other_config:pmd-maxsleep. */
    private boolean maxSleepWarned;
    /** other_config:pmd-perf-metrics: PMDs time their free_pkts calls (two clock reads per call). */
    private volatile boolean perfMetrics;
    /** The cores PMD threads may be created for (pmd-cpu-mask's others are ignored, as OVS). */
    private final java.util.BitSet cpus = Cpus.machine();
    private volatile ScheduledExecutorService ctl;
    private long gen;
    private boolean active;
    /** other_config:pmd-rxq-assign in force: OVS's "cycles" when unset or unsupported. */
    private String rxqAssign = "cycles";
    /** other_config:pmd-rxq-isolate in force: a PMD polling a pinned rx queue polls no other queue. */
    private boolean pmdIso = true;
    /** The cores whose PMD the last assignment isolated (pmd-rxq-show). */
    private Set<Integer> isolatedCores = Set.of();
    /** Per rx queue ("port NUL qid"): what the last assignment logged about it; a change is logged again. */
    private Map<String, String> rxqDecisions = Map.of();
    /** The next assignment logs every queue (pmd-rxq-rebalance), as OVS's rxq_scheduling always does. */
    private boolean logAllRxqs;
    /** The assignment in force (null without PMDs), by index in {@link #pmds}. */
    private Plan assigned;
    /** other_config:pmd-auto-lb and its settings in force ({@link AutoLb}). */
    private AutoLb autoLb = AutoLb.DEFAULT;
    /** The PMDs' overload threshold in percent while pmd-auto-lb is on, else -1 (read at each interval's end). */
    private volatile int autoLbLoadThreshold = -1;
    /** When the auto load balance last checked the PMDs (System.nanoTime), 0: not since it was turned on. */
    private long autoLbTimer;

    // ------------------------------------------------------------------ life cycle

    /** DS: the run directory as {@link RunDirectory#resolve} gives it (a change reactivates). */
    @Activate
    void activateComponent(org.osgi.framework.BundleContext bc, Map<String, Object> props) {
        activatedWith = props;
        Map<String, Object> p = new java.util.HashMap<>(props);
        p.put(RUN_DIR, RunDirectory.resolve(props, bc::getProperty).toString());
        activate(p);
    }

    /** DS: an update of io.pvio.run or of this PID restarts the datapath only when it changes something. */
    @Modified
    void modifiedComponent(ComponentContext cc, Map<String, Object> props) {
        if (!ComponentConfig.reactivateIfChanged(cc, activatedWith, props, LOG)) {
            activatedWith = props;
        }
    }

    /** Activation from plain Java (tests, benchmarks): without {@code run.dir}, java.io.tmpdir/pvio-run. */
    public void activate(Map<String, Object> props) {
        synchronized (lock) {
            int n = intProp(props, POOL_BUFFERS, DEFAULT_POOL_BUFFERS);
            pool = new PacketPool("dp", n);
            dmaMemory.map(pool.slabAddress(), pool.slabSize(), "pool " + pool.name());
            Object rd = props.get(RUN_DIR);
            runDir = Path.of(rd != null ? rd.toString()
                    : System.getProperty("pvio.run.dir", System.getProperty("java.io.tmpdir") + "/pvio-run"));
            try {
                java.nio.file.Files.createDirectories(runDir);
            } catch (java.io.IOException | RuntimeException e) {
                LOG.warning(() -> "cannot create run directory " + runDir + ": " + e);
            }
            ScheduledExecutorService ex = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "dpif-netdev-ctl");
                t.setDaemon(true);
                return t;
            });
            ex.scheduleWithFixedDelay(this::ageMacs, 15, 15, TimeUnit.SECONDS);
            ex.scheduleWithFixedDelay(this::expireFlows, EXPIRY_MS, EXPIRY_MS, TimeUnit.MILLISECONDS);
            long tick = RxqLoad.INTERVAL_NS / 5;
            ex.scheduleWithFixedDelay(this::autoLoadBalance, tick, tick, TimeUnit.NANOSECONDS);
            ctl = ex;
            active = true;
            List<Integer> cores;
            try {
                cores = pmdCores(otherConfig.get("pmd-cpu-mask"), true);
            } catch (DpifException e) {
                cores = List.of(cpus.nextSetBit(0));
            }
            setPmds(cores);
            reconfigure(null);
            LOG.info(() -> "userspace datapath ready: pool " + pool + ", run dir " + runDir);
        }
    }

    @Deactivate
    public void deactivate() {
        synchronized (lock) {
            if (!active) {
                return;
            }
            active = false;
            long pauseGen = ++gen;
            for (int i = 0; i < pmds.size(); i++) {
                pmds.get(i).publish(PmdSnapshot.paused(pauseGen, i));
            }
            awaitAcks(pauseGen);
            setPmds(List.of());
            for (Port p : ports.values()) {
                p.removed = true;
                closeNetdev(p);
            }
            ports.clear();
            bridges.clear();
        }
        ScheduledExecutorService ex = ctl;
        if (ex != null) {
            ex.shutdownNow();
            try {
                ex.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        PacketPool pl = pool;
        dmaMemory.unmap(pl.slabAddress(), pl.slabSize()); // every port closed: no copy touches it any more
        LOG.info(() -> "userspace datapath stopped: " + pl.inUse() + " buffers of pool " + pl.name() + " in use");
    }

    /**
     * A DMA provider whose engines need memory registered (IOMMU): the pool's slab is mapped on it for as
     * long as both live, as DPDK maps its mempools' memory into the VFIO container.
     */
    @Reference(service = DmaMemory.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY,
            unbind = "unbindDmaMemory")
    public void bindDmaMemory(DmaMemory m) {
        dmaMemory.addService(m);
    }

    public void unbindDmaMemory(DmaMemory m) {
        dmaMemory.removeService(m);
    }

    /** The pool's registration for DMA (tests, show commands). */
    public DmaRegions dmaMemory() {
        return dmaMemory;
    }

    @Reference(service = NetdevClass.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    public void bindNetdevClass(NetdevClass cls, Map<String, Object> props) {
        String type = typeOf(cls, props);
        synchronized (lock) {
            addRanked(classes.computeIfAbsent(type, k -> new ArrayList<>()), cls, props);
            tellOtherConfig(cls, otherConfig);
            LOG.info(() -> "netdev class '" + type + "' available");
            if (!active) {
                return;
            }
            boolean opened = false;
            for (Port p : ports.values()) {
                if (p.netdev == null && p.type.equals(type)) {
                    opened |= openPort(p);
                }
            }
            if (opened) {
                reconfigure(null);
            }
        }
    }

    public void unbindNetdevClass(NetdevClass cls, Map<String, Object> props) {
        String type = typeOf(cls, props);
        synchronized (lock) {
            List<NetdevClass> l = classes.getOrDefault(type, new ArrayList<>());
            l.removeIf(c -> c == cls);
            rankOf.remove(cls);
            if (l.isEmpty()) {
                classes.remove(type);
            }
            LOG.info(() -> "netdev class '" + type + "' going away");
            if (!active) {
                return;
            }
            List<Port> affected = new ArrayList<>();
            for (Port p : ports.values()) {
                if (p.netdev != null && p.cls == cls) {
                    affected.add(p);
                }
            }
            if (affected.isEmpty()) {
                return;
            }
            reconfigure(() -> {
                for (Port p : affected) {
                    closeNetdev(p);
                    LOG.info(() -> p.name + ": closed, waiting for netdev class '" + type + "' to come back");
                }
            });
            if (classFor(type) != null) {
                boolean opened = false;
                for (Port p : affected) {
                    opened |= openPort(p);
                }
                if (opened) {
                    reconfigure(null);
                }
            }
        }
    }

    private static String typeOf(NetdevClass cls, Map<String, Object> props) {
        Object t = props == null ? null : props.get(NetdevClass.TYPE_PROPERTY);
        return t != null ? t.toString() : cls.type();
    }

    // ------------------------------------------------------------------ Dpif

    @Override
    public PacketPool pool() {
        return pool;
    }

    Path runDir() {
        return runDir;
    }

    int pmdCount() {
        return pmdCount;
    }

    long pmdSleepNanos(int core) {
        return pmdSleep.nanosFor(core);
    }

    boolean perfMetrics() {
        return perfMetrics;
    }

    @Override
    public Map<String, String> otherConfig() {
        return otherConfig;
    }

    @Override
    public void setOtherConfig(Map<String, String> config) throws DpifException {
        Map<String, String> copy = Collections.unmodifiableMap(new TreeMap<>(config == null ? Map.of() : config));
        String mask = copy.get("pmd-cpu-mask");
        List<Integer> cores = pmdCores(mask, !java.util.Objects.equals(mask, otherConfig.get("pmd-cpu-mask")));
        String sleepMax = copy.get("pmd-sleep-max");
        String maxSleep = copy.get("pmd-maxsleep"); // OVS 3.1's key, a default only: honoured as OVS 3.2+ does
        if (sleepMax == null && maxSleep != null) {
            if (!maxSleepWarned) {
                maxSleepWarned = true;
                LOG.warning("pmd-maxsleep is deprecated. Please use pmd-sleep-max instead.");
            }
            sleepMax = maxSleep.trim();
        }
        PmdSleep sleep = PmdSleep.parse(sleepMax);
        boolean metrics = parseBool("pmd-perf-metrics", copy.get("pmd-perf-metrics"));
        String assign = copy.getOrDefault("pmd-rxq-assign", "cycles");
        // as smap_get_bool with default true: anything but "false" isolates
        boolean iso = !"false".equalsIgnoreCase(copy.get("pmd-rxq-isolate"));
        synchronized (lock) {
            AutoLb alb = AutoLb.parse(copy, autoLb, LOG);
            if (!alb.enabled) {
                autoLbTimer = 0;
            }
            autoLb = alb;
            autoLbLoadThreshold = alb.enabled ? alb.loadThreshold : -1;
            otherConfig = copy;
            boolean reassign = false;
            if (!List.of("roundrobin", "cycles", "group").contains(assign)) {
                LOG.warning("Unsupported rx queue to PMD assignment mode in pmd-rxq-assign. Defaulting to 'cycles'.");
                assign = "cycles";
            }
            if (!assign.equals(rxqAssign)) {
                rxqAssign = assign;
                LOG.info("Rxq to PMD assignment mode changed to: '" + assign + "'.");
                reassign = true;
            }
            if (!assign.equals("group") && !iso) {
                LOG.warning("pmd-rxq-isolate can only be set false when using pmd-rxq-assign=group");
                iso = true;
            }
            if (iso != pmdIso) {
                pmdIso = iso;
                LOG.info(iso ? "pmd-rxq-affinity isolates PMD core" : "pmd-rxq-affinity does not isolate PMD core");
                reassign = true;
            }
            if (!sleep.toString().equals(pmdSleep.toString())) {
                LOG.info("PMD max sleep request: " + sleep);
            }
            pmdSleep = sleep;
            if (metrics != perfMetrics) {
                LOG.info("PMD performance metrics " + (metrics ? "enabled" : "disabled"));
            }
            perfMetrics = metrics;
            for (List<NetdevClass> l : classes.values()) {
                for (NetdevClass c : l) {
                    tellOtherConfig(c, copy);
                }
            }
            if (active && (reassign || !cores.equals(currentCores()))) {
                reconfigure(() -> setPmds(cores));
            }
        }
    }

    @Override
    public void setRxqAffinity(String name, String affinity) throws DpifException {
        synchronized (lock) {
            Port p = port0(name);
            if (java.util.Objects.equals(affinity, p.rxqAffinity)) {
                return;
            }
            Map<Integer, Integer> pins = parseAffinity(affinity);
            if (pins == null) {
                throw new DpifException(name + ": pmd-rxq-affinity '" + affinity
                        + "' is not a list of <rxq>:<core> pairs (Invalid argument)");
            }
            p.rxqAffinity = affinity;
            p.rxqPins = pins;
            if (active) {
                reconfigure(null);
            }
        }
    }

    /**
     * OVS's parse_affinity_list: pairs {@code rxq:core} (or {@code rxq=core}) separated by commas or white
     * space, each number a C integer (decimal, 0x hex, 0 octal), neither negative. Null when malformed;
     * empty for null.
     */
    static Map<Integer, Integer> parseAffinity(String list) {
        Map<Integer, Integer> pins = new TreeMap<>();
        if (list == null) {
            return Map.of();
        }
        String space = ", \t\r\n";
        int i = 0;
        int n = list.length();
        while (true) {
            while (i < n && space.indexOf(list.charAt(i)) >= 0) {
                i++;
            }
            if (i == n) {
                return Collections.unmodifiableMap(pins);
            }
            int k = i;
            while (i < n && (":=(" + space).indexOf(list.charAt(i)) < 0) {
                i++;
            }
            String key = list.substring(k, i);
            String value = "";
            if (i < n) {
                char d = list.charAt(i++);
                String end = d == '(' ? ")" : d == ':' || d == '=' ? space : null;
                if (end != null) {
                    int v = i;
                    while (i < n && end.indexOf(list.charAt(i)) < 0) {
                        i++;
                    }
                    value = list.substring(v, i);
                    if (d == '(' && i < n) {
                        i++;
                    }
                }
            }
            long q = cInt(key);
            long c = cInt(value);
            if (q < 0 || c < 0) {
                return null;
            }
            pins.put((int) q, (int) c);
        }
    }

    /** {@code s} whole as C's strtol base 0 reads it (sign, 0x hex, 0 octal) when a non-negative int, else -1. */
    private static long cInt(String s) {
        boolean neg = s.startsWith("-");
        int i = neg || s.startsWith("+") ? 1 : 0;
        int radix = 10;
        if (s.startsWith("0x", i) || s.startsWith("0X", i)) {
            radix = 16;
            i += 2;
        } else if (s.startsWith("0", i) && s.length() > i + 1) {
            radix = 8;
            i++;
        }
        if (i == s.length()) {
            return -1;
        }
        long v = 0;
        for (; i < s.length(); i++) {
            char ch = s.charAt(i);
            int dg = ch < 128 ? Character.digit(ch, radix) : -1;
            if (dg < 0) {
                return -1;
            }
            v = v * radix + dg;
            if (v > Integer.MAX_VALUE) {
                return -1;
            }
        }
        return neg && v != 0 ? -1 : v;
    }

    private static void tellOtherConfig(NetdevClass c, Map<String, String> cfg) {
        try {
            c.setOtherConfig(cfg);
        } catch (RuntimeException e) {
            LOG.log(Level.SEVERE, "netdev class '" + c.type() + "' failed to apply other_config", e);
        }
    }

    @Override
    public Set<String> bridges() {
        synchronized (lock) {
            return Collections.unmodifiableSet(new TreeSet<>(bridges.keySet()));
        }
    }

    @Override
    public void addBridge(String name) throws DpifException {
        checkName("bridge", name);
        synchronized (lock) {
            checkActive();
            if (bridges.containsKey(name)) {
                throw new DpifException("bridge " + name + " already exists");
            }
            bridges.put(name, new Bridge(name));
        }
        LOG.info(() -> "bridge " + name + ": added");
    }

    @Override
    public void delBridge(String name) throws DpifException {
        synchronized (lock) {
            Bridge b = bridge(name);
            List<Port> gone = new ArrayList<>(b.ports.values());
            reconfigure(() -> {
                for (Port p : gone) {
                    p.removed = true;
                    closeNetdev(p);
                    ports.remove(p.name);
                    LOG.info(() -> "bridge " + name + ": deleted interface " + p.name + " on port " + p.ofport);
                }
                b.ports.clear();
                bridges.remove(name);
            });
        }
        LOG.info(() -> "bridge " + name + ": deleted");
    }

    @Override
    public void addPort(String bridgeName, String name, String type, Map<String, String> options, int ofport)
            throws DpifException {
        checkName("port", name);
        if (type == null || type.isBlank()) {
            type = SYSTEM; // OVS's default type: a kernel interface
        }
        boolean local = name.equals(bridgeName);
        Map<String, String> opts = copyOptions(name, options);
        synchronized (lock) {
            checkActive();
            Bridge b = bridge(bridgeName);
            if (ports.containsKey(name)) {
                throw new DpifException("port " + name + " already exists on bridge " + ports.get(name).bridge.name);
            }
            int of = ofport;
            if (local && (of == -1 || of == FlowParser.LOCAL)) {
                of = FlowParser.LOCAL;
            } else if (of == -1) {
                of = b.freeOfport();
            } else if (of < 1 || of > FlowParser.MAX_OFPORT) {
                throw new DpifException("port " + name + ": ofport " + ofport + " is out of range 1.." + FlowParser.MAX_OFPORT);
            } else if (b.ports.containsKey(of)) {
                throw new DpifException("port " + name + ": ofport " + of + " is already used by "
                        + b.ports.get(of).name + " on bridge " + b.name);
            }
            Port p = new Port(this, name, b, of, type, opts);
            NetdevClass c = classFor(type);
            if (c != null) {
                try {
                    p.netdev = c.open(name, opts, p);
                    p.cls = c;
                    applyBridgeAddress(p);
                } catch (NetdevException e) {
                    if (!local) {
                        throw new DpifException("could not open network device " + name + " (" + e.getMessage() + ")", e);
                    }
                    // as OVS: the bridge exists even when its local port cannot be created; the port shows why
                    p.error = e.getMessage();
                    LOG.warning(() -> "could not open network device " + name + " (" + p.error + ")");
                } catch (RuntimeException e) {
                    LOG.log(Level.SEVERE, name + ": netdev class '" + p.type + "' failed to open it", e);
                    throw new DpifException("could not open network device " + name + " (" + e + ")", e);
                }
            }
            reconfigure(() -> {
                b.ports.put(p.ofport, p);
                ports.put(name, p);
            });
            LOG.info(() -> "bridge " + b.name + ": added interface " + name + " on port " + p.ofport
                    + (p.error != null ? " (error: " + p.error + ")"
                            : p.netdev == null ? " (waiting for netdev class '" + p.type + "')" : ""));
            if (p.netdev == null && p.error == null) {
                LOG.warning(() -> waitingError(p));
            }
        }
    }

    @Override
    public void delPort(String name) throws DpifException {
        synchronized (lock) {
            Port p = port0(name);
            reconfigure(() -> {
                p.removed = true;
                closeNetdev(p);
                p.bridge.ports.remove(p.ofport);
                ports.remove(name);
                p.bridge.macs.flushPort(p.ofport);
            });
            LOG.info(() -> "bridge " + p.bridge.name + ": deleted interface " + name + " on port " + p.ofport);
        }
    }

    @Override
    public void setInterface(String name, String type, Map<String, String> options) throws DpifException {
        Map<String, String> opts = copyOptions(name, options);
        synchronized (lock) {
            Port p = port0(name);
            String newType = type == null ? p.type : type.isBlank() ? SYSTEM : type;
            if (!newType.equals(p.type)) {
                changeType(p, newType, opts);
                return;
            }
            if (p.netdev != null) {
                try {
                    p.netdev.setConfig(opts);
                } catch (NetdevException e) {
                    String m = e.getMessage(); // netdev classes often name the port already
                    throw new DpifException(m != null && m.startsWith(name + ": ") ? m : name + ": " + m, e);
                } catch (RuntimeException e) {
                    LOG.log(Level.SEVERE, name + ": setConfig failed", e);
                    throw new DpifException(name + ": could not apply options (" + e + ")", e);
                }
                p.options = opts;
                reconfigure(null);
                return;
            }
            NetdevClass c = classFor(newType);
            if (c == null) {
                p.options = opts;
                return;
            }
            try {
                p.netdev = c.open(name, opts, p);
                p.cls = c;
                p.error = null;
                p.options = opts;
                applyBridgeAddress(p);
            } catch (NetdevException e) {
                throw new DpifException("could not open network device " + name + " (" + e.getMessage() + ")", e);
            }
            reconfigure(null);
        }
    }

    private void changeType(Port p, String newType, Map<String, String> opts) throws DpifException {
        String oldType = p.type;
        Map<String, String> oldOpts = p.options;
        reconfigure(() -> closeNetdev(p));
        p.type = newType;
        p.options = opts;
        p.error = null;
        NetdevClass c = classFor(newType);
        if (c != null) {
            try {
                p.netdev = c.open(p.name, opts, p);
                p.cls = c;
                applyBridgeAddress(p);
            } catch (NetdevException | RuntimeException e) {
                p.type = oldType;
                p.options = oldOpts;
                openPort(p);
                reconfigure(null);
                throw new DpifException("could not open network device " + p.name + " (" + e.getMessage() + ")", e);
            }
        }
        reconfigure(null);
        LOG.info(() -> p.name + ": type changed from " + oldType + " to " + newType
                + (p.netdev == null ? " (waiting for netdev class '" + newType + "')" : ""));
        if (p.netdev == null) {
            LOG.warning(() -> waitingError(p));
        }
    }

    @Override
    public void setBridgeAddress(String bridgeName, String mac) throws DpifException {
        if (PortInfo.macBits(mac) < 0) {
            throw new DpifException("bridge " + bridgeName + ": '" + mac + "' is not an Ethernet address");
        }
        synchronized (lock) {
            Bridge b = bridge(bridgeName);
            if (mac.equals(b.hwaddr)) {
                return;
            }
            long before = datapathId(b);
            b.hwaddr = mac;
            logDatapathId(b, before);
            Port local = ports.get(bridgeName);
            if (local != null && local.bridge == b) {
                applyBridgeAddress(local);
            }
        }
    }

    @Override
    public void setDatapathId(String bridgeName, long dpid) throws DpifException {
        synchronized (lock) {
            Bridge b = bridge(bridgeName);
            long before = datapathId(b);
            b.dpid = dpid;
            logDatapathId(b, before);
        }
    }

    /** As bridge_configure_datapath_id: the ID is logged when it changes. Holds the lock. */
    private void logDatapathId(Bridge b, long before) {
        long now = datapathId(b);
        if (now != before && (b.dpid != 0 || b.hwaddr != null)) {
            LOG.info(() -> String.format("bridge %s: using datapath ID %016x", b.name, now));
        }
    }

    /** other_config:datapath-id (any 64 bits but 0), else the bridge's address, else 0. Holds the lock. */
    private static long datapathId(Bridge b) {
        return b.dpid != 0 ? b.dpid : b.hwaddr != null ? PortInfo.macBits(b.hwaddr) : 0;
    }

    @Override
    public String bridgeAddress(String bridgeName) {
        synchronized (lock) {
            Bridge b = bridges.get(bridgeName);
            if (b != null && b.hwaddr != null) {
                return b.hwaddr;
            }
        }
        return PortInfo.formatMac(Dpif.super.datapathId(bridgeName));
    }

    /**
     * The bits the data path honours: down (= NO_RECV + NO_FWD), NO_RECV, NO_FWD, NO_FLOOD; NO_STP holds
     * anyway (pvio runs no spanning tree); NO_PACKET_IN is kept and, as in OVS with the default table-miss
     * config, changes no packet-in. NO_RECV_STP is refused: pvio does not tell STP frames apart.
     */
    static final int PORT_CONFIG_HONOURED = Dpif.PC_PORT_DOWN | Dpif.PC_NO_STP | Dpif.PC_NO_RECV
            | Dpif.PC_NO_FLOOD | Dpif.PC_NO_FWD | Dpif.PC_NO_PACKET_IN;

    @Override
    public int portConfig(String name) {
        synchronized (lock) {
            Port p = ports.get(name);
            return p == null ? 0 : p.config;
        }
    }

    @Override
    public void setPortConfig(String name, int config, int mask) throws DpifException {
        synchronized (lock) {
            Port p = port0(name);
            int next = p.config & ~mask | config & mask;
            int bad = next & ~PORT_CONFIG_HONOURED;
            if (bad != 0) {
                throw new DpifException(String.format("port %s: config 0x%x cannot be honoured (NO_RECV_STP)", name,
                        bad));
            }
            if ((mask & Dpif.PC_PORT_DOWN) != 0 && p.netdev != null) {
                // as OVS's update_port_config: the device itself goes up or down (a kernel port's IFF_UP), even
                // when the bit does not change (a local port created down is brought up by mod-port up)
                boolean up = (next & Dpif.PC_PORT_DOWN) == 0;
                try {
                    if (p.netdev.setAdminUp(up)) {
                        LOG.info(() -> "port " + name + ": device set " + (up ? "up" : "down"));
                    }
                } catch (NetdevException | RuntimeException e) {
                    throw new DpifException("port " + name + ": " + e.getMessage());
                }
            }
            if (next == p.config) {
                return;
            }
            int old = p.config;
            p.config = next;
            LOG.info(() -> String.format("port %s: OpenFlow config 0x%x -> 0x%x", name, old, next));
            if (active) {
                reconfigure(null); // new snapshots: the PMDs see the port's new config
            }
        }
    }

    /** How long packetOut waits for the PMD to take the packet. */
    static final long PACKET_OUT_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(2);

    @Override
    public void packetOut(String bridgeName, int inPort, List<Integer> actions, byte[] frame) throws DpifException {
        if (frame.length == 0) {
            throw new DpifException("packet-out without a packet");
        }
        for (int a : actions) {
            if ((a < 1 || a > 65279) && a != FlowEntry.LOCAL && a != FlowEntry.NORMAL && a != FlowEntry.FLOOD
                    && a != Dpif.OUT_ALL && a != Dpif.OUT_IN_PORT && a != Dpif.OUT_TABLE) {
                throw new DpifException("packet-out action " + a + " is not a port, NORMAL, FLOOD, ALL, IN_PORT or TABLE");
            }
        }
        int[] acts = actions.stream().mapToInt(Integer::intValue).toArray();
        synchronized (lock) { // no reconfiguration while the PMD executes it: its snapshot is current
            checkActive();
            Bridge b = bridge(bridgeName);
            if (pmds.isEmpty()) {
                throw new DpifException("no PMD thread to send the packet");
            }
            Packet p = pool.allocChain(frame.length);
            if (p == null) {
                throw new DpifException("packet-out: the packet pool is empty");
            }
            int at = 0;
            for (Packet s = p; s != null && at < frame.length; s = s.next()) {
                int n = s.dataLength();
                s.buffer().put(s.dataOffset(), frame, at, n);
                at += n;
            }
            PmdThread.PacketOut po = new PmdThread.PacketOut(b, inPort, acts, p);
            if (!pmds.get(0).packetOut(po, PACKET_OUT_TIMEOUT_NS)) {
                p.free();
                throw new DpifException("packet-out: " + pmds.get(0).thread.getName() + " did not take the packet");
            }
        }
    }

    /**
     * other_config:datapath-id when set, else the bridge's address when it has one (set even if its local port
     * refused it, as OVS), else the default.
     */
    @Override
    public long datapathId(String bridgeName) {
        synchronized (lock) {
            Bridge b = bridges.get(bridgeName);
            if (b != null && (b.dpid != 0 || b.hwaddr != null)) {
                return datapathId(b);
            }
        }
        return Dpif.super.datapathId(bridgeName);
    }

    /** Gives {@code p}, when it is its bridge's open local port, the bridge's address. Holds the lock. */
    private void applyBridgeAddress(Port p) {
        String mac = p.bridge.hwaddr;
        if (mac == null || p.netdev == null || !p.name.equals(p.bridge.name)) {
            return;
        }
        try {
            if (!mac.equals(p.netdev.etherAddr())) {
                p.netdev.setEtherAddr(mac);
            }
        } catch (NetdevException | RuntimeException e) {
            LOG.severe(() -> "bridge " + p.bridge.name + ": failed to set bridge Ethernet address: " + e.getMessage());
        }
    }

    @Override
    public List<PortInfo> ports(String bridgeName) {
        synchronized (lock) {
            List<PortInfo> out = new ArrayList<>();
            for (Bridge b : bridges.values()) {
                if (bridgeName == null || b.name.equals(bridgeName)) {
                    for (Port p : b.ports.values()) {
                        out.add(info(p));
                    }
                }
            }
            return out;
        }
    }

    @Override
    public PortInfo port(String name) {
        synchronized (lock) {
            Port p = ports.get(name);
            return p == null ? null : info(p);
        }
    }

    private PortInfo info(Port p) {
        Map<String, Long> st = new LinkedHashMap<>();
        Map<String, String> status = Map.of();
        String mac = null;
        int mtu = 0;
        int ifindex = 0;
        boolean up = false;
        long speed = 0;
        boolean full = false;
        long resets = 0;
        if (p.netdev != null) {
            try {
                NetdevStats s = new NetdevStats();
                p.netdev.getStats(s);
                s.forEach(st::put);
                p.netdev.getCustomStats(st::put);
                long qos = p.qosDrops.get();
                if (qos > 0 || p.policer != null) { // as OVS-DPDK: in rx_dropped, not rx_packets, and on their own
                    st.merge("rx_dropped", qos, Long::sum);
                    st.computeIfPresent("rx_packets", (k, v) -> Math.max(0, v - qos));
                    long bytes = p.qosDropBytes.get();
                    st.computeIfPresent("rx_bytes", (k, v) -> Math.max(0, v - bytes));
                    st.put("ovs_rx_qos_drops", qos);
                }
                long txQos = p.txQosDrops.get();
                if (txQos > 0 || p.egress != null) { // as OVS-DPDK: in tx_dropped, and on their own
                    st.merge("tx_dropped", txQos, Long::sum);
                    st.put("ovs_tx_qos_drops", txQos);
                }
                status = p.netdev.status();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, p.name + ": could not read statistics", e);
            }
            try { // the columns of iface_refresh_netdev_status
                mac = p.netdev.etherAddr();
                mtu = Math.max(0, p.netdev.mtu());
                ifindex = Math.max(0, p.netdev.ifindex());
                up = p.netdev.adminUp() && (p.config & Dpif.PC_PORT_DOWN) == 0;
                speed = Math.max(0, p.netdev.linkSpeed());
                full = p.netdev.fullDuplex();
                resets = Math.max(0, p.netdev.carrierResets());
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, p.name + ": could not read its address, MTU, flags or link", e);
            }
        }
        String error = p.error;
        if (p.netdev == null && error == null) {
            error = waitingError(p); // as OVS shows a port it cannot open, but the port may open later
        }
        return new PortInfo(p.name, p.bridge.name, p.type, p.options, p.ofport, p.state(), error,
                Collections.unmodifiableMap(st), status, mac, mtu, ifindex, up, speed, full, resets);
    }

    /**
     * The Interface error of a port waiting for a netdev class of its type: OVS's "could not open network
     * device" (OVS: "Address family not supported by protocol" for a type it does not know).
     */
    private static String waitingError(Port p) {
        return "could not open network device " + p.name + " (no netdev class '" + p.type
                + "' is registered; waiting for a bundle that provides it)";
    }

    @Override
    public void addFlow(String bridgeName, String flow) throws DpifException {
        synchronized (lock) {
            Bridge b = bridge(bridgeName);
            Flow f;
            try {
                f = FlowParser.parseFlow(flow == null ? "" : flow, portNumbers(b));
            } catch (IllegalArgumentException e) {
                throw new DpifException(e.getMessage(), e);
            }
            b.flows = b.flows.with(f);
        }
    }

    @Override
    public void addFlows(String bridgeName, List<String> flows) throws DpifException {
        synchronized (lock) {
            Bridge b = bridge(bridgeName);
            List<Flow> parsed = new ArrayList<>(flows.size());
            java.util.function.ToIntFunction<String> ports = portNumbers(b);
            for (String flow : flows) {
                try {
                    parsed.add(FlowParser.parseFlow(flow == null ? "" : flow, ports));
                } catch (IllegalArgumentException e) {
                    throw new DpifException(flow + ": " + e.getMessage(), e);
                }
            }
            b.flows = b.flows.withAll(parsed);
        }
    }

    /** Port name to number on {@code b} (-1: none), for flows that name ports (lock held). */
    private static java.util.function.ToIntFunction<String> portNumbers(Bridge b) {
        return name -> {
            for (Port p : b.ports.values()) {
                if (p.name.equals(name)) {
                    return p.ofport;
                }
            }
            return -1;
        };
    }

    @Override
    public int delFlows(String bridgeName, String match) throws DpifException {
        return delFlows(bridgeName, match, false);
    }

    @Override
    public int delFlows(String bridgeName, String match, boolean strict) throws DpifException {
        synchronized (lock) {
            Bridge b = bridge(bridgeName);
            Flow crit = matchOf(b, match);
            FlowTable old = b.flows;
            FlowTable now = old.without(crit, strict);
            b.flows = now;
            long t = System.nanoTime();
            for (Flow f : old.flows()) {
                if (strict ? f.sameRule(crit) : f.covers(crit)) {
                    removed(b, f, FlowRemoval.DELETE, t);
                }
            }
            return old.size() - now.size();
        }
    }

    private Flow matchOf(Bridge b, String match) throws DpifException {
        try {
            return FlowParser.parseMatch(match, portNumbers(b));
        } catch (IllegalArgumentException e) {
            throw new DpifException(e.getMessage(), e);
        }
    }

    @Override
    public List<String> dumpFlows(String bridgeName) throws DpifException {
        return dumpFlows(bridgeName, null);
    }

    @Override
    public List<String> dumpFlows(String bridgeName, String match) throws DpifException {
        FlowTable t;
        Flow crit;
        synchronized (lock) {
            Bridge b = bridge(bridgeName);
            t = b.flows;
            crit = matchOf(b, match);
        }
        long now = System.nanoTime();
        List<String> out = new ArrayList<>();
        for (Flow f : t.flows()) {
            if (f.covers(crit)) {
                out.add(f.dumpLine(now));
            }
        }
        return out;
    }

    @Override
    public List<String> flows(String bridgeName) throws DpifException {
        FlowTable t;
        synchronized (lock) {
            t = bridge(bridgeName).flows;
        }
        List<String> out = new ArrayList<>();
        for (Flow f : t.flows()) {
            if (!f.expires()) { // a flow with a timeout is not kept beyond it: a restart does not bring it back
                out.add(f.specString());
            }
        }
        return out;
    }

    @Override
    public List<FlowEntry> flowEntries(String bridgeName) throws DpifException {
        FlowTable t;
        synchronized (lock) {
            t = bridge(bridgeName).flows;
        }
        long now = System.nanoTime();
        List<FlowEntry> out = new ArrayList<>(t.size());
        for (Flow f : t.flows()) {
            out.add(FlowEntries.toEntry(f, now));
        }
        return out;
    }

    @Override
    public TableStats tableStats(String bridgeName) throws DpifException {
        Bridge b;
        synchronized (lock) {
            b = bridge(bridgeName);
        }
        long[] l = b.lookups();
        return new TableStats(l[0], l[1]);
    }

    @Override
    public void putFlow(String bridgeName, FlowEntry flow) throws DpifException {
        synchronized (lock) {
            Bridge b = bridge(bridgeName);
            try {
                Flow f = FlowEntries.fromEntry(flow);
                if ((flow.flags() & FlowEntry.FF_RESET_COUNTS) == 0) {
                    for (Flow old : b.flows.flows()) {
                        if (old.sameRule(f)) { // OVS's modify_keep_counts: an add without reset_counts
                            FlowEntries.takeCounts(f, old);
                        }
                    }
                }
                b.flows = b.flows.with(f);
            } catch (IllegalArgumentException e) {
                throw new DpifException(e.getMessage(), e);
            }
        }
    }

    @Override
    public int modifyFlows(String bridgeName, FlowEntry criteria, boolean strict) throws DpifException {
        synchronized (lock) {
            Bridge b = bridge(bridgeName);
            Flow actions;
            try {
                actions = FlowEntries.fromEntry(criteria);
            } catch (IllegalArgumentException e) {
                throw new DpifException(e.getMessage(), e);
            }
            List<Flow> now = new ArrayList<>(b.flows.flows());
            int n = 0;
            for (int i = 0; i < now.size(); i++) {
                if (FlowEntries.selects(criteria, now.get(i), strict)) {
                    now.set(i, FlowEntries.withActions(now.get(i), actions));
                    n++;
                }
            }
            if (n > 0) {
                b.flows = new FlowTable(now.toArray(new Flow[0]));
            }
            return n;
        }
    }

    @Override
    public List<FlowEntry> deleteFlows(String bridgeName, FlowEntry criteria, boolean strict, int outPort)
            throws DpifException {
        synchronized (lock) {
            Bridge b = bridge(bridgeName);
            List<Flow> kept = new ArrayList<>();
            List<Flow> gone = new ArrayList<>();
            for (Flow f : b.flows.flows()) {
                boolean del = FlowEntries.selects(criteria, f, strict)
                        && (outPort == FlowEntry.ANY || FlowEntries.outputsTo(f, outPort));
                (del ? gone : kept).add(f);
            }
            if (!gone.isEmpty()) {
                b.flows = new FlowTable(kept.toArray(new Flow[0]));
            }
            long now = System.nanoTime();
            List<FlowEntry> out = new ArrayList<>(gone.size());
            for (Flow f : gone) {
                out.add(FlowEntries.toEntry(f, now));
                removed(b, f, FlowRemoval.DELETE, now);
            }
            return out;
        }
    }

    // ------------------------------------------------------------------ reconfiguration

    /** Queues a reconfiguration on the control thread (from any thread; coalesced). */
    void requestReconfigure(String why) {
        ScheduledExecutorService ex = ctl;
        if (ex == null || !reconfigureQueued.compareAndSet(false, true)) {
            return;
        }
        try {
            ex.execute(() -> {
                reconfigureQueued.set(false);
                synchronized (lock) {
                    if (active) {
                        LOG.fine(() -> "reconfiguring: " + why);
                        reconfigure(null);
                    }
                }
            });
        } catch (RejectedExecutionException e) {
            reconfigureQueued.set(false);
        }
    }

    /** Pauses every PMD (draining in-flight queues), runs {@code whilePaused}, then republishes. Holds the lock. */
    private void reconfigure(Runnable whilePaused) {
        long pauseGen = ++gen;
        for (int i = 0; i < pmds.size(); i++) {
            pmds.get(i).publish(PmdSnapshot.paused(pauseGen, i));
        }
        awaitAcks(pauseGen);
        try {
            if (whilePaused != null) {
                whilePaused.run();
            }
            reconfigurePorts();
        } finally {
            applySnapshots();
        }
    }

    /**
     * OVS's port_reconfigure: with every PMD paused (no thread inside a port, tx queues drained), calls
     * reconfigure() on the ports that asked for it; applySnapshots then re-reads their queue counts. A port
     * whose reconfigure fails runs on as it was.
     */
    private void reconfigurePorts() {
        for (Port p : ports.values()) {
            if (p.netdev == null) {
                continue;
            }
            try {
                if (!p.netdev.reconfigureRequired()) {
                    continue;
                }
                int r = p.netdev.nRxq();
                int t = p.netdev.nTxq();
                p.netdev.reconfigure();
                LOG.info(() -> p.name + ": reconfigured (" + r + " rxq, " + t + " txq -> " + p.netdev.nRxq() + " rxq, "
                        + p.netdev.nTxq() + " txq)");
            } catch (NetdevException | RuntimeException e) {
                LOG.log(Level.SEVERE, p.name + ": reconfiguration failed: " + e.getMessage(), e);
            }
        }
    }

    private void awaitAcks(long g) {
        long start = System.nanoTime();
        long warnAt = start + TimeUnit.SECONDS.toNanos(5);
        for (PmdThread t : pmds) {
            while (!t.acked(g)) {
                LockSupport.parkNanos(20_000);
                long now = System.nanoTime();
                if (now - warnAt > 0) {
                    long s = TimeUnit.NANOSECONDS.toSeconds(now - start);
                    LOG.warning(() -> t.thread.getName() + " has not acknowledged reconfiguration " + g + " for " + s + " s");
                    warnAt = now + TimeUnit.SECONDS.toNanos(5);
                }
            }
        }
    }

    /**
     * Whether OVS polls this port's queues from its main thread, not from a PMD (netdev_is_pmd is false: kernel
     * ports). pvio polls every port from its PMDs; such a port's pmd-rxq-affinity is ignored, as OVS ignores it,
     * and its queues are polled even when every PMD is isolated, as OVS's main thread polls them.
     */
    private static boolean mainThreadPort(Port p) {
        return p.type.equals("system") || p.type.equals("internal") || p.type.equals("tap");
    }

    /** A queue's measured processing time over the last minute ({@link RxqLoad}); 0 with roundrobin. */
    private static long cycles(Port p, int q, String algo) {
        return algo.equals("roundrobin") ? 0 : p.loads(p.nRxq)[q].recent(RxqLoad.INTERVALS);
    }

    /** OVS's get_rxq_cyc_log: the measured time, in nanoseconds, for cycles and group. */
    private static String cyclesLog(String algo, long cycles) {
        return algo.equals("roundrobin") ? "" : " (measured processing cycles " + cycles + ")";
    }

    /**
     * OVS's sched_pmd_get_lowest (group): the PMD not isolated with the least measured time ({@code proc}), or
     * with null (the queue has no measured time) the fewest queues; the first of equals; -1 when all are isolated.
     */
    private static int lowestPmd(boolean[] isolated, long[] proc, int[] nRxq) {
        int best = -1;
        for (int i = 0; i < isolated.length; i++) {
            if (!isolated[i] && (best < 0 || (proc != null ? proc[i] < proc[best] : nRxq[i] < nRxq[best]))) {
                best = i;
            }
        }
        return best;
    }

    /**
     * OVS's sched_pmd_next_noniso_rr: the PMDs in turn, skipping isolated ones; for cycles up and down
     * (0,1,2,2,1,0,0,1...), so that the busiest queues, which come first, spread over the PMDs.
     */
    private static final class RoundRobin {
        private final int n;
        private final boolean updown;
        private int cur;
        private boolean inc = true;

        RoundRobin(int n, boolean updown) {
            this.n = n;
            this.updown = updown;
        }

        /** The next PMD not {@code isolated} (null: any), or -1 when all are. */
        int next(boolean[] isolated) {
            for (int k = 0; k < 2 * n; k++) {
                int i = step();
                if (isolated == null || !isolated[i]) {
                    return i;
                }
            }
            return -1;
        }

        private int step() {
            int i = cur;
            if (inc) {
                if (cur == n - 1) {
                    if (updown) {
                        inc = false;
                    } else {
                        cur = 0;
                    }
                } else {
                    cur++;
                }
            } else if (cur == 0) {
                inc = true;
            } else {
                cur--;
            }
            return i;
        }
    }

    /**
     * Re-reads queue layouts, assigns rxqs and publishes one snapshot per PMD. As OVS's rxq_scheduling: a
     * pinned queue (pmd-rxq-affinity) goes to its core's PMD, which is then isolated (pmd-rxq-isolate); a
     * queue pinned to a core without PMD, and every other queue, goes to the PMDs not isolated by
     * pmd-rxq-assign (ports by name, then for cycles and group the busiest first): roundrobin in turn, cycles
     * in turn up and down, group to the least loaded; with none, it is not polled, unless its port is one OVS
     * polls from its main thread ({@link #mainThreadPort}). What changed for a queue is logged as OVS logs it.
     */
    private void applySnapshots() {
        long g = ++gen;
        List<Port> open = new ArrayList<>();
        for (Port p : ports.values()) { // sorted by name
            if (p.netdev != null) {
                try {
                    p.nRxq = Math.max(0, p.netdev.nRxq());
                    p.nTxq = Math.max(0, Math.min(64, p.netdev.nTxq()));
                } catch (RuntimeException e) {
                    LOG.log(Level.SEVERE, p.name + ": cannot read queue layout", e);
                    p.nRxq = 0;
                    p.nTxq = 0;
                }
                open.add(p);
            }
        }
        int np = pmds.size();
        boolean logAll = logAllRxqs;
        logAllRxqs = false;
        if (np == 0) {
            rxqDecisions = Map.of();
            isolatedCores = Set.of();
            assigned = null;
            return;
        }
        Plan plan = plan(open, rxqAssign, logAll, false);
        List<List<Object[]>> rxqsOf = plan.rxqsOf;
        boolean[] isolated = plan.isolated;
        rxqDecisions = plan.decisions;
        assigned = plan;
        Set<Integer> iso = new TreeSet<>();
        for (int i = 0; i < np; i++) {
            if (isolated[i]) {
                iso.add(pmds.get(i).core);
            }
            rxqsOf.get(i).sort((a, b) -> {
                int c = ((Port) a[0]).name.compareTo(((Port) b[0]).name);
                return c != 0 ? c : Integer.compare((Integer) a[1], (Integer) b[1]);
            });
        }
        isolatedCores = Collections.unmodifiableSet(iso);
        for (int i = 0; i < np; i++) {
            Map<Port, TxPort> tx = new IdentityHashMap<>();
            List<TxPort> txList = new ArrayList<>();
            for (Port p : open) {
                if (p.nTxq > 0) {
                    TxPort t = new TxPort(p, p.netdev, i % p.nTxq, np > p.nTxq);
                    tx.put(p, t);
                    txList.add(t);
                }
            }
            Map<Bridge, BridgeView> views = new IdentityHashMap<>();
            int maxPorts = 0;
            for (Bridge b : bridges.values()) {
                int max = b.ports.isEmpty() ? 0 : b.ports.lastKey();
                TxPort[] byOf = new TxPort[max + 1];
                List<TxPort> all = new ArrayList<>();
                List<TxPort> every = new ArrayList<>();
                for (Port p : b.ports.values()) {
                    TxPort t = tx.get(p);
                    if (t != null && (p.config & (Dpif.PC_PORT_DOWN | Dpif.PC_NO_FWD)) == 0) {
                        byOf[p.ofport] = t;
                        every.add(t);
                        if ((p.config & Dpif.PC_NO_FLOOD) == 0) {
                            all.add(t);
                        }
                    }
                }
                maxPorts = Math.max(maxPorts, every.size());
                views.put(b, new BridgeView(b, byOf, all.toArray(new TxPort[0]), every.toArray(new TxPort[0])));
            }
            List<RxqRef> rx = new ArrayList<>();
            for (Object[] pq : rxqsOf.get(i)) {
                Port p = (Port) pq[0];
                int q = (Integer) pq[1];
                rx.add(new RxqRef(p, p.netdev, q, views.get(p.bridge),
                        (p.config & (Dpif.PC_PORT_DOWN | Dpif.PC_NO_RECV)) != 0, p.loads(p.nRxq)[q]));
            }
            pmds.get(i).publish(new PmdSnapshot(g, i, rx.toArray(new RxqRef[0]), txList.toArray(new TxPort[0]),
                    views.values().toArray(new BridgeView[0]), maxPorts));
        }
        awaitAcks(g);
    }

    /** An assignment of the rx queues to the PMDs ({@link #plan}), by PMD index. */
    private static final class Plan {
        /** Per PMD: its queues, {port, qid}. */
        final List<List<Object[]>> rxqsOf;
        final boolean[] isolated;
        /** Per PMD: the measured time of its queues over the last minute (0 with roundrobin). */
        final long[] procOf;
        final Map<String, String> decisions;

        Plan(List<List<Object[]>> rxqsOf, boolean[] isolated, long[] procOf, Map<String, String> decisions) {
            this.rxqsOf = rxqsOf;
            this.isolated = isolated;
            this.procOf = procOf;
            this.decisions = decisions;
        }
    }

    /**
     * OVS's sched_numa_list_schedule: assigns the queues of {@code open} to the PMDs with {@code algo} (see
     * {@link #applySnapshots}) and logs what changed, or with {@code dry} (the auto load balance's estimate)
     * logs nothing.
     */
    private Plan plan(List<Port> open, String algo, boolean logAll, boolean dry) {
        int np = pmds.size();
        List<List<Object[]>> rxqsOf = new ArrayList<>();
        for (int i = 0; i < np; i++) {
            rxqsOf.add(new ArrayList<>());
        }
        Map<String, String> decisions = new HashMap<>();
        boolean[] isolated = new boolean[np];
        long[] procOf = new long[np]; // per PMD: the measured time of the queues given it so far
        int[] nRxqOf = new int[np];
        List<Object[]> others = new ArrayList<>();
        for (Port p : open) {
            for (int q = 0; q < p.nRxq; q++) {
                Integer pin = mainThreadPort(p) ? null : p.rxqPins.get(q);
                if (pin == null) {
                    others.add(new Object[] {p, q, null, cycles(p, q, algo)});
                    continue;
                }
                int idx = pmdIndex(pin);
                if (idx < 0) {
                    others.add(new Object[] {p, q, String.format(Locale.ROOT, "Core %2d cannot be pinned with port '%s'"
                            + " rx queue %d. Use pmd-cpu-mask to enable a pmd on core %d. An alternative core will"
                            + " be assigned.", pin, p.name, q, pin), cycles(p, q, algo)});
                    continue;
                }
                isolated[idx] |= pmdIso;
                rxqsOf.get(idx).add(new Object[] {p, q});
                long cyc = cycles(p, q, algo);
                procOf[idx] += cyc;
                nRxqOf[idx]++;
                String pinned = String.format(Locale.ROOT, "Core %2d on numa node 0 is pinned with port '%s' rx queue %d",
                        pin, p.name, q);
                if (changed(decisions, p, q, logAll, pinned) && !dry) {
                    LOG.info(pinned + cyclesLog(algo, cyc));
                }
            }
        }
        if (!algo.equals("roundrobin")) { // the busiest queues first (stable: ties stay ports by name)
            // by the loads read once above: the PMDs may end an interval meanwhile, and a sort's keys must not move
            others.sort((a, b) -> Long.compare((Long) b[3], (Long) a[3]));
        }
        RoundRobin rr = new RoundRobin(np, algo.equals("cycles"));
        boolean started = false;
        for (Object[] pq : others) {
            Port p = (Port) pq[0];
            int q = (Integer) pq[1];
            String cannotPin = (String) pq[2];
            long cyc = (Long) pq[3];
            int idx = algo.equals("group") ? lowestPmd(isolated, cyc > 0 ? procOf : null, nRxqOf) : rr.next(isolated);
            if (idx < 0 && mainThreadPort(p)) {
                idx = rr.next(null); // OVS's main thread polls it whatever the PMDs' isolation: pvio's PMDs must
            }
            String line = idx >= 0
                    ? String.format(Locale.ROOT, "Core %2d on numa node 0 assigned port '%s' rx queue %d",
                            pmds.get(idx).core, p.name, q)
                    : String.format(Locale.ROOT, "No non-isolated pmd on any numa available for port '%s' rx queue %d",
                            p.name, q);
            if (idx >= 0) {
                rxqsOf.get(idx).add(new Object[] {p, q});
                procOf[idx] += cyc;
                nRxqOf[idx]++;
            }
            if (changed(decisions, p, q, logAll, cannotPin + "\n" + line) && !dry) {
                if (cannotPin != null) {
                    LOG.warning(cannotPin);
                }
                if (!started) {
                    LOG.info("Performing pmd to rx queue assignment using " + algo + " algorithm.");
                    started = true;
                }
                if (idx >= 0) {
                    LOG.info(line + cyclesLog(algo, cyc) + ".");
                } else {
                    LOG.warning(line + cyclesLog(algo, cyc) + ". This rx queue will not be polled.");
                }
            }
        }
        return new Plan(rxqsOf, isolated, procOf, decisions);
    }

    /** The index in {@link #pmds} of the PMD on {@code core}, or -1. */
    private int pmdIndex(int core) {
        for (int i = 0; i < pmds.size(); i++) {
            if (pmds.get(i).core == core) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Records {@code text}, what is logged about rx queue {@code q} of {@code p}, in {@code decisions}; true
     * when it differs from the last assignment's (then the caller logs it) or {@code logAll}.
     */
    private boolean changed(Map<String, String> decisions, Port p, int q, boolean logAll, String text) {
        String key = p.name + "\u0000" + q;
        decisions.put(key, text);
        return logAll || !text.equals(rxqDecisions.get(key));
    }

    /** Adds and removes PMD threads to match {@code cores}. Call while PMDs are paused (or none runs). */
    private void setPmds(List<Integer> cores) {
        List<PmdThread> keep = new ArrayList<>();
        for (PmdThread t : pmds) {
            if (cores.contains(t.core)) {
                keep.add(t);
            } else {
                t.stopAndJoin();
                statsBaseline.remove(t.core);
                LOG.info(() -> "PMD thread on numa_id: 0, core id: " + String.format("%2d", t.core) + " destroyed.");
            }
        }
        int created = 0;
        for (int core : cores) {
            boolean have = keep.stream().anyMatch(t -> t.core == core);
            if (!have) {
                PmdThread t = new PmdThread(this, core, PmdSnapshot.paused(gen, 0));
                t.start();
                keep.add(t);
                created++;
                LOG.info(() -> "PMD thread on numa_id: 0, core id: " + String.format("%2d", core) + " created.");
            }
        }
        keep.sort((a, b) -> Integer.compare(a.core, b.core));
        pmds.clear();
        pmds.addAll(keep);
        pmdCount = pmds.size();
        if (created > 0) {
            int c = created;
            LOG.info(() -> "Created " + c + " pmd threads on numa node 0");
        }
        if (!cores.isEmpty()) {
            LOG.info(() -> "There are " + pmds.size() + " pmd threads on numa node 0");
        }
    }

    private List<Integer> currentCores() {
        List<Integer> l = new ArrayList<>();
        for (PmdThread t : pmds) {
            l.add(t.core);
        }
        return l;
    }

    /** Opens {@code p} with the current class of its type; records the error or the wait. Holds the lock. */
    private boolean openPort(Port p) {
        NetdevClass c = classFor(p.type);
        if (c == null) {
            return false;
        }
        try {
            p.netdev = c.open(p.name, p.options, p);
            p.cls = c;
            p.error = null;
            LOG.info(() -> p.name + ": opened with netdev class '" + p.type + "'");
            applyBridgeAddress(p);
            return true;
        } catch (NetdevException e) {
            p.error = e.getMessage();
        } catch (RuntimeException e) {
            p.error = e.toString();
            LOG.log(Level.SEVERE, p.name + ": netdev class '" + p.type + "' failed", e);
        }
        LOG.warning(() -> "could not open network device " + p.name + " (" + p.error + ")");
        return false;
    }

    /** Closes the port's netdev. Call only while the PMDs are paused. */
    private void closeNetdev(Port p) {
        Netdev nd = p.netdev;
        p.netdev = null;
        p.cls = null;
        p.nRxq = 0;
        p.nTxq = 0;
        if (nd != null) {
            try {
                nd.close();
            } catch (RuntimeException e) {
                LOG.log(Level.SEVERE, p.name + ": close failed", e);
            }
        }
    }

    /**
     * Keeps a type's classes in OSGi order: highest {@code service.ranking} first, then lowest {@code
     * service.id}. New ports of the type are opened by the first; ports already open keep their class until it
     * goes away (then they reopen on the next best).
     */
    private void addRanked(List<NetdevClass> l, NetdevClass cls, Map<String, Object> props) {
        Object r = props.get("service.ranking");
        Object id = props.get("service.id");
        long[] key = {r instanceof Integer i ? i : 0, id instanceof Long v ? v : Long.MAX_VALUE};
        rankOf.put(cls, key);
        int at = 0;
        while (at < l.size()) {
            long[] o = rankOf.getOrDefault(l.get(at), new long[] {0, Long.MAX_VALUE});
            if (key[0] > o[0] || (key[0] == o[0] && key[1] < o[1])) {
                break;
            }
            at++;
        }
        l.add(at, cls);
    }

    private NetdevClass classFor(String type) {
        List<NetdevClass> l = classes.get(type);
        return l == null || l.isEmpty() ? null : l.get(0);
    }

    /**
     * Removes the flows whose idle or hard timeout passed, as OVS's rule_expire after each revalidator round
     * (its default: every 500 ms), recording the removal of those with send_flow_rem.
     */
    private void expireFlows() {
        long now = System.nanoTime();
        synchronized (lock) {
            for (Bridge b : bridges.values()) {
                failOpenRun(b, now);
            }
            for (Bridge b : bridges.values()) {
                if (!b.flows.expiring()) {
                    continue;
                }
                List<Flow> kept = new ArrayList<>();
                List<Flow> gone = new ArrayList<>();
                List<Integer> reasons = new ArrayList<>();
                for (Flow f : b.flows.flows()) {
                    int reason = f.expiry(now);
                    if (reason < 0) {
                        kept.add(f);
                    } else {
                        gone.add(f);
                        reasons.add(reason);
                    }
                }
                if (gone.isEmpty()) {
                    continue;
                }
                b.flows = new FlowTable(kept.toArray(new Flow[0]));
                for (int i = 0; i < gone.size(); i++) {
                    Flow f = gone.get(i);
                    int reason = reasons.get(i);
                    LOG.fine(() -> "bridge " + b.name + ": flow expired (" + (reason == FlowRemoval.HARD_TIMEOUT
                            ? "hard" : "idle") + " timeout): " + f);
                    removed(b, f, reason, now);
                }
            }
        }
    }

    /**
     * OVS's fail_open_run and fail_open_maybe_recover for a standalone bridge with controllers: the time since
     * every controller was last connected (or set) is connmgr_failure_duration; past three probe intervals the
     * bridge fails open (its flows flushed, every packet to NORMAL), and the first controller connected ends
     * it. Lock held.
     */
    private void failOpenRun(Bridge b, long nanoNow) {
        if (b.failSecure || b.controllers.isEmpty()) {
            return;
        }
        long ms = System.currentTimeMillis();
        long disconnMs = Long.MAX_VALUE;
        for (String t : b.controllers) {
            io.pvio.dpif.ControllerStatus st = b.controllerStatus.get(t);
            long since = Math.max(b.controllerSetAt.getOrDefault(t, ms), st == null ? -1 : st.lastDisconnectMillis());
            disconnMs = Math.min(disconnMs, st != null && st.connected() ? 0 : ms - since);
        }
        int secs = (int) Math.min(Integer.MAX_VALUE, disconnMs / 1000);
        if (b.failOpen) {
            if (secs == 0) {
                recoverFailOpen(b);
            } else if (secs > b.failOpenLogged + 60) {
                FAIL_OPEN_LOG.info("Still in fail-open mode after " + secs + " seconds disconnected from controller");
                b.failOpenLogged = secs;
            }
            return;
        }
        if (secs > 0 && secs >= 3 * b.probeSeconds) {
            FAIL_OPEN_LOG.warning("Could not connect to controller (or switch failed controller's post-connection"
                    + " admission control policy) for " + secs + " seconds, failing open");
            b.failOpenLogged = secs;
            for (Flow f : b.flows.flows()) { // ofproto_flush_flows
                removed(b, f, FlowRemoval.DELETE, nanoNow);
            }
            b.flows = new FlowTable();
            b.failOpenSince = nanoNow;
            b.failOpenPackets.reset();
            b.failOpenBytes.reset();
            b.failOpen = true;
        }
    }

    /** fail_open_recover: the hidden NORMAL flow goes; what was added meanwhile stays. Lock held. */
    private void recoverFailOpen(Bridge b) {
        FAIL_OPEN_LOG.warning("No longer in fail-open mode");
        b.failOpen = false;
    }

    private static final Logger FAIL_OPEN_LOG = Logger.getLogger("fail_open");
    /** OVS's FAIL_OPEN_PRIORITY: above every OpenFlow priority, so hidden. */
    static final int FAIL_OPEN_PRIORITY = 0xf0f0f0;

    /** Expiry sweeps' period, as OVS's revalidators' (other_config:max-revalidator, 500 ms). */
    static final long EXPIRY_MS = 500;
    /** Flow removals kept for {@link #flowRemovals}. */
    static final int REMOVALS_KEPT = 1024;
    /** The latest removals of flows with send_flow_rem, oldest first (guarded by {@code lock}). */
    private final java.util.ArrayDeque<FlowRemoval> removals = new java.util.ArrayDeque<>();
    private long removalSeq;

    /** Records {@code f}'s removal from {@code b} if it has send_flow_rem (lock held). */
    private void removed(Bridge b, Flow f, int reason, long now) {
        if (!f.sendFlowRem()) {
            return;
        }
        if (removals.size() == REMOVALS_KEPT) {
            removals.removeFirst();
        }
        removals.addLast(new FlowRemoval(++removalSeq, b.name, FlowEntries.toEntry(f, now), reason));
    }

    @Override
    public List<FlowRemoval> flowRemovals(String bridgeName, long afterSeq) throws DpifException {
        synchronized (lock) {
            bridge(bridgeName);
            List<FlowRemoval> out = new ArrayList<>();
            for (FlowRemoval r : removals) {
                if (r.seq() > afterSeq && r.bridge().equals(bridgeName)) {
                    out.add(r);
                }
            }
            return out;
        }
    }

    @Override
    public void setControllers(String bridgeName, List<String> targets, boolean secure) throws DpifException {
        setControllers(bridgeName, targets, secure, 5);
    }

    @Override
    public void setControllers(String bridgeName, List<String> targets, boolean secure, int probeSeconds)
            throws DpifException {
        synchronized (lock) {
            Bridge b = bridge(bridgeName);
            b.probeSeconds = probeSeconds <= 0 ? 0 : Math.max(5, probeSeconds);
            if (targets.equals(b.controllersAsked) && secure == b.failSecure) {
                return; // unchanged (the control plane sets them every round)
            }
            b.controllersAsked = List.copyOf(targets);
            java.util.LinkedHashSet<String> ok = new java.util.LinkedHashSet<>();
            for (String t : targets) {
                if ((t.startsWith("tcp:") || t.startsWith("unix:")) && t.indexOf(':') < t.length() - 1) {
                    ok.add(t);
                } else { // OVS: "%s: unsupported controller target" (ssl:, punix:, ptcp: are not here)
                    LOG.warning(() -> "bridge " + bridgeName + ": " + t + ": unsupported controller target (pvio "
                            + "connects to tcp:IP[:PORT] and unix:PATH)");
                }
            }
            List<String> want = List.copyOf(ok);
            boolean had = !b.controllers.isEmpty();
            boolean has = !want.isEmpty();
            if (want.equals(b.controllers) && secure == b.failSecure) {
                return;
            }
            boolean flush = had != has || (!has && secure != b.failSecure);
            b.controllers = want;
            b.controllerStatus.keySet().retainAll(want);
            b.controllerSetAt.keySet().retainAll(want);
            long ms = System.currentTimeMillis();
            for (String t : want) {
                b.controllerSetAt.putIfAbsent(t, ms);
            }
            if (b.failOpen && (secure || want.isEmpty())) {
                recoverFailOpen(b); // fail_open_destroy
            }
            b.failSecure = secure;
            LOG.info(() -> "bridge " + bridgeName + ": controllers " + want + ", fail mode "
                    + (secure ? "secure" : "standalone"));
            if (flush) { // connmgr_set_controllers / connmgr_set_fail_mode: ofproto_flush_flows
                for (Flow f : b.flows.flows()) {
                    removed(b, f, FlowRemoval.DELETE, System.nanoTime());
                }
                b.flows = Bridge.flushed(has, secure);
            }
        }
    }

    @Override
    public void setControllerStatus(String bridgeName, String target, io.pvio.dpif.ControllerStatus status) {
        Bridge b;
        synchronized (lock) {
            b = bridges.get(bridgeName);
            if (b == null || (status != null && !b.controllers.contains(target))) {
                return; // a bridge or controller gone meanwhile
            }
        }
        if (status == null) {
            b.controllerStatus.remove(target);
        } else {
            b.controllerStatus.put(target, status);
        }
    }

    @Override
    public Map<String, io.pvio.dpif.ControllerStatus> controllerStatus(String bridgeName) {
        Bridge b;
        synchronized (lock) {
            b = bridges.get(bridgeName);
        }
        return b == null ? Map.of() : Map.copyOf(b.controllerStatus);
    }

    @Override
    public void setPacketInOnMiss(String bridgeName, boolean want) throws DpifException {
        synchronized (lock) {
            bridge(bridgeName).packetInOnMiss = want;
        }
    }

    @Override
    public List<String> controllers(String bridgeName) throws DpifException {
        synchronized (lock) {
            return bridge(bridgeName).controllers;
        }
    }

    @Override
    public io.pvio.dpif.PacketIn takePacketIn(String bridgeName, long timeoutMillis)
            throws DpifException, InterruptedException {
        Bridge b;
        synchronized (lock) {
            b = bridge(bridgeName);
        }
        return b.packetIns.poll(timeoutMillis, TimeUnit.MILLISECONDS);
    }

    /** Packet-ins of {@code bridge} dropped because nobody took them in time (a full queue). */
    public long packetInDrops(String bridgeName) throws DpifException {
        synchronized (lock) {
            return bridge(bridgeName).packetInDrops.sum();
        }
    }

    @Override
    public long flowRemovalSeq() {
        synchronized (lock) {
            return removalSeq;
        }
    }

    private void ageMacs() {
        int now = MacTable.nowSeconds(System.nanoTime());
        synchronized (lock) {
            for (Bridge b : bridges.values()) {
                b.macs.age(now);
            }
        }
    }

    // ------------------------------------------------------------------ appctl

    /** dpif-netdev/pmd-stats-show [-pmd CORE] [DP]. */
    public String pmdStatsShow(Integer onlyCore) {
        StringBuilder sb = new StringBuilder();
        synchronized (lock) {
            for (PmdThread t : pmds) {
                if (onlyCore != null && onlyCore != t.core) {
                    continue;
                }
                long[] v = statsOf(t);
                long pk = v[PmdThread.S_RECEIVED];
                long idle = v[PmdThread.S_IDLE_NS];
                long proc = v[PmdThread.S_PROC_NS];
                long total = idle + proc;
                long batches = v[PmdThread.S_OUT_BATCHES];
                sb.append("pmd thread numa_id 0 core_id ").append(t.core).append(":\n");
                line(sb, "packets received: %d", pk);
                line(sb, "packet recirculations: 0");
                line(sb, "avg. datapath passes per packet: %.2f", pk > 0 ? 1.0 : 0.0);
                line(sb, "phwol hits: 0");
                line(sb, "mfex opt hits: 0");
                line(sb, "simple match hits: 0");
                line(sb, "emc hits: 0");
                line(sb, "smc hits: 0");
                long classified = v[PmdThread.S_HITS] + v[PmdThread.S_MISSES];
                line(sb, "megaflow hits: %d", classified);
                line(sb, "avg. subtable lookups per megaflow hit: %.2f",
                        classified > 0 ? (double) v[PmdThread.S_LOOKUPS] / classified : 0.0);
                line(sb, "miss with success upcall: 0");
                line(sb, "miss with failed upcall: 0");
                line(sb, "avg. packets per output batch: %.2f", batches > 0 ? (double) v[PmdThread.S_OUT_PKTS] / batches : 0.0);
                line(sb, "idle cycles: %d (%.2f%%)", idle, total > 0 ? 100.0 * idle / total : 0.0);
                line(sb, "processing cycles: %d (%.2f%%)", proc, total > 0 ? 100.0 * proc / total : 0.0);
                if (perfMetrics || v[PmdThread.S_FREE_NS] > 0) {
                    long free = v[PmdThread.S_FREE_NS];
                    line(sb, "free_pkts cycles: %d (%.2f%% of processing)", free, proc > 0 ? 100.0 * free / proc : 0.0);
                    long idleRxq = v[PmdThread.S_IDLE_RXQ_NS];
                    line(sb, "idle rxq poll cycles: %d (%.2f%% of processing)", idleRxq,
                            proc > 0 ? 100.0 * idleRxq / proc : 0.0);
                }
                long seg = v[PmdThread.S_SW_SEGMENTED];
                long csum = v[PmdThread.S_SW_CSUM];
                long olDrops = v[PmdThread.S_SW_OFFLOAD_DROPS];
                if (seg > 0 || csum > 0 || olDrops > 0) { // only where offloads were done in software
                    line(sb, "software segmentation: %d packets into %d segments", seg, v[PmdThread.S_SW_SEGMENTS]);
                    line(sb, "software checksums: %d", csum);
                    line(sb, "offload failures (dropped): %d", olDrops);
                }
                if (pk > 0) {
                    line(sb, "avg cycles per packet: %.2f (%d/%d)", (double) total / pk, total, pk);
                    line(sb, "avg processing cycles per packet: %.2f (%d/%d)", (double) proc / pk, proc, pk);
                }
            }
        }
        return sb.toString();
    }

    /**
     * ovs-appctl dpif/show, as ofproto-dpif prints it: the datapath's hits and misses, then each bridge and
     * its ports by name with "OFPORT/DPPORT: (TYPE[: CONFIG])". pvio's datapath addresses a port by its
     * bridge's OpenFlow number, so DPPORT is that number, or "none" while the port is not open (waiting for
     * its class, or failed); CONFIG is the Interface's options. Every packet is classified in the datapath
     * (no upcalls), so "missed" stays 0 and "hit" counts what pmd-stats-show calls megaflow hits.
     */
    public String dpifShow() {
        StringBuilder sb = new StringBuilder();
        synchronized (lock) {
            long hit = 0;
            for (PmdThread t : pmds) {
                long[] v = statsOf(t);
                hit += v[PmdThread.S_HITS] + v[PmdThread.S_MISSES];
            }
            sb.append("netdev@ovs-netdev: hit:").append(hit).append(" missed:0\n");
            for (Bridge b : bridges.values()) {
                sb.append("  ").append(b.name).append(":\n");
                TreeMap<String, Port> byName = new TreeMap<>();
                b.ports.values().forEach(p -> byName.put(p.name, p));
                for (Port p : byName.values()) {
                    String ofp = Integer.toString(p.ofport);
                    sb.append("    ").append(p.name).append(' ').append(ofp).append('/')
                            .append(p.netdev != null ? ofp : "none").append(": (")
                            .append(p.type.equals("internal") ? "tap" : p.type); // the netdev datapath's name for it
                    if (p.options != null && !p.options.isEmpty()) {
                        StringBuilder cfg = new StringBuilder();
                        new TreeMap<>(p.options).forEach((k, v) -> cfg.append(cfg.length() == 0 ? "" : ", ")
                                .append(k).append('=').append(v));
                        sb.append(": ").append(cfg);
                    }
                    sb.append(")\n");
                }
            }
        }
        return sb.toString();
    }

    private static void line(StringBuilder sb, String fmt, Object... args) {
        sb.append("  ").append(String.format(Locale.ROOT, fmt, args)).append('\n');
    }

    private record Baseline(long[] stats, long[] perf, long atNs) {
    }

    private long[] statsOf(PmdThread t) {
        Baseline base = statsBaseline.get(t.core);
        long[] v = new long[PmdThread.N_STATS];
        for (int i = 0; i < v.length; i++) {
            v[i] = t.stat(i) - (base == null ? 0 : base.stats[i]);
        }
        return v;
    }

    /** The PMD's histograms and totals since the last clear (a bin read before the clear's copy counts 0). */
    private long[] perfOf(PmdThread t) {
        Baseline base = statsBaseline.get(t.core);
        long[] v = t.perf.read();
        for (int i = 0; base != null && i < v.length; i++) {
            v[i] = Math.max(0, v[i] - base.perf[i]);
        }
        return v;
    }

    /** dpif-netdev/pmd-stats-clear [-pmd CORE] [DP]: every PMD's statistics, or only core {@code onlyCore}'s. */
    public void pmdStatsClear(Integer onlyCore) {
        synchronized (lock) {
            for (PmdThread t : pmds) {
                if (onlyCore != null && onlyCore != t.core) {
                    continue;
                }
                // the time first: counters published meanwhile are subtracted, never counted twice
                long at = t.stat(PmdThread.S_ACCOUNTED_TO);
                long[] b = new long[PmdThread.N_STATS];
                for (int i = 0; i < b.length; i++) {
                    b[i] = t.stat(i);
                }
                statsBaseline.put(t.core, new Baseline(b, t.perf.read(), at));
            }
        }
    }

    /**
     * OVS's PMD auto load balance (dpif_netdev_run): once per pmd-auto-lb-rebal-interval, if a PMD not
     * isolated has been busy at least pmd-auto-lb-load-threshold % of each of its last 12 intervals (a minute),
     * and a new assignment with pmd-rxq-assign (cycles or group; not roundrobin) would lower the variance of the
     * PMDs' loads by pmd-auto-lb-improvement-threshold % or more, the queues are assigned again, as by
     * pmd-rxq-rebalance. On the control thread.
     */
    private void autoLoadBalance() {
        synchronized (lock) {
            AutoLb alb = autoLb;
            if (!active || !alb.enabled) {
                return;
            }
            long now = System.nanoTime();
            if (autoLbTimer == 0) {
                autoLbTimer = now;
                return;
            }
            if (now - autoLbTimer <= alb.intervalMinutes * AutoLb.MINUTE_NS) {
                return;
            }
            autoLbTimer = now;
            boolean overloaded = false;
            for (PmdThread t : pmds) {
                overloaded |= !isolatedCores.contains(t.core) && t.overloadedIntervals() >= RxqLoad.INTERVALS;
            }
            if (overloaded && dryRunNeeded() && dryRun(alb)) {
                LOG.info("PMD auto load balance dry run. Requesting datapath reconfigure.");
                logAllRxqs = true;
                reconfigure(null);
            }
        }
    }

    /** OVS's pmd_rebalance_dry_run_needed: not roundrobin, two PMDs not isolated, one with two queues or more. */
    private boolean dryRunNeeded() {
        Plan cur = assigned;
        if (rxqAssign.equals("roundrobin")) {
            LOG.fine("PMD auto load balance nothing to do, pmd-rxq-assign=roundrobin assignment type configured.");
            return false;
        }
        int free = 0;
        boolean multi = false;
        for (int i = 0; cur != null && i < cur.isolated.length; i++) {
            if (!cur.isolated[i]) {
                free++;
                multi |= cur.rxqsOf.get(i).size() > 1;
            }
        }
        if (free < 2 || !multi) {
            LOG.fine("PMD auto load balance nothing to do, not enough non-isolated PMDs or RxQs.");
            return false;
        }
        return true;
    }

    /**
     * OVS's pmd_rebalance_dry_run: the variance of the PMDs' busy percentages (not isolated ones) with the
     * queues where they are against with a new assignment, both from the queues' last minute; true when the
     * improvement reaches the threshold.
     */
    private boolean dryRun(AutoLb alb) {
        Plan cur = assigned;
        List<Port> open = new ArrayList<>();
        for (Port p : ports.values()) {
            if (p.netdev != null) {
                open.add(p);
            }
        }
        Plan est = plan(open, rxqAssign, false, true);
        long[] curProc = new long[cur.rxqsOf.size()];
        for (int i = 0; i < curProc.length; i++) {
            for (Object[] pq : cur.rxqsOf.get(i)) {
                curProc[i] += cycles((Port) pq[0], (Integer) pq[1], rxqAssign);
            }
        }
        long curVar = variance(busyPercent(curProc, cur.isolated));
        long estVar = variance(busyPercent(est.procOf, est.isolated));
        long improvement = estVar < curVar ? (curVar - estVar) * 100 / curVar : 0;
        LOG.fine(() -> "Numa node 0. Current variance " + curVar + " Estimated variance " + estVar
                + ". Variance improvement " + improvement + "%.");
        boolean met = improvement >= alb.improvementThreshold;
        LOG.fine(() -> "PMD load variance improvement threshold " + alb.improvementThreshold + "% is "
                + (met ? "met" : "not met") + ".");
        return met;
    }

    /** OVS's sched_numa_variance's percentages: each PMD's time in its queues over its last minute. */
    private long[] busyPercent(long[] proc, boolean[] isolated) {
        long[] pct = new long[proc.length];
        int n = 0;
        for (int i = 0; i < proc.length && i < pmds.size(); i++) {
            if (!isolated[i]) {
                long total = pmds.get(i).intervalNs() * RxqLoad.INTERVALS;
                pct[n++] = total > 0 ? proc[i] * 100 / total : 0;
            }
        }
        return Arrays.copyOf(pct, n);
    }

    /** OVS's variance: the mean squared difference from the mean, in integers (0 for none, or all 0). */
    static long variance(long[] a) {
        long sum = 0;
        for (long v : a) {
            sum += v;
        }
        if (a.length == 0 || sum == 0) {
            return 0;
        }
        long mean = sum / a.length;
        long sq = 0;
        for (long v : a) {
            sq += (v - mean) * (v - mean);
        }
        return sq / a.length;
    }

    /** The PMDs' overload threshold in percent while pmd-auto-lb is on, else -1. */
    int autoLbLoadThreshold() {
        return autoLbLoadThreshold;
    }

    /**
     * dpif-netdev/pmd-rxq-rebalance: assigns the rx queues again now (every PMD drains and adopts its new
     * queues, as in any reconfiguration) and logs every queue's assignment, as OVS's rxq_scheduling.
     */
    public void pmdRxqRebalance() {
        synchronized (lock) {
            if (active) {
                logAllRxqs = true;
                reconfigure(null);
            }
        }
    }

    /** OVS's HISTORY_LEN: the longest -it and -ms histories. */
    public static final int PERF_HISTORY_LEN = PmdPerf.HISTORY_LEN;

    /**
     * dpif-netdev/pmd-perf-show [-nh] [-it N] [-ms N] [-pmd CORE] [DP], as OVS 3.1's pmd_info_show_perf: per
     * PMD the wall-clock time, the time measured (since the PMD started, or since the start of the iteration
     * it was in at the last pmd-stats-clear: where the counters subtracted stood), the
     * overall statistics and, with pmd-perf-metrics=true, the histograms (unless -nh) and the last
     * {@code iterHistory} iterations and {@code msHistory} milliseconds. Cycles are nanoseconds.
     */
    public String pmdPerfShow(Integer onlyCore, boolean histograms, int iterHistory, int msHistory) {
        StringBuilder sb = new StringBuilder();
        synchronized (lock) {
            for (PmdThread t : pmds) {
                if (onlyCore != null && onlyCore != t.core) {
                    continue;
                }
                // the counters before the clock: the time they cover then ends before now
                long[] v = statsOf(t);
                long now = System.nanoTime();
                Baseline base = statsBaseline.get(t.core);
                double duration = (now - (base != null ? base.atNs : t.startNs)) / 1e9;
                sb.append('\n');
                sb.append("Time: ").append(PERF_TIME.format(Instant.now())).append('\n');
                sb.append(String.format(Locale.ROOT, "Measurement duration: %.3f s\n", duration));
                sb.append('\n');
                sb.append("pmd thread numa_id 0 core_id ").append(t.core).append(":\n");
                sb.append('\n');
                formatOverallStats(sb, v, duration);
                if (perfMetrics && histograms) {
                    sb.append('\n');
                    PmdPerf.formatHistograms(sb, perfOf(t));
                }
                if (perfMetrics && iterHistory > 0) {
                    sb.append('\n');
                    t.perf.formatIterationHistory(sb, Math.min(iterHistory, PERF_HISTORY_LEN),
                            base != null ? base.stats[PmdThread.S_ITERATIONS] : 0);
                }
                if (perfMetrics && msHistory > 0) {
                    sb.append('\n');
                    t.perf.formatMsHistory(sb, Math.min(msHistory, PERF_HISTORY_LEN),
                            base != null ? Math.floorDiv(base.atNs, 1_000_000L) : Long.MIN_VALUE);
                }
            }
        }
        return sb.toString();
    }

    /** OVS's "%H:%M:%S.###" in UTC. */
    private static final DateTimeFormatter PERF_TIME =
            DateTimeFormatter.ofPattern("HH:mm:ss.SSS", Locale.ROOT).withZone(ZoneOffset.UTC);

    /**
     * OVS's pmd_perf_format_overall_stats with pvio's counters: a 1 GHz clock (nanoseconds); no EMC, SMC,
     * simple match, MFEX or hardware offload (0 hits), no recirculation, no upcalls; every packet classified
     * counts as a megaflow hit, as in pmd-stats-show.
     */
    private static void formatOverallStats(StringBuilder sb, long[] v, double duration) {
        if (duration == 0) {
            return;
        }
        final double hz = 1e9;
        final double usPerCycle = 1e6 / hz;
        long idle = v[PmdThread.S_IDLE_NS];
        long busy = v[PmdThread.S_PROC_NS];
        long used = idle + busy;
        long iter = v[PmdThread.S_ITERATIONS];
        // counters read one by one while the PMD iterates: one read later may count an iteration more
        long idleIter = Math.min(v[PmdThread.S_IDLE_ITER], iter);
        long sleepIter = Math.min(v[PmdThread.S_SLEEP_ITER], iter);
        long sleepNs = v[PmdThread.S_SLEEP_NS];
        long rx = v[PmdThread.S_RECEIVED];
        long tx = v[PmdThread.S_OUT_PKTS];
        long txBatches = v[PmdThread.S_OUT_BATCHES];
        long megaflow = v[PmdThread.S_HITS] + v[PmdThread.S_MISSES];
        sb.append(String.format(Locale.ROOT,
                "  Iterations:         %12d  (%.2f us/it)\n"
                + "  - Used TSC cycles:  %12d  (%5.1f %% of total cycles)\n"
                + "  - idle iterations:  %12d  (%5.1f %% of used cycles)\n"
                + "  - busy iterations:  %12d  (%5.1f %% of used cycles)\n"
                + "  - sleep iterations: %12d  (%5.1f %% of iterations)\n"
                + "  Sleep time (us):    %12.0f  (%3.0f us/iteration avg.)\n",
                iter, iter > 0 ? (used + sleepNs) * usPerCycle / iter : 0.0,
                used, 100.0 * (used / duration) / hz,
                idleIter, used > 0 ? 100.0 * idle / used : 0.0,
                iter - idleIter, used > 0 ? 100.0 * busy / used : 0.0,
                sleepIter, iter > 0 ? 100.0 * sleepIter / iter : 0.0,
                sleepNs * usPerCycle, sleepIter > 0 ? sleepNs * usPerCycle / sleepIter : 0.0));
        if (rx > 0) {
            long passes = rx; // no recirculation
            sb.append(String.format(Locale.ROOT,
                    "  Rx packets:         %12d  (%.0f Kpps, %.0f cycles/pkt)\n"
                    + "  Datapath passes:    %12d  (%.2f passes/pkt)\n"
                    + "  - PHWOL hits:       %12d  (%5.1f %%)\n"
                    + "  - MFEX Opt hits:    %12d  (%5.1f %%)\n"
                    + "  - Simple Match hits:%12d  (%5.1f %%)\n"
                    + "  - EMC hits:         %12d  (%5.1f %%)\n"
                    + "  - SMC hits:         %12d  (%5.1f %%)\n"
                    + "  - Megaflow hits:    %12d  (%5.1f %%, %.2f subtbl lookups/hit)\n"
                    + "  - Upcalls:          %12d  (%5.1f %%, %.1f us/upcall)\n"
                    + "  - Lost upcalls:     %12d  (%5.1f %%)\n",
                    rx, rx / duration / 1000, (double) busy / rx,
                    passes, (double) passes / rx,
                    0, 0.0, 0, 0.0, 0, 0.0, 0, 0.0, 0, 0.0,
                    megaflow, 100.0 * megaflow / passes,
                    megaflow > 0 ? (double) v[PmdThread.S_LOOKUPS] / megaflow : 0.0,
                    0, 0.0, 0.0, 0, 0.0));
        } else {
            sb.append(String.format(Locale.ROOT, "  Rx packets:         %12d\n", 0));
        }
        if (tx > 0) {
            sb.append(String.format(Locale.ROOT,
                    "  Tx packets:         %12d  (%.0f Kpps)\n"
                    + "  Tx batches:         %12d  (%.2f pkts/batch)\n",
                    tx, tx / duration / 1000, txBatches, txBatches > 0 ? (double) tx / txBatches : 0.0));
        } else {
            sb.append(String.format(Locale.ROOT, "  Tx packets:         %12d\n\n", 0));
        }
    }

    /** dpif-netdev/pmd-rxq-show. */
    public String pmdRxqShow() {
        return pmdRxqShow(null, 0);
    }

    /** dpif-netdev/pmd-rxq-show -pmd CORE: only that PMD (nothing when it has none). */
    public String pmdRxqShow(Integer onlyCore) {
        return pmdRxqShow(onlyCore, 0);
    }

    /**
     * dpif-netdev/pmd-rxq-show [-pmd CORE] [-secs SECS], as OVS 3.1's pmd_info_show_rxq: a queue's usage is its
     * processing time ({@link RxqLoad}) in the last SECS seconds (0 or above 60: 60; else rounded up to whole
     * 5 s intervals) over the PMD's time in as many intervals of the last one's length; the overhead is the
     * PMD's busy time in them not spent in its queues. NOT AVAIL until the PMD's first interval has ended.
     */
    public String pmdRxqShow(Integer onlyCore, int secs) {
        long intervalMs = RxqLoad.INTERVAL_NS / 1_000_000L;
        long wantMs = secs * 1000L;
        int intervals = secs <= 0 || wantMs > intervalMs * RxqLoad.INTERVALS ? RxqLoad.INTERVALS
                : (int) ((wantMs + intervalMs - 1) / intervalMs);
        long window = intervals * intervalMs / 1000;
        StringBuilder sb = new StringBuilder();
        synchronized (lock) {
            boolean first = true;
            for (PmdThread t : pmds) {
                if (onlyCore != null && onlyCore != t.core) {
                    continue;
                }
                if (first) {
                    sb.append("Displaying last ").append(window).append(" seconds pmd usage %\n");
                    first = false;
                }
                sb.append("pmd thread numa_id 0 core_id ").append(t.core).append(":\n");
                sb.append("  isolated : ").append(isolatedCores.contains(t.core)).append('\n');
                long total = t.intervalNs() * intervals;
                long busy = Math.min(t.recentBusyNs(intervals), total);
                long rxqTotal = 0;
                RxqRef[] rxqs = t.published().rxqs;
                for (RxqRef r : rxqs) {
                    long proc = r.load.recent(intervals);
                    rxqTotal += proc;
                    sb.append(String.format(Locale.ROOT, "  port: %-16s  queue-id: %2d (enabled)   pmd usage: %s%n",
                            r.port.name, r.qid, total > 0 ? String.format(Locale.ROOT, "%2d %%", proc * 100 / total)
                                    : "NOT AVAIL"));
                }
                if (rxqs.length > 0) { // as OVS: no overhead line for a PMD without queues
                    sb.append("  overhead: ").append(total > 0 ? String.format(Locale.ROOT, "%2d %%",
                            Math.max(0, busy - rxqTotal) * 100 / total) : "NOT AVAIL").append('\n');
                }
            }
        }
        return sb.toString();
    }

    /** fdb/show BRIDGE. */
    public String fdbShow(String bridgeName) throws DpifException {
        Bridge b;
        synchronized (lock) {
            b = bridge(bridgeName);
        }
        StringBuilder sb = new StringBuilder(" port  VLAN  MAC                Age\n");
        List<MacTable.Entry> es = b.macs.entries(MacTable.nowSeconds(System.nanoTime()));
        es.sort(java.util.Comparator.comparingInt(MacTable.Entry::port).thenComparingInt(MacTable.Entry::vlan)
                .thenComparingLong(MacTable.Entry::mac));
        for (MacTable.Entry e : es) {
            sb.append(String.format(Locale.ROOT, "%5s  %4d  %s  %s%n", e.port() == FlowParser.LOCAL ? "LOCAL" : e.port(),
                    e.vlan(), FlowParser.formatMac(e.mac()), e.isStatic() ? "static"
                    : String.format(Locale.ROOT, "%3d", e.ageSeconds())));
        }
        return sb.toString();
    }

    /**
     * As OVS's mac_learning_set_idle_time and mac_learning_set_max_entries: the aging time within 15..3600 s,
     * the size within 10..1,000,000; 0 takes the default (300 s, 8192), as bridge_configure_mac_table.
     */
    @Override
    public void setMacTableConfig(String bridgeName, int agingSeconds, int maxEntries) throws DpifException {
        Bridge b;
        synchronized (lock) {
            b = bridge(bridgeName);
        }
        int aging = agingSeconds == 0 ? Bridge.MAC_AGING_SECONDS : Math.max(15, Math.min(3600, agingSeconds));
        int max = maxEntries == 0 ? Bridge.MAC_TABLE_SIZE : Math.max(10, Math.min(1_000_000, maxEntries));
        if (aging != b.macs.agingSeconds() || max != b.macs.maxEntries()) {
            b.macs.setConfig(max, aging, MacTable.nowSeconds(System.nanoTime()));
            LOG.fine(() -> bridgeName + ": MAC table of " + max + " entries, aging time " + aging + " s");
        }
    }

    /**
     * Interface ingress_policing_rate (kbit/s) and ingress_policing_burst (kbit), as OVS-DPDK's
     * netdev_dpdk_set_policing: a rate of 0 polices nothing; a burst of 0 is 8000 kbit. For every port type
     * (pvio's data path receives them all).
     */
    @Override
    public void setIngressPolicing(String port, long rateKbps, long burstKb) throws DpifException {
        if (rateKbps < 0 || burstKb < 0) {
            throw new DpifException(port + ": ingress policing rate and burst must not be negative");
        }
        synchronized (lock) {
            Port p = port0(port);
            long burst = rateKbps == 0 ? 0 : burstKb == 0 ? 8000 : burstKb;
            Policer now = p.policer;
            if (now == null ? rateKbps == 0 : now.is(rateKbps * 1000 / 8, burst * 1000 / 8)) {
                return;
            }
            p.policer = rateKbps == 0 ? null : new Policer(rateKbps * 1000 / 8, burst * 1000 / 8, System.nanoTime());
            LOG.fine(() -> port + ": ingress policing " + (rateKbps == 0 ? "off" : rateKbps + " kbps, burst " + burst
                    + " kb"));
            if (active) {
                reconfigure(null); // the PMDs take the new policer with their next snapshot
            }
        }
    }

    /**
     * The Port's QoS as OVS-DPDK's netdev_dpdk_set_qos takes it: none ({@code type} null or empty), or
     * {@code egress-policer} with {@code cir} (bytes per second) and {@code cbs} (bytes) above 0, the srTCM
     * policer of {@link #setIngressPolicing} on what is sent to the port. Other types are refused.
     */
    @Override
    public void setQos(String port, String type, Map<String, String> details) throws DpifException {
        long cir = 0;
        long cbs = 0;
        boolean none = type == null || type.isEmpty();
        if (!none) {
            if (!type.equals("egress-policer")) {
                throw new DpifException(port + ": QoS type '" + type + "' is not supported (pvio has egress-policer)");
            }
            cir = unsigned(details.get("cir"));
            cbs = unsigned(details.get("cbs"));
            if (cir <= 0 || cbs <= 0) { // rte_meter_srtcm_profile_config's EINVAL, which OVS logs
                throw new DpifException(port + ": Could not create rte meter for egress policer (cir " + cir
                        + ", cbs " + cbs + ": both must be above 0)");
            }
        }
        synchronized (lock) {
            Port p = port0(port);
            Policer now = p.egress;
            if (now == null ? none : !none && now.is(cir, cbs)) {
                return;
            }
            p.egress = none ? null : new Policer(cir, cbs, System.nanoTime());
            LOG.fine(port + ": egress policer " + (none ? "off" : cir + " B/s, bucket " + cbs + " B"));
            if (active) {
                reconfigure(null);
            }
        }
    }

    @Override
    public void setPortVlans(String port, String mode, int tag, int[] trunks) throws DpifException {
        io.pvio.dpif.netdev.flow.PortVlans want;
        try {
            want = io.pvio.dpif.netdev.flow.PortVlans.of(mode, tag, trunks);
        } catch (IllegalArgumentException e) {
            throw new DpifException("port " + port + ": " + e.getMessage());
        }
        synchronized (lock) {
            Port p = port0(port);
            if (p.vlans.equals(want)) {
                return;
            }
            if ((mode == null || mode.isEmpty()) && tag >= 0 && tag <= 4095 && trunks.length > 0) {
                LOG.warning("port " + port + ": ignoring trunks in favor of implicit vlan"); // port_configure
            }
            p.vlans = want;
            LOG.fine("port " + port + ": VLANs " + want);
            if (active) {
                reconfigure(null);
            }
        }
    }

    /** As smap_get_ullong: a decimal number, else 0. */
    private static long unsigned(String v) {
        try {
            return v == null ? 0 : Math.max(0, Long.parseLong(v.trim()));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /**
     * bridge/dump-flows [--offload-stats] BRIDGE: every flow of the bridge as OVS's flow_stats_ds prints it
     * (whole seconds, the match as the classifier prints it, then ",actions="), in table order.
     */
    public String bridgeDumpFlows(String bridgeName, boolean offloadStats) throws DpifException {
        FlowTable t;
        long now = System.nanoTime();
        StringBuilder sb = new StringBuilder();
        synchronized (lock) {
            Bridge b = bridges.get(bridgeName);
            if (b == null) {
                throw new DpifException("Unknown bridge");
            }
            t = b.flows;
            if (b.failOpen) { // fail-open's hidden flow, first (the highest priority)
                sb.append("duration=").append((now - b.failOpenSince) / 1_000_000_000L).append("s, n_packets=")
                        .append(b.failOpenPackets.sum()).append(", n_bytes=").append(b.failOpenBytes.sum())
                        .append(", ").append(offloadStats ? "n_offload_packets=0, n_offload_bytes=0, " : "")
                        .append("priority=").append(FAIL_OPEN_PRIORITY).append(",actions=NORMAL\n");
            }
        }
        for (Flow f : t.flows()) {
            FlowEntry e = FlowEntries.toEntry(f, now);
            sb.append("duration=").append(e.durationNanos() / 1_000_000_000L).append("s, n_packets=").append(e.packets())
                    .append(", n_bytes=").append(e.bytes()).append(", ");
            if (offloadStats) {
                sb.append("n_offload_packets=0, n_offload_bytes=0, "); // pvio offloads no flow to hardware
            }
            sb.append(f.matchString()).append(",actions=").append(f.actionsString()).append('\n');
        }
        return sb.toString();
    }

    /** fdb/stats-show BRIDGE, as OVS 3.1's. */
    public String fdbStatsShow(String bridgeName) throws DpifException {
        Bridge b;
        synchronized (lock) {
            b = bridges.get(bridgeName);
        }
        if (b == null) {
            throw new DpifException("no such bridge");
        }
        MacTable.Stats st = b.macs.stats();
        return "Statistics for bridge \"" + bridgeName + "\":\n"
                + "  Current/maximum MAC entries in the table: " + st.entries() + "/" + b.macs.maxEntries() + "\n"
                + "  Current static MAC entries in the table : " + st.statics() + "\n"
                + "  Total number of learned MAC entries     : " + st.learned() + "\n"
                + "  Total number of expired MAC entries     : " + st.expired() + "\n"
                + "  Total number of evicted MAC entries     : 0\n"
                + "  Total number of port moved MAC entries  : " + st.moved() + "\n";
    }

    /** fdb/stats-clear [BRIDGE]: every bridge's when none is named. */
    public void fdbStatsClear(String bridgeName) throws DpifException {
        List<Bridge> which = new ArrayList<>();
        synchronized (lock) {
            if (bridgeName == null) {
                which.addAll(bridges.values());
            } else if (bridges.containsKey(bridgeName)) {
                which.add(bridges.get(bridgeName));
            } else {
                throw new DpifException("no such bridge");
            }
        }
        for (Bridge b : which) {
            b.macs.clearStats();
        }
    }

    /**
     * ofproto/trace BRIDGE FLOW ({@link Trace}): the bridge's flow table and MAC table as the PMDs see them now,
     * read only.
     *
     * @throws DpifException with OVS's texts: {@code BRIDGE: unknown bridge}, {@code Bad openflow flow syntax: ...}
     */
    public String ofprotoTrace(String bridgeName, String flow) throws DpifException {
        Bridge b;
        SortedSet<Integer> ports = new TreeSet<>();
        SortedSet<Integer> open = new TreeSet<>();
        Map<String, Integer> names = new HashMap<>();
        Map<Integer, Integer> config = new HashMap<>();
        Map<Integer, io.pvio.dpif.netdev.flow.PortVlans> vlans = new HashMap<>();
        Map<Integer, String> byNumber = new HashMap<>();
        synchronized (lock) {
            b = bridges.get(bridgeName);
            if (b == null) {
                throw new DpifException(bridgeName + ": unknown bridge");
            }
            for (Port p : b.ports.values()) {
                ports.add(p.ofport);
                names.put(p.name, p.ofport);
                byNumber.put(p.ofport, p.name);
                config.put(p.ofport, p.config);
                vlans.put(p.ofport, p.vlans);
                if (p.netdev != null && p.nTxq > 0) { // what reconfigure gives the PMDs a TxPort for
                    open.add(p.ofport);
                }
            }
        }
        Trace.Key k;
        try {
            k = Trace.parse(flow, n -> names.getOrDefault(n, -1));
        } catch (IllegalArgumentException e) {
            throw new DpifException(e.getMessage());
        }
        FlowTable table = b.flows;
        if (b.failOpen) { // what the PMDs do: fail-open's hidden NORMAL flow above everything
            table = new FlowTable(FlowEntries.hiddenNormal(FAIL_OPEN_PRIORITY));
        }
        return Trace.run(b.name, k, table, b.macs, MacTable.nowSeconds(System.nanoTime()), ports, open, config, vlans,
                byNumber);
    }

    /**
     * fdb/add BRIDGE PORT VLAN MAC: a static entry, as OVS's ofproto_unixctl_fdb_add; the reply notes the entry
     * it overrides ("Overriding already existing dynamic entry on 2").
     */
    public String fdbAdd(String bridgeName, String port, String vlan, String mac) throws DpifException {
        synchronized (lock) {
            Bridge b = fdbBridge(bridgeName);
            long m = fdbMac(mac);
            Port p = ports.get(port);
            if (p == null || p.bridge != b) {
                throw new DpifException("software error, odp port is present but no ofp port"); // OVS's words
            }
            int v = vlan(vlan);
            MacTable.Added a = b.macs.addStatic(m, v, p.ofport, MacTable.nowSeconds(System.nanoTime()));
            if (!a.added()) {
                throw new DpifException("could not add static mac entry\n");
            }
            MacTable.Entry was = a.replaced();
            if (was != null && (was.port() != p.ofport || !was.isStatic())) {
                return "Overriding already existing " + (was.isStatic() ? "static" : "dynamic") + " entry on "
                        + (was.port() == FlowParser.LOCAL ? "LOCAL" : was.port()) + "\n";
            }
            return "";
        }
    }

    /** fdb/del BRIDGE VLAN MAC: removes a static entry (OVS's ofproto_unixctl_fdb_delete). */
    public void fdbDel(String bridgeName, String vlan, String mac) throws DpifException {
        synchronized (lock) {
            Bridge b = fdbBridge(bridgeName);
            if (!b.macs.delStatic(fdbMac(mac), vlan(vlan))) {
                throw new DpifException("could not find static mac entry\n");
            }
        }
    }

    /** The fdb commands' bridge, with their error. Lock held. */
    private Bridge fdbBridge(String name) throws DpifException {
        Bridge b = bridges.get(name);
        if (b == null) {
            throw new DpifException("no such bridge");
        }
        return b;
    }

    /** The fdb commands' MAC, with their error. */
    private static long fdbMac(String mac) throws DpifException {
        long m = FlowParser.parseMac(mac);
        if (m < 0) {
            throw new DpifException("bad MAC address");
        }
        return m;
    }

    /** A VLAN as OVS's atoi reads it (garbage is 0); one beyond 4095 is refused (OVS keeps it, matching nothing). */
    private static int vlan(String text) throws DpifException {
        java.util.regex.Matcher d = java.util.regex.Pattern.compile("^\\s*([+-]?\\d+)").matcher(text);
        String g = d.find() ? d.group(1) : "0";
        long v = g.length() > 8 ? -1 : Long.parseLong(g);
        if (v < 0 || v > 4095) {
            throw new DpifException("bad VLAN " + text + " (0..4095)");
        }
        return (int) v;
    }

    /** fdb/flush [BRIDGE]. */
    public void fdbFlush(String bridgeName) throws DpifException {
        synchronized (lock) {
            if (bridgeName != null) {
                bridge(bridgeName).macs.flush();
            } else {
                for (Bridge b : bridges.values()) {
                    b.macs.flush();
                }
            }
        }
    }

    /** Packets freed without being sent (drop actions, table misses, no usable output port), over all PMDs. */
    public long droppedPackets() {
        synchronized (lock) {
            long n = 0;
            for (PmdThread t : pmds) {
                n += t.stat(PmdThread.S_DROPPED);
            }
            return n;
        }
    }

    /** Packets received by the PMDs so far. */
    public long receivedPackets() {
        synchronized (lock) {
            long n = 0;
            for (PmdThread t : pmds) {
                n += t.stat(PmdThread.S_RECEIVED);
            }
            return n;
        }
    }

    List<String> dumpFlows0() {
        List<String> out = new ArrayList<>();
        for (String b : bridges()) {
            try {
                out.addAll(dumpFlows(b));
            } catch (DpifException e) {
                out.add(e.getMessage());
            }
        }
        return out;
    }

    /** Iterations each PMD has completed, by core order (tests use it to wait for a quiet data path). */
    long[] pmdIterations() {
        synchronized (lock) {
            long[] n = new long[pmds.size()];
            for (int i = 0; i < n.length; i++) {
                n[i] = pmds.get(i).stat(PmdThread.S_ITERATIONS);
            }
            return n;
        }
    }

    /** Names of the PMD threads, by core. */
    public List<String> pmdThreadNames() {
        synchronized (lock) {
            List<String> l = new ArrayList<>();
            for (PmdThread t : pmds) {
                l.add(t.thread.getName());
            }
            return l;
        }
    }

    // ------------------------------------------------------------------ helpers

    private Bridge bridge(String name) throws DpifException {
        Bridge b = bridges.get(name);
        if (b == null) {
            throw new DpifException("no bridge named " + name);
        }
        return b;
    }

    private Port port0(String name) throws DpifException {
        Port p = ports.get(name);
        if (p == null) {
            throw new DpifException("no port named " + name);
        }
        return p;
    }

    private void checkActive() throws DpifException {
        if (!active) {
            throw new DpifException("the datapath is not running");
        }
    }

    private static void checkName(String what, String name) throws DpifException {
        if (name == null || name.isEmpty() || name.length() > 64 || !name.matches("[A-Za-z0-9_.:@-]+")) {
            throw new DpifException(what + " name '" + name + "' is not valid (1..64 of A-Z a-z 0-9 _ . : @ -)");
        }
    }

    private static Map<String, String> copyOptions(String port, Map<String, String> options) throws DpifException {
        if (options == null) {
            return Map.of();
        }
        Map<String, String> m = new TreeMap<>();
        for (Map.Entry<String, String> e : options.entrySet()) {
            if (e.getKey() == null || e.getValue() == null) {
                throw new DpifException("port " + port + ": option with a null key or value");
            }
            m.put(e.getKey(), e.getValue());
        }
        return Collections.unmodifiableMap(m);
    }

    /**
     * The cores of pmd-cpu-mask {@code mask} that this machine has ({@link Cpus}): OVS ignores the others (and
     * {@code log}s them here); unset, the first CPU. Refused when the mask names none of this machine's.
     */
    List<Integer> pmdCores(String mask, boolean log) throws DpifException {
        if (mask == null || mask.isBlank()) {
            return List.of(cpus.nextSetBit(0));
        }
        List<Integer> cores = new ArrayList<>();
        List<Integer> absent = new ArrayList<>();
        for (int c : parseMask(mask)) {
            (cpus.get(c) ? cores : absent).add(c);
        }
        if (cores.isEmpty()) {
            throw new DpifException("pmd-cpu-mask '" + mask + "' selects no core of this machine (cores "
                    + Cpus.format(cpus) + ")");
        }
        if (log && !absent.isEmpty()) {
            LOG.warning(() -> "pmd-cpu-mask " + mask + ": " + (absent.size() == 1 ? "core " : "cores ") + absent
                    .toString().replaceAll("[\\[\\]]", "") + " not on this machine (cores " + Cpus.format(cpus)
                    + "), no PMD thread for " + (absent.size() == 1 ? "it" : "them"));
        }
        return cores;
    }

    static List<Integer> parseMask(String mask) throws DpifException {
        if (mask == null || mask.isBlank()) {
            return List.of(0);
        }
        String h = mask.trim();
        if (h.startsWith("0x") || h.startsWith("0X")) {
            h = h.substring(2);
        }
        long bits;
        try {
            if (h.isEmpty() || h.length() > 16) {
                throw new NumberFormatException();
            }
            bits = Long.parseUnsignedLong(h, 16);
        } catch (NumberFormatException e) {
            throw new DpifException("pmd-cpu-mask '" + mask + "' is not a hexadecimal core mask of at most 64 cores (e.g. 0x3)");
        }
        if (bits == 0) {
            throw new DpifException("pmd-cpu-mask '" + mask + "' selects no core");
        }
        List<Integer> cores = new ArrayList<>();
        for (int c = 0; c < 64; c++) {
            if ((bits >>> c & 1) != 0) {
                cores.add(c);
            }
        }
        return cores;
    }

    static boolean parseBool(String key, String v) throws DpifException {
        if (v == null || v.isBlank()) {
            return false;
        }
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new DpifException(key + " '" + v + "' is not true or false");
        };
    }

    private static int intProp(Map<String, Object> props, String key, int dflt) {
        Object v = props == null ? null : props.get(key);
        if (v == null) {
            return dflt;
        }
        try {
            return v instanceof Number ? ((Number) v).intValue() : Integer.parseInt(v.toString().trim());
        } catch (NumberFormatException e) {
            LOG.warning(() -> "component property " + key + "='" + v + "' is not an integer; using " + dflt);
            return dflt;
        }
    }
}
