package io.pvio.control.ovsdb;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** The JSON-RPC stream as ovsdb-server writes it: messages back to back, split anywhere, echo probes. */
public class JsonRpcTest {
    private Path dir;
    private ServerSocketChannel server;
    private SocketChannel peer;
    private JsonRpc rpc;
    private final BlockingQueue<JsonNode> notes = new LinkedBlockingQueue<>();
    private final CountDownLatch closed = new CountDownLatch(1);

    @Before
    public void setUp() throws Exception {
        dir = Files.createTempDirectory("jsonrpc");
        Path sock = dir.resolve("db.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(sock));
        CompletableFuture<SocketChannel> accepted = CompletableFuture.supplyAsync(() -> {
            try {
                return server.accept();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        rpc = JsonRpc.connect("unix:" + sock, notes::add, closed::countDown);
        peer = accepted.get(10, TimeUnit.SECONDS);
    }

    @After
    public void tearDown() throws Exception {
        rpc.close();
        peer.close();
        server.close();
        Files.deleteIfExists(dir.resolve("db.sock"));
        Files.deleteIfExists(dir);
    }

    private void write(String s) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(s.replace('\'', '"').getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            peer.write(b);
        }
    }

    /** Reads one whole JSON object the client sent. */
    private JsonNode read() throws IOException {
        StringBuilder sb = new StringBuilder();
        ByteBuffer b = ByteBuffer.allocate(1);
        int depth = 0;
        do {
            b.clear();
            if (peer.read(b) < 0) {
                throw new IOException("client closed");
            }
            char c = (char) b.get(0);
            sb.append(c);
            depth += c == '{' ? 1 : c == '}' ? -1 : 0;
        } while (depth > 0 || sb.toString().isBlank());
        return JsonRpc.MAPPER.readTree(sb.toString());
    }

    @Test
    public void repliesNotificationsAndEchoes() throws Exception {
        CompletableFuture<JsonNode> f = rpc.request("list_dbs", JsonRpc.MAPPER.createArrayNode());
        JsonNode req = read();
        assertEquals("list_dbs", req.get("method").asText());
        long id = req.get("id").asLong();
        // an echo probe, a notification and the reply in one stream, the reply split mid-token
        write("{'id':'echo','method':'echo','params':[]}{'id':null,'method':'update','params':['pvio',{}]}"
                + "{'id':" + id + ",'result':['Open_");
        JsonNode echo = read();
        assertEquals("echo", echo.get("id").asText());
        assertTrue(echo.get("result").isArray());
        assertEquals("update", notes.poll(10, TimeUnit.SECONDS).get("method").asText());
        write("vSwitch'],'error':null}");
        assertEquals("[\"Open_vSwitch\"]", f.get(10, TimeUnit.SECONDS).toString());

        CompletableFuture<JsonNode> g = rpc.request("transact", JsonRpc.MAPPER.createArrayNode());
        write("{'id':" + read().get("id").asLong() + ",'result':null,'error':'unknown database'}");
        try {
            g.get(10, TimeUnit.SECONDS);
            fail("error reply completed normally");
        } catch (ExecutionException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("unknown database"));
        }
    }

    @Test
    public void garbageOrDisconnectFailsWhatIsPending() throws Exception {
        CompletableFuture<JsonNode> f = rpc.request("monitor", JsonRpc.MAPPER.createArrayNode());
        read();
        write("[1,2]");
        assertTrue(closed.await(10, TimeUnit.SECONDS));
        try {
            f.get(10, TimeUnit.SECONDS);
            fail("pending request survived a broken stream");
        } catch (ExecutionException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("not a JSON-RPC message"));
        }
        assertTrue(rpc.isClosed());
        assertTrue(rpc.request("echo", JsonRpc.MAPPER.createArrayNode()).isCompletedExceptionally());
    }
}
