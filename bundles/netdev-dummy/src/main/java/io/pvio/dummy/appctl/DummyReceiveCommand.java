package io.pvio.dummy.appctl;

import io.pvio.dummy.DummyPort;
import io.pvio.dummy.DummyPorts;
import io.pvio.unixctl.UnixctlCommand;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import org.osgi.service.component.annotations.Component;

/** {@code netdev-dummy/receive PORT [-q QID] HEXPACKET...}: injects frames into a dummy port's rx side. */
@Component(service = UnixctlCommand.class, property = {UnixctlCommand.COMMAND_PROPERTY + "=netdev-dummy/receive",
        UnixctlCommand.USAGE_PROPERTY + "=PORT [-q QID] HEXPACKET..."})
public final class DummyReceiveCommand implements UnixctlCommand {
    @Override
    public String run(List<String> args) throws UnixctlException {
        if (args.size() < 2) {
            throw new UnixctlException("usage: netdev-dummy/receive PORT [-q QID] HEXPACKET...");
        }
        DummyPort port = DummyPorts.dummy(args.get(0));
        if (port == null) {
            throw new UnixctlException("no such dummy port: " + args.get(0));
        }
        int i = 1;
        int qid = 0;
        if (args.get(1).equals("-q")) {
            if (args.size() < 4) {
                throw new UnixctlException("usage: netdev-dummy/receive PORT [-q QID] HEXPACKET...");
            }
            try {
                qid = Integer.parseInt(args.get(2));
            } catch (NumberFormatException e) {
                throw new UnixctlException("bad queue id: " + args.get(2));
            }
            i = 3;
        }
        int n = 0;
        for (; i < args.size(); i++) {
            byte[] frame = parseHex(args.get(i));
            try {
                if (!port.receive(qid, frame)) {
                    throw new UnixctlException(port.name() + ": rx queue " + qid + " full or pool empty after "
                            + n + " packet(s)");
                }
            } catch (IllegalArgumentException e) {
                throw new UnixctlException(e.getMessage());
            }
            n++;
        }
        return "";
    }

    static byte[] parseHex(String s) throws UnixctlException {
        String h = s.replace(":", "").replace(" ", "");
        if (h.startsWith("0x") || h.startsWith("0X")) {
            h = h.substring(2);
        }
        if (h.isEmpty() || (h.length() & 1) != 0) {
            throw new UnixctlException("'" + s + "' is not a packet in hex (an even number of hex digits)");
        }
        byte[] b = new byte[h.length() / 2];
        for (int i = 0; i < b.length; i++) {
            int hi = Character.digit(h.charAt(2 * i), 16);
            int lo = Character.digit(h.charAt(2 * i + 1), 16);
            if (hi < 0 || lo < 0) {
                throw new UnixctlException("'" + s + "' is not a packet in hex: bad digit at " + (2 * i));
            }
            b[i] = (byte) (hi << 4 | lo);
        }
        return b;
    }
}
