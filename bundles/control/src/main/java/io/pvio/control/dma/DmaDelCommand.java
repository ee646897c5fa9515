package io.pvio.control.dma;

import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code appctl dma/del ADDRESS}: deletes a DMA channel's configuration (its service goes away). */
@Component(property = {UnixctlCommand.COMMAND_PROPERTY + "=dma/del", UnixctlCommand.USAGE_PROPERTY + "=ADDRESS [engine=model|cpu|dmadev]"})
public final class DmaDelCommand implements UnixctlCommand {
    private final ConfigurationAdmin cm;

    @Activate
    public DmaDelCommand(@Reference ConfigurationAdmin cm) {
        this.cm = cm;
    }

    @Override
    public String run(List<String> args) throws UnixctlException {
        return DmaConfigCommands.del(cm, args);
    }
}
