package io.pvio.vhost;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevException;
import io.pvio.posix.UnixSocket;
import io.pvio.vhost.netdev.VhostPorts;
import io.pvio.vhost.netdev.VhostUserServerClass;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** What a dpdkvhostuser port does with a file already at RUN_DIR/<port name>. */
public class ServerSocketTest {
    private TestContext ctx;

    @Before
    public void setUp() throws Exception {
        ctx = new TestContext(16);
    }

    @After
    public void tearDown() {
        ctx.cleanup();
    }

    private void refused(String name, String part) {
        try {
            Netdev d = new VhostUserServerClass().open(name, Map.of(), ctx);
            d.close();
            fail("opened " + name);
        } catch (NetdevException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(part));
            assertTrue(e.getMessage(), e.getMessage().contains(ctx.runDir.resolve(name).toString()));
        }
        assertEquals("nothing left behind", null, VhostPorts.get(name));
    }

    /** Connects to {@code l}'s socket and checks that {@code l} accepts the connection. */
    private static void stillListening(UnixSocket l, Path p) throws Exception {
        try (UnixSocket c = UnixSocket.connect(p)) {
            assertTrue("the listener gets the connection", l.awaitReadable(2000));
            l.accept().close();
        }
    }

    @Test
    public void aListeningSocketIsRefusedAndKept() throws Exception {
        Path p = ctx.runDir.resolve("p0");
        try (UnixSocket l = UnixSocket.listen(p, 4)) {
            refused("p0", "Address already in use");
            assertTrue(Files.exists(p));
            stillListening(l, p);
        }
    }

    @Test
    public void aStaleSocketIsReplaced() throws Exception {
        Path p = ctx.runDir.resolve("p0");
        UnixSocket.listen(p, 4).close(); // the file stays, nobody listens: an earlier run's
        Netdev d = new VhostUserServerClass().open("p0", Map.of(), ctx);
        try {
            try (UnixSocket c = UnixSocket.connect(p)) {
                assertTrue(c.fd() >= 0); // the port listens there now
            }
        } finally {
            d.close();
        }
        assertFalse("socket removed", Files.exists(p));
    }

    @Test
    public void aRegularFileIsRefusedAndKept() throws Exception {
        Path p = ctx.runDir.resolve("p0");
        Files.writeString(p, "data");
        refused("p0", "a regular file, not a socket; not removed");
        assertEquals("data", Files.readString(p));
        Files.createDirectory(ctx.runDir.resolve("d0"));
        refused("d0", "a directory, not a socket");
        assertTrue(Files.isDirectory(ctx.runDir.resolve("d0")));
    }

    @Test
    public void theDaemonsOwnNamesAreRefusedEvenBeforeTheyExist() throws Exception {
        refused("pvio-vswitchd.ctl", "reserved for the daemon's own files");
        refused("hb1.mgmt", "reserved for the daemon's own files");
        refused("conf.db", "reserved for the daemon's own files");
        assertFalse(Files.exists(ctx.runDir.resolve("pvio-vswitchd.ctl")));
        assertFalse(Files.exists(ctx.runDir.resolve("hb1.mgmt")));
    }

    @Test
    public void closeLeavesASocketThatReplacedThePortsOwn() throws Exception {
        Path p = ctx.runDir.resolve("p0");
        Netdev d = new VhostUserServerClass().open("p0", Map.of(), ctx);
        Path tmp = ctx.runDir.resolve("p0.tmp");
        try (UnixSocket other = UnixSocket.listen(tmp, 4)) {
            // as a bridge's OpenFlow socket is put in place: bound elsewhere, renamed over
            Files.move(tmp, p, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            d.close();
            assertTrue("the other socket is left alone", Files.exists(p));
            stillListening(other, p);
        }
    }
}
