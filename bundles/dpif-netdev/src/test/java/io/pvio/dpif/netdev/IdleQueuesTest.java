package io.pvio.dpif.netdev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pvio.dpif.netdev.appctl.PmdRxqShowCommand;
import io.pvio.dummy.DummyPort;
import io.pvio.dummy.DummyPorts;
import io.pvio.dummy.PktgenPort;
import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevClass;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.NetdevStats;
import io.pvio.packet.PacketBatch;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.Test;

/** Idle rx queues beside a busy one: polled less often while the PMD is busy, never forgotten. */
public class IdleQueuesTest extends DpTest {

    @Test
    public void aQueueIdleForLongStillForwardsWhileAnotherKeepsThePmdBusy() throws Exception {
        dp.setOtherConfig(Map.of("pmd-perf-metrics", "true"));
        dp.addBridge("br0");
        dp.delFlows("br0", null);
        dp.addPort("br0", "gen", "pktgen", Map.of("enabled", "false"), 1);
        dp.addPort("br0", "sink", "pktgen", Map.of("enabled", "false"), 2);
        for (int i = 0; i < 8; i++) {
            dp.addPort("br0", "idle" + i, "dummy", Map.of(), 10 + i);
        }
        dp.addFlow("br0", "in_port=1,actions=output:2");
        dp.addFlow("br0", "in_port=13,actions=output:14");
        dp.setInterface("gen", null, Map.of("enabled", "true")); // as fast as the PMD takes them
        PktgenPort sink = DummyPorts.pktgen("sink");
        long[] start = dp.pmdIterations();
        // long enough for every dummy queue to have turned idle (IDLE_AFTER empty polls)
        await("iterations", () -> dp.pmdIterations()[0] > start[0] + 4 * PmdThread.IDLE_AFTER && sink.received() > 0);
        DummyPort in = DummyPorts.dummy("idle3");
        DummyPort out = DummyPorts.dummy("idle4");
        for (int i = 0; i < 5; i++) {
            assertTrue(in.receive(eth("52:54:00:00:00:0b", "52:54:00:00:00:0a", 0x0800, 64 + i)));
        }
        await(() -> "forwarded from the idle queue: " + out.sentPackets(), () -> out.sentPackets() == 5);
        assertEquals(0, in.rxBacklog());
        assertTrue("the generator kept the PMD busy", sink.received() > 0);
        // once an interval (5 s) has ended: the busy queue's share, the idle ones' 0 (OVS counts only polls
        // that received)
        await(dp::pmdRxqShow, () -> !dp.pmdRxqShow().contains("NOT AVAIL"));
        String rxq = new PmdRxqShowCommand(dp).run(List.of());
        assertTrue(rxq, rxq.matches("(?s).*  port: gen +queue-id:  0 \\(enabled\\)   pmd usage: +[1-9]\\d* %\n.*"));
        assertTrue(rxq, rxq.matches("(?s).*  port: idle1 +queue-id:  0 \\(enabled\\)   pmd usage:  0 %\n.*"));
        assertTrue(rxq, rxq.matches("(?s).*  overhead: +\\d+ %\n"));
        dp.setInterface("gen", null, Map.of("enabled", "false"));
        for (int i = 0; i < 8; i++) {
            dp.delPort("idle" + i);
        }
        dp.delPort("gen");
        dp.delPort("sink");
    }

    /**
     * An idle port whose poll is expensive (a tap's or a socket's read(2): microseconds) costs a busy PMD
     * about 1/IDLE_SWEEP_SHARE of its time, not one system call every few iterations: each sweep of the idle
     * queues is followed by a pause of IDLE_SWEEP_SHARE - 1 times its duration. Asserted on the intervals
     * between polls, not on a count per wall-clock window: a loaded machine can only stretch an interval
     * (a descheduled PMD) or leave the generator's PMD without work for a moment (then every queue is polled
     * back to back), so the median interval stays near (IDLE_SWEEP_SHARE - 1) * cost; the old schedule
     * (every 32nd iteration) gave about cost + 32 iterations.
     */
    @Test
    public void anExpensiveIdlePollCostsABusyPmdAboutOnePercent() throws Exception {
        long costNs = TimeUnit.MICROSECONDS.toNanos(200);
        AtomicLong polls = new AtomicLong();
        long[] at = new long[4096];
        bind(slowPollClass(costNs, polls, at));
        dp.addBridge("br0");
        dp.delFlows("br0", null);
        dp.addPort("br0", "gen", "pktgen", Map.of("enabled", "false"), 1);
        dp.addPort("br0", "sink", "pktgen", Map.of("enabled", "false"), 2);
        dp.addPort("br0", "slow", "slowpoll", Map.of(), 3);
        dp.addFlow("br0", "in_port=1,actions=output:2");
        dp.setInterface("gen", null, Map.of("enabled", "true")); // as fast as the PMD takes them
        PktgenPort sink = DummyPorts.pktgen("sink");
        // polled back to back (costNs apart) while active, at least IDLE_AFTER times; the first longer interval
        // after that is the first sweep. The count alone does not tell: a reconfiguration (the generator
        // enabled) starts a queue's empty polls again, so it may be polled more than IDLE_AFTER times while
        // active; and a longer interval is a sweep's pause only when it is of the schedule's length, not a
        // PMD descheduled for a moment on a loaded machine
        long floor = (PmdThread.IDLE_SWEEP_SHARE - 1) * costNs / 2;
        int[] firstSweep = new int[1];
        await("the slow queue turned idle", () -> sink.received() > 0 && (firstSweep[0] = firstGapAbove(at,
                PmdThread.IDLE_AFTER, (int) Math.min(polls.get(), at.length), floor)) > 0);
        long p0 = firstSweep[0] - 1;
        long r0 = sink.received();
        // at least 16 intervals of the new schedule
        await("polls", () -> polls.get() > p0 + 17);
        long n = Math.min(polls.get(), at.length) - p0;
        assertTrue("the generator kept the PMD busy", sink.received() > r0);
        long[] gaps = new long[(int) n - 1];
        for (int i = 0; i < gaps.length; i++) {
            gaps[i] = at[(int) (p0 + i + 1)] - at[(int) (p0 + i)];
        }
        Arrays.sort(gaps);
        long median = gaps[gaps.length / 2];
        assertTrue("median interval between polls of the slow queue " + median / 1000 + " us (at least "
                + floor / 1000 + " us), intervals " + Arrays.toString(gaps), median >= floor);
        dp.setInterface("gen", null, Map.of("enabled", "false"));
        dp.delPort("slow");
        dp.delPort("gen");
        dp.delPort("sink");
    }

    /** The first i in [from, n) with {@code at[i] - at[i - 1] > gap}, or -1. */
    private static int firstGapAbove(long[] at, int from, int n, long gap) {
        for (int i = from; i < n; i++) {
            if (at[i] - at[i - 1] > gap) {
                return i;
            }
        }
        return -1;
    }

    /**
     * A netdev of type "slowpoll" whose every rxqRecv busy-waits {@code costNs} and receives nothing; poll
     * number i (from 0) stores its start time in {@code at[i]} while i is below its length.
     */
    private static NetdevClass slowPollClass(long costNs, AtomicLong polls, long[] at) {
        return new NetdevClass() {
            @Override
            public String type() {
                return "slowpoll";
            }

            @Override
            public Netdev open(String name, Map<String, String> options, NetdevContext context) {
                return new Netdev() {
                    @Override
                    public String name() {
                        return name;
                    }

                    @Override
                    public String type() {
                        return "slowpoll";
                    }

                    @Override
                    public void setConfig(Map<String, String> o) {
                    }

                    @Override
                    public Map<String, String> getConfig() {
                        return Map.of();
                    }

                    @Override
                    public int nRxq() {
                        return 1;
                    }

                    @Override
                    public int nTxq() {
                        return 1;
                    }

                    @Override
                    public int rxqRecv(int qid, PacketBatch batch) {
                        long start = System.nanoTime();
                        long i = polls.get();
                        if (i < at.length) {
                            at[(int) i] = start;
                        }
                        polls.set(i + 1); // one PMD polls it: a release store publishes at[i]
                        long end = start + costNs;
                        while (System.nanoTime() - end < 0) {
                            Thread.onSpinWait();
                        }
                        return 0;
                    }

                    @Override
                    public int send(int qid, PacketBatch batch, boolean concurrentTxq) {
                        batch.freeAll();
                        return 0;
                    }

                    @Override
                    public int freePkts(int qid, boolean concurrentTxq) {
                        return 0;
                    }

                    @Override
                    public void getStats(NetdevStats stats) {
                    }

                    @Override
                    public boolean carrier() {
                        return true;
                    }

                    @Override
                    public void close() {
                    }
                };
            }
        };
    }
}
