package io.pvio.counter;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.Test;

public class CounterTest {
    @Test
    public void addSetGet() {
        Counter c = new Counter();
        assertEquals(0, c.get());
        c.add(5);
        c.increment();
        assertEquals(6, c.get());
        c.set(-3);
        assertEquals(-3, c.get());
        c.add(Long.MAX_VALUE);
        assertEquals(Long.MAX_VALUE - 3, c.get());
        assertEquals(Long.toString(Long.MAX_VALUE - 3), c.toString());
    }

    @Test
    public void arraySlotsAreIndependent() {
        CounterArray a = new CounterArray(4);
        assertEquals(4, a.length());
        a.add(0, 2);
        a.add(3, 7);
        a.set(1, 10);
        a.add(1, 1);
        assertEquals(2, a.get(0));
        assertEquals(11, a.get(1));
        assertEquals(0, a.get(2));
        assertEquals(7, a.get(3));
        assertEquals(13, a.sum(2));
        assertEquals(20, a.sum(4));
    }

    @Test
    public void paddedArrayHasTheSameSlots() {
        CounterArray a = CounterArray.padded(3);
        assertEquals(3, a.length());
        a.add(0, 1);
        a.add(2, 5);
        a.set(1, 9);
        assertEquals(1, a.get(0));
        assertEquals(9, a.get(1));
        assertEquals(5, a.get(2));
        assertEquals(15, a.sum(3));
    }

    @Test
    public void arrayBoundsChecked() {
        for (CounterArray a : new CounterArray[] {new CounterArray(2), CounterArray.padded(2)}) {
            for (int i : new int[] {-1, 2}) {
                try {
                    a.add(i, 1);
                    org.junit.Assert.fail("slot " + i + " of 2");
                } catch (ArrayIndexOutOfBoundsException expected) {
                    assertEquals("counter " + i + " of 2", expected.getMessage());
                }
            }
        }
    }

    /**
     * One writer per slot on its own thread, a reader polling all of them: the reader only ever sees values
     * that were written, never decreasing, and the final values are exact once the writers are joined.
     */
    @Test
    public void singleWritersAreExactAndReadersSeeMonotonicValues() throws Exception {
        int n = 2;
        long perWriter = 2_000_000;
        CounterArray a = CounterArray.padded(n);
        Counter c = new Counter();
        Thread[] writers = new Thread[n];
        for (int w = 0; w < n; w++) {
            int slot = w;
            writers[w] = new Thread(() -> {
                for (long i = 0; i < perWriter; i++) {
                    a.add(slot, 1);
                    if (slot == 0) {
                        c.increment();
                    }
                }
            });
        }
        AtomicBoolean done = new AtomicBoolean();
        long[] last = new long[n + 1];
        boolean[] ok = {true};
        Thread reader = new Thread(() -> {
            while (!done.get()) {
                for (int i = 0; i < n; i++) {
                    long v = a.get(i);
                    ok[0] &= v >= last[i] && v <= perWriter;
                    last[i] = v;
                }
                long v = c.get();
                ok[0] &= v >= last[n] && v <= perWriter;
                last[n] = v;
            }
        });
        reader.start();
        for (Thread t : writers) {
            t.start();
        }
        for (Thread t : writers) {
            t.join();
        }
        done.set(true);
        reader.join();
        assertTrue("a reader saw a counter go back or past its writes", ok[0]);
        assertEquals(perWriter, a.get(0));
        assertEquals(perWriter, a.get(1));
        assertEquals(2 * perWriter, a.sum(n));
        assertEquals(perWriter, c.get());
    }
}
