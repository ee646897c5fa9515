package io.pvio.control.dma;

import io.pvio.dma.PciAddress;
import io.pvio.unixctl.UnixctlException;
import java.io.IOException;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * What {@code appctl dma/set} and {@code dma/del} do to the channel factory configurations: one
 * configuration per channel address and engine, found by its {@code address} property. The engine
 * ({@link DmaEngines}, default {@code model}) chooses the factory PID. Only ConfigAdmin is needed: the
 * commands work whichever DMA driver bundles are started; a channel whose engine no started bundle drives
 * waits for one.
 */
final class DmaConfigCommands {
    private static final Logger LOG = Logger.getLogger("unixctl");
    /** The ring of a channel dma/set creates without ring.size. */
    static final int DEFAULT_RING = 256;

    private DmaConfigCommands() {
    }

    /**
     * {@code dma/set ADDRESS [engine=model|cpu|dmadev] [device=NAME] [ring.size=N] [fault.error.rate=X]
     * [fault.stall=true|false] [engine.cpu=N]}. {@code drivers} (null: unknown) tells whether the reply
     * says that the channel waits for a driver.
     */
    static String set(ConfigurationAdmin cm, DmaEngines.Drivers drivers, List<String> args) throws UnixctlException {
        synchronized (DmaConfigCommands.class) { // read-modify-write of one configuration: one at a time
            return set0(cm, drivers, args);
        }
    }

    private static String set0(ConfigurationAdmin cm, DmaEngines.Drivers drivers, List<String> args)
            throws UnixctlException {
        if (args.isEmpty()) {
            throw new UnixctlException("usage: dma/set ADDRESS [engine=model|cpu|dmadev] [device=NAME] [ring.size=N]"
                    + " [fault.error.rate=X] [fault.stall=BOOL] [engine.cpu=N]");
        }
        String address = address(args.get(0));
        Hashtable<String, Object> changes = parseSettings(args.subList(1, args.size()));
        Object named = changes.remove("engine");
        DmaEngines.Engine eng = named == null ? DmaEngines.MODEL : DmaEngines.named(named.toString());
        String engine = eng.name();
        check(engine, changes);
        String factoryPid = eng.factoryPid();
        try {
            Configuration c = find(cm, factoryPid, eng.driver(), address);
            boolean created = c == null;
            Hashtable<String, Object> props = new Hashtable<>();
            if (c == null) {
                c = cm.getFactoryConfiguration(factoryPid, "appctl-" + address.replaceAll("[:.]", "_"), "?");
                props.put("address", address);
                props.put("ring.size", DEFAULT_RING);
            } else {
                Dictionary<String, Object> old = c.getProperties();
                for (var e = old.keys(); e.hasMoreElements();) {
                    String k = e.nextElement();
                    props.put(k, old.get(k));
                }
            }
            props.putAll(changes);
            c.update(props);
            String waiting = drivers == null || drivers.drive(eng) ? ""
                    : "; waiting for a driver of engine '" + engine + "' (no started bundle provides it; " + eng.bundle()
                            + " does)";
            LOG.info("DMA channel " + address + " (" + engine + " engine)" + (created ? " configured" : " reconfigured")
                    + " by appctl: " + changes + waiting);
            return "DMA channel " + address + " (" + engine + " engine) " + (created ? "added" : "updated") + " ("
                    + c.getPid() + ")" + waiting + "\n";
        } catch (IOException | InvalidSyntaxException x) {
            throw new UnixctlException("dma/set " + address + ": " + x.getMessage());
        }
    }

    /** Refuses settings the engine does not have. */
    private static void check(String engine, Map<String, Object> changes) throws UnixctlException {
        for (String k : changes.keySet()) {
            boolean ok = switch (k) {
                case "device" -> engine.equals("dmadev");
                case "engine.cpu" -> engine.equals("model");
                case "fault.error.rate", "fault.stall" -> !engine.equals("cpu");
                default -> true;
            };
            if (!ok) {
                throw new UnixctlException("the " + engine + " engine has no setting " + k);
            }
        }
    }

    /** {@code dma/del ADDRESS [engine=model|cpu|dmadev]}: without engine, the one engine configured there. */
    static String del(ConfigurationAdmin cm, List<String> args) throws UnixctlException {
        synchronized (DmaConfigCommands.class) {
            return del0(cm, args);
        }
    }

    private static String del0(ConfigurationAdmin cm, List<String> args) throws UnixctlException {
        if (args.size() != 1 && args.size() != 2) {
            throw new UnixctlException("usage: dma/del ADDRESS [engine=model|cpu|dmadev]");
        }
        String address = address(args.get(0));
        List<DmaEngines.Engine> engines = DmaEngines.ALL;
        if (args.size() == 2) {
            Object e = parseSettings(args.subList(1, 2)).get("engine");
            if (e == null) {
                throw new UnixctlException("usage: dma/del ADDRESS [engine=model|cpu|dmadev]");
            }
            engines = List.of(DmaEngines.named(e.toString()));
        }
        try {
            Configuration c = null;
            List<String> found = new ArrayList<>();
            for (DmaEngines.Engine engine : engines) {
                Configuration x = find(cm, engine.factoryPid(), engine.driver(), address);
                if (x != null) {
                    c = x;
                    found.add(engine.name());
                }
            }
            if (c == null) {
                throw new UnixctlException("dma/del: no DMA channel configured at " + address);
            }
            if (found.size() > 1) {
                throw new UnixctlException("dma/del: " + address + " is configured for the engines " + found
                        + ": name one with engine=");
            }
            c.delete();
            LOG.info("DMA channel " + address + " deleted by appctl");
            return "DMA channel " + address + " deleted\n";
        } catch (IOException | InvalidSyntaxException e) {
            throw new UnixctlException("dma/del " + address + ": " + e.getMessage());
        }
    }

    /** A channel configuration: its engine, PID, address (normal form) and ring.size and device as written. */
    record Configured(DmaEngines.Engine engine, String pid, String address, Object ringSize, Object device) {
    }

    /** Every channel configuration of every engine, but those with a malformed address. */
    static List<Configured> configured(ConfigurationAdmin cm) throws IOException, InvalidSyntaxException {
        List<Configured> out = new ArrayList<>();
        for (DmaEngines.Engine e : DmaEngines.ALL) {
            Configuration[] all = cm.listConfigurations(
                    "(" + ConfigurationAdmin.SERVICE_FACTORYPID + "=" + e.factoryPid() + ")");
            for (Configuration c : all == null ? new Configuration[0] : all) {
                Dictionary<String, Object> p = c.getProperties();
                Object a = p == null ? null : p.get("address");
                try {
                    if (a != null) {
                        out.add(new Configured(e, c.getPid(), PciAddress.normalize(a.toString()), p.get("ring.size"),
                                p.get("device")));
                    }
                } catch (IllegalArgumentException ignored) {
                    // refused by its driver, never a channel
                }
            }
        }
        return out;
    }

    private static String address(String text) throws UnixctlException {
        try {
            return PciAddress.normalize(text);
        } catch (IllegalArgumentException e) {
            throw new UnixctlException(e.getMessage());
        }
    }

    /**
     * The configuration of channel {@code address}: the one whose channel owns the address (when several
     * name it, the others were refused), else the only one naming it, else null.
     */
    private static Configuration find(ConfigurationAdmin cm, String factoryPid, String driver, String address)
            throws IOException, InvalidSyntaxException, UnixctlException {
        Configuration[] all = cm.listConfigurations(
                "(" + ConfigurationAdmin.SERVICE_FACTORYPID + "=" + factoryPid + ")");
        List<Configuration> naming = new ArrayList<>();
        if (all != null) {
            for (Configuration c : all) {
                Object a = c.getProperties() == null ? null : c.getProperties().get("address");
                try {
                    if (a != null && PciAddress.normalize(a.toString()).equals(address)) {
                        naming.add(c);
                    }
                } catch (IllegalArgumentException ignored) {
                    // a configuration with a bad address is not this channel
                }
            }
        }
        String owner = io.pvio.dma.spi.ChannelPublisher.owner(driver, address);
        for (Configuration c : naming) {
            if (c.getPid().equals(owner)) {
                return c;
            }
        }
        if (naming.size() > 1) {
            StringBuilder pids = new StringBuilder();
            naming.forEach(c -> pids.append(pids.length() == 0 ? "" : ", ").append(c.getPid()));
            throw new UnixctlException(naming.size() + " configurations name " + address + " and none runs it ("
                    + pids + "): remove the extra ones from the deploy directory");
        }
        return naming.isEmpty() ? null : naming.get(0);
    }

    /** Validates {@code key=value} words into typed configuration properties. */
    static Hashtable<String, Object> parseSettings(List<String> words) throws UnixctlException {
        Hashtable<String, Object> out = new Hashtable<>();
        for (String w : words) {
            int eq = w.indexOf('=');
            if (eq <= 0) {
                throw new UnixctlException("'" + w + "': expected KEY=VALUE");
            }
            String k = w.substring(0, eq);
            String v = w.substring(eq + 1).trim();
            try {
                switch (k) {
                    case "ring.size" -> {
                        int n = Integer.parseInt(v);
                        if (n < 64 || n > 4096 || Integer.bitCount(n) != 1) {
                            throw new UnixctlException("ring.size " + n + " is not a power of two from 64 to 4096");
                        }
                        out.put(k, n);
                    }
                    case "fault.error.rate" -> {
                        double d = Double.parseDouble(v);
                        if (!(d >= 0 && d <= 1)) {
                            throw new UnixctlException("fault.error.rate " + v + " is outside 0..1");
                        }
                        out.put(k, d);
                    }
                    case "fault.stall" -> {
                        if (!v.equals("true") && !v.equals("false")) {
                            throw new UnixctlException("fault.stall must be true or false, not '" + v + "'");
                        }
                        out.put(k, Boolean.parseBoolean(v));
                    }
                    case "engine" -> {
                        if (DmaEngines.named(v) == null) {
                            throw new UnixctlException("engine '" + v + "' is not one of "
                                    + DmaEngines.ALL.stream().map(DmaEngines.Engine::name).toList());
                        }
                        out.put(k, v);
                    }
                    case "device" -> {
                        if (v.isEmpty() || !v.matches("[A-Za-z0-9_.:-]+")) {
                            throw new UnixctlException("device '" + v + "' is not a dmadev device name");
                        }
                        out.put(k, v);
                    }
                    case "engine.cpu" -> {
                        int n = Integer.parseInt(v);
                        int cpus = Runtime.getRuntime().availableProcessors();
                        if (n < -1 || n >= cpus) {
                            throw new UnixctlException("engine.cpu " + n + " is not -1 (not pinned) or a CPU from 0 to "
                                    + (cpus - 1));
                        }
                        out.put(k, n);
                    }
                    default -> throw new UnixctlException("unknown setting '" + k
                            + "' (engine, device, ring.size, fault.error.rate, fault.stall, engine.cpu)");
                }
            } catch (NumberFormatException e) {
                throw new UnixctlException(k + ": '" + v + "' is not a number");
            }
        }
        return out;
    }
}
