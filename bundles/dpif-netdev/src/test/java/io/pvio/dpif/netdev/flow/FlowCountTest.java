package io.pvio.dpif.netdev.flow;

import static org.junit.Assert.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import org.junit.Test;

/** A flow's counters: exact totals whichever threads count, owner or not. */
public class FlowCountTest {
    @Test
    public void ownerAndOthersCountingAtOnceLoseNothing() throws Exception {
        Flow f = FlowParser.parseFlow("in_port=1,actions=output:2");
        int threads = 4;
        int rounds = 200_000;
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Thread> ts = new ArrayList<>();
        List<Throwable> failed = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int counter = t; // 0 counts shared; 1..3 race to own the flow, the losers count shared
            Thread th = new Thread(() -> {
                try {
                    start.await();
                    for (int i = 0; i < rounds; i++) {
                        f.count(1, 60 + counter, 0, counter);
                    }
                } catch (Exception e) {
                    synchronized (failed) {
                        failed.add(e);
                    }
                }
            });
            ts.add(th);
            th.start();
        }
        for (Thread th : ts) {
            th.join();
        }
        assertEquals(List.of(), failed);
        assertEquals((long) threads * rounds, f.packets());
        assertEquals((long) rounds * (60 + 61 + 62 + 63), f.bytes());
        f.count(5, 500, 0); // the shared path, as a replaced flow's counters are carried over
        assertEquals((long) threads * rounds + 5, f.packets());
    }
}
