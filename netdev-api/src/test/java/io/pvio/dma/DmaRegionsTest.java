package io.pvio.dma;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;
import org.junit.Test;

public class DmaRegionsTest {
    /** A DmaMemory that records its calls and can be told to refuse a map. */
    static final class Recorder implements DmaMemory {
        final String name;
        final List<String> calls = new ArrayList<>();
        long refuse = -1;

        Recorder(String name) {
            this.name = name;
        }

        @Override
        public void map(long va, long length) throws DmaException {
            if (va == refuse) {
                throw new DmaException("refused on purpose");
            }
            calls.add("map " + va + "+" + length);
        }

        @Override
        public void unmap(long va, long length) {
            calls.add("unmap " + va + "+" + length);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private final DmaRegions regions = new DmaRegions("test memory", Logger.getLogger("dma_regions_test"));

    @Test
    public void noServiceMapsNothingAndUnmapsNothing() {
        assertEquals(0, regions.map(0x10000, 4096, "a"));
        assertEquals(1, regions.ranges());
        assertTrue("no service: nothing needs it mapped", regions.covered(0x10000, 1));
        assertTrue(regions.unmap(0x10000, 4096));
        assertEquals(0, regions.ranges());
    }

    @Test
    public void aLateServiceGetsTheRangesReplayedAndLaterOnesAsTheyCome() {
        regions.map(0x10000, 4096, "a");
        regions.map(0x20000, 8192, "b");
        Recorder m = new Recorder("m");
        regions.addService(m);
        assertEquals(List.of("map 65536+4096", "map 131072+8192"), m.calls);
        assertEquals(2, regions.mappedOn(m));
        assertEquals(1, regions.map(0x40000, 4096, "c"));
        assertEquals("map 262144+4096", m.calls.get(2));
        assertTrue(regions.covered(0x20000 + 100, 8000));
        assertFalse("runs past b", regions.covered(0x20000 + 100, 8192));
        assertTrue(regions.unmap(0x10000, 4096));
        assertEquals("unmap 65536+4096", m.calls.get(3));
        assertEquals(12288, regions.bytes());
        regions.addService(m); // bound twice: nothing replayed again
        assertEquals(4, m.calls.size());
    }

    /** Its provider withdraws what it was given (its channels may still copy while the service goes). */
    @Test
    public void aServiceGoingAwayIsForgottenAndNothingIsUnmappedOnIt() {
        Recorder m = new Recorder("m");
        Recorder other = new Recorder("other");
        regions.addService(m);
        regions.addService(other);
        m.refuse = 0x20000;
        regions.map(0x10000, 4096, "a");
        assertEquals("b fails on m only", 1, regions.map(0x20000, 4096, "b"));
        assertFalse("b is not mapped everywhere", regions.covered(0x20000, 1));
        m.calls.clear();
        regions.removeService(m);
        assertEquals("nothing unmapped on a service going away", List.of(), m.calls);
        assertEquals(2, regions.mappedOn(other));
        assertTrue("every bound service has b now", regions.covered(0x20000, 1));
        regions.removeService(m); // unbound twice: nothing
        // ranges unmapped later are not unmapped on m
        regions.unmap(0x10000, 4096);
        regions.unmap(0x20000, 4096);
        assertEquals(List.of(), m.calls);
        assertEquals(List.of("map 65536+4096", "map 131072+4096", "unmap 65536+4096", "unmap 131072+4096"),
                other.calls);
    }

    @Test
    public void aRangeThatFailedToMapIsNotUnmapped() {
        Recorder m = new Recorder("m");
        m.refuse = 0x10000;
        regions.addService(m);
        assertEquals(0, regions.map(0x10000, 4096, "a"));
        assertTrue(regions.unmap(0x10000, 4096));
        assertEquals(List.of(), m.calls);
    }

    @Test
    public void badRangesAreRefusedWithTheReason() {
        regions.map(0x10000, 8192, "a");
        try {
            regions.map(0x11000, 8192, "b");
            fail("overlap accepted");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("overlaps a: 0x10000+0x2000"));
        }
        try {
            regions.map(0x30000, 0, "c");
            fail("empty range accepted");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().startsWith("c: cannot register 0 bytes"));
        }
        assertFalse("not registered", regions.unmap(0x10000, 4096));
        assertEquals(1, regions.ranges());
    }
}
