package io.pvio.dma.ioat.component;

import io.pvio.dma.DmaDevice;
import io.pvio.dma.DmaException;
import io.pvio.dma.PciAddress;
import io.pvio.dma.ioat.channel.IoatChannel;
import io.pvio.dma.ioat.engine.Engine;
import io.pvio.dma.ioat.engine.ModelEngine;
import java.util.Hashtable;
import java.util.Map;
import java.util.Objects;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.Designate;

/**
 * One component instance per factory configuration of {@value #FACTORY_PID}: builds, starts and
 * registers one {@link DmaDevice} channel.
 *
 * <p>The service is registered by this component (not by SCR) so that a refused configuration (bad
 * address, bad ring size, address already taken) simply registers nothing, and so that a changed fault
 * setting is applied to the live channel. Order on the way down: clear a stall, unregister (users drain in
 * their unbind, synchronously), then stop the engine, which waits for everything submitted.
 */
@Component(configurationPid = IoatChannelComponent.FACTORY_PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        immediate = true, service = {})
@Designate(ocd = IoatConfig.class, factory = true)
public final class IoatChannelComponent {
    public static final String FACTORY_PID = "io.pvio.dma.ioat";
    private static final Logger LOG = Logger.getLogger("dma_ioat");

    private BundleContext context;
    private String pid;
    private IoatConfig config;
    private String address;
    private IoatChannel channel;
    private ServiceRegistration<DmaDevice> registration;

    @Activate
    void activate(BundleContext ctx, IoatConfig cfg, Map<String, Object> props) {
        context = ctx;
        pid = String.valueOf(props.get("service.pid"));
        bringUp(cfg);
    }

    @Modified
    void modified(IoatConfig cfg) {
        if (channel != null && sameChannel(config, cfg)) {
            applyFaults(cfg);
            config = cfg;
            return;
        }
        String refused = check(cfg);
        if (refused != null && channel != null) {
            // a working channel is not torn down for settings that would be refused
            LOG.severe(pid + ": new settings refused (" + refused + "); DMA channel " + address + " keeps running"
                    + " with the previous ones");
            return;
        }
        LOG.info(pid + ": channel settings changed, re-creating the channel");
        tearDown();
        bringUp(cfg);
    }

    /** Why {@code cfg} would be refused, or null (address, ring size, fault rate, values SCR cannot convert). */
    private String check(IoatConfig cfg) {
        try {
            String a = PciAddress.normalize(cfg.address());
            String owner = AddressTable.owner(a);
            if (owner != null && !owner.equals(pid)) {
                return "DMA channel " + a + " is already configured by " + owner;
            }
            IoatChannel.checkRingSize(cfg.ring_size());
            double rate = cfg.fault_error_rate();
            if (!(rate >= 0 && rate <= 1)) {
                return "fault.error.rate " + rate + " is not in 0..1";
            }
            cfg.engine_cpu();
            cfg.fault_stall();
            return null;
        } catch (DmaException | RuntimeException e) { // SCR's ComponentException for a value it cannot convert
            return e.getMessage();
        }
    }

    @Deactivate
    void deactivate() {
        tearDown();
    }

    /** The channel this component published, or null when its configuration was refused. */
    IoatChannel channel() {
        return channel;
    }

    private void bringUp(IoatConfig cfg) {
        config = cfg;
        try {
            address = PciAddress.normalize(cfg.address());
        } catch (IllegalArgumentException e) {
            LOG.severe(pid + ": configuration refused: address " + e.getMessage());
            return;
        }
        String owner = AddressTable.claim(address, pid);
        if (owner != null) {
            LOG.severe(pid + ": configuration refused: DMA channel " + address + " is already configured by "
                    + owner + " (one configuration per channel address)");
            address = null;
            return;
        }
        IoatChannel ch;
        try {
            ch = new IoatChannel(address, createEngine(address, cfg), cfg.ring_size());
            ch.setFaults(cfg.fault_error_rate(), cfg.fault_stall());
        } catch (DmaException | RuntimeException e) { // RuntimeException: SCR cannot convert a value (ring.size=1k)
            LOG.severe(pid + ": configuration refused for " + address + ": " + e.getMessage());
            AddressTable.release(address, pid);
            address = null;
            return;
        }
        ch.start();
        channel = ch;
        Hashtable<String, Object> sp = new Hashtable<>();
        sp.put(DmaDevice.ADDRESS_PROPERTY, address);
        sp.put(DmaDevice.DRIVER_PROPERTY, IoatChannel.DRIVER);
        sp.put(DmaDevice.RING_SIZE_PROPERTY, cfg.ring_size());
        sp.put("dma.engine", "model");
        try {
            registration = context.registerService(DmaDevice.class, ch, sp);
        } catch (RuntimeException e) {
            LOG.log(Level.SEVERE, pid + ": cannot register DMA channel " + address, e);
            tearDown();
            return;
        }
        LOG.info("DMA channel " + address + " registered (driver ioat, ring " + cfg.ring_size() + ", pid " + pid
                + ")");
    }

    private void tearDown() {
        IoatChannel ch = channel;
        if (ch != null) {
            ch.setFaults(0, false); // a stalled channel could never drain
            ServiceRegistration<DmaDevice> reg = registration;
            registration = null;
            if (reg != null) {
                try {
                    reg.unregister();
                } catch (IllegalStateException e) {
                    LOG.fine(address + ": already unregistered");
                }
            }
            ch.stop();
            channel = null;
            LOG.info("DMA channel " + address + " unregistered and stopped");
        }
        if (address != null) {
            AddressTable.release(address, pid);
            address = null;
        }
    }

    private void applyFaults(IoatConfig cfg) {
        try {
            channel.setFaults(cfg.fault_error_rate(), cfg.fault_stall());
            LOG.info(address + ": faults now error.rate=" + cfg.fault_error_rate() + " stall=" + cfg.fault_stall());
        } catch (IllegalArgumentException e) {
            LOG.severe(pid + ": fault settings refused: " + e.getMessage());
        }
    }

    private static boolean sameChannel(IoatConfig a, IoatConfig b) {
        try {
            return a != null && Objects.equals(normalized(a.address()), normalized(b.address()))
                    && a.ring_size() == b.ring_size() && a.engine_cpu() == b.engine_cpu();
        } catch (RuntimeException e) { // a value SCR cannot convert: not the same channel
            return false;
        }
    }

    private static String normalized(String address) {
        try {
            return PciAddress.normalize(address);
        } catch (IllegalArgumentException e) {
            return address;
        }
    }

    /** The one place that chooses the engine: a hardware (dmadev) engine would be selected here. */
    private static Engine createEngine(String address, IoatConfig cfg) {
        return new ModelEngine(address, cfg.engine_cpu());
    }
}
