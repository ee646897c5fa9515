package io.pvio.control.dma;

import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.osgi.framework.Constants;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/** The DMA engines the dma/* commands configure, and which of them a started bundle drives now. */
final class DmaEngines {
    /**
     * An engine: the factory PID of its channel configurations, the {@code dma.driver} of the channels its
     * driver registers, and the bundle of pvio.jar that provides that driver.
     */
    record Engine(String name, String factoryPid, String driver, String bundle) {
    }

    static final Engine MODEL = new Engine("model", "io.pvio.dma.ioat", "ioat", "io.pvio.dma-ioat");
    static final List<Engine> ALL = List.of(MODEL, new Engine("cpu", "io.pvio.dma.cpu", "cpu", "io.pvio.dma-cpu"),
            new Engine("dmadev", "io.pvio.dma.dmadev", "dmadev", "io.pvio.dma-dmadev"));

    private DmaEngines() {
    }

    /** The engine called {@code name}, or null. */
    static Engine named(String name) {
        for (Engine e : ALL) {
            if (e.name().equals(name)) {
                return e;
            }
        }
        return null;
    }

    /**
     * What SCR runs now: the engines' factory PIDs that an enabled component of a started bundle takes its
     * configurations from (a driver, whichever bundle), and the configuration PIDs such a component has
     * activated.
     */
    record Drivers(Set<String> factoryPids, Set<String> activated) {
        /** True when a started bundle drives {@code e}'s channels. */
        boolean drive(Engine e) {
            return factoryPids.contains(e.factoryPid());
        }

        /** The drivers SCR runs, or null when that cannot be told ({@code scr} null or failing). */
        static Drivers of(ServiceComponentRuntime scr) {
            if (scr == null) {
                return null;
            }
            Set<String> pids = new HashSet<>();
            for (Engine e : ALL) {
                pids.add(e.factoryPid());
            }
            Set<String> served = new HashSet<>();
            Set<String> activated = new HashSet<>();
            try {
                for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs()) { // of started bundles
                    if (d.configurationPid == null || !scr.isComponentEnabled(d)) {
                        continue;
                    }
                    for (String pid : d.configurationPid) {
                        if (!pids.contains(pid)) {
                            continue;
                        }
                        served.add(pid);
                        for (ComponentConfigurationDTO c : scr.getComponentConfigurationDTOs(d)) {
                            if (c.state == ComponentConfigurationDTO.ACTIVE && c.properties != null) {
                                addPids(c.properties.get(Constants.SERVICE_PID), activated);
                            }
                        }
                    }
                }
            } catch (RuntimeException e) { // a bundle stopping meanwhile
                return null;
            }
            return new Drivers(served, activated);
        }

        /** service.pid is a String, or several for a component with several configuration PIDs. */
        private static void addPids(Object v, Set<String> out) {
            if (v instanceof String s) {
                out.add(s);
            } else if (v instanceof String[] a) {
                out.addAll(List.of(a));
            } else if (v instanceof Collection<?> c) {
                c.forEach(x -> out.add(String.valueOf(x)));
            }
        }
    }
}
