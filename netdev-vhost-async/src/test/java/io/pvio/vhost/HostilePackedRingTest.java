package io.pvio.vhost;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.vhost.netdev.VhostPort;
import io.pvio.vhost.netdev.VhostShowCommand;
import io.pvio.vhost.netdev.VhostUserServerClass;
import io.pvio.vhost.ring.Virtqueue;
import io.pvio.vhostuser.PackedRing;
import io.pvio.virtio.user.RawQueue;
import io.pvio.virtio.user.VirtioUserConfig;
import io.pvio.virtio.user.VirtioUserDevice;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
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
 * A hostile front end on packed rings: descriptors outside guest memory, chains longer than the ring, bad
 * indirect tables, wrong directions, wrong wrap bits, odd ids. A malformed buffer breaks its queue (logged,
 * counted, shown) and nothing else: the other direction and another port keep working, no packet leaks;
 * descriptors whose AVAIL/USED bits do not say "available in this lap" are simply not taken; ids are
 * echoed as given (DPDK does not check them either); nothing is written outside the posted buffers.
 */
public class HostilePackedRingTest {
    static final int NEXT = PackedRing.DESC_F_NEXT;
    static final int WRITE = PackedRing.DESC_F_WRITE;
    static final int INDIRECT = PackedRing.DESC_F_INDIRECT;
    /** Available in the first lap (wrap counter 1). */
    static final int AVAIL = PackedRing.availFlags(true);

    private TestContext ctx;
    private VhostPort bad;
    private VhostPort good;
    private VirtioUserDevice goodFe;
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
        bad = (VhostPort) new VhostUserServerClass().open("pbad0", Map.of(), ctx);
        good = (VhostPort) new VhostUserServerClass().open("pgood0", Map.of(), ctx);
        goodFe = VirtioUserDevice.open(new VirtioUserConfig().packed(true).name("good-fe")
                .path(ctx.runDir.resolve("pgood0")));
        assertTrue(goodFe.awaitReady(10_000));
        VirtioUserTest.awaitCarrier(good, true);
    }

    @After
    public void tearDown() throws Exception {
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

    private boolean logged(String part) {
        synchronized (warnings) {
            return warnings.stream().anyMatch(w -> w.contains(part));
        }
    }

    /** A raw packed queue of a front end connected to the bad port. */
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

        /** Rewrites every ring position (the receive queue's buffers are all posted in the first lap). */
        void everyPosition(java.util.function.IntConsumer w) {
            for (int i = 0; i < q.size(); i++) {
                w.accept(i);
            }
        }
    }

    private VirtioUserDevice evil() throws Exception {
        VirtioUserConfig c = new VirtioUserConfig().packed(true).name("evil").queueSize(64)
                .path(ctx.runDir.resolve("pbad0"));
        VirtioUserDevice fe = VirtioUserDevice.open(c);
        assertTrue(fe.awaitReady(10_000));
        VirtioUserTest.awaitCarrier(bad, true);
        assertTrue("packed", (fe.features() & (1L << PackedRing.VIRTIO_F_RING_PACKED)) != 0);
        return fe;
    }

    /** Connects a fresh front end to the bad port, lets {@code sabotage} break a raw queue, checks isolation. */
    private void brokenRing(int queue, String reasonPart, Consumer<Ring> sabotage) throws Exception {
        long brokenBefore = bad.device().vq(queue).counter(Virtqueue.C_BROKEN);
        VirtioUserDevice fe = evil();
        try {
            RawQueue rq = fe.rawQueue(queue);
            assertTrue(rq.packed());
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
            String show = new VhostShowCommand().run(List.of("pbad0"));
            assertTrue(show, show.contains("BROKEN: " + why) && show.contains("packed"));
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

    @Test
    public void descriptorOutsideGuestMemory() throws Exception {
        brokenRing(1, "outside guest memory", r ->
                r.q.writePacked(0, r.fe.gpaBase() + r.fe.memSize() - 10, 100, 0, AVAIL));
        brokenRing(1, "outside guest memory", r -> r.q.writePacked(0, 0x10, 100, 0, AVAIL));
        brokenRing(0, "outside guest memory", r -> r.everyPosition(i -> r.q.writePacked(i, -4096L, 4096, i,
                WRITE | AVAIL)));
    }

    @Test
    public void chainsLongerThanTheRing() throws Exception {
        // every position continues into the next one: the chain never ends
        brokenRing(1, "longer than the ring", r -> {
            for (int i = r.q.size() - 1; i >= 0; i--) {
                r.q.writePacked(i, r.scratch(64 * i), 64, 0, NEXT | AVAIL);
            }
        });
        brokenRing(0, "longer than the ring", r -> r.everyPosition(i -> r.q.writePacked(i, r.scratch(64 * i), 64, i,
                NEXT | WRITE | AVAIL)));
    }

    @Test
    public void zeroLengthAndWrongDirection() throws Exception {
        brokenRing(1, "shorter than the virtio-net header", r -> r.q.writePacked(0, r.scratch(0), 0, 0, AVAIL));
        brokenRing(1, "write-only descriptor", r -> r.q.writePacked(0, r.scratch(0), 100, 0, WRITE | AVAIL));
        brokenRing(0, "read-only descriptor", r -> r.everyPosition(i -> r.q.writePacked(i, r.scratch(0), 4096, i,
                AVAIL)));
        brokenRing(1, "does not fit", r -> {
            r.q.writePacked(1, r.fe.gpaBase(), (int) r.fe.memSize() - 4096, 0, AVAIL);
            r.q.writePacked(0, r.scratch(0), 12, 0, NEXT | AVAIL);
        });
    }

    @Test
    public void badIndirectTables() throws Exception {
        brokenRing(1, "indirect table of bad size", r -> r.q.writePacked(0, r.scratch(0), 1 << 20, 0,
                INDIRECT | AVAIL));
        brokenRing(1, "indirect table of bad size", r -> r.q.writePacked(0, r.scratch(0), 24, 0, INDIRECT | AVAIL));
        brokenRing(1, "indirect table", r -> r.q.writePacked(0, r.fe.gpaBase() + r.fe.memSize() - 32, 64, 0,
                INDIRECT | AVAIL));
        brokenRing(1, "indirect descriptor inside an indirect table", r -> {
            ByteBuffer t = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            t.putLong(0, r.scratch(4096)).putInt(8, 64).putShort(14, (short) INDIRECT);
            r.fe.guestWrite(r.scratch(0), t.array(), 0, 16);
            r.q.writePacked(0, r.scratch(0), 16, 0, INDIRECT | AVAIL);
        });
        brokenRing(1, "inside a chain", r -> {
            r.q.writePacked(1, r.scratch(4096), 64, 0, AVAIL);
            r.q.writePacked(0, r.scratch(0), 16, 0, INDIRECT | NEXT | AVAIL);
        });
    }

    /**
     * Descriptors whose bits say "not available in this lap" (the previous lap's, or already used) are not
     * taken and break nothing; made available properly, the same buffer is taken, its id echoed as given.
     */
    @Test
    public void wrongWrapBitsAreNotAvailableAndIdsAreEchoed() throws Exception {
        VirtioUserDevice fe = evil();
        try {
            RawQueue q = fe.rawQueue(1);
            byte[] frame = new byte[12 + 300];
            for (int i = 12; i < frame.length; i++) {
                frame[i] = (byte) (i * 7);
            }
            long buf = fe.scratchGpa();
            fe.guestWrite(buf, frame, 0, frame.length);
            PacketBatch b = new PacketBatch();
            for (int flags : new int[] {PackedRing.availFlags(false), PackedRing.usedFlags(true),
                PackedRing.usedFlags(false)}) {
                q.writePacked(0, buf, frame.length, 7, flags);
                q.kick();
                assertEquals("flags 0x" + Integer.toHexString(flags) + " taken", 0, bad.rxqRecv(0, b));
                assertEquals("untouched", flags, q.flags(0));
            }
            assertNull(bad.device().vq(1).broken());
            q.writePacked(0, buf, frame.length, 0xbeef, AVAIL);
            DpdkFrontEndTest.await("the frame", 5_000, () -> bad.rxqRecv(0, b) > 0);
            assertEquals(1, b.size());
            Packet p = b.get(0);
            assertArrayEquals(Arrays.copyOfRange(frame, 12, frame.length), p.toByteArray());
            b.freeAll();
            assertEquals("used in lap 1", PackedRing.usedFlags(true), q.flags(0) & ~WRITE);
            assertEquals("id echoed", 0xbeef, q.id(0));
            assertNull(bad.device().vq(1).broken());
            goodPortStillWorks(3);
        } finally {
            fe.close();
        }
    }

    /**
     * Mergeable receive buffers of 100 bytes each in a pattern-filled area: a 1000-byte frame takes 11 of
     * them (one used descriptor each, in ring order, ids echoed, WRITE set, num_buffers 11 in the header),
     * and not one byte outside the posted buffers changes.
     */
    @Test
    public void nothingWrittenOutsidePostedBuffers() throws Exception {
        VirtioUserDevice fe = evil();
        try {
            Ring r = new Ring(fe, fe.rawQueue(0));
            byte[] pattern = new byte[64 * 256];
            Arrays.fill(pattern, (byte) 0xa5);
            fe.guestWrite(r.scratch(0), pattern, 0, pattern.length);
            for (int i = r.q.size() - 1; i >= 0; i--) { // the first position last: the device sees all at once
                r.q.writePacked(i, r.scratch(256 * i), 100, 1000 + i, WRITE | AVAIL);
            }
            byte[] f = new byte[1000];
            Frames.fill(f, 9);
            PacketBatch b = new PacketBatch();
            b.add(Frames.packet(ctx.pool, f, Integer.MAX_VALUE));
            long before = Frames.stats(bad).txPackets;
            bad.send(0, b, false);
            assertEquals(before + 1, Frames.stats(bad).txPackets);
            byte[] after = new byte[pattern.length];
            fe.guestRead(r.scratch(0), after, 0, after.length);
            byte[] wire = new byte[1012];
            int used = 0;
            for (int i = 0; i < r.q.size(); i++) {
                int flags = r.q.flags(i);
                boolean isUsed = PackedRing.isUsed(flags, true);
                if (i < 11) {
                    assertTrue("position " + i + " used", isUsed);
                    assertEquals(WRITE, flags & WRITE);
                    assertEquals(1000 + i, r.q.id(i));
                    int len = r.q.length(i);
                    assertEquals(i < 10 ? 100 : 12, len);
                    System.arraycopy(after, 256 * i, wire, 100 * i, len);
                    used += len;
                    for (int x = 256 * i + len; x < 256 * (i + 1); x++) {
                        assertEquals("byte " + x + " outside buffer " + i, (byte) 0xa5, after[x]);
                    }
                } else {
                    assertTrue("position " + i + " still available", PackedRing.isAvail(flags, true));
                    for (int x = 256 * i; x < 256 * (i + 1); x++) {
                        assertEquals("byte " + x + " of an unused buffer", (byte) 0xa5, after[x]);
                    }
                }
            }
            assertEquals(1012, used);
            assertEquals("num_buffers", 11, (wire[10] & 0xff) | (wire[11] & 0xff) << 8);
            assertArrayEquals(f, Arrays.copyOfRange(wire, 12, 1012));
            assertNull(bad.device().vq(0).broken());
        } finally {
            fe.close();
        }
    }
}
