package io.pvio.vhost;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import io.pvio.packet.PacketBatch;
import io.pvio.posix.EventFd;
import io.pvio.posix.SharedMemory;
import io.pvio.vhost.netdev.VhostPort;
import io.pvio.vhost.netdev.VhostShowCommand;
import io.pvio.vhost.netdev.VhostUserServerClass;
import io.pvio.vhost.ring.Virtqueue;
import io.pvio.vhostuser.PackedRing;
import io.pvio.virtio.user.RawQueue;
import io.pvio.virtio.user.VhostUser;
import io.pvio.virtio.user.VhostUserMessage;
import io.pvio.virtio.user.VirtioUserConfig;
import io.pvio.virtio.user.VirtioUserDevice;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * A hostile front end: malformed vhost-user messages and malformed rings. The JVM survives, the bad
 * queue or connection is isolated with a counter and a log line, and another port keeps working.
 */
public class HostileFrontEndTest {
    private static final int F = VhostUser.FLAG_VERSION;
    private static final int NEED = VhostUser.FLAG_VERSION | VhostUser.FLAG_NEED_REPLY;

    private TestContext ctx;
    private VhostPort bad;
    private VhostPort good;
    private VirtioUserDevice goodFe;
    private final List<AutoCloseable> open = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
            synchronized (warnings) {
                warnings.add(r.getLevel() + " " + r.getMessage());
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @Before
    public void setUp() throws Exception {
        ctx = new TestContext(4096);
        Logger.getLogger("netdev_dpdk").addHandler(capture);
        bad = (VhostPort) new VhostUserServerClass().open("bad0", Map.of(), ctx);
        good = (VhostPort) new VhostUserServerClass().open("good0", Map.of(), ctx);
        goodFe = VirtioUserDevice.open(new VirtioUserConfig().name("good-fe").path(ctx.runDir.resolve("good0")));
        assertTrue(goodFe.awaitReady(10_000));
        VirtioUserTest.awaitCarrier(good, true);
    }

    @After
    public void tearDown() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
        goodFe.close();
        good.close();
        bad.close();
        Logger.getLogger("netdev_dpdk").removeHandler(capture);
        assertEquals("packets leaked", 0, ctx.pool.inUse());
        ctx.cleanup();
    }

    private void goodPortStillWorks(int seq) throws Exception {
        VirtioUserTest.toGuest(good, ctx, goodFe, 0, 1514, Integer.MAX_VALUE, seq);
        VirtioUserTest.fromGuest(good, goodFe, 0, 1514, seq);
    }

    private long countLogged(String part) {
        synchronized (warnings) {
            return warnings.stream().filter(w -> w.contains(part)).count();
        }
    }

    private boolean logged(String part) {
        synchronized (warnings) {
            return warnings.stream().anyMatch(w -> w.contains(part));
        }
    }

    // ------------------------------------------------------------------ rings

    /** Connects a fresh front end to the bad port, lets {@code sabotage} break a raw queue, checks isolation. */
    private void brokenRing(int queue, String reasonPart, Consumer<Ring> sabotage) throws Exception {
        long brokenBefore = bad.device().vq(queue).counter(Virtqueue.C_BROKEN);
        VirtioUserDevice fe = VirtioUserDevice.open(new VirtioUserConfig().name("evil").queueSize(64)
                .path(ctx.runDir.resolve("bad0")));
        try {
            assertTrue(fe.awaitReady(10_000));
            VirtioUserTest.awaitCarrier(bad, true);
            RawQueue rq = fe.rawQueue(queue);
            sabotage.accept(new Ring(fe, rq));
            PacketBatch b = new PacketBatch();
            if ((queue & 1) == 1) {
                assertEquals(0, bad.rxqRecv(0, b));
            } else {
                long dropped = Frames.stats(bad).txDropped;
                b.add(Frames.packet(ctx.pool, new byte[200], Integer.MAX_VALUE));
                bad.send(0, b, false);
                assertEquals(dropped + 1, Frames.stats(bad).txDropped);
            }
            String why = bad.device().vq(queue).broken();
            assertNotNull("queue " + queue + " marked broken", why);
            assertTrue(why, why.contains(reasonPart));
            assertEquals(brokenBefore + 1, bad.device().vq(queue).counter(Virtqueue.C_BROKEN));
            assertTrue(logged("queue " + queue + " is broken: " + why));
            long[] custom = {-1};
            bad.getCustomStats((k, v) -> {
                if (k.equals(((queue & 1) == 1 ? "rx" : "tx") + "_q0_broken")) {
                    custom[0] = v;
                }
            });
            assertEquals(brokenBefore + 1, custom[0]);
            String show = new VhostShowCommand().run(List.of("bad0"));
            assertTrue(show, show.contains("BROKEN: " + why));
            // the other direction of the same port still works
            if ((queue & 1) == 1) {
                VirtioUserTest.toGuest(bad, ctx, fe, 0, 100, Integer.MAX_VALUE, 1);
            } else {
                VirtioUserTest.fromGuest(bad, fe, 0, 100, 1);
            }
            goodPortStillWorks(2);
        } finally {
            fe.close();
        }
        VirtioUserTest.awaitCarrier(bad, false);
        assertNull("a new connection starts clean", bad.device().vq(queue).broken());
    }

    /** A raw queue plus helpers. */
    static final class Ring {
        final VirtioUserDevice fe;
        final RawQueue q;

        Ring(VirtioUserDevice fe, RawQueue q) {
            this.fe = fe;
            this.q = q;
        }

        long scratch(int off) {
            return fe.scratchGpa() + off;
        }
    }

    /** The front end posted every receive buffer already: rewrite every descriptor behind its back. */
    static void everyDescriptor(Ring r, java.util.function.IntConsumer w) {
        for (int i = 0; i < r.q.size(); i++) {
            w.accept(i);
        }
    }

    static final int NEXT = VhostUser.VRING_DESC_F_NEXT;
    static final int WRITE = VhostUser.VRING_DESC_F_WRITE;
    static final int INDIRECT = VhostUser.VRING_DESC_F_INDIRECT;

    @Test
    public void descriptorOutsideGuestMemory() throws Exception {
        brokenRing(1, "outside guest memory", r -> {
            r.q.writeDescriptor(0, r.fe.gpaBase() + r.fe.memSize() - 10, 100, 0, 0);
            r.q.publish(0);
        });
        brokenRing(1, "outside guest memory", r -> {
            r.q.writeDescriptor(0, 0x10, 100, 0, 0); // below guest memory
            r.q.publish(0);
        });
        brokenRing(0, "outside guest memory", r -> everyDescriptor(r, i -> r.q.writeDescriptor(i, -4096L, 4096,
                WRITE, 0)));
    }

    @Test
    public void loopingAndOverlongChains() throws Exception {
        brokenRing(1, "loops", r -> {
            r.q.writeDescriptor(0, r.scratch(0), 64, NEXT, 1);
            r.q.writeDescriptor(1, r.scratch(64), 64, NEXT, 0);
            r.q.publish(0);
        });
        brokenRing(0, "loops", r -> everyDescriptor(r, i -> r.q.writeDescriptor(i, r.scratch(0), 64, NEXT | WRITE, i)));
        brokenRing(1, "out of range", r -> {
            r.q.writeDescriptor(0, r.scratch(0), 64, NEXT, 500);
            r.q.publish(0);
        });
        brokenRing(1, "out of range", r -> r.q.publish(9999));
        brokenRing(1, "ahead", r -> r.q.setAvailIdx(r.q.availIdx() + 1000));
    }

    @Test
    public void zeroLengthAndWrongDirection() throws Exception {
        brokenRing(1, "shorter than the virtio-net header", r -> {
            r.q.writeDescriptor(0, r.scratch(0), 0, 0, 0);
            r.q.publish(0);
        });
        brokenRing(1, "write-only descriptor", r -> {
            r.q.writeDescriptor(0, r.scratch(0), 100, WRITE, 0);
            r.q.publish(0);
        });
        brokenRing(0, "read-only descriptor", r -> everyDescriptor(r, i -> r.q.writeDescriptor(i, r.scratch(0), 4096,
                0, 0)));
        brokenRing(1, "does not fit", r -> {
            r.q.writeDescriptor(0, r.scratch(0), 12, NEXT, 1);
            r.q.writeDescriptor(1, r.fe.gpaBase(), (int) r.fe.memSize() - 4096, 0, 0);
            r.q.publish(0);
        });
    }

    @Test
    public void badIndirectTables() throws Exception {
        brokenRing(1, "indirect table of bad size", r -> {
            r.q.writeDescriptor(0, r.scratch(0), 1 << 20, INDIRECT, 0); // 65536 entries
            r.q.publish(0);
        });
        brokenRing(1, "indirect table of bad size", r -> {
            r.q.writeDescriptor(0, r.scratch(0), 24, INDIRECT, 0); // not a multiple of 16
            r.q.publish(0);
        });
        brokenRing(1, "indirect table", r -> {
            r.q.writeDescriptor(0, r.fe.gpaBase() + r.fe.memSize() - 32, 64, INDIRECT, 0);
            r.q.publish(0);
        });
        brokenRing(1, "loops", r -> {
            // an indirect table whose entries chain in a circle
            ByteBuffer t = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
            t.putLong(0, r.scratch(4096)).putInt(8, 64).putShort(12, (short) NEXT).putShort(14, (short) 1);
            t.putLong(16, r.scratch(8192)).putInt(24, 64).putShort(28, (short) NEXT).putShort(30, (short) 0);
            r.fe.guestWrite(r.scratch(0), t.array(), 0, 32);
            r.q.writeDescriptor(0, r.scratch(0), 32, INDIRECT, 0);
            r.q.publish(0);
        });
        brokenRing(1, "inside a chain", r -> {
            ByteBuffer t = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            t.putLong(0, r.scratch(4096)).putInt(8, 64).putShort(12, (short) INDIRECT);
            r.fe.guestWrite(r.scratch(0), t.array(), 0, 16);
            r.q.writeDescriptor(0, r.scratch(0), 16, INDIRECT, 0); // nested indirect
            r.q.publish(0);
        });
    }

    // ------------------------------------------------------------------ messages

    /** A front end that only connects; the test speaks the protocol itself. */
    private VirtioUserDevice rawFrontEnd() throws Exception {
        VirtioUserDevice fe = VirtioUserDevice.open(new VirtioUserConfig().name("raw").handshake(false)
                .reconnect(false).path(ctx.runDir.resolve("bad0")));
        open.add(fe);
        DpdkFrontEndTest.await("raw front end connected", 10_000, () -> fe.isConnected() && bad.device().connected());
        return fe;
    }

    private static long ack(VirtioUserDevice.Channel ch, int request) throws Exception {
        VhostUserMessage r = ch.receive(5000);
        assertNotNull("reply to " + VhostUser.requestName(request), r);
        assertEquals(request, r.request);
        assertTrue(r.isReply());
        return r.payloadU64();
    }

    @Test
    public void malformedMessagesWithReplyAck() throws Exception {
        VirtioUserDevice fe = rawFrontEnd();
        long badBefore = bad.device().badMessages();
        try (VirtioUserDevice.Channel ch = fe.channel();
                SharedMemory mem = SharedMemory.createMemfd("evil", 1 << 20);
                EventFd e1 = EventFd.create()) {
            ch.send(new VhostUserMessage(VhostUser.GET_PROTOCOL_FEATURES, F, null));
            long pf = ack(ch, VhostUser.GET_PROTOCOL_FEATURES);
            assertTrue((pf & (1L << VhostUser.PROTOCOL_F_REPLY_ACK)) != 0);
            ch.send(new VhostUserMessage(VhostUser.GET_FEATURES, F, null));
            long f = ack(ch, VhostUser.GET_FEATURES);
            // split rings: a packed ring may have any size up to 2^15, a split ring only a power of two
            f &= ~(1L << PackedRing.VIRTIO_F_RING_PACKED);
            ch.send(VhostUserMessage.u64(VhostUser.SET_FEATURES, NEED, f));
            assertEquals(0, ack(ch, VhostUser.SET_FEATURES));
            ch.send(VhostUserMessage.u64(VhostUser.SET_PROTOCOL_FEATURES, NEED,
                    (1L << VhostUser.PROTOCOL_F_REPLY_ACK) | (1L << VhostUser.PROTOCOL_F_MQ)));
            assertEquals(0, ack(ch, VhostUser.SET_PROTOCOL_FEATURES));

            // absurd ring sizes, bad indexes
            for (int num : new int[] {0, 3, 65536, -1}) {
                ch.send(VhostUserMessage.vringState(VhostUser.SET_VRING_NUM, NEED, 0, num));
                assertNotEquals("ring size " + num, 0, ack(ch, VhostUser.SET_VRING_NUM));
            }
            ch.send(VhostUserMessage.vringState(VhostUser.SET_VRING_NUM, NEED, 200, 256));
            assertNotEquals(0, ack(ch, VhostUser.SET_VRING_NUM));
            ch.send(VhostUserMessage.vringState(VhostUser.SET_VRING_NUM, NEED, 0, 256));
            assertEquals(0, ack(ch, VhostUser.SET_VRING_NUM));
            // wrong payload size
            ch.send(new VhostUserMessage(VhostUser.SET_VRING_BASE, NEED, new byte[5]));
            assertNotEquals(0, ack(ch, VhostUser.SET_VRING_BASE));
            // unknown request
            ch.send(new VhostUserMessage(99, NEED, new byte[16]));
            assertNotEquals(0, ack(ch, 99));
            // too many descriptors
            int[] many = new int[32];
            java.util.Arrays.fill(many, e1.fd());
            ch.send(new VhostUserMessage(VhostUser.SET_OWNER, NEED, null, many));
            assertNotEquals(0, ack(ch, VhostUser.SET_OWNER));
            ch.send(new VhostUserMessage(VhostUser.SET_VRING_KICK, NEED, ByteBuffer.allocate(8).array(), e1.fd(),
                    e1.fd()));
            assertNotEquals(0, ack(ch, VhostUser.SET_VRING_KICK));
            // memory tables: overlapping regions, fd count mismatch, too many regions, absurd size
            ch.send(new VhostUserMessage(VhostUser.SET_MEM_TABLE, NEED, memTable(
                    new long[][] {{0x1000_0000L, 1 << 20, 0x7000_0000L, 0}, {0x1008_0000L, 1 << 19, 0x9000_0000L, 0}}),
                    mem.fd(), mem.fd()));
            assertNotEquals(0, ack(ch, VhostUser.SET_MEM_TABLE));
            ch.send(new VhostUserMessage(VhostUser.SET_MEM_TABLE, NEED, memTable(
                    new long[][] {{0, 1 << 20, 0x7000_0000L, 0}, {1 << 20, 1 << 20, 0x9000_0000L, 0}}), mem.fd()));
            assertNotEquals(0, ack(ch, VhostUser.SET_MEM_TABLE));
            ch.send(new VhostUserMessage(VhostUser.SET_MEM_TABLE, NEED, memTable(
                    new long[][] {{0, 1L << 40, 0x7000_0000L, 0}}), mem.fd()));
            assertNotEquals(0, ack(ch, VhostUser.SET_MEM_TABLE));
            ch.send(new VhostUserMessage(VhostUser.SET_MEM_TABLE, NEED, memTable(
                    new long[][] {{0, 2 << 20, 0x7000_0000L, 0}}), mem.fd())); // larger than the memfd: SIGBUS bait
            assertNotEquals(0, ack(ch, VhostUser.SET_MEM_TABLE));
            assertTrue(logged("runs past the end of its file"));
            ByteBuffer nine = ByteBuffer.allocate(8 + 32 * 9).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 9);
            ch.send(new VhostUserMessage(VhostUser.SET_MEM_TABLE, NEED, nine.array()));
            assertNotEquals(0, ack(ch, VhostUser.SET_MEM_TABLE));
            // a valid table, then a ring outside it
            ch.send(new VhostUserMessage(VhostUser.SET_MEM_TABLE, NEED, memTable(
                    new long[][] {{0x4000_0000L, 1 << 20, 0x7000_0000L, 0}}), mem.fd()));
            assertEquals(0, ack(ch, VhostUser.SET_MEM_TABLE));
            ch.send(VhostUserMessage.vringAddr(NEED, 0, 0, 0x7000_0000L + (1 << 20) - 64, 0x7000_1000L,
                    0x7000_2000L, 0));
            assertEquals(0, ack(ch, VhostUser.SET_VRING_ADDR));
            ch.send(VhostUserMessage.u64(VhostUser.SET_VRING_KICK, NEED, VhostUser.VRING_NOFD_MASK));
            assertEquals(0, ack(ch, VhostUser.SET_VRING_KICK));
            ch.send(VhostUserMessage.vringState(VhostUser.SET_VRING_ENABLE, NEED, 0, 1));
            assertEquals(0, ack(ch, VhostUser.SET_VRING_ENABLE));
            assertTrue(bad.device().vq(0).broken().contains("ring addresses outside guest memory"));
            // the connection still answers
            ch.send(new VhostUserMessage(VhostUser.GET_QUEUE_NUM, F, null));
            assertEquals(8, ack(ch, VhostUser.GET_QUEUE_NUM));
        }
        assertEquals(badBefore + 14, bad.device().badMessages());
        assertTrue(logged("refused"));
        assertTrue(bad.device().connected());
        goodPortStillWorks(5);
    }

    /**
     * A front end truncates its memory file after SET_MEM_TABLE (accesses past the new end would raise
     * SIGBUS): pvio sees it, logs it and closes that connection; the other port keeps forwarding.
     */
    @Test
    public void memoryFileShrunkAfterTheTableClosesTheConnection() throws Exception {
        VirtioUserDevice fe = rawFrontEnd();
        try (VirtioUserDevice.Channel ch = fe.channel();
                SharedMemory mem = SharedMemory.createMemfd("shrinking", 1 << 20)) {
            ch.send(new VhostUserMessage(VhostUser.GET_PROTOCOL_FEATURES, F, null));
            ack(ch, VhostUser.GET_PROTOCOL_FEATURES);
            ch.send(VhostUserMessage.u64(VhostUser.SET_PROTOCOL_FEATURES, NEED, 1L << VhostUser.PROTOCOL_F_REPLY_ACK));
            assertEquals(0, ack(ch, VhostUser.SET_PROTOCOL_FEATURES));
            ch.send(new VhostUserMessage(VhostUser.SET_MEM_TABLE, NEED, memTable(
                    new long[][] {{0x4000_0000L, 1 << 20, 0x7000_0000L, 0}}), mem.fd()));
            assertEquals(0, ack(ch, VhostUser.SET_MEM_TABLE));
            assertTrue(bad.device().connected());
            assertNull(bad.device().memory().shrunk());
            try (java.io.RandomAccessFile f = new java.io.RandomAccessFile("/proc/self/fd/" + mem.fd(), "rw")) {
                f.setLength(4096);
            }
            DpdkFrontEndTest.await("connection closed", 10_000, () -> !bad.device().connected());
            assertTrue(logged("the front end shrank its memory file (region 0: file of 4096 bytes, mapped up to 1048576)"));
        }
        goodPortStillWorks(6);
    }

    static byte[] memTable(long[][] regions) {
        ByteBuffer b = ByteBuffer.allocate(8 + 32 * regions.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, regions.length);
        for (int i = 0; i < regions.length; i++) {
            for (int j = 0; j < 4; j++) {
                b.putLong(8 + 32 * i + 8 * j, regions[i][j]);
            }
        }
        return b.array();
    }

    @Test
    public void unknownRequestWithoutReplyAckIsIgnored() throws Exception {
        VirtioUserDevice fe = rawFrontEnd();
        try (VirtioUserDevice.Channel ch = fe.channel()) {
            ch.send(new VhostUserMessage(77, F, new byte[8]));
            ch.send(new VhostUserMessage(VhostUser.GET_FEATURES, F, null));
            assertTrue(ack(ch, VhostUser.GET_FEATURES) != 0);
        }
        assertTrue(logged("request 77 refused: unsupported request"));
        assertTrue(bad.device().connected());
    }

    @Test
    public void brokenFramingClosesTheConnectionOnly() throws Exception {
        for (VhostUserMessage m : new VhostUserMessage[] {
            new VhostUserMessage(VhostUser.SET_OWNER, F, 100_000, new byte[0], null), // absurd size
            new VhostUserMessage(VhostUser.GET_FEATURES, 0x2, null), // wrong version
            new VhostUserMessage(VhostUser.SET_VRING_NUM, F, new byte[3]), // refused, no ack asked: closed
        }) {
            long closings = countLogged("closing the connection");
            VirtioUserDevice fe = rawFrontEnd();
            try (VirtioUserDevice.Channel ch = fe.channel()) {
                ch.send(m);
                assertTrue(ch.readable(5000));
                assertNull("connection closed after " + m, ch.receive(100));
            }
            DpdkFrontEndTest.await("disconnect", 5000, () -> !bad.device().connected());
            fe.close();
            open.remove(fe);
            assertEquals("one log line saying why, for " + m, closings + 1, countLogged("closing the connection"));
        }
        assertTrue(logged("closing the connection"));
        // the port still serves a well-behaved front end
        VirtioUserDevice fe = VirtioUserDevice.open(new VirtioUserConfig().name("nice").path(ctx.runDir.resolve("bad0")));
        open.add(fe);
        assertTrue(fe.awaitReady(10_000));
        VirtioUserTest.awaitCarrier(bad, true);
        VirtioUserTest.toGuest(bad, ctx, fe, 0, 1000, Integer.MAX_VALUE, 9);
        goodPortStillWorks(10);
    }
}
