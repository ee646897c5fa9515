package io.pvio.control.protocol;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.control.server.ControlServer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class ControlServerTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();
    private ControlServer server;
    private Path sock;

    @Before
    public void start() throws IOException {
        sock = tmp.getRoot().toPath().resolve("pvio-vswitchd.ctl");
        server = ControlServer.start(sock, (argv, after) -> argv.equals(List.of("fail"))
                ? new ControlProtocol.Reply(1, "", "failed\n")
                : new ControlProtocol.Reply(0, String.join("|", argv) + "\n", ""));
    }

    @After
    public void stop() {
        server.close();
    }

    @Test
    public void requestAndReplyRoundTrip() throws IOException {
        ControlProtocol.Reply r = ControlClient.call(sock, List.of("vsctl", "set", "Interface", "p1",
                "options:a=\"(x,y)\"", "ünïcødé", ""));
        assertEquals(0, r.status());
        assertEquals("vsctl|set|Interface|p1|options:a=\"(x,y)\"|ünïcødé|\n", r.out());
        ControlProtocol.Reply f = ControlClient.call(sock, List.of("fail"));
        assertEquals(1, f.status());
        assertEquals("failed\n", f.err());
    }

    private ControlProtocol.Reply raw(byte[] bytes, boolean shutdownOutput) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(sock));
            ch.write(ByteBuffer.wrap(bytes));
            if (shutdownOutput) {
                ch.shutdownOutput();
            }
            return ControlProtocol.readReply(Channels.newInputStream(ch));
        }
    }

    @Test
    public void garbageGetsAnErrorReplyAndTheServerLivesOn() throws IOException {
        ControlProtocol.Reply r = raw("GET / HTTP/1.0\r\n\r\n".getBytes(), true);
        assertEquals(2, r.status());
        assertTrue(r.err(), r.err().contains("bad request (magic"));

        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bos);
        out.writeInt(0x50564331);
        out.writeInt(-1); // 4 billion arguments
        r = raw(bos.toByteArray(), true);
        assertTrue(r.err(), r.err().contains("arguments, at most"));

        bos.reset();
        out.writeInt(0x50564331);
        out.writeInt(1);
        out.writeInt(Integer.MAX_VALUE); // a 2 GiB argument
        r = raw(bos.toByteArray(), true);
        assertTrue(r.err(), r.err().contains("request too large"));

        bos.reset();
        out.writeInt(0x50564331);
        out.writeInt(2);
        out.writeInt(3);
        out.write("abc".getBytes());
        r = raw(bos.toByteArray(), true); // truncated: the second argument never comes
        assertTrue(r.err(), r.err().contains("truncated"));

        bos.reset();
        out.writeInt(0x50564331);
        out.writeInt(1);
        out.writeInt(2);
        out.write(new byte[] {(byte) 0xc3, (byte) 0x28});
        r = raw(bos.toByteArray(), true);
        assertTrue(r.err(), r.err().contains("UTF-8"));

        assertEquals(0, ControlClient.call(sock, List.of("still", "alive")).status());
    }

    @Test
    public void encodingRoundTripsThroughStreams() throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        ControlProtocol.writeRequest(bos, List.of("a", "", "b c"));
        assertEquals(List.of("a", "", "b c"), ControlProtocol.readRequest(new ByteArrayInputStream(bos.toByteArray())));
    }

    @Test
    public void noDaemonIsAClearError() throws IOException {
        server.close();
        try {
            ControlClient.call(sock, List.of("x"));
            fail();
        } catch (ControlClient.NotRunningException e) {
            assertEquals("pvio-vswitchd is not running (no socket at " + sock + ")", e.getMessage());
        }
        server = ControlServer.start(sock, (a, b) -> new ControlProtocol.Reply(0, "", ""));
    }

    @Test
    public void aSecondServerOnTheSameSocketIsRefused() {
        try {
            ControlServer.start(sock, (a, b) -> null).close();
            fail();
        } catch (IOException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("already listening"));
        }
        assertTrue(Files.exists(sock));
    }
}
