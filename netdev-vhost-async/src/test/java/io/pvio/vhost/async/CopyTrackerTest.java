package io.pvio.vhost.async;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketPool;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.Before;
import org.junit.Test;

public class CopyTrackerTest {
    private PacketPool pool;
    private ByteBuffer guest;
    private long guestAddr;
    private final List<Integer> usedIds = new ArrayList<>();
    private final List<Packet> retired = new ArrayList<>();
    private final CopyTracker.Sink sink = new CopyTracker.Sink() {
        @Override
        public void used(int id, int len) {
            usedIds.add(id);
        }

        @Override
        public void packet(Packet p) {
            retired.add(p);
            p.free();
        }
    };

    @Before
    public void setUp() {
        pool = new PacketPool("t", 64);
        guest = ByteBuffer.allocateDirect(1 << 20);
        guestAddr = io.pvio.memory.NativeMemory.address(guest);
    }

    private Packet packet(int len, int seed) {
        Packet p = pool.alloc();
        int at = p.append(len);
        for (int i = 0; i < len; i++) {
            p.buffer().put(at + i, (byte) (seed + i));
        }
        return p;
    }

    /** Enqueues packet {@code id} (its bytes to guest offset id*2048) through the tracker. */
    private void send(CopyTracker t, int id, int len) {
        Packet p = packet(len, id);
        assertTrue(t.hasRoom(1, 1));
        t.begin(p);
        t.used(id, len);
        t.copy(p.dataAddress(), guestAddr + id * 2048L, len);
        t.end();
    }

    private void assertGuestHas(int id, int len) {
        for (int i = 0; i < len; i++) {
            assertEquals("byte " + i + " of packet " + id, (byte) (id + i), guest.get(id * 2048 + i));
        }
    }

    private static CopyTracker bound(ManualDma dma, int threshold) {
        CopyTracker t = new CopyTracker("q", 16, 16);
        DmaChannel ch = new DmaChannel(dma, "0000:00:04.0", "manual");
        t.attach(ch, ch.register(t), threshold);
        return t;
    }

    @Test
    public void smallPacketBehindALargeOneWaitsForIt() {
        ManualDma dma = new ManualDma(8);
        CopyTracker t = bound(dma, 256);
        send(t, 1, 1518); // DMA
        send(t, 2, 64);   // CPU, done at once
        t.submit();
        assertEquals(0, t.complete(sink));
        assertTrue("nothing may be used before packet 1", usedIds.isEmpty());
        assertGuestHas(2, 64);
        dma.run(1);
        assertEquals(2, t.complete(sink));
        assertEquals(List.of(1, 2), usedIds);
        assertGuestHas(1, 1518);
        assertEquals(0, pool.inUse());
        assertEquals(1, t.dmaCopies());
        assertEquals(1, t.cpuCopies());
    }

    /**
     * Issue 15: a late fault (a SIGBUS raised at the walker's next safepoint) can cut a burst between a
     * packet's begin and its end. The packet begun is the tracker's all the same: retired in order, its used
     * elements published, freed; not overwritten by the next packet and lost.
     */
    @Test
    public void aPacketWhoseEndWasCutShortIsRetiredAllTheSame() {
        ManualDma dma = new ManualDma(8);
        CopyTracker t = bound(dma, 0);
        Packet cut = packet(1000, 5);
        t.begin(cut);
        t.used(5, 1000);
        t.copy(cut.dataAddress(), guestAddr + 5 * 2048L, 1000);
        // no end(): the fault was raised here
        assertEquals("the packet begun is in flight", 1, t.inFlight());
        send(t, 6, 1000);
        t.submit();
        dma.run(2);
        assertEquals("both retired, in order", 2, t.complete(sink));
        assertEquals(List.of(5, 6), usedIds);
        assertEquals(List.of(cut), retired.subList(0, 1));
        assertGuestHas(5, 1000);
        assertGuestHas(6, 1000);
        assertEquals("no packet buffer lost", 0, pool.inUse());
    }

    /** A doorbell that threw (a late fault surfacing there) is rung again: the copies are not left unsubmitted. */
    @Test
    public void aDoorbellThatThrewIsRungAgainByTheDrain() {
        ManualDma dma = new ManualDma(8);
        dma.auto = true;
        CopyTracker t = bound(dma, 0);
        send(t, 1, 1518);
        send(t, 2, 1518);
        dma.failSubmits = 1;
        try {
            t.submit();
            org.junit.Assert.fail("the doorbell did not throw");
        } catch (InternalError e) {
            // as Virtqueue.enqueueAsync catches it
        }
        assertEquals(0, dma.rung);
        assertTrue("drained", t.drain(sink, 5_000_000_000L));
        assertEquals(List.of(1, 2), usedIds);
        assertGuestHas(1, 1518);
        assertGuestHas(2, 1518);
    }

    @Test
    public void aFailedCopyIsRedoneByTheCpu() {
        ManualDma dma = new ManualDma(8);
        CopyTracker t = bound(dma, 0);
        dma.failNext = 1;
        send(t, 3, 1000);
        send(t, 4, 1000);
        t.submit();
        dma.run(2);
        assertEquals(2, t.complete(sink));
        assertGuestHas(3, 1000);
        assertGuestHas(4, 1000);
        assertEquals(1, t.dmaErrors());
        assertEquals(List.of(3, 4), usedIds);
    }

    @Test
    public void aFullChannelFallsBackToTheCpuInOrder() {
        ManualDma dma = new ManualDma(2);
        CopyTracker t = bound(dma, 0);
        for (int id = 0; id < 5; id++) {
            send(t, id, 200);
        }
        t.submit();
        assertEquals(3, t.ringFullFallbacks());
        assertEquals(0, t.complete(sink));
        dma.run(2);
        assertEquals(5, t.complete(sink));
        assertEquals(List.of(0, 1, 2, 3, 4), usedIds);
        for (int id = 0; id < 5; id++) {
            assertGuestHas(id, 200);
        }
    }

    @Test
    public void sharedChannelRoutesCompletionsToTheirQueue() {
        ManualDma dma = new ManualDma(16);
        DmaChannel ch = new DmaChannel(dma, "0000:00:04.0", "manual");
        CopyTracker a = new CopyTracker("a", 16, 16);
        CopyTracker b = new CopyTracker("b", 16, 16);
        a.attach(ch, ch.register(a), 0);
        b.attach(ch, ch.register(b), 0);
        send(a, 1, 100);
        send(b, 2, 100);
        send(a, 3, 100);
        a.submit();
        b.submit();
        dma.run(3);
        assertEquals(2, a.complete(sink)); // polls the channel: b's completion is routed to b
        assertEquals(List.of(1, 3), usedIds);
        assertEquals(1, b.complete(sink));
        assertEquals(List.of(1, 3, 2), usedIds);
        assertEquals(0, pool.inUse());
    }

    @Test
    public void cpuOnlyQueueRetiresAtOnce() {
        CopyTracker t = new CopyTracker("cpu", 4, 4);
        send(t, 5, 1518);
        assertEquals(1, t.complete(sink));
        assertGuestHas(5, 1518);
        assertEquals(0, t.inFlight());
    }

    @Test
    public void binderDrainsBeforeTheChannelGoesAwayAndRebindsWhenItReturns() {
        ManualDma dma = new ManualDma(8);
        AsyncBinder binder = new AsyncBinder();
        TestQueue q = new TestQueue(new CopyTracker("vhost0 txq0", 16, 16));
        binder.setEnabled(true);
        binder.request(q, "00:04.0", 128);
        assertEquals(null, q.tracker().channel());
        binder.addDevice(dma, Map.of("dma.address", "0000:00:04.0", "dma.driver", "manual", "service.id", 7L));
        assertEquals(dma, q.tracker().channel().device());
        send(q.tracker(), 1, 1518);
        q.tracker().submit();
        dma.auto = true; // the engine keeps running while the binder drains
        binder.removeDevice(dma);
        assertEquals(null, q.tracker().channel());
        assertEquals(List.of(1), usedIds);
        assertGuestHas(1, 1518);
        assertEquals(0, pool.inUse());
        binder.addDevice(dma, Map.of("dma.address", "0000:00:04.0", "service.id", 8L));
        assertEquals(dma, q.tracker().channel().device());
        binder.setEnabled(false);
        assertEquals(null, q.tracker().channel());
    }

    private final class TestQueue implements AsyncQueue {
        private final CopyTracker tracker;

        TestQueue(CopyTracker t) {
            tracker = t;
        }

        @Override
        public CopyTracker tracker() {
            return tracker;
        }

        @Override
        public void exclusive(Runnable action) {
            synchronized (this) {
                action.run();
            }
        }

        @Override
        public boolean drainLocked() {
            return tracker.drain(sink, 1_000_000_000L);
        }

        @Override
        public long lockOrder() {
            return 0;
        }

        @Override
        public String describe() {
            return tracker.name();
        }
    }
}
