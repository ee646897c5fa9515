package io.pvio.control.protocol;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Sends one command line to the daemon's control socket and returns its reply. */
public final class ControlClient {
    private ControlClient() {
    }

    /** The control socket of the daemon using {@code runDir}. */
    public static Path socket(Path runDir) {
        return runDir.resolve(ControlProtocol.SOCKET_NAME);
    }

    /**
     * @throws NotRunningException when no daemon listens at the socket
     * @throws IOException         when the conversation breaks
     */
    public static ControlProtocol.Reply call(Path socket, List<String> argv) throws IOException {
        if (!Files.exists(socket)) {
            throw new NotRunningException("pvio-vswitchd is not running (no socket at " + socket + ")");
        }
        SocketChannel ch;
        try {
            ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            throw new NotRunningException("pvio-vswitchd is not running (cannot connect to " + socket + ": "
                    + e.getMessage() + ")");
        }
        try (ch) {
            ControlProtocol.writeRequest(Channels.newOutputStream(ch), argv);
            return ControlProtocol.readReply(Channels.newInputStream(ch));
        }
    }

    /** No daemon at the socket. */
    public static final class NotRunningException extends IOException {
        private static final long serialVersionUID = 1L;

        public NotRunningException(String message) {
            super(message);
        }
    }
}
