package io.pvio.dummy;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dummy.appctl.DummyReceiveCommand;
import io.pvio.dummy.appctl.DummySentCommand;
import io.pvio.dummy.netdev.DummyClass;
import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevException;
import io.pvio.packet.PacketBatch;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import java.util.Map;
import org.junit.Test;

public class DummyNetdevTest {
    static byte[] frame(int len, int fill) {
        byte[] f = new byte[len];
        for (int i = 0; i < len; i++) {
            f[i] = (byte) (fill + i);
        }
        return f;
    }

    @Test
    public void injectReceiveSendCapture() throws Exception {
        TestContext ctx = new TestContext(64);
        try (Netdev d = new DummyClass().open("d1", Map.of("n_rxq", "2"), ctx)) {
            DummyPort p = DummyPorts.dummy("d1");
            assertTrue(p.receive(1, frame(60, 1)));
            assertTrue(p.receive(0, frame(3000, 7))); // chained
            PacketBatch b = new PacketBatch();
            assertEquals(1, d.rxqRecv(0, b));
            assertEquals(3000, b.get(0).length());
            assertArrayEquals(frame(3000, 7), b.get(0).toByteArray());
            assertEquals(1, d.rxqRecv(1, b));
            assertEquals(0, d.send(0, b, true));
            assertEquals(2, p.sentPackets());
            assertTrue(p.sawConcurrentTxq());
            List<byte[]> sent = p.takeSent();
            assertEquals(2, sent.size());
            assertEquals(DummyPort.CAPTURE_BYTES, sent.get(0).length);
            assertArrayEquals(frame(60, 1), sent.get(1));
            assertTrue(p.takeSent().isEmpty());
            assertEquals(2, p.lastSent().size());
            assertEquals(0, ctx.pool.inUse());
            try {
                p.receive(2, frame(60, 0));
                fail();
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage().contains("n_rxq=2"));
            }
            assertTrue(p.receive(1, frame(60, 0)));
            d.setConfig(Map.of("n_rxq", "1"));
            assertEquals(1, ctx.changed.get());
            assertTrue(d.reconfigureRequired());
            d.reconfigure(); // as the datapath does once its PMDs are paused
            assertFalse(d.reconfigureRequired());
            assertEquals(1, d.rxqRecv(0, b)); // moved to queue 0, not lost
            b.freeAll();
            assertTrue(p.receive(0, frame(60, 0)));
        }
        assertEquals(0, ctx.pool.inUse()); // close freed the backlog
        assertNull(DummyPorts.dummy("d1"));
    }

    /** Fewer rx queues: backlog moves to the queues left; what has no room anywhere is counted as rx_dropped. */
    @Test
    public void shrinkingRxQueuesMovesOrCountsEveryQueuedPacket() throws Exception {
        TestContext ctx = new TestContext(4096);
        try (Netdev d = new DummyClass().open("d3", Map.of("n_rxq", "3"), ctx)) {
            DummyPort p = DummyPorts.dummy("d3");
            for (int i = 0; i < 1024; i++) {
                assertTrue(p.receive(0, frame(60, i)));
            }
            for (int i = 0; i < 10; i++) {
                assertTrue(p.receive(1, frame(60, i)));
                assertTrue(p.receive(2, frame(60, i)));
            }
            d.setConfig(Map.of("n_rxq", "2"));
            d.reconfigure(); // queue 2's 10 go to queue 1 (queue 0 is full)
            io.pvio.netdev.NetdevStats st = new io.pvio.netdev.NetdevStats();
            d.getStats(st);
            assertEquals(0, st.rxDropped);
            d.setConfig(Map.of("n_rxq", "1"));
            d.reconfigure(); // queue 1's 20 find no room
            st.clear();
            d.getStats(st);
            assertEquals(20, st.rxDropped);
            PacketBatch b = new PacketBatch();
            int got = 0;
            int n;
            while ((n = d.rxqRecv(0, b)) > 0) {
                got += n;
                b.freeAll();
            }
            assertEquals(1024, got);
        }
        assertEquals(0, ctx.pool.inUse());
    }

    @Test
    public void badOptionsRefused() {
        TestContext ctx = new TestContext(8);
        for (Map<String, String> bad : List.of(Map.of("n_rxq", "0"), Map.of("n_txq", "x"), Map.of("foo", "1"))) {
            try {
                new DummyClass().open("d2", bad, ctx).close();
                fail("accepted " + bad);
            } catch (NetdevException e) {
                assertTrue(e.getMessage(), e.getMessage().startsWith("d2: "));
            }
        }
        assertNull(DummyPorts.dummy("d2"));
    }

    @Test
    public void appctlCommands() throws Exception {
        TestContext ctx = new TestContext(8);
        try (Netdev d = new DummyClass().open("d3", Map.of(), ctx)) {
            new DummyReceiveCommand().run(List.of("d3", "ffffffffffff00000000000108060001"));
            PacketBatch b = new PacketBatch();
            assertEquals(1, d.rxqRecv(0, b));
            d.send(0, b, false);
            String out = new DummySentCommand().run(List.of("d3"));
            assertTrue(out, out.startsWith("d3: sent 1 packets, 16 bytes\nffffffffffff00000000000108060001"));
            for (List<String> bad : List.of(List.of("d3", "abc"), List.of("nope", "ffff"), List.of("d3", "zz"),
                    List.of("d3", "0011"))) {
                try {
                    new DummyReceiveCommand().run(bad);
                    fail("accepted " + bad);
                } catch (UnixctlException e) {
                    assertFalse(e.getMessage().isEmpty());
                }
            }
            assertEquals(0, d.rxqRecv(0, b));
        }
        assertEquals(0, ctx.pool.inUse());
    }
}
