package io.pvio.control.dma;

import io.pvio.dma.DmaDevice;
import io.pvio.dma.PciAddress;
import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Logger;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.runtime.ServiceComponentRuntime;

/**
 * {@code appctl dma/show [ADDRESS]}: one line per DMA channel service (any driver) with its engine, the
 * engine's device and its counters. The busy column is the fraction of time the engine thread spent
 * copying since the channel started (model engine only). A channel configuration with no channel of its
 * engine's driver is a line too, STATE {@code waiting} (no driver has taken it: none started, or not yet) or
 * {@code refused} (its driver's component is active and registered nothing: see the log), no counters.
 */
@Component(property = {UnixctlCommand.COMMAND_PROPERTY + "=dma/show", UnixctlCommand.USAGE_PROPERTY + "=[ADDRESS]"})
public final class DmaShowCommand implements UnixctlCommand {
    private static final Logger LOG = Logger.getLogger("unixctl");
    private final List<Channel> channels = new CopyOnWriteArrayList<>();
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile ConfigurationAdmin cm;
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile ServiceComponentRuntime scr;

    private record Channel(DmaDevice device, String address, String driver, String engine, String dev) {
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addChannel(DmaDevice device, Map<String, Object> props) {
        Object engine = props.get(DmaDevice.ENGINE_PROPERTY);
        Object dev = props.get(DmaDevice.DEVICE_PROPERTY);
        channels.add(new Channel(device, String.valueOf(props.get(DmaDevice.ADDRESS_PROPERTY)),
                String.valueOf(props.get(DmaDevice.DRIVER_PROPERTY)), engine == null ? "-" : engine.toString(),
                dev == null ? "-" : dev.toString()));
    }

    void removeChannel(DmaDevice device) {
        channels.removeIf(c -> c.device() == device);
    }

    @Override
    public String run(List<String> args) throws UnixctlException {
        List<DmaConfigCommands.Configured> configured = List.of();
        ConfigurationAdmin c = cm;
        if (c != null) {
            try {
                configured = DmaConfigCommands.configured(c);
            } catch (IOException | InvalidSyntaxException | RuntimeException e) {
                LOG.warning("dma/show: cannot list the channel configurations: " + e);
            }
        }
        return show(args, configured, DmaEngines.Drivers.of(scr));
    }

    /** The table of the channels and of the configurations without one ({@code drivers} null: unknown). */
    String show(List<String> args, List<DmaConfigCommands.Configured> configured, DmaEngines.Drivers drivers)
            throws UnixctlException {
        if (args.size() > 1) {
            throw new UnixctlException("usage: dma/show [ADDRESS]");
        }
        String only = null;
        if (args.size() == 1) {
            try {
                only = PciAddress.normalize(args.get(0));
            } catch (IllegalArgumentException e) {
                throw new UnixctlException(e.getMessage());
            }
        }
        List<Channel> shown = new ArrayList<>();
        for (Channel c : channels) {
            if (only == null || only.equals(c.address())) {
                shown.add(c);
            }
        }
        List<Unbound> unbound = new ArrayList<>();
        for (DmaConfigCommands.Configured c : configured) {
            String driver = c.engine().driver();
            if ((only == null || only.equals(c.address()))
                    && shown.stream().noneMatch(ch -> ch.address().equals(c.address()) && ch.driver().equals(driver))
                    && unbound.stream().noneMatch(u -> u.c().address().equals(c.address())
                            && u.c().engine().equals(c.engine()))) {
                boolean refused = drivers != null && drivers.drive(c.engine()) && drivers.activated().contains(c.pid());
                unbound.add(new Unbound(c, refused ? "refused" : "waiting"));
            }
        }
        if (shown.isEmpty() && unbound.isEmpty()) {
            throw new UnixctlException(only == null ? "no DMA channel" : "no DMA channel " + only);
        }
        List<Row> rows = new ArrayList<>();
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("%-13s %-6s %-6s %-14s %5s %-5s %9s %6s %12s %12s %9s %9s %6s %10s %8s%n",
                "ADDRESS", "DRIVER", "ENGINE", "DEVICE", "RING", "STATE", "IN_FLIGHT", "QUEUED", "SUBMITTED", "COMPLETED", "FAILED", "RING_FULL",
                "BUSY", "DOORBELLS", "WAKEUPS"));
        for (Channel c : shown) {
            Map<String, Long> s = new HashMap<>();
            c.device().stats(s::put);
            String state = !c.device().isStarted() ? "down" : s.getOrDefault("stalled", 0L) != 0 ? "stall" : "up";
            Long ppm = s.get("engine_busy_ppm");
            rows.add(new Row(c.address(), c.driver(), String.format("%-13s %-6s %-6s %-14s %5d %-5s %9d %6s %12d %12d %9d %9d %6s %10s %8s%n",
                    c.address(), c.driver(), c.engine(), c.dev(), c.device().info().ringSize(), state, s.getOrDefault("in_flight", 0L),
                    orDash(s.get("queued")), s.getOrDefault("submitted", 0L), s.getOrDefault("completed", 0L),
                    s.getOrDefault("failed", 0L),
                    s.getOrDefault("ring_full", 0L),
                    ppm == null ? "-" : String.format("%.1f%%", ppm / 10_000.0), orDash(s.get("doorbells")),
                    orDash(s.get("wakeups")))));
        }
        // STATE is wider here: IN_FLIGHT narrower by as much, so that the columns stay aligned
        for (Unbound u : unbound) {
            DmaConfigCommands.Configured c = u.c();
            rows.add(new Row(c.address(), c.engine().driver(), String.format(
                    "%-13s %-6s %-6s %-14s %5s %-7s %7s %6s %12s %12s %9s %9s %6s %10s %8s%n", c.address(),
                    c.engine().driver(), c.engine().name(), c.device() == null ? "-" : c.device(),
                    c.ringSize() == null ? "-" : c.ringSize(), u.state(), "-", "-", "-", "-", "-", "-", "-", "-",
                    "-")));
        }
        rows.sort(Comparator.comparing(Row::address).thenComparing(Row::driver));
        rows.forEach(r -> sb.append(r.line()));
        return sb.toString();
    }

    private record Unbound(DmaConfigCommands.Configured c, String state) {
    }

    private record Row(String address, String driver, String line) {
    }

    private static String orDash(Long v) {
        return v == null ? "-" : v.toString();
    }
}
