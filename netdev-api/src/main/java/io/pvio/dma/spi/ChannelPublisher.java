package io.pvio.dma.spi;

import io.pvio.dma.DmaDevice;
import io.pvio.dma.DmaException;
import io.pvio.dma.PciAddress;
import java.io.IOException;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.Map;
import java.util.Objects;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * The life cycle of one channel service, for a provider's DS component (one instance per factory
 * configuration): builds the {@link EngineChannel}, starts and registers it, applies changed settings,
 * and takes it down.
 *
 * <p>The service is registered here (not by SCR) so that a refused configuration (bad address, bad ring
 * size, address already taken by this provider, engine refused) simply registers nothing, and so that a
 * changed fault setting is applied to the live channel. Order on the way down: clear a stall, unregister
 * (users drain in their unbind, synchronously), then stop the engine, which waits for everything
 * submitted. Not thread-safe: SCR serialises a component's activate, modified and deactivate.
 */
public final class ChannelPublisher {
    /** driver + " " + address -> owning PID: one configuration per channel address and provider. */
    private static final Map<String, String> OWNERS = new HashMap<>();

    /**
     * One channel's settings. {@code engineKey} holds the engine settings whose change needs a new channel
     * (device name, pinned core...); faults apply to the live channel.
     */
    public record Settings(String address, int ringSize, double errorRate, boolean stall, String engineKey) {
    }

    /** Builds the engine for a channel. */
    @FunctionalInterface
    public interface EngineFactory {
        DmaEngine create(String address) throws DmaException;
    }

    private final String driver;
    private final String logName;
    private final Logger log;
    private final BundleContext context;
    private final String pid;
    private Settings settings;
    private String address;
    private EngineChannel channel;
    private ServiceRegistration<DmaDevice> registration;

    /**
     * @param driver  the provider's {@value DmaDevice#DRIVER_PROPERTY}, e.g. {@code ioat}
     * @param logName its OVS-style log module, e.g. {@code dma_ioat}
     */
    public ChannelPublisher(String driver, String logName, BundleContext context, String pid) {
        this.driver = driver;
        this.logName = logName;
        this.log = Logger.getLogger(logName);
        this.context = context;
        this.pid = pid;
    }

    /** The channel published, or null when the configuration was refused. */
    public EngineChannel channel() {
        return channel;
    }

    /** Who owns {@code address} for provider {@code driver}, or null. */
    public static String owner(String driver, String address) {
        synchronized (OWNERS) {
            return OWNERS.get(driver + " " + address);
        }
    }

    /** Claims {@code address} of provider {@code driver} for {@code pid}; returns the other owner's PID, or null. */
    public static String claim(String driver, String address, String pid) {
        synchronized (OWNERS) {
            String owner = OWNERS.putIfAbsent(driver + " " + address, pid);
            return owner == null || owner.equals(pid) ? null : owner;
        }
    }

    /** Gives back an address claimed with {@link #claim}. */
    public static void release(String driver, String address, String pid) {
        synchronized (OWNERS) {
            OWNERS.remove(driver + " " + address, pid);
        }
    }

    /** Builds, starts and registers the channel; logs and registers nothing when refused. */
    public void activate(Settings s, EngineFactory engines) {
        settings = s;
        try {
            address = PciAddress.normalize(s.address());
        } catch (IllegalArgumentException | NullPointerException e) {
            log.severe(pid + ": configuration refused: address " + e.getMessage());
            return;
        }
        String owner = claim(driver, address, pid);
        if (owner != null) {
            log.severe(pid + ": configuration refused: DMA channel " + address + " is already configured by " + owner
                    + " (one configuration per channel address)");
            address = null;
            return;
        }
        EngineChannel ch;
        try {
            if (!(s.errorRate() >= 0 && s.errorRate() <= 1)) {
                throw new DmaException("fault.error.rate " + s.errorRate() + " is not in 0..1");
            }
            ch = new EngineChannel(address, driver, engines.create(address), s.ringSize(), logName);
            ch.setFaults(s.errorRate(), s.stall());
            ch.start();
        } catch (DmaException | RuntimeException e) {
            log.severe(pid + ": configuration refused for " + address + ": " + e.getMessage());
            release();
            return;
        }
        channel = ch;
        var info = ch.info();
        Hashtable<String, Object> sp = new Hashtable<>();
        sp.put(DmaDevice.ADDRESS_PROPERTY, address);
        sp.put(DmaDevice.DRIVER_PROPERTY, driver);
        sp.put(DmaDevice.RING_SIZE_PROPERTY, s.ringSize());
        sp.put(DmaDevice.ENGINE_PROPERTY, info.engine());
        sp.put(DmaDevice.DEVICE_PROPERTY, info.device());
        try {
            registration = context.registerService(DmaDevice.class, ch, sp);
        } catch (RuntimeException e) {
            log.log(Level.SEVERE, pid + ": cannot register DMA channel " + address, e);
            deactivate();
            return;
        }
        log.info("DMA channel " + address + " registered (driver " + driver + ", engine " + info.engine()
                + (info.device().equals("-") ? "" : " on " + info.device()) + ", ring " + s.ringSize() + ", pid "
                + pid + ")");
    }

    /**
     * Changed settings: faults alone apply to the live channel; anything else re-creates it, unless the new
     * settings would be refused (a working channel is not torn down for them).
     */
    public void modified(Settings s, EngineFactory engines) {
        if (channel != null && sameChannel(settings, s)) {
            try {
                channel.setFaults(s.errorRate(), s.stall());
                log.info(address + ": faults now error.rate=" + s.errorRate() + " stall=" + s.stall());
                settings = s;
            } catch (IllegalArgumentException e) {
                log.severe(pid + ": fault settings refused: " + e.getMessage());
            }
            return;
        }
        String refused = check(s);
        if (refused != null && channel != null) {
            log.severe(pid + ": new settings refused (" + refused + "); DMA channel " + address
                    + " keeps running with the previous ones");
            return;
        }
        log.info(pid + ": channel settings changed, re-creating the channel");
        deactivate();
        activate(s, engines);
    }

    private String check(Settings s) {
        try {
            String a = PciAddress.normalize(s.address());
            String owner = owner(driver, a);
            if (owner != null && !owner.equals(pid)) {
                return "DMA channel " + a + " is already configured by " + owner;
            }
            if (channel != null) {
                channel.checkRingSize(s.ringSize());
            }
            if (!(s.errorRate() >= 0 && s.errorRate() <= 1)) {
                return "fault.error.rate " + s.errorRate() + " is not in 0..1";
            }
            return null;
        } catch (DmaException | RuntimeException e) {
            return e.getMessage();
        }
    }

    /** Unregisters (users drain), then stops; releases the address. */
    public void deactivate() {
        EngineChannel ch = channel;
        if (ch != null) {
            try {
                ch.setFaults(0, false); // a stalled channel could never drain
            } catch (RuntimeException e) {
                log.fine(address + ": " + e.getMessage());
            }
            ServiceRegistration<DmaDevice> reg = registration;
            registration = null;
            if (reg != null) {
                try {
                    reg.unregister();
                } catch (IllegalStateException e) {
                    log.fine(address + ": already unregistered");
                }
            }
            ch.stop();
            channel = null;
            ch.engine().close();
            log.info("DMA channel " + address + " unregistered and stopped");
        }
        release();
    }

    private void release() {
        if (address != null) {
            release(driver, address, pid);
            address = null;
        }
    }

    private static boolean sameChannel(Settings a, Settings b) {
        return a != null && Objects.equals(normalized(a.address()), normalized(b.address()))
                && a.ringSize() == b.ringSize() && Objects.equals(a.engineKey(), b.engineKey());
    }

    private static String normalized(String address) {
        try {
            return PciAddress.normalize(address);
        } catch (IllegalArgumentException | NullPointerException e) {
            return address;
        }
    }

    /**
     * The embedded default of a provider: when ConfigAdmin holds no configuration of {@code factoryPid},
     * creates one per function .0-.{@code channels-1} of PCI device {@code device} with ring {@code ring} and
     * the stable PIDs {@code factoryPid~default-N}, plus {@code extra} properties. Returns how many it created.
     */
    public static int createDefaultsIfNone(ConfigurationAdmin cm, String factoryPid, String device, int channels,
            int ring, Map<String, Object> extra, String logName) throws IOException, InvalidSyntaxException {
        Logger log = Logger.getLogger(logName);
        Configuration[] existing = cm.listConfigurations("(" + ConfigurationAdmin.SERVICE_FACTORYPID + "=" + factoryPid
                + ")");
        if (existing != null && existing.length > 0) {
            log.info(existing.length + " " + factoryPid + " channel configuration(s) found, no default channels added");
            return 0;
        }
        for (int fn = 0; fn < channels; fn++) {
            Configuration c = cm.getFactoryConfiguration(factoryPid, "default-" + fn, "?");
            Hashtable<String, Object> props = new Hashtable<>(extra);
            props.put("address", device + "." + fn);
            props.put("ring.size", ring);
            props.put("pvio.default", Boolean.TRUE);
            c.update(props);
        }
        log.info("no " + factoryPid + " channel configured: created " + channels + " default channels " + device
                + ".0-." + (channels - 1) + ", ring " + ring);
        return channels;
    }
}
