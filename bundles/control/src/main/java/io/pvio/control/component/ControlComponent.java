package io.pvio.control.component;

import io.pvio.control.Control;
import io.pvio.control.apply.DpifApplier;
import io.pvio.control.apply.Participants;
import io.pvio.control.appctl.BundleCommands;
import io.pvio.control.appctl.PaxLogging;
import io.pvio.control.appctl.Vlog;
import io.pvio.control.db.Db;
import io.pvio.control.db.DbStore;
import io.pvio.control.ofctl.Flows;
import io.pvio.control.ovsdb.OvsdbBridge;
import io.pvio.control.protocol.ControlClient;
import io.pvio.control.protocol.ControlProtocol;
import io.pvio.control.rundir.RunDirLock;
import io.pvio.control.server.ControlServer;
import io.pvio.control.vsctl.Vsctl;
import io.pvio.control.vsctl.VsctlException;
import io.pvio.dpif.Dpif;
import io.pvio.dpif.DpifException;
import io.pvio.dpif.ReconfigureParticipant;
import io.pvio.netdev.ComponentConfig;
import io.pvio.netdev.RunDirectory;
import io.pvio.packet.PacketPool;
import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.ConfigurationAdmin;
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
 * The control plane: owns conf.db, applies it to the bound {@link Dpif} (replaying all of it when a
 * datapath appears), runs vsctl/ofctl/appctl for the control socket, the Gogo shell and in-process callers.
 *
 * <p>Mutating commands are serialised by {@link #lock} and are applied to the datapath first; the database
 * is written only when the datapath accepted them.
 */
@Component(immediate = true, service = Control.class, configurationPid = RunDirectory.PID, property = {
    "osgi.command.scope=pvio", "osgi.command.function=vsctl", "osgi.command.function=ofctl",
    "osgi.command.function=appctl"})
public final class ControlComponent implements Control {
    private static final Logger LOG = Logger.getLogger("bridge");
    private static final Logger UNIXCTL = Logger.getLogger("unixctl");
    public static final String RUN_DIR_PROPERTY = RunDirectory.FRAMEWORK_PROPERTY;
    /** {@code unix:PATH} or {@code tcp:HOST:PORT}: the configuration is in that ovsdb-server, not conf.db. */
    public static final String DB_PROPERTY = "pvio.db";
    /** Framework property the launcher sets to "true": pvio owns the framework (exit stops it). */
    public static final String LAUNCHER_PROPERTY = "pvio.launcher";
    static final String VERSION = "0.1.0";

    private final Object lock = new Object();
    private final AtomicReference<Dpif> dpif = new AtomicReference<>();
    private final Map<String, Registered> commands = new ConcurrentHashMap<>();
    /** Told of every change applied to the datapath, and waited for, before the change is reported done. */
    private final Participants participants = new Participants();
    private DbStore store;
    private Db db;
    private BundleContext ctx;
    private BundleCommands bundles;
    private ControlServer server;
    private volatile OvsdbBridge ovsdb;
    private RunDirLock runDirLock;
    /** The component properties of the activation, compared with updates. */
    private volatile Map<String, Object> activatedWith;
    /** In a container with Pax Logging, vlog/set keeps its levels in step. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile ConfigurationAdmin configAdmin;
    /** False in a container (Karaf...): exit stops pvio's bundles, never the framework. */
    private boolean ownsFramework;

    private record Registered(UnixctlCommand command, String usage) {
    }

    // ---- references ----

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindDpif(Dpif d) {
        synchronized (lock) {
            dpif.set(d);
            LOG.info("datapath bound");
            if (ovsdb != null) {
                ovsdb.datapathChanged();
            } else if (db != null) {
                replay(d);
            }
        }
    }

    /** {@code b}'s flows as the datapath now has them. */
    private static void keepFlows(Dpif d, Db.Bridge b) {
        try {
            List<String> now = d.flows(b.name);
            b.flows.clear();
            b.flows.addAll(now);
        } catch (DpifException e) {
            LOG.warning("bridge " + b.name + ": cannot read its flows: " + e.getMessage());
        }
    }

    /** Replays the database into {@code d} and records the port numbers it gave (lock held). */
    private void replay(Dpif d) {
        DpifApplier.replay(d, db);
        Db next = db.copy();
        boolean flushed = false;
        for (Db.Bridge b : next.bridges.values()) { // controllers flush what was restored, as OVS starts empty
            if (DpifApplier.controlChanged(null, b)) {
                keepFlows(d, b);
                flushed = true;
            }
        }
        if (next.recordOfports(n -> ofportOf(d, n)) | flushed) {
            try {
                store.save(next);
                db = next;
            } catch (IOException e) {
                LOG.warning("cannot record port numbers in " + store.file() + ": " + e.getMessage());
            }
        }
    }

    /** The types of the netdev classes registered now. */
    private java.util.Collection<String> netdevTypes() {
        java.util.Set<String> types = new java.util.TreeSet<>();
        try {
            org.osgi.framework.ServiceReference<?>[] refs = ctx.getServiceReferences(
                    io.pvio.netdev.NetdevClass.class.getName(), null);
            for (org.osgi.framework.ServiceReference<?> r : refs == null ? new org.osgi.framework.ServiceReference<?>[0]
                    : refs) {
                Object t = r.getProperty(io.pvio.netdev.NetdevClass.TYPE_PROPERTY);
                if (t != null) {
                    types.add(t.toString());
                }
            }
        } catch (org.osgi.framework.InvalidSyntaxException | IllegalStateException e) {
            LOG.fine("netdev classes: " + e.getMessage());
        }
        return types;
    }

    private static int ofportOf(Dpif d, String port) {
        io.pvio.dpif.PortInfo pi = d.port(port);
        return pi == null ? -1 : pi.ofport();
    }

    void unbindDpif(Dpif d) {
        if (dpif.compareAndSet(d, null)) {
            LOG.info("datapath unbound: configuration kept in the database");
            if (ovsdb != null) {
                ovsdb.datapathChanged();
            }
        }
    }

    /** What vsctl shows of the running switch: the datapath's ports, the bound interface types. */
    private Vsctl.Live live(Dpif d) {
        return new Vsctl.Live() {
            @Override
            public io.pvio.dpif.PortInfo port(String name) {
                return d == null ? null : d.port(name);
            }

            @Override
            public java.util.SortedSet<String> ifaceTypes() {
                return new java.util.TreeSet<>(netdevTypes());
            }

            @Override
            public String datapathId(String bridge) {
                return d == null || !d.bridges().contains(bridge) ? null : String.format("%016x", d.datapathId(bridge));
            }

            @Override
            public String datapathVersion() {
                return d == null ? null : d.datapathVersion();
            }
        };
    }

    /** ofproto, when it runs: its bridges' sockets exist before a vsctl reply or cur_cfg says the change is done. */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bindParticipant(ReconfigureParticipant p) {
        participants.add(p);
    }

    void unbindParticipant(ReconfigureParticipant p) {
        participants.remove(p);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            target = "(" + UnixctlCommand.COMMAND_PROPERTY + "=*)")
    void bindCommand(UnixctlCommand c, Map<String, Object> props) {
        String name = String.valueOf(props.get(UnixctlCommand.COMMAND_PROPERTY));
        Object usage = props.get(UnixctlCommand.USAGE_PROPERTY);
        commands.put(name, new Registered(c, usage == null ? "" : usage.toString()));
        UNIXCTL.fine("command registered: " + name);
    }

    void unbindCommand(UnixctlCommand c, Map<String, Object> props) {
        String name = String.valueOf(props.get(UnixctlCommand.COMMAND_PROPERTY));
        commands.computeIfPresent(name, (k, r) -> r.command() == c ? null : r);
    }

    // ---- life cycle ----

    /** Fails (conf.db untouched, no socket) when another daemon holds the run directory. */
    @Activate
    void activate(BundleContext context, Map<String, Object> props) throws IOException {
        ctx = context;
        activatedWith = props;
        bundles = new BundleCommands(context);
        ownsFramework = Boolean.parseBoolean(context.getProperty(LAUNCHER_PROPERTY));
        Path runDir = RunDirectory.resolve(props, context::getProperty);
        try {
            runDirLock = RunDirLock.acquire(runDir);
        } catch (IOException e) {
            LOG.severe("not started: " + e.getMessage());
            throw e;
        }
        LOG.info("run directory " + runDir);
        String dbTarget = context.getProperty(DB_PROPERTY);
        if (dbTarget != null && !dbTarget.isBlank()) {
            ovsdb = new OvsdbBridge(dbTarget, dpif::get, this::netdevTypes, participants::reconfigured)
                    .start(); // conf.db is not used
        }
        synchronized (lock) {
            store = new DbStore(runDir.resolve("conf.db"));
            db = ovsdb != null ? null : store.load();
            Dpif d = dpif.get();
            if (d != null && db != null) {
                replay(d);
            }
        }
        try {
            server = ControlServer.start(ControlClient.socket(runDir), this::handle);
            server.alsoAs("ovs-vswitchd"); // for ovs-appctl --target=ovs-vswitchd, with OVS_RUNDIR=RUN_DIR
        } catch (IOException e) {
            UNIXCTL.severe("control socket not available: " + e.getMessage()
                    + " (commands still work in the Gogo shell)");
        }
    }

    /** DS: an update of io.pvio.run restarts the control socket only when it changes something. */
    @Modified
    void modified(ComponentContext cc, Map<String, Object> props) {
        if (!ComponentConfig.reactivateIfChanged(cc, activatedWith, props, LOG)) {
            activatedWith = props;
        }
    }

    @Deactivate
    void deactivate() {
        if (ovsdb != null) {
            ovsdb.close();
            ovsdb = null;
        }
        if (server != null) {
            server.close();
            server = null;
        }
        try {
            runDirLock.close();
        } catch (IOException e) {
            LOG.warning("releasing the run directory: " + e.getMessage());
        }
    }

    // ---- commands ----

    private ControlProtocol.Reply handle(List<String> argv, Consumer<Runnable> afterReply) {
        Result r = execute(argv, afterReply);
        return new ControlProtocol.Reply(r.status(), r.out(), r.err());
    }

    @Override
    public Result execute(List<String> argv) {
        return execute(argv, Runnable::run);
    }

    private Result execute(List<String> argv, Consumer<Runnable> afterReply) {
        if (argv == null || argv.isEmpty()) {
            return Result.error(2, "pvio: missing tool (vsctl, ofctl or appctl)");
        }
        List<String> args = argv.subList(1, argv.size());
        try {
            return switch (argv.get(0)) {
                case "vsctl" -> vsctl(args);
                case "ofctl" -> ofctl(args);
                case "appctl" -> appctl(args, afterReply);
                default -> Result.error(2, "pvio: unknown tool \"" + argv.get(0) + "\" (vsctl, ofctl or appctl)");
            };
        } catch (RuntimeException e) {
            LOG.log(Level.SEVERE, "command " + argv + " failed", e);
            return Result.error(2, "pvio: internal error: " + e);
        }
    }

    private Result vsctl(List<String> args) {
        synchronized (lock) {
            if (ovsdb != null) {
                return Result.error(1, "vsctl: the configuration is in OVSDB (" + ovsdb.target() + "), not in"
                        + " pvio's conf.db: use ovs-vsctl --db=" + ovsdb.target() + " " + String.join(" ", args));
            }
            if (db == null) {
                return Result.error(1, "vsctl: the database is not loaded yet");
            }
            Dpif d = dpif.get();
            Vsctl.Outcome o;
            try {
                o = Vsctl.run(db, args, live(d));
            } catch (VsctlException e) {
                return Result.error(e.status(), e.getMessage().isEmpty() ? "" : "vsctl: " + e.getMessage());
            }
            if (!o.mutated() || o.dryRun()) {
                return Result.ok(o.output()); // --dry-run: checked, nothing changed
            }
            DpifApplier.Applied applied = null;
            if (d != null) {
                try {
                    applied = DpifApplier.apply(d, db, o.db());
                } catch (DpifException e) {
                    LOG.warning("refused: vsctl " + String.join(" ", args) + ": " + e.getMessage());
                    return Result.error(1, "vsctl: " + e.getMessage());
                }
            } else {
                LOG.warning("no datapath: the change is stored and applied when one appears");
            }
            if (d != null) {
                o.db().recordOfports(n -> ofportOf(d, n));
                for (Db.Bridge nb : o.db().bridges.values()) { // a controller change may have flushed its flows
                    if (DpifApplier.controlChanged(db.bridges.get(nb.name), nb)) {
                        keepFlows(d, nb);
                    }
                }
            }
            try {
                store.save(o.db());
            } catch (IOException e) {
                if (applied != null) {
                    applied.rollback(d);
                    participants.reconfigured();
                }
                LOG.severe("cannot write " + store.file() + ": " + e.getMessage());
                return Result.error(1, "vsctl: cannot write " + store.file() + ": " + e.getMessage());
            }
            if (applied != null) {
                participants.reconfigured(); // e.g. a new bridge's .mgmt socket, before the reply
            }
            Db before = db;
            db = o.db();
            LOG.info("database changed: vsctl " + String.join(" ", args));
            return new Result(0, o.output(), d == null ? "" : setupErrors(before, db, d));
        }
    }

    /**
     * As ovs-vsctl after its transaction: for each interface it added that the switch could not open (here:
     * that waits for a netdev class of its type), "Error detected while setting up" on stderr, exit 0.
     */
    private static String setupErrors(Db before, Db after, Dpif d) {
        java.util.Set<String> had = new java.util.HashSet<>();
        before.bridges.values().forEach(b -> b.ports.values().forEach(p -> had.add(p.ifaceUuid)));
        StringBuilder err = new StringBuilder();
        for (Db.Bridge b : after.bridges.values()) {
            for (Db.Port p : b.ports.values()) {
                io.pvio.dpif.PortInfo pi = had.contains(p.ifaceUuid) ? null : d.port(p.name);
                if (pi != null && Vsctl.ofportColumn(pi) == -1 && pi.error() != null) {
                    err.append("vsctl: Error detected while setting up '").append(p.name).append("': ")
                            .append(pi.error()).append(".  See ovs-vswitchd log for details.\n");
                }
            }
        }
        return err.toString();
    }

    private Result ofctl(List<String> argv) {
        // options may come anywhere, as ovs-ofctl's getopt takes them; --strict applies to del-flows
        List<String> args = new ArrayList<>(argv);
        boolean strict = args.remove("--strict");
        if (args.isEmpty() || args.get(0).equals("--help")) {
            return Result.ok("usage: ofctl add-flow BRIDGE FLOW | add-flows BRIDGE FILE | del-flows [--strict] BRIDGE"
                    + " [MATCH] | dump-flows BRIDGE [MATCH]\n");
        }
        String cmd = args.get(0);
        int min = cmd.startsWith("add-flow") ? 3 : 2;
        int max = 3;
        if (!List.of("add-flow", "add-flows", "del-flows", "dump-flows").contains(cmd)) {
            return Result.error(1, "ofctl: unknown command '" + cmd + "'; use --help for help");
        }
        if (args.size() < min) { // ovs-ofctl's texts
            return Result.error(1, "ofctl: '" + cmd + "' command requires at least " + (min - 1) + " arguments");
        }
        if (args.size() > max) {
            return Result.error(1, "ofctl: '" + cmd + "' command takes at most " + (max - 1) + " arguments");
        }
        String br = args.get(1);
        String match = cmd.startsWith("add-flow") || args.size() < 3 ? null : args.get(2);
        if (match != null && (cmd.equals("dump-flows") || !strict) && Flows.namesPriority(match)) {
            return Result.error(1, "ofctl: unknown keyword priority"); // OpenFlow 1.0 matches have no priority
        }
        synchronized (lock) {
            Dpif d = dpif.get();
            if (d == null) {
                return Result.error(1, "ofctl: the datapath is not running (is dpif-netdev started?)");
            }
            if (ovsdb != null ? !d.bridges().contains(br) : db.bridges.get(br) == null) {
                return Result.error(1, "ofctl: " + br + " is not a bridge or a socket");
            }
            try {
                switch (cmd) {
                    case "dump-flows": {
                        boolean filtered = match != null && !match.isEmpty();
                        StringBuilder sb = new StringBuilder(filtered ? Flows.DUMP_HEADER_FILTERED : Flows.DUMP_HEADER)
                                .append('\n');
                        d.dumpFlows(br, match).forEach(l -> sb.append(l).append('\n'));
                        return Result.ok(sb.toString());
                    }
                    case "add-flow": {
                        String flow = args.get(2);
                        try {
                            Flows.parse(flow, true);
                        } catch (IllegalArgumentException e) {
                            return Result.error(1, "ofctl: " + e.getMessage());
                        }
                        d.addFlow(br, flow);
                        return commitFlows(d, br, "ofctl add-flow " + br + " " + flow);
                    }
                    case "add-flows": { // one flow per line; blank lines and # comments skipped, as ovs-ofctl
                        List<String> lines;
                        try {
                            lines = java.nio.file.Files.readAllLines(java.nio.file.Path.of(args.get(2)));
                        } catch (IOException | RuntimeException e) {
                            return Result.error(1, "ofctl: " + args.get(2) + ": cannot read: " + e.getMessage());
                        }
                        List<String> flows = new ArrayList<>(lines.size());
                        for (int i = 0; i < lines.size(); i++) {
                            String l = lines.get(i).strip();
                            if (l.isEmpty() || l.startsWith("#")) {
                                continue;
                            }
                            try {
                                Flows.parse(l, true);
                            } catch (IllegalArgumentException e) {
                                return Result.error(1, "ofctl: " + args.get(2) + ":" + (i + 1) + ": " + e.getMessage());
                            }
                            flows.add(l);
                        }
                        d.addFlows(br, flows);
                        return commitFlows(d, br, "ofctl add-flows " + br + " " + args.get(2) + " (" + flows.size()
                                + " flows)");
                    }
                    default: {
                        d.delFlows(br, match, strict);
                        return commitFlows(d, br, "ofctl del-flows " + (strict ? "--strict " : "") + br
                                + (match == null ? "" : " " + match));
                    }
                }
            } catch (DpifException e) {
                return Result.error(1, "ofctl: " + e.getMessage());
            }
        }
    }

    /** Stores the flows the datapath now keeps for {@code br} (its own reading of what was added or deleted). */
    private Result commitFlows(Dpif d, String br, String what) throws DpifException {
        if (ovsdb != null) { // flows are not in OVSDB: kept by the datapath only, as in ovs-vswitchd
            LOG.info("flows changed: " + what);
            return Result.ok("");
        }
        Db next = db.copy();
        List<String> kept = next.bridges.get(br).flows;
        kept.clear();
        kept.addAll(d.flows(br));
        String out = "";
        try {
            store.save(next);
        } catch (IOException e) {
            LOG.severe("cannot write " + store.file() + ": " + e.getMessage());
            return Result.error(1, "ofctl: applied, but " + store.file() + " could not be written: " + e.getMessage());
        }
        db = next;
        LOG.info("flows changed: " + what);
        return Result.ok(out);
    }

    private static final Map<String, String> BUILTIN = new TreeMap<>(Map.ofEntries(
            Map.entry("list-commands", ""), Map.entry("version", ""), Map.entry("exit", "[--cleanup]"),
            Map.entry("vlog/list", ""), Map.entry("vlog/set", "[SPEC...]"), Map.entry("vlog/reopen", ""),
            Map.entry("vlog/close", ""),
            Map.entry("bundle/list", ""), Map.entry("bundle/start", "NAME|ID"), Map.entry("bundle/stop", "NAME|ID"),
            Map.entry("bundle/update", "NAME|ID [FILE]"), Map.entry("memory/show", "")));

    private Result appctl(List<String> argv, Consumer<Runnable> afterReply) {
        List<String> a = new ArrayList<>(argv);
        // ovs-appctl's target and timeout options: one daemon here, accepted for compatibility
        while (!a.isEmpty() && a.get(0).startsWith("-")) {
            String o = a.remove(0);
            if (o.equals("--")) {
                break; // the command follows (what the unixctl JSON-RPC server passes)
            }
            if ((o.equals("-t") || o.equals("--target") || o.equals("-T") || o.equals("--timeout")) && !a.isEmpty()) {
                a.remove(0); // the option's value
            } else if (!o.startsWith("--target=") && !o.startsWith("--timeout=")) {
                return Result.error(2, "appctl: unknown option " + o);
            }
        }
        if (a.isEmpty()) {
            return Result.error(2, "appctl: at least one non-option argument is required"
                    + " (use --help for help)");
        }
        String cmd = a.get(0);
        List<String> args = List.copyOf(a.subList(1, a.size()));
        try {
            return Result.ok(withNewline(runAppctl(cmd, args, afterReply)));
        } catch (UnixctlException e) {
            return Result.error(2, e.getMessage());
        }
    }

    private static String withNewline(String s) {
        return s == null || s.isEmpty() || s.endsWith("\n") ? (s == null ? "" : s) : s + "\n";
    }

    /** Argument bounds of the built-in commands that take a fixed number, checked as OVS's unixctl server does. */
    private static final Map<String, int[]> BUILTIN_ARGS = Map.of("list-commands", new int[] {0, 0},
            "version", new int[] {0, 0}, "exit", new int[] {0, 1}, "vlog/list", new int[] {0, 0},
            "vlog/reopen", new int[] {0, 0}, "vlog/close", new int[] {0, 0},
            "bundle/list", new int[] {0, 0}, "memory/show", new int[] {0, 0});

    private String runAppctl(String cmd, List<String> args, Consumer<Runnable> afterReply) throws UnixctlException {
        int[] bounds = BUILTIN_ARGS.get(cmd);
        if (bounds != null && args.size() < bounds[0]) {
            throw new UnixctlException("\"" + cmd + "\" command requires at least " + bounds[0] + " arguments");
        }
        if (bounds != null && args.size() > bounds[1]) {
            throw new UnixctlException("\"" + cmd + "\" command takes at most " + bounds[1] + " arguments");
        }
        switch (cmd) {
            case "list-commands": {
                TreeMap<String, String> all = new TreeMap<>(BUILTIN);
                commands.forEach((k, r) -> all.putIfAbsent(k, r.usage()));
                StringBuilder sb = new StringBuilder("The available commands are:\n");
                all.forEach((k, u) -> sb.append(String.format("  %-23s %s", k, u).stripTrailing()).append('\n'));
                return sb.toString();
            }
            case "version":
                return "pvio-vswitchd (pvio) " + VERSION + "\nOSGi framework: "
                        + ctx.getBundle(0).getSymbolicName() + " " + ctx.getBundle(0).getVersion() + "\n";
            case "exit":
                UNIXCTL.info("exit requested");
                if (ownsFramework) {
                    afterReply.accept(bundles::exit);
                    return "";
                }
                List<Bundle> pvio = bundles.activePvio();
                afterReply.accept(() -> bundles.stopPvio(pvio));
                StringBuilder ids = new StringBuilder();
                pvio.forEach(b -> ids.append(' ').append(b.getBundleId()));
                return "pvio is stopping its bundles; the container (" + ctx.getBundle(0).getSymbolicName()
                        + ") keeps running. Start pvio again with: " + (isKaraf() ? "bundle:start" : "start") + ids
                        + "\n";
            case "vlog/list":
                return Vlog.list() + containerLog(false);
            case "vlog/set":
                return Vlog.set(args) + containerLog(true);
            case "vlog/reopen":
                return Vlog.fileAction(ctx, "reopen");
            case "vlog/close":
                return Vlog.fileAction(ctx, "close");
            case "bundle/list":
                return bundles.list();
            case "bundle/start":
            case "bundle/stop":
            case "bundle/update": {
                if (args.isEmpty() || (args.size() > 1 && !cmd.equals("bundle/update")) || args.size() > 2) {
                    throw new UnixctlException("usage: " + cmd + " " + BUILTIN.get(cmd));
                }
                Bundle b = bundles.find(args.get(0));
                if (b.getBundleId() == 0 && !ownsFramework && !cmd.equals("bundle/start")) {
                    throw new UnixctlException(cmd + ": bundle 0 is the container's framework, not pvio's (stop pvio"
                            + " with \"appctl exit\"" + (isKaraf() ? ", Karaf with \"system:shutdown\")" : ")"));
                }
                if (bundles.isSelfOrSystem(b) && !cmd.equals("bundle/start")) {
                    List<String> rest = args.subList(1, args.size());
                    afterReply.accept(() -> new Thread(() -> {
                        try {
                            if (cmd.equals("bundle/stop")) {
                                bundles.stop(b);
                            } else {
                                bundles.update(b, rest);
                            }
                        } catch (UnixctlException e) {
                            UNIXCTL.severe(e.getMessage());
                        }
                    }, "pvio-" + cmd).start());
                    return b.getSymbolicName() + ": " + cmd.substring(7) + " scheduled\n";
                }
                return switch (cmd) {
                    case "bundle/start" -> bundles.start(b);
                    case "bundle/stop" -> bundles.stop(b);
                    default -> bundles.update(b, args.subList(1, args.size()));
                };
            }
            case "memory/show": {
                Dpif d = dpif.get();
                if (d == null) {
                    throw new UnixctlException("the datapath is not running");
                }
                PacketPool p = d.pool();
                return String.format("pool %s: capacity %d, in use %d, available %d%n", p.name(), p.capacity(),
                        p.inUse(), p.available());
            }
            default: {
                Registered r = commands.get(cmd);
                if (r == null) {
                    throw new UnixctlException("\"" + cmd + "\" is not a valid command (use \"list-commands\" to see a"
                            + " list of valid commands)");
                }
                try {
                    return r.command().run(args);
                } catch (UnixctlException e) {
                    throw e;
                } catch (RuntimeException e) {
                    UNIXCTL.log(Level.SEVERE, "appctl " + cmd + " failed", e);
                    throw new UnixctlException(cmd + ": internal error: " + e);
                }
            }
        }
    }

    private boolean isKaraf() {
        return ctx.getProperty("karaf.home") != null;
    }

    private boolean hasPaxLogging() {
        for (Bundle b : ctx.getBundles()) {
            if (PaxLogging.API_BUNDLE.equals(b.getSymbolicName())) {
                return true;
            }
        }
        return false;
    }

    /**
     * In a container, vlog sets java.util.logging levels and the container's logging filters again: with
     * Pax Logging (Karaf) its levels are kept in step ({@code sync}) or listed; otherwise a note says so.
     */
    private String containerLog(boolean sync) {
        if (ownsFramework) {
            return "";
        }
        ConfigurationAdmin c = configAdmin;
        if (c != null && hasPaxLogging()) {
            try {
                if (sync) {
                    PaxLogging.set(c, Vlog.configured());
                    return "";
                }
                return PaxLogging.list(c);
            } catch (IOException | RuntimeException e) {
                UNIXCTL.warning("Pax Logging levels: " + e);
                return "note: the container's Pax Logging levels could not be " + (sync ? "set" : "read") + " ("
                        + e.getMessage() + ")" + (isKaraf() ? "; in the Karaf console: log:set DEBUG MODULE" : "")
                        + "\n";
            }
        }
        return "note: these are java.util.logging levels; this container's own logging configuration may"
                + " filter the records again\n";
    }

    // ---- Gogo shell: pvio:vsctl, pvio:ofctl, pvio:appctl ----

    /** A failed shell command (Gogo prints the message). */
    public static final class CommandFailed extends Exception {
        private static final long serialVersionUID = 1L;

        CommandFailed(String message) {
            super(message);
        }
    }

    public String vsctl(Object... args) throws CommandFailed {
        return shell("vsctl", args);
    }

    public String ofctl(Object... args) throws CommandFailed {
        return shell("ofctl", args);
    }

    public String appctl(Object... args) throws CommandFailed {
        return shell("appctl", args);
    }

    private String shell(String tool, Object[] args) throws CommandFailed {
        List<String> argv = new ArrayList<>();
        argv.add(tool);
        Arrays.stream(args).map(String::valueOf).forEach(argv::add);
        Result r = execute(argv);
        if (r.status() != 0) {
            throw new CommandFailed(r.err().strip());
        }
        return r.out().isEmpty() ? null : r.out().stripTrailing();
    }
}
