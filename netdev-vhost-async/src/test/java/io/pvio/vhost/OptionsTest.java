package io.pvio.vhost;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevException;
import io.pvio.unixctl.UnixctlException;
import io.pvio.vhost.netdev.VhostPorts;
import io.pvio.vhost.netdev.VhostShowCommand;
import io.pvio.vhost.netdev.VhostUserClientClass;
import io.pvio.vhost.netdev.VhostUserServerClass;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

public class OptionsTest {
    private TestContext ctx;

    @Before
    public void setUp() throws Exception {
        ctx = new TestContext(16);
    }

    @After
    public void tearDown() {
        ctx.cleanup();
    }

    private void refused(String type, Map<String, String> opts, String part) {
        try {
            Netdev d = (type.equals("client") ? new VhostUserClientClass() : (io.pvio.netdev.NetdevClass) new VhostUserServerClass())
                    .open("p0", opts, ctx);
            d.close();
            fail("accepted " + opts);
        } catch (NetdevException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(part));
        }
        assertEquals("nothing left behind", null, VhostPorts.get("p0"));
    }

    @Test
    public void badOptionsAreRefusedClearly() throws Exception {
        refused("client", Map.of(), "needs option vhost-server-path");
        refused("client", Map.of("vhost-server-path", ""), "empty");
        refused("client", Map.of("vhost-server-path", "/tmp/" + "x".repeat(120)), "too long");
        refused("client", Map.of("vhost-server-path", "/tmp/s", "colour", "red"), "unknown option 'colour'");
        refused("server", Map.of("vhost-server-path", "/tmp/s"), "only valid for type dpdkvhostuserclient");
        refused("server", Map.of("mtu_request", "9000"), "unknown option 'mtu_request'");
        Files.writeString(ctx.runDir.resolve("p0"), "not a socket");
        refused("server", Map.of(), "not a socket");
    }

    /** The keys OVS 3.1 creates vhost ports with: read (tx-retries-max) or ignored as OVS ignores them. */
    @Test
    public void optionsOvsAcceptsOpenThePort() throws Exception {
        Netdev c = new VhostUserClientClass().open("c1", Map.of("vhost-server-path", ctx.runDir + "/nobody",
                "tx-retries-max", "8", "n_rxq_desc", "2048", "n_txq_desc", "2048", "dq-zero-copy", "true",
                "vhost-max-queue-pairs", "4"), ctx);
        try {
            assertEquals("2048", c.getConfig().get("n_rxq_desc"));
            c.setConfig(Map.of("vhost-server-path", ctx.runDir + "/nobody", "tx-retries-max", "0"));
            c.setConfig(Map.of("vhost-server-path", ctx.runDir + "/nobody", "tx-retries-max", "x"));
        } finally {
            c.close();
        }
        Netdev s = new VhostUserServerClass().open("s1", Map.of("dq-zero-copy", "true", "tx-retries-max", "32",
                "n_rxq_desc", "1024", "n_txq_desc", "1024"), ctx);
        s.close();
        refused("client", Map.of("vhost-server-path", "/tmp/s", "tx-retries", "8"), "unknown option 'tx-retries'");
        refused("server", Map.of("n_rxq-desc", "8"), "unknown option 'n_rxq-desc'");
    }

    @Test
    public void acceptedOptionsAndLiveChanges() throws Exception {
        io.pvio.vhost.async.AsyncBinder binder = new io.pvio.vhost.async.AsyncBinder();
        io.pvio.dma.cpu.CpuChannel ch = new io.pvio.dma.cpu.CpuChannel("0000:00:04.0", 64);
        ch.start();
        binder.addDevice(ch, Map.of("dma.address", "0000:00:04.0", "dma.driver", "cpu"));
        Netdev c = new VhostUserClientClass(binder).open("c0", Map.of("vhost-server-path", ctx.runDir + "/nobody",
                "n_rxq", "4", "n_txq", "4", "vhost-async-attr", "(txq0,00:04.0,256)"), ctx);
        try {
            assertEquals("dpdkvhostuserclient", c.type());
            assertEquals("4", c.getConfig().get("n_rxq"));
            assertEquals(1, c.nRxq());
            assertFalse(c.carrier());
            String x = "(txq0,00:04.0,512),(rxq0,0000:00:04.0,0)";
            c.setConfig(Map.of("vhost-server-path", ctx.runDir + "/nobody", "vhost-async-attr", x));
            assertEquals(x, c.getConfig().get("vhost-async-attr"));
            try {
                c.setConfig(Map.of("vhost-server-path", ctx.runDir + "/other"));
                fail("path changed on an open port");
            } catch (NetdevException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("cannot change"));
            }
            try {
                c.setConfig(Map.of("vhost-server-path", ctx.runDir + "/nobody", "bogus", "1"));
                fail();
            } catch (NetdevException e) {
                assertEquals(x, c.getConfig().get("vhost-async-attr")); // unchanged
            }
            String show = new VhostShowCommand().run(List.of("c0"));
            assertTrue(show, show.contains("c0: dpdkvhostuserclient, client socket"));
            assertTrue(show, show.contains("disconnected"));
            assertEquals("disconnected", c.status().get("status"));
        } finally {
            c.close();
        }
        Netdev s = new VhostUserServerClass().open("s0", Map.of(), ctx);
        assertTrue(Files.exists(ctx.runDir.resolve("s0")));
        assertEquals("server", s.status().get("mode"));
        s.close();
        assertFalse("socket removed", Files.exists(ctx.runDir.resolve("s0")));
        try {
            new VhostShowCommand().run(List.of("s0"));
            fail();
        } catch (UnixctlException e) {
            assertTrue(e.getMessage().contains("no such vhost-user port"));
        }
    }
}
