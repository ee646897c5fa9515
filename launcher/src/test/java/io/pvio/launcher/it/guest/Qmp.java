package io.pvio.launcher.it.guest;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A QEMU Machine Protocol client on QEMU's {@code -qmp unix:PATH,server=on,wait=off} socket: one command at a
 * time, its {@code return} or {@code error} line as text (asynchronous events are skipped).
 */
final class Qmp implements AutoCloseable {
    private final SocketChannel ch;
    private final StringBuilder in = new StringBuilder();
    private final ByteBuffer buf = ByteBuffer.allocate(65536);

    private Qmp(SocketChannel ch) {
        this.ch = ch;
    }

    /** Connects (waiting up to {@code timeoutMs} for QEMU to create the socket) and leaves capabilities mode. */
    static Qmp connect(Path socket, long timeoutMs) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        for (;;) {
            if (Files.exists(socket)) {
                try {
                    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                    ch.connect(UnixDomainSocketAddress.of(socket));
                    Qmp q = new Qmp(ch);
                    q.line(); // the greeting
                    q.execute("{\"execute\":\"qmp_capabilities\"}");
                    return q;
                } catch (IOException e) {
                    if (System.nanoTime() > deadline) {
                        throw e;
                    }
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no QMP socket " + socket + " within " + timeoutMs + " ms");
            }
            Thread.sleep(100);
        }
    }

    /** Sends one command (a JSON object) and returns its answer line; an AssertionError for an error answer. */
    String execute(String command) throws IOException {
        ch.write(ByteBuffer.wrap((command + "\n").getBytes(StandardCharsets.UTF_8)));
        for (;;) {
            String l = line();
            if (l.contains("\"return\"")) {
                return l;
            }
            if (l.contains("\"error\"")) {
                throw new AssertionError("QMP " + command + ": " + l);
            }
            // an event: skipped
        }
    }

    private String line() throws IOException {
        for (;;) {
            int nl = in.indexOf("\n");
            if (nl >= 0) {
                String l = in.substring(0, nl).strip();
                in.delete(0, nl + 1);
                return l;
            }
            buf.clear();
            if (ch.read(buf) < 0) {
                throw new IOException("QMP connection closed");
            }
            buf.flip();
            in.append(StandardCharsets.UTF_8.decode(buf));
        }
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
