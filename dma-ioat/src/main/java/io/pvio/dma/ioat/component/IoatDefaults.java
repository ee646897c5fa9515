package io.pvio.dma.ioat.component;

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
 * The embedded default: when ConfigAdmin holds no {@value IoatChannelComponent#FACTORY_PID}
 * configuration, creates one per channel of device {@value #DEFAULT_DEVICE} (functions .0-.7, ring
 * {@value #DEFAULT_RING}), with the stable PIDs {@code io.pvio.dma.ioat~default-0} .. {@code ~default-7}.
 * Framework property {@value #DISABLE_PROPERTY}{@code =false} turns it off.
 */
@Component(immediate = true, service = {})
public final class IoatDefaults {
    public static final String DISABLE_PROPERTY = "pvio.dma.ioat.defaults";
    static final String DEFAULT_DEVICE = "0000:00:04";
    static final int DEFAULT_CHANNELS = 8;
    static final int DEFAULT_RING = 256;
    private static final Logger LOG = Logger.getLogger("dma_ioat");

    @Reference
    private ConfigurationAdmin configAdmin;

    @Activate
    void activate(BundleContext ctx) {
        if ("false".equalsIgnoreCase(ctx.getProperty(DISABLE_PROPERTY))) {
            LOG.fine("default DMA channels disabled by " + DISABLE_PROPERTY + "=false");
            return;
        }
        try {
            createIfNone(configAdmin);
        } catch (IOException | InvalidSyntaxException e) {
            LOG.log(Level.SEVERE, "cannot create the default DMA channel configurations", e);
        }
    }

    /** Creates the default configurations unless some exist; returns how many it created. */
    static int createIfNone(ConfigurationAdmin cm) throws IOException, InvalidSyntaxException {
        return ChannelPublisher.createDefaultsIfNone(cm, IoatChannelComponent.FACTORY_PID, DEFAULT_DEVICE,
                DEFAULT_CHANNELS, DEFAULT_RING, Map.of(), IoatChannelComponent.LOG_NAME);
    }
}
