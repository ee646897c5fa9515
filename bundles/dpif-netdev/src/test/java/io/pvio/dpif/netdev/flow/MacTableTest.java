package io.pvio.dpif.netdev.flow;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

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

    /**
     * A station is a MAC in a VLAN: the same MAC in two VLANs is two entries, each with its port, moved and
     * flushed on its own; MAC 0 in VLAN 0 is a station too; a grown table keeps every entry's VLAN and port.
     */
    @Test
    public void stationsPerVlan() {
        MacTable t = new MacTable(16, 300);
        long a = 0x525400000001L;
        t.learn(a, 10, 1, 0);
        t.learn(a, 20, 2, 0);
        t.learn(0, 0, 5, 0);
        assertEquals(1, t.lookup(a, 10, 1));
        assertEquals(2, t.lookup(a, 20, 1));
        assertEquals(-1, t.lookup(a, 0, 1));
        assertEquals(5, t.lookup(0, 0, 1));
        t.learn(a, 20, 3, 2); // moved in VLAN 20 only
        assertEquals(1, t.lookup(a, 10, 2));
        assertEquals(3, t.lookup(a, 20, 2));
        assertEquals(1, t.stats().moved());
        t.setConfig(1000, 300, 2); // more slots: rebuilt
        assertEquals(1, t.lookup(a, 10, 2));
        assertEquals(3, t.lookup(a, 20, 2));
        java.util.List<MacTable.Entry> es = new java.util.ArrayList<>(t.entries(2));
        es.sort(java.util.Comparator.comparingInt(MacTable.Entry::vlan).thenComparingInt(MacTable.Entry::port));
        assertEquals(java.util.List.of(new MacTable.Entry(5, 0, 0, 2), new MacTable.Entry(1, a, 10, 2),
                new MacTable.Entry(3, a, 20, 0)), es);
        t.flushPort(1);
        assertEquals(-1, t.lookup(a, 10, 2));
        assertEquals(3, t.lookup(a, 20, 2));
    }

    /**
     * Static entries (fdb/add), as OVS's: learning neither moves nor refreshes them, they never age, a flush and
     * a smaller table keep them, fdb/del removes only them; a learned entry of the same station becomes static.
     */
    @Test
    public void staticEntries() {
        MacTable t = new MacTable(16, 300);
        long a = 0x525400000001L;
        long b = 0x525400000002L;
        assertEquals(new MacTable.Added(true, null), t.addStatic(a, 10, 1, 0));
        t.learn(a, 10, 2, 5); // the station seen elsewhere: not moved
        assertEquals(1, t.lookup(a, 10, 1000));
        t.learn(b, 0, 3, 0);
        MacTable.Added over = t.addStatic(b, 0, 4, 7);
        assertEquals(new MacTable.Entry(3, b, 0, 7), over.replaced());
        assertEquals(new MacTable.Stats(2, 2, 1, 0, 0), t.stats());
        t.age(10_000);
        t.flush();
        t.setConfig(10, 300, 10_000);
        assertEquals(2, t.entries(10_000).size());
        assertTrue(t.entries(10_000).get(0).isStatic());
        assertEquals(4, t.lookup(b, 0, 10_000));
        assertFalse(t.delStatic(a, 20));
        assertTrue(t.delStatic(a, 10));
        assertFalse(t.delStatic(a, 10));
        assertEquals(-1, t.lookup(a, 10, 10_000));
        t.flushPort(4);
        assertEquals(new MacTable.Stats(0, 0, 1, 0, 0), t.stats());
    }

    /** fdb/stats-show's figures as OVS's mac_learning counts them: learned, moved, expired; none evicted. */
    @Test
    public void statsCountAsOvs() {
        MacTable t = new MacTable(4, 10);
        t.learn(0xa, 1, 0);
        t.learn(0xb, 2, 0);
        t.learn(0xa, 1, 1); // known, same port: no change
        t.learn(0xa, 3, 2); // moved
        assertEquals(new MacTable.Stats(2, 0, 2, 0, 1), t.stats());
        t.age(12); // b (used at 0) expires, a (used at 2) does not
        assertEquals(new MacTable.Stats(1, 0, 2, 1, 1), t.stats());
        for (long m = 0xc; m <= 0xe; m++) {
            t.learn(m, 1, 12);
        }
        t.learn(0xf, 1, 12); // full of live entries: not learned, nothing evicted
        assertEquals(new MacTable.Stats(4, 0, 5, 1, 1), t.stats());
        t.clearStats();
        assertEquals(new MacTable.Stats(4, 0, 0, 0, 0), t.stats());
    }

    /**
     * mac-table-size and mac-aging-time changed on a live table: a larger size keeps every entry and learns
     * beyond the old capacity; a smaller one drops the least recently seen at once (counted as expired); a
     * shorter aging time ages entries by it.
     */
    @Test
    public void sizeAndAgingChangeOnALiveTable() {
        MacTable t = new MacTable(4, 300);
        for (long m = 1; m <= 4; m++) {
            t.learn(m, (int) m, (int) m);
        }
        t.setConfig(100, 300, 10);
        for (long m = 5; m <= 100; m++) {
            t.learn(m, 1, 10);
        }
        assertEquals(100, t.entries(10).size());
        assertEquals(3, t.lookup(3, 10));
        t.setConfig(10, 300, 10); // keeps the ten seen last: all learned at 10, and none of 1..4
        assertEquals(10, t.entries(10).size());
        assertEquals(-1, t.lookup(4, 10));
        assertEquals(new MacTable.Stats(10, 0, 100, 90, 0), t.stats());
        t.setConfig(10, 15, 10);
        assertEquals(10, t.entries(25).size());
        assertEquals(0, t.entries(26).size()); // seen at 10, aged at 15 s
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

    @Test
    public void fullTableLearnsMovesAndNewStationsOnceEntriesAge() {
        MacTable t = new MacTable(4, 10);
        for (long m = 1; m <= 4; m++) {
            t.learn(m, 1, 0);
        }
        long x = 0x0a0000000001L;
        t.learn(x, 2, 5); // full of live entries: scanned, not learned
        t.learn(x, 2, 5); // the same second: not scanned again, not learned
        assertEquals(-1, t.lookup(x, 5));
        t.learn(1, 3, 5); // a known station's move is learned on a full table
        assertEquals(3, t.lookup(1, 5));
        t.learn(x, 2, 11); // a new second: entries 2..4 (learned at 0) have aged and make room
        assertEquals(2, t.lookup(x, 11));
        assertEquals(3, t.lookup(1, 11));
        assertEquals(2, t.entries(11).size());
    }
}
