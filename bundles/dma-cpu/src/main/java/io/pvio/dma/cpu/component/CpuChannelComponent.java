package io.pvio.dma.cpu.component;

import io.pvio.dma.DmaDevice;
import io.pvio.dma.DmaException;
import io.pvio.dma.PciAddress;
import io.pvio.dma.cpu.CpuChannel;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.Map;
import java.util.logging.Logger;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.Designate;

/**
 * One started {@link CpuChannel} per factory configuration of {@value #FACTORY_PID}, registered as a
 * {@link DmaDevice} by this component (a refused configuration registers nothing). A changed configuration
 * re-creates the channel. Way down: unregister (users drain in their unbind), then stop.
 */
@Component(configurationPid = CpuChannelComponent.FACTORY_PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        immediate = true, service = {})
@Designate(ocd = CpuConfig.class, factory = true)
public final class CpuChannelComponent {
    public static final String FACTORY_PID = "io.pvio.dma.cpu";
    private static final Logger LOG = Logger.getLogger("dma_cpu");
    /** address -> owning PID: one configuration per channel address */
    private static final Map<String, String> OWNERS = new HashMap<>();

    private String pid;
    private String address;
    private CpuChannel channel;
    private ServiceRegistration<DmaDevice> registration;

    @Activate
    void activate(BundleContext ctx, CpuConfig cfg, Map<String, Object> props) {
        pid = String.valueOf(props.get("service.pid"));
        String addr;
        try {
            addr = PciAddress.normalize(cfg.address());
        } catch (IllegalArgumentException e) {
            LOG.severe(pid + ": configuration refused: address " + e.getMessage());
            return;
        }
        synchronized (OWNERS) {
            String owner = OWNERS.putIfAbsent(addr, pid);
            if (owner != null) {
                LOG.severe(pid + ": configuration refused: DMA channel " + addr + " is already configured by " + owner
                        + " (one configuration per channel address)");
                return;
            }
        }
        address = addr;
        try {
            channel = new CpuChannel(addr, cfg.ring_size());
        } catch (DmaException | RuntimeException e) { // RuntimeException: SCR cannot convert a value (ring.size=1k)
            LOG.severe(pid + ": configuration refused for " + addr + ": " + e.getMessage());
            deactivate();
            return;
        }
        channel.start();
        Hashtable<String, Object> sp = new Hashtable<>();
        sp.put(DmaDevice.ADDRESS_PROPERTY, addr);
        sp.put(DmaDevice.DRIVER_PROPERTY, CpuChannel.DRIVER);
        sp.put(DmaDevice.RING_SIZE_PROPERTY, cfg.ring_size());
        registration = ctx.registerService(DmaDevice.class, channel, sp);
        LOG.info("DMA channel " + addr + " registered (driver cpu, ring " + cfg.ring_size() + ", pid " + pid + ")");
    }

    @Deactivate
    void deactivate() {
        if (registration != null) {
            try {
                registration.unregister();
            } catch (IllegalStateException e) {
                LOG.fine(address + ": already unregistered");
            }
            registration = null;
        }
        if (channel != null) {
            channel.stop();
            channel = null;
            LOG.info("DMA channel " + address + " unregistered and stopped");
        }
        if (address != null) {
            synchronized (OWNERS) {
                OWNERS.remove(address, pid);
            }
            address = null;
        }
    }

    CpuChannel channel() {
        return channel;
    }
}
