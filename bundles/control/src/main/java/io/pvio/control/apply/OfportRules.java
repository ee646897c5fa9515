package io.pvio.control.apply;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.DpifException;
import io.pvio.dpif.PortInfo;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.logging.Logger;

/**
 * How the ports of one bridge get their OpenFlow numbers, as ovs-vswitchd gives them (bridge.c's
 * bridge_delete_or_reconfigure_ports and iface_pick_ofport, ofproto's alloc_ofp_port), for both
 * configuration paths (pvio's conf.db and OVSDB) so that they agree. A clash is never an error:
 * <ul>
 * <li>a port that has the number it asks for keeps it;
 * <li>a port asking for a number held by a port that does not ask for it gets it; the holder moves;
 * <li>a port asking for a number held by a port that asks for it too keeps its own number, or gets a free
 *     one when it is being added;
 * <li>ports are added those asking for a number first, then those with a recorded number, then the others.
 *     Unlike OVS (hash order) the order among ports asking for one number is fixed: the one that recorded
 *     that number first, then by name.
 * </ul>
 */
public final class OfportRules {
    private static final Logger LOG = Logger.getLogger("bridge");
    /** The highest number a port can have (OpenFlow's OFPP_MAX is 0xff00). */
    static final int MAX = 0xfeff;

    /**
     * One port of the bridge as configured.
     *
     * @param live     its number in the datapath, or -1 when it is not there (or is deleted and added again)
     * @param request  its ofport_request, or -1
     * @param recorded the number the database recorded for it (Interface ofport), or -1
     * @param local    the bridge's own port (OFPP_LOCAL): never renumbered, its request ignored, as in OVS
     */
    public record Port(String name, int live, int request, int recorded, boolean local) {
        int asked() {
            return local ? -1 : request;
        }
    }

    /** Add order: ports asking for a number, then ports with a recorded one, then the others (see above). */
    public static final Comparator<Port> ADD_ORDER = Comparator
            .comparingInt((Port p) -> p.asked() > 0 ? 0 : p.recorded() > 0 ? 1 : 2)
            .thenComparingInt(p -> p.asked() > 0 && p.recorded() == p.asked() ? 0 : 1)
            .thenComparing(Port::name);

    private OfportRules() {
    }

    /** The ports in the datapath to delete and add again so that requests are met (see above). */
    public static Set<String> displaced(Collection<Port> ports) {
        Map<Integer, Port> holders = new HashMap<>();
        for (Port p : ports) {
            if (p.live() > 0 && !p.local()) {
                holders.put(p.live(), p);
            }
        }
        Set<String> out = new TreeSet<>();
        for (Port p : ports) {
            int want = p.asked();
            if (want < 1 || want == p.live()) {
                continue;
            }
            Port holder = holders.get(want);
            if (holder == null) {
                if (p.live() > 0) {
                    out.add(p.name());
                }
            } else if (holder.asked() != want) {
                out.add(holder.name());
                if (p.live() > 0) {
                    out.add(p.name());
                }
            }
        }
        return out;
    }

    /**
     * The number to add {@code p} with: its request when free, else its recorded number when free and no
     * port asks for it, else the lowest such number; -1 (the datapath chooses) for the local port or when
     * none is left.
     *
     * @param taken     the numbers the bridge's ports have now
     * @param requested the numbers the bridge's ports ask for
     */
    public static int pick(Port p, Set<Integer> taken, Set<Integer> requested) {
        if (p.local()) {
            return -1;
        }
        if (p.asked() > 0 && !taken.contains(p.asked())) {
            return p.asked();
        }
        if (p.recorded() > 0 && p.recorded() <= MAX && !taken.contains(p.recorded())
                && !requested.contains(p.recorded())) {
            return p.recorded();
        }
        for (int n = 1; n <= MAX; n++) {
            if (!taken.contains(n) && !requested.contains(n)) {
                return n;
            }
        }
        return -1;
    }

    /**
     * Adds {@code p} with the number {@link #pick} gives it and adds that number to {@code taken}; a request
     * that cannot be met is logged, not refused.
     */
    public static void addPort(Dpif dpif, String bridge, Port p, String type, Map<String, String> options,
            Set<Integer> taken, Set<Integer> requested) throws DpifException {
        int n = pick(p, taken, requested);
        if (p.asked() > 0 && n != p.asked()) {
            String holder = dpif.ports(bridge).stream().filter(h -> h.ofport() == p.asked()).map(PortInfo::name)
                    .findFirst().orElse("?");
            LOG.warning("bridge " + bridge + ": interface " + p.name() + ": ofport_request " + p.asked()
                    + " is in use by " + holder + "; ofport " + n + " is chosen");
        }
        dpif.addPort(bridge, p.name(), type, options, n);
        PortInfo added = dpif.port(p.name());
        if (added != null) {
            taken.add(added.ofport());
        }
    }

    /** The numbers {@code bridge}'s ports have in the datapath. */
    public static Set<Integer> taken(Dpif dpif, String bridge) {
        Set<Integer> s = new HashSet<>();
        dpif.ports(bridge).forEach(p -> s.add(p.ofport()));
        return s;
    }

    /** The numbers the given ports ask for. */
    public static Set<Integer> requested(Collection<Port> ports) {
        Set<Integer> s = new HashSet<>();
        for (Port p : ports) {
            if (p.asked() > 0) {
                s.add(p.asked());
            }
        }
        return s;
    }
}
