package io.pvio.control.dma;

import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.runtime.ServiceComponentRuntime;

/**
 * {@code appctl dma/set ADDRESS [KEY=VALUE...]}: adds or changes a DMA channel's configuration (any engine);
 * the reply says when no started bundle drives the engine (SCR tells).
 */
@Component(property = {UnixctlCommand.COMMAND_PROPERTY + "=dma/set",
        UnixctlCommand.USAGE_PROPERTY + "=ADDRESS [engine=model|cpu|dmadev] [device=NAME] [ring.size=N]"
                + " [fault.error.rate=X] [fault.stall=BOOL] [engine.cpu=N]"})
public final class DmaSetCommand implements UnixctlCommand {
    private final ConfigurationAdmin cm;
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile ServiceComponentRuntime scr;

    @Activate
    public DmaSetCommand(@Reference ConfigurationAdmin cm) {
        this.cm = cm;
    }

    @Override
    public String run(List<String> args) throws UnixctlException {
        return DmaConfigCommands.set(cm, DmaEngines.Drivers.of(scr), args);
    }
}
