package io.pvio.virtio.user;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class RingMathTest {
    @Test
    public void distanceWrapsAt16Bits() {
        assertEquals(0, RingMath.distance(5, 5));
        assertEquals(3, RingMath.distance(2, 65535));
        assertEquals(65535, RingMath.distance(65535, 0));
        assertEquals(1, RingMath.distance(0, 65535));
        assertEquals(0, RingMath.add(65535, 1));
        assertEquals(4, RingMath.add(65534, 6));
    }

    @Test
    public void needEventWithoutWrap() {
        // the other side wants an event once index 10 is passed
        assertTrue(RingMath.needEvent(10, 11, 10));
        assertTrue(RingMath.needEvent(10, 20, 5));
        assertFalse(RingMath.needEvent(10, 10, 5)); // 10 not yet crossed
        assertFalse(RingMath.needEvent(10, 30, 20)); // crossed before, already notified
    }

    @Test
    public void needEventAcrossWrap() {
        assertTrue(RingMath.needEvent(65535, 2, 65530));
        assertTrue(RingMath.needEvent(0, 1, 65535));
        assertFalse(RingMath.needEvent(5, 3, 65530));
        assertTrue(RingMath.needEvent(65534, 0, 65534));
        assertFalse(RingMath.needEvent(65533, 0, 65534));
    }

    @Test
    public void needEventMatchesReferenceOverAllSmallWindows() {
        // reference: event in [old, new) modulo 2^16, counted by walking
        for (int old = 65500; old < 65600; old += 7) {
            for (int n = 0; n < 40; n++) {
                int o = old & 0xffff;
                int nw = (old + n) & 0xffff;
                for (int ev = old - 5; ev < old + 45; ev++) {
                    boolean ref = false;
                    for (int i = 0; i < n; i++) {
                        ref |= ((old + i) & 0xffff) == (ev & 0xffff);
                    }
                    assertEquals("ev=" + ev + " old=" + o + " new=" + nw, ref, RingMath.needEvent(ev & 0xffff, nw, o));
                }
            }
        }
    }
}
