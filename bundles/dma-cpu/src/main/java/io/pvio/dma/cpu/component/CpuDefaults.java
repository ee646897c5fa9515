package io.pvio.dma.cpu.component;

import java.io.IOException;
import java.util.Hashtable;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
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
            Configuration[] existing = configAdmin.listConfigurations(
                    "(" + ConfigurationAdmin.SERVICE_FACTORYPID + "=" + CpuChannelComponent.FACTORY_PID + ")");
            if (existing != null && existing.length > 0) {
                return;
            }
            for (int fn = 0; fn < 8; fn++) {
                Configuration c = configAdmin.getFactoryConfiguration(CpuChannelComponent.FACTORY_PID, "default-" + fn, "?");
                Hashtable<String, Object> props = new Hashtable<>();
                props.put("address", "0000:00:04." + fn);
                props.put("ring.size", 256);
                props.put("pvio.default", Boolean.TRUE);
                c.update(props);
            }
            LOG.info("no CPU DMA channel configured: created default channels 0000:00:04.0-.7, ring 256");
        } catch (IOException | InvalidSyntaxException e) {
            LOG.log(Level.SEVERE, "cannot create the default CPU DMA channel configurations", e);
        }
    }
}
