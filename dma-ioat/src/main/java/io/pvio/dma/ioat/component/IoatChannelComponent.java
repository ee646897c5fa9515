package io.pvio.dma.ioat.component;

import io.pvio.dma.DmaDevice;
import io.pvio.dma.ioat.engine.ModelEngine;
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
import org.osgi.service.metatype.annotations.Designate;

/**
 * One IOAT channel ({@link DmaDevice} service, driver {@value #DRIVER}, engine {@code model}) per factory
 * configuration of {@value #FACTORY_PID}; the life cycle is the shared {@link ChannelPublisher}'s.
 */
@Component(configurationPid = IoatChannelComponent.FACTORY_PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        immediate = true, service = {})
@Designate(ocd = IoatConfig.class, factory = true)
public final class IoatChannelComponent {
    public static final String FACTORY_PID = "io.pvio.dma.ioat";
    public static final String DRIVER = "ioat";
    static final String LOG_NAME = "dma_ioat";

    private ChannelPublisher publisher;

    @Activate
    void activate(BundleContext ctx, IoatConfig cfg, Map<String, Object> props) {
        publisher = new ChannelPublisher(DRIVER, LOG_NAME, ctx, String.valueOf(props.get("service.pid")));
        ChannelPublisher.Settings s = settings(cfg);
        if (s != null) {
            publisher.activate(s, address -> new ModelEngine(address, cfg.engine_cpu()));
        }
    }

    @Modified
    void modified(IoatConfig cfg) {
        ChannelPublisher.Settings s = settings(cfg);
        if (s != null) {
            publisher.modified(s, address -> new ModelEngine(address, cfg.engine_cpu()));
        }
    }

    @Deactivate
    void deactivate() {
        publisher.deactivate();
    }

    /** The channel this component published, or null when its configuration was refused. */
    EngineChannel channel() {
        return publisher.channel();
    }

    /** The settings, or null (logged) when SCR cannot convert a value (ring.size=1k). */
    private static ChannelPublisher.Settings settings(IoatConfig cfg) {
        try {
            return new ChannelPublisher.Settings(cfg.address(), cfg.ring_size(), cfg.fault_error_rate(),
                    cfg.fault_stall(), "cpu=" + cfg.engine_cpu());
        } catch (RuntimeException e) {
            Logger.getLogger(LOG_NAME).severe(FACTORY_PID + ": configuration refused for " + cfg.address() + ": "
                    + e.getMessage());
            return null;
        }
    }
}
