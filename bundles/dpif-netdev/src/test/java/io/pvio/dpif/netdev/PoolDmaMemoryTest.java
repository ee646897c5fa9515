package io.pvio.dpif.netdev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pvio.dma.DmaMemory;
import io.pvio.dummy.DummyPort;
import io.pvio.dummy.DummyPorts;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/** The packet pool's slab is registered with every DmaMemory service, whenever it comes, until the pool goes. */
public class PoolDmaMemoryTest extends DpTest {
    /** Records its calls; at each unmap, how many buffers of the pool were still out. */
    private final class Recorder implements DmaMemory {
        final List<String> calls = new ArrayList<>();

        @Override
        public synchronized void map(long va, long length) {
            calls.add("map " + va + "+" + length);
        }

        @Override
        public synchronized void unmap(long va, long length) {
            calls.add("unmap " + va + "+" + length + " with " + dp.pool().inUse() + " buffers out");
        }
    }

    private String slab() {
        return dp.pool().slabAddress() + "+" + dp.pool().slabSize();
    }

    @Test
    public void slabIsMappedOnLateServicesAndUnmappedAfterThePortsDrained() throws Exception {
        Recorder m = new Recorder();
        dp.bindDmaMemory(m); // after activation: replayed
        assertEquals(List.of("map " + slab()), m.calls);
        assertTrue("whole slab mapped", dp.dmaMemory().covered(dp.pool().slabAddress(), dp.pool().slabSize()));
        assertEquals(1, dp.dmaMemory().mappedOn(m));

        // an asynchronous port holds packets in flight when the datapath stops
        FakeAsyncClass fake = new FakeAsyncClass();
        bind(fake);
        dp.addBridge("br0");
        dp.addPort("br0", "in", "dummy", Map.of(), 1);
        dp.addPort("br0", "a1", FakeAsyncClass.TYPE, Map.of(), 2);
        dp.addFlow("br0", "priority=10,in_port=1,actions=output:2");
        FakeAsyncClass.Port a1 = fake.ports.get("a1");
        a1.gate = false;
        DummyPort in = DummyPorts.dummy("in");
        for (int i = 0; i < 8; i++) {
            assertTrue(in.receive(eth("52:54:00:00:00:02", "52:54:00:00:00:01", 0x0800, 64)));
        }
        await("in flight", () -> a1.inFlight() == 8);
        String slab = slab();
        dp.deactivate();
        assertEquals("the port was closed with its packets in flight", 8, a1.inFlightAtClose);
        assertEquals(List.of("map " + slab, "unmap " + slab + " with 0 buffers out"), m.calls);
        assertEquals(0, dp.dmaMemory().ranges());
    }

    /** A service going away is forgotten: its provider withdraws its mappings; the other keeps the slab. */
    @Test
    public void aServiceGoingAwayIsForgotten() {
        Recorder a = new Recorder();
        Recorder b = new Recorder();
        dp.bindDmaMemory(a);
        dp.bindDmaMemory(b);
        String slab = slab();
        dp.unbindDmaMemory(a);
        assertEquals(List.of("map " + slab), a.calls);
        assertEquals(List.of("map " + slab), b.calls);
        assertEquals(1, dp.dmaMemory().mappedOn(b));
        dp.deactivate();
        assertEquals("nothing unmapped on a", 1, a.calls.size());
        assertEquals(List.of("map " + slab, "unmap " + slab + " with 0 buffers out"), b.calls);
    }
}
