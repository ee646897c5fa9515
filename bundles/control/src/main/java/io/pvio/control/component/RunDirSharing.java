package io.pvio.control.component;

import io.pvio.netdev.RunDirectory;
import java.io.IOException;
import java.util.logging.Logger;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.cm.ConfigurationEvent;
import org.osgi.service.cm.ConfigurationListener;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * Makes the run directory's configuration ({@link RunDirectory#PID}) multi-location ("?"). Components of
 * several bundles read it, but ConfigAdmin binds an unbound configuration (Karaf's features create them
 * unbound) to the first bundle it is given to, and the other bundles then never see it: on Karaf with
 * Equinox, dpif-netdev kept ./pvio-run while control used ${karaf.data}/pvio. Changing the location makes
 * Declarative Services hand the configuration to every component that names the PID.
 */
@Component(immediate = true, service = ConfigurationListener.class)
public final class RunDirSharing implements ConfigurationListener {
    private static final Logger LOG = Logger.getLogger("bridge");
    static final String ANY_BUNDLE = "?";

    @Reference
    private ConfigurationAdmin configAdmin;

    @Activate
    void activate() {
        share();
    }

    @Override
    public void configurationEvent(ConfigurationEvent event) {
        if (RunDirectory.PID.equals(event.getPid()) && event.getType() != ConfigurationEvent.CM_DELETED) {
            share();
        }
    }

    private void share() {
        try {
            Configuration[] all = configAdmin.listConfigurations("(service.pid=" + RunDirectory.PID + ")");
            for (Configuration c : all == null ? new Configuration[0] : all) {
                String was = c.getBundleLocation();
                if (!ANY_BUNDLE.equals(was)) {
                    c.setBundleLocation(ANY_BUNDLE);
                    LOG.info("configuration " + RunDirectory.PID + " shared by every bundle (was bound to "
                            + was + ")");
                }
            }
        } catch (IOException | InvalidSyntaxException | IllegalStateException e) {
            LOG.warning("cannot share configuration " + RunDirectory.PID + ": " + e);
        }
    }
}
