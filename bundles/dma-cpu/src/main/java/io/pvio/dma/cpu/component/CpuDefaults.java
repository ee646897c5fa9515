package io.pvio.dma.cpu.component;

import io.pvio.dma.spi.ChannelPublisher;
import java.io.IOException;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * When ConfigAdmin holds no {@value CpuChannelComponent#FACTORY_PID} configuration, creates channels
 * 0000:00:04.0-.7 (ring 256) as {@code io.pvio.dma.cpu~default-0..7}, the same default as dma-ioat.
 * Framework property {@value #DISABLE_PROPERTY}{@code =false} turns it off.
 */
@Component(immediate = true, service = {})
public final class CpuDefaults {
    public static final String DISABLE_PROPERTY = "pvio.dma.cpu.defaults";
    private static final Logger LOG = Logger.getLogger("dma_cpu");

    @Reference
    private ConfigurationAdmin configAdmin;

    @Activate
    void activate(BundleContext ctx) {
        if ("false".equalsIgnoreCase(ctx.getProperty(DISABLE_PROPERTY))) {
            return;
        }
        try {
            ChannelPublisher.createDefaultsIfNone(configAdmin, CpuChannelComponent.FACTORY_PID, "0000:00:04", 8, 256,
                    Map.of(), CpuChannelComponent.LOG_NAME);
        } catch (IOException | InvalidSyntaxException e) {
            LOG.log(Level.SEVERE, "cannot create the default CPU DMA channel configurations", e);
        }
    }
}
