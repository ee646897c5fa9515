package io.pvio.control.ovsdb;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One JSON-RPC 1.0 connection to an ovsdb-server (RFC 7047 section 4): requests with ids answered by
 * futures, {@code echo} requests answered at once, other notifications (monitor updates) handed to a
 * consumer on the reader thread. {@link #onClose} runs once when the connection ends for any reason.
 */
final class JsonRpc implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger("jsonrpc");
    static final ObjectMapper MAPPER = new ObjectMapper();

    private final String target;
    private final SocketChannel channel;
    private final Map<Long, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final Object writeLock = new Object();
    private final Thread reader;
    private volatile boolean closed;

    private JsonRpc(String target, SocketChannel channel, Consumer<JsonNode> notifications, Runnable onClose) {
        this.target = target;
        this.channel = channel;
        reader = new Thread(() -> readLoop(notifications, onClose), "ovsdb-rpc-reader");
        reader.setDaemon(true);
    }

    /** The address of {@code unix:PATH} or {@code tcp:HOST:PORT} (OVS's active connection methods). */
    static SocketAddress address(String target) {
        if (target.startsWith("unix:") && target.length() > 5) {
            return UnixDomainSocketAddress.of(Path.of(target.substring(5)));
        }
        if (target.startsWith("tcp:")) {
            String hp = target.substring(4);
            int colon = hp.lastIndexOf(':');
            if (colon > 0) {
                String host = hp.substring(0, colon);
                if (host.startsWith("[") && host.endsWith("]")) {
                    host = host.substring(1, host.length() - 1);
                }
                try {
                    int port = Integer.parseInt(hp.substring(colon + 1));
                    if (port > 0 && port < 65536) {
                        return new InetSocketAddress(host, port);
                    }
                } catch (NumberFormatException e) {
                    // the message below
                }
            }
        }
        throw new IllegalArgumentException("\"" + target + "\": the database must be unix:PATH or tcp:HOST:PORT");
    }

    /** Connects (blocking) and starts the reader thread. */
    static JsonRpc connect(String target, Consumer<JsonNode> notifications, Runnable onClose) throws IOException {
        SocketAddress a = address(target);
        SocketChannel ch = SocketChannel.open(a instanceof UnixDomainSocketAddress ? StandardProtocolFamily.UNIX
                : ((InetSocketAddress) a).getAddress() instanceof java.net.Inet6Address ? StandardProtocolFamily.INET6
                : StandardProtocolFamily.INET);
        try {
            ch.connect(a);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        JsonRpc rpc = new JsonRpc(target, ch, notifications, onClose);
        rpc.reader.start();
        return rpc;
    }

    /** Sends request {@code method(params)}; the future gets the result, or fails with the error. */
    CompletableFuture<JsonNode> request(String method, ArrayNode params) {
        long id = ids.incrementAndGet();
        CompletableFuture<JsonNode> f = new CompletableFuture<>();
        pending.put(id, f);
        ObjectNode msg = MAPPER.createObjectNode();
        msg.put("method", method);
        msg.set("params", params);
        msg.put("id", id);
        try {
            send(msg);
        } catch (IOException e) {
            pending.remove(id);
            f.completeExceptionally(e);
        }
        if (closed) {
            f.completeExceptionally(new IOException("connection to " + target + " closed"));
        }
        return f;
    }

    private void send(JsonNode msg) throws IOException {
        byte[] bytes = MAPPER.writeValueAsBytes(msg);
        if (LOG.isLoggable(Level.FINEST)) {
            LOG.finest(target + ": send " + new String(bytes, StandardCharsets.UTF_8));
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        synchronized (writeLock) {
            while (b.hasRemaining()) {
                channel.write(b);
            }
        }
    }

    private void readLoop(Consumer<JsonNode> notifications, Runnable onClose) {
        String why = "connection closed by peer";
        try (JsonParser p = MAPPER.getFactory().createParser(new ChannelInput(channel))) {
            while (!closed) {
                JsonToken t = p.nextToken();
                if (t == null) {
                    break;
                }
                JsonNode msg = MAPPER.readTree(p);
                if (!msg.isObject()) {
                    throw new IOException("received a JSON " + msg.getNodeType() + ", not a JSON-RPC message");
                }
                dispatch(msg, notifications);
            }
        } catch (IOException | RuntimeException e) {
            why = e.getMessage();
        } finally {
            if (!closed) {
                LOG.warning(target + ": " + why);
            }
            closed = true;
            try {
                channel.close();
            } catch (IOException ignored) {
                // already gone
            }
            IOException gone = new IOException("connection to " + target + " lost: " + why);
            pending.values().forEach(f -> f.completeExceptionally(gone));
            pending.clear();
            onClose.run();
        }
    }

    private void dispatch(JsonNode msg, Consumer<JsonNode> notifications) throws IOException {
        JsonNode id = msg.get("id");
        JsonNode method = msg.get("method");
        if (method == null) { // a reply
            CompletableFuture<JsonNode> f = id != null && id.canConvertToLong() ? pending.remove(id.asLong()) : null;
            if (f == null) {
                LOG.fine(target + ": reply to no request: " + msg);
            } else if (msg.hasNonNull("error")) {
                f.completeExceptionally(new IOException("ovsdb-server error: " + msg.get("error")));
            } else {
                f.complete(msg.get("result"));
            }
        } else if ("echo".equals(method.asText()) && id != null && !id.isNull()) {
            ObjectNode reply = MAPPER.createObjectNode();
            reply.set("result", msg.get("params"));
            reply.putNull("error");
            reply.set("id", id);
            send(reply);
        } else if (id == null || id.isNull()) {
            notifications.accept(msg);
        } else { // a request we do not serve: answer it, as OVS's jsonrpc does
            ObjectNode reply = MAPPER.createObjectNode();
            reply.putNull("result");
            reply.put("error", "unknown method");
            reply.set("id", id);
            send(reply);
        }
    }

    boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        closed = true;
        try {
            channel.close(); // wakes the reader, which fails what is pending and runs onClose
        } catch (IOException ignored) {
            // nothing to release
        }
    }

    /** Reads the channel directly: Channels.newInputStream would hold the lock writes need while it blocks. */
    private static final class ChannelInput extends InputStream {
        private final SocketChannel ch;

        ChannelInput(SocketChannel ch) {
            this.ch = ch;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            int n = ch.read(ByteBuffer.wrap(b, off, len));
            return n < 0 ? -1 : n;
        }
    }
}
