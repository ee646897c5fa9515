package io.pvio.dma.dmadev.component;

import io.pvio.dma.DmaDevice;
import io.pvio.dma.dmadev.DmadevEngine;
import io.pvio.dma.spi.ChannelPublisher;
import io.pvio.dma.spi.EngineChannel;
import java.util.Map;
import java.util.logging.Logger;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;

/**
 * One channel on a dmadev device ({@link DmaDevice} service, driver {@value #DRIVER}, engine {@code dmadev},
 * {@code dma.device} the device name) per factory configuration of {@value #FACTORY_PID}. The first one
 * starts EAL. A device that does not exist, a shim the build could not make, or EAL failing refuses the
 * configuration with the reason in the log; nothing is registered.
 */
@Component(configurationPid = DmadevChannelComponent.FACTORY_PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        immediate = true, service = {})
@Designate(ocd = DmadevConfig.class, factory = true)
public final class DmadevChannelComponent {
    public static final String FACTORY_PID = "io.pvio.dma.dmadev";
    public static final String DRIVER = "dmadev";
    static final String LOG_NAME = "dma_dmadev";

    @Reference
    private EalComponent eal;
    private ChannelPublisher publisher;

    @Activate
    void activate(BundleContext ctx, DmadevConfig cfg, Map<String, Object> props) {
        publisher = new ChannelPublisher(DRIVER, LOG_NAME, ctx, String.valueOf(props.get("service.pid")));
        ChannelPublisher.Settings s = settings(cfg);
        if (s != null) {
            publisher.activate(s, address -> engine(cfg));
        }
    }

    @Modified
    void modified(DmadevConfig cfg) {
        ChannelPublisher.Settings s = settings(cfg);
        if (s != null) {
            publisher.modified(s, address -> engine(cfg));
        }
    }

    @Deactivate
    void deactivate() {
        publisher.deactivate();
    }

    EngineChannel channel() {
        return publisher.channel();
    }

    private DmadevEngine engine(DmadevConfig cfg) throws io.pvio.dma.DmaException {
        eal.ensureStarted();
        return new DmadevEngine(cfg.device().trim());
    }

    private static ChannelPublisher.Settings settings(DmadevConfig cfg) {
        try {
            return new ChannelPublisher.Settings(cfg.address(), cfg.ring_size(), cfg.fault_error_rate(),
                    cfg.fault_stall(), "device=" + cfg.device());
        } catch (RuntimeException e) { // SCR cannot convert a value (ring.size=1k)
            Logger.getLogger(LOG_NAME).severe(FACTORY_PID + ": configuration refused for " + cfg.address() + ": "
                    + e.getMessage());
            return null;
        }
    }
}
