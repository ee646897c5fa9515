package io.pvio.dpif.netdev.flow;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class MacTableTest {
    @Test
    public void learnMoveAgeFlush() {
        MacTable t = new MacTable(2048, 300);
        long a = 0x525400000001L;
        long b = 0x525400000002L;
        assertEquals(-1, t.lookup(a, 0));
        t.learn(a, 1, 0);
        t.learn(b, 2, 0);
        assertEquals(1, t.lookup(a, 10));
        t.learn(a, 3, 10); // moved
        assertEquals(3, t.lookup(a, 10));
        assertEquals(2, t.lookup(b, 300));
        assertEquals(-1, t.lookup(b, 301)); // aged out
        t.learn(b, 2, 301);
        assertEquals(2, t.lookup(b, 301));
        t.flushPort(3);
        assertEquals(-1, t.lookup(a, 301));
        assertEquals(1, t.entries(301).size());
        t.age(700);
        assertEquals(0, t.entries(700).size());
    }

    @Test
    public void fillsToCapacityAndSurvivesChurn() {
        MacTable t = new MacTable(64, 300);
        for (int round = 0; round < 20; round++) {
            for (long m = 0; m < 64; m++) {
                t.learn(0x020000000000L + round * 1000 + m, (int) (m % 7) + 1, round * 400);
            }
            for (long m = 0; m < 64; m++) {
                assertEquals((int) (m % 7) + 1, t.lookup(0x020000000000L + round * 1000 + m, round * 400));
            }
        }
        // full of live entries: a 65th is not learned, the others stay
        t.learn(0x0a0000000000L, 1, 7600);
        assertEquals(-1, t.lookup(0x0a0000000000L, 7600));
        assertEquals(64, t.entries(7600).size());
    }
}
