package io.pvio.dummy.appctl;

import io.pvio.dummy.DummyPort;
import io.pvio.dummy.DummyPorts;
import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import org.osgi.service.component.annotations.Component;

/** {@code netdev-dummy/sent PORT [N]}: packets and bytes sent to a dummy port and its last N (8) frames in hex. */
@Component(service = UnixctlCommand.class, property = {UnixctlCommand.COMMAND_PROPERTY + "=netdev-dummy/sent",
        UnixctlCommand.USAGE_PROPERTY + "=PORT [N]"})
public final class DummySentCommand implements UnixctlCommand {
    @Override
    public String run(List<String> args) throws UnixctlException {
        if (args.isEmpty() || args.size() > 2) {
            throw new UnixctlException("usage: netdev-dummy/sent PORT [N]");
        }
        DummyPort port = DummyPorts.dummy(args.get(0));
        if (port == null) {
            throw new UnixctlException("no such dummy port: " + args.get(0));
        }
        int n = 8;
        if (args.size() == 2) {
            try {
                n = Integer.parseInt(args.get(1));
            } catch (NumberFormatException e) {
                throw new UnixctlException("bad frame count: " + args.get(1));
            }
        }
        StringBuilder sb = new StringBuilder();
        sb.append(port.name()).append(": sent ").append(port.sentPackets()).append(" packets, ")
                .append(port.sentBytes()).append(" bytes\n");
        List<byte[]> last = port.lastSent();
        for (int i = Math.max(0, last.size() - n); i < last.size(); i++) {
            sb.append(hex(last.get(i))).append('\n');
        }
        return sb.toString();
    }

    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder(b.length * 2);
        for (byte x : b) {
            sb.append(Character.forDigit(x >> 4 & 15, 16)).append(Character.forDigit(x & 15, 16));
        }
        return sb.toString();
    }
}
