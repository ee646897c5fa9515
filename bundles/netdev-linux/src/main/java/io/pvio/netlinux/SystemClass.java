package io.pvio.netlinux;

import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevClass;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.NetdevException;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * Netdev class {@code system}: kernel interfaces by name (OVS's netdev-linux "system" class), the type of an
 * untyped {@code add-port}. A monitor thread follows each port's interface once a second.
 */
@Component(service = NetdevClass.class, property = NetdevClass.TYPE_PROPERTY + "=" + SystemNetdev.TYPE)
public final class SystemClass implements NetdevClass {
    /** How often the monitor looks at the interfaces. */
    static final long POLL_MS = 1000;

    private final Set<SystemNetdev> ports = ConcurrentHashMap.newKeySet();
    private ScheduledExecutorService monitor;

    @Override
    public String type() {
        return SystemNetdev.TYPE;
    }

    @Override
    public Netdev open(String name, Map<String, String> options, NetdevContext context) throws NetdevException {
        SystemNetdev p = new SystemNetdev(name, options, context, ports::remove);
        ports.add(p);
        startMonitor();
        return p;
    }

    private synchronized void startMonitor() {
        if (monitor != null) {
            return;
        }
        monitor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "netdev-linux-monitor");
            t.setDaemon(true);
            return t;
        });
        monitor.scheduleWithFixedDelay(this::pollAll, POLL_MS, POLL_MS, TimeUnit.MILLISECONDS);
    }

    private void pollAll() {
        for (SystemNetdev p : ports) {
            try {
                if (p.poll()) {
                    p.changed();
                }
            } catch (RuntimeException e) {
                NetdevLinux.LOG.log(Level.WARNING, p.name() + ": monitoring the interface failed", e);
            }
        }
    }

    @Deactivate
    public synchronized void deactivate() {
        if (monitor != null) {
            monitor.shutdownNow();
            monitor = null;
        }
    }
}
