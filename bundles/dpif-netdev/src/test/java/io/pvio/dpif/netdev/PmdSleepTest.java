package io.pvio.dpif.netdev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dpif.DpifException;
import java.util.List;
import org.junit.Test;

public class PmdSleepTest {
    private static final long US = 1000;

    @Test
    public void unsetIsTheDefault() throws DpifException {
        assertEquals(PmdSleep.DEFAULT_US * US, PmdSleep.parse(null).nanosFor(0));
        assertEquals(PmdSleep.DEFAULT_US * US, PmdSleep.parse(" ").nanosFor(7));
    }

    @Test
    public void globalValue() throws DpifException {
        PmdSleep s = PmdSleep.parse("0");
        assertEquals(0, s.nanosFor(0));
        assertEquals(0, s.nanosFor(1));
        assertEquals(300 * US, PmdSleep.parse("300").nanosFor(5));
    }

    /** OVS's per-core form: a default and core:usecs pairs, in any order. */
    @Test
    public void perCoreValues() throws DpifException {
        PmdSleep s = PmdSleep.parse("50,8:0,9:0");
        assertEquals(50 * US, s.nanosFor(0));
        assertEquals(0, s.nanosFor(8));
        assertEquals(0, s.nanosFor(9));
        assertEquals(50 * US, s.nanosFor(10));
        PmdSleep t = PmdSleep.parse("10:100, 11:100");
        assertEquals(PmdSleep.DEFAULT_US * US, t.nanosFor(0));
        assertEquals(100 * US, t.nanosFor(11));
        PmdSleep u = PmdSleep.parse("1:20,0");
        assertEquals(0, u.nanosFor(0));
        assertEquals(20 * US, u.nanosFor(1));
        assertTrue(u.toString().contains("core 1: 20 us"));
    }

    @Test
    public void badValuesAreRefusedWithTheReason() {
        for (String bad : List.of("x", "-1", "10001", "50,60", "1:2:3", "a:5", "1:x", "1:5,1:6", "2000:5", ",")) {
            try {
                PmdSleep.parse(bad);
                fail("accepted " + bad);
            } catch (DpifException e) {
                assertTrue(e.getMessage(), e.getMessage().startsWith("pmd-sleep-max '" + bad + "'"));
            }
        }
    }
}
