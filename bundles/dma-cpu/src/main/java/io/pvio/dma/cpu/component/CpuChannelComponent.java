package io.pvio.dma.cpu.component;

import io.pvio.dma.DmaDevice;
import io.pvio.dma.cpu.CpuChannel;
import io.pvio.dma.cpu.CpuEngine;
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
 * One started channel on a {@link CpuEngine} per factory configuration of {@value #FACTORY_PID}, registered as
 * a {@link DmaDevice} (driver {@code cpu}) by the shared {@link ChannelPublisher}.
 */
@Component(configurationPid = CpuChannelComponent.FACTORY_PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        immediate = true, service = {})
@Designate(ocd = CpuConfig.class, factory = true)
public final class CpuChannelComponent {
    public static final String FACTORY_PID = "io.pvio.dma.cpu";
    static final String LOG_NAME = "dma_cpu";

    private ChannelPublisher publisher;

    @Activate
    void activate(BundleContext ctx, CpuConfig cfg, Map<String, Object> props) {
        publisher = new ChannelPublisher(CpuChannel.DRIVER, LOG_NAME, ctx, String.valueOf(props.get("service.pid")));
        ChannelPublisher.Settings s = settings(cfg);
        if (s != null) {
            publisher.activate(s, address -> new CpuEngine());
        }
    }

    @Modified
    void modified(CpuConfig cfg) {
        ChannelPublisher.Settings s = settings(cfg);
        if (s != null) {
            publisher.modified(s, address -> new CpuEngine());
        }
    }

    @Deactivate
    void deactivate() {
        publisher.deactivate();
    }

    EngineChannel channel() {
        return publisher.channel();
    }

    private static ChannelPublisher.Settings settings(CpuConfig cfg) {
        try {
            return new ChannelPublisher.Settings(cfg.address(), cfg.ring_size(), 0, false, "");
        } catch (RuntimeException e) { // SCR cannot convert a value (ring.size=1k)
            Logger.getLogger(LOG_NAME).severe(FACTORY_PID + ": configuration refused for " + cfg.address() + ": "
                    + e.getMessage());
            return null;
        }
    }
}
