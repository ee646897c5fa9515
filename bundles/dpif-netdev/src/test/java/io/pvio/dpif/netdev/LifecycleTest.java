package io.pvio.dpif.netdev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dpif.DpifException;
import io.pvio.dpif.PortInfo;
import io.pvio.dummy.DummyPort;
import io.pvio.dummy.DummyPorts;
import io.pvio.dummy.PktgenPort;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.Test;

public class LifecycleTest extends DpTest {
    private final FakeAsyncClass fake = new FakeAsyncClass();

    /** br0: dummy port "in" (1) -> asynchronous port "a1" (2). */
    private FakeAsyncClass.Port asyncPortBehindDummy() throws Exception {
        bind(fake);
        dp.addBridge("br0");
        dp.addPort("br0", "in", "dummy", Map.of(), 1);
        dp.addPort("br0", "a1", FakeAsyncClass.TYPE, Map.of(), 2);
        dp.addFlow("br0", "priority=10,in_port=1,actions=output:2");
        return fake.ports.get("a1");
    }

    @Test
    public void portWaitsForItsClassAndFollowsItsComings() throws Exception {
        unbind(pktgen);
        dp.addBridge("br0");
        dp.addFlow("br0", "priority=10,in_port=1,actions=output:2");
        dp.addFlow("br0", "priority=10,in_port=2,actions=output:1");
        dp.addPort("br0", "w1", "pktgen", Map.of("size", "128"), 1);
        dp.addPort("br0", "w2", "pktgen", Map.of(), 2);
        PortInfo w1 = dp.port("w1");
        assertEquals("waiting", w1.state());
        assertEquals("could not open network device w1 (no netdev class 'pktgen' is registered; waiting for a"
                + " bundle that provides it)", w1.error()); // the Interface's error column, as OVS's
        assertEquals(1, w1.ofport()); // kept for it
        assertNull(DummyPorts.pktgen("w1"));
        dp.setInterface("w1", null, Map.of("size", "256")); // stored while waiting
        bind(pktgen);
        assertEquals("up", dp.port("w1").state());
        assertNull(dp.port("w1").error());
        assertEquals(1, dp.port("w1").ofport());
        PktgenPort g2 = DummyPorts.pktgen("w2");
        assertNotNull(g2);
        await("traffic", () -> g2.received() > 1000);
        // the class goes away: its ports are closed (no leak), wait, and keep their options
        unbind(pktgen);
        assertEquals("waiting", dp.port("w1").state());
        assertTrue(dp.port("w1").error(), dp.port("w1").error().contains("no netdev class 'pktgen'"));
        assertEquals(Map.of("size", "256"), dp.port("w1").options());
        assertNull(DummyPorts.pktgen("w2"));
        settle();
        assertEquals(0, dp.pool().inUse());
        // and come back when it does
        bind(pktgen);
        assertEquals("up", dp.port("w2").state());
        PktgenPort g2b = DummyPorts.pktgen("w2");
        assertNotSame(g2, g2b);
        await("traffic again", () -> g2b.received() > 1000);
        assertEquals("256", DummyPorts.pktgen("w1").show().replaceAll("(?s).* size=(\\d+) .*", "$1"));
    }

    @Test
    public void asyncPortIsDrainedByFreePktsAndIdlePortsCostNothing() throws Exception {
        bind(fake);
        dp.addBridge("br0");
        dp.addPort("br0", "in", "dummy", Map.of(), 1);
        dp.addPort("br0", "a1", FakeAsyncClass.TYPE, Map.of(), 2);
        dp.addPort("br0", "a2", FakeAsyncClass.TYPE, Map.of(), 3);
        dp.addFlow("br0", "priority=10,in_port=1,actions=output:2");
        FakeAsyncClass.Port a1 = fake.ports.get("a1");
        FakeAsyncClass.Port a2 = fake.ports.get("a2");
        DummyPort in = DummyPorts.dummy("in");
        for (int i = 0; i < 100; i++) {
            assertTrue(in.receive(eth("52:54:00:00:00:02", "52:54:00:00:00:01", 0x0800, 64)));
        }
        await(() -> "completed " + a1.completed + " in flight " + a1.inFlight(), () -> a1.completed.get() == 100);
        assertTrue(a1.sends.get() > 0);
        assertTrue("freePkts called until drained", a1.freeCalls.get() >= 25);
        assertEquals(0, a1.inFlight());
        settle();
        long calls = a1.freeCalls.get();
        settle();
        settle();
        assertEquals("no freePkts once nothing is in flight", calls, a1.freeCalls.get());
        assertEquals("idle port: never sent to", 0, a2.sends.get());
        assertEquals("idle port: no freePkts", 0, a2.freeCalls.get());
        assertEquals(0, dp.pool().inUse());
    }

    /**
     * pmd-perf-metrics: time in freePkts calls that retired packets is counted (and shown); calls that
     * found nothing complete are not; without the option the line is absent.
     */
    @Test
    public void perfMetricsCountFreePktsTimeOfCallsThatRetired() throws Exception {
        FakeAsyncClass.Port a1 = asyncPortBehindDummy();
        assertFalse(dp.pmdStatsShow(null).contains("free_pkts cycles"));
        dp.setOtherConfig(Map.of("pmd-perf-metrics", "true"));
        a1.gate = false; // nothing completes: polling is idle time
        DummyPort in = DummyPorts.dummy("in");
        for (int i = 0; i < 8; i++) {
            assertTrue(in.receive(eth("52:54:00:00:00:02", "52:54:00:00:00:01", 0x0800, 64)));
        }
        await("in flight", () -> a1.inFlight() == 8);
        long calls = a1.freeCalls.get();
        await("freePkts polled", () -> a1.freeCalls.get() > calls + 100);
        assertTrue(dp.pmdStatsShow(null), dp.pmdStatsShow(null).contains("  free_pkts cycles: 0 (0.00% of processing)\n"));
        a1.gate = true;
        await("retired", () -> a1.completed.get() == 8);
        Matcher m = Pattern.compile("free_pkts cycles: (\\d+) ").matcher(dp.pmdStatsShow(null));
        assertTrue(m.find());
        assertTrue(Long.parseLong(m.group(1)) > 0);
        try {
            dp.setOtherConfig(Map.of("pmd-perf-metrics", "yes"));
            fail("accepted pmd-perf-metrics=yes");
        } catch (DpifException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("pmd-perf-metrics 'yes' is not true or false"));
        }
        assertEquals(0, dp.pool().inUse());
    }

    /**
     * A port that fails on every iteration (as a guest memory fault would: Java reports SIGBUS on a mapping
     * as an InternalError) is reported once a second with a count, not once per iteration, and the PMD keeps
     * going: once the fault stops, the packets in flight complete.
     */
    @Test
    public void repeatedDataPathErrorsAreRateLimitedAndThePmdSurvives() throws Exception {
        FakeAsyncClass.Port a1 = asyncPortBehindDummy();
        java.util.List<java.util.logging.LogRecord> records = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler h = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                if (r.getMessage().contains("error in the data path")) {
                    records.add(r);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        java.util.logging.Logger log = java.util.logging.Logger.getLogger("dpif_netdev");
        log.addHandler(h);
        try {
            a1.gate = false;
            assertTrue(DummyPorts.dummy("in").receive(eth("52:54:00:00:00:02", "52:54:00:00:00:01", 0x0800, 64)));
            await("in flight", () -> a1.inFlight() == 1);
            long calls = a1.freeCalls.get();
            a1.fault = new InternalError("a fault occurred in a recent unsafe memory access operation");
            await("many failing iterations", () -> a1.freeCalls.get() > calls + 10_000);
            a1.fault = null;
            a1.gate = true;
            await("completed after the fault", () -> a1.completed.get() == 1);
            assertTrue("reports: " + records.size(), records.size() >= 1 && records.size() < 100);
            assertTrue(records.get(0).getThrown() instanceof InternalError);
            if (records.size() > 1) {
                assertTrue(records.get(1).getMessage(), records.get(1).getMessage().contains("more since the last report"));
            }
        } finally {
            log.removeHandler(h);
        }
        assertEquals(0, dp.pool().inUse());
    }

    @Test
    public void inFlightPacketsAreDrainedBeforeClose() throws Exception {
        long timeout = PmdThread.drainTimeoutNs;
        PmdThread.drainTimeoutNs = java.util.concurrent.TimeUnit.SECONDS.toNanos(60); // no race with a loaded machine
        try {
            drainedBeforeClose();
        } finally {
            PmdThread.drainTimeoutNs = timeout;
        }
    }

    private void drainedBeforeClose() throws Exception {
        FakeAsyncClass.Port a1 = asyncPortBehindDummy();
        a1.gate = false; // completions held back
        DummyPort in = DummyPorts.dummy("in");
        for (int i = 0; i < 10; i++) {
            assertTrue(in.receive(eth("52:54:00:00:00:02", "52:54:00:00:00:01", 0x0800, 64)));
        }
        await("in flight", () -> a1.inFlight() == 10);
        Thread del = new Thread(() -> {
            try {
                dp.delPort("a1");
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        del.start();
        long calls = a1.freeCalls.get();
        await("the PMD drains with freePkts", () -> a1.freeCalls.get() > calls + 3);
        assertEquals(-1, a1.inFlightAtClose); // not closed while packets are in flight
        assertTrue("delPort waits for the drain", del.isAlive());
        a1.gate = true;
        del.join();
        assertEquals(0, a1.inFlightAtClose);
        assertEquals(10, a1.completed.get());
        assertNull(dp.port("a1"));
        assertEquals(0, dp.pool().inUse());
    }

    @Test
    public void neverDrainingPortIsClosedAfterABoundedWait() throws Exception {
        FakeAsyncClass.Port a1 = asyncPortBehindDummy();
        a1.gate = false;
        assertTrue(DummyPorts.dummy("in").receive(eth("52:54:00:00:00:02", "52:54:00:00:00:01", 0x0800, 64)));
        await("in flight", () -> a1.inFlight() == 1);
        unbind(fake); // class goes away: drain (bounded), then close, which frees what is left
        assertEquals(1, a1.inFlightAtClose);
        assertEquals("waiting", dp.port("a1").state());
        assertEquals(0, dp.pool().inUse());
    }

    @Test
    public void otherConfigReachesClassesOnBindAndChange() throws Exception {
        dp.setOtherConfig(Map.of("vhost-async-copy-support", "true"));
        bind(fake);
        assertEquals("true", fake.otherConfig.get("vhost-async-copy-support"));
        dp.setOtherConfig(Map.of("pmd-cpu-mask", "0x3", "x", "y"));
        assertEquals(Map.of("pmd-cpu-mask", "0x3", "x", "y"), fake.otherConfig);
        assertEquals(Map.of("pmd-cpu-mask", "0x3", "x", "y"), dp.otherConfig());
        assertEquals(2, fake.otherConfigCalls.get());
        // concurrentTxq seen by an async port shared by 2 PMDs with one txq
        dp.addBridge("br0");
        dp.addPort("br0", "in", "dummy", Map.of("n_rxq", "2"), 1);
        dp.addPort("br0", "a1", FakeAsyncClass.TYPE, Map.of(), 2);
        dp.addFlow("br0", "priority=10,in_port=1,actions=output:2");
        DummyPort in = DummyPorts.dummy("in");
        assertTrue(in.receive(1, eth("52:54:00:00:00:02", "52:54:00:00:00:01", 0x0800, 64)));
        FakeAsyncClass.Port a1 = fake.ports.get("a1");
        await("sent", () -> a1.completed.get() == 1);
        assertTrue(a1.sawConcurrent);
    }

    /**
     * A send that throws (a fault in a port): the packets stay the port's (the PMD does not free them: no
     * double free when the port retires them), and the PMD keeps forwarding.
     */
    @Test
    public void sendThatThrowsLeavesThePmdForwarding() throws Exception {
        FakeAsyncClass.Port a1 = asyncPortBehindDummy();
        DummyPort in = DummyPorts.dummy("in");
        a1.sendFault = new InternalError("a fault occurred in a recent unsafe memory access operation");
        assertTrue(in.receive(eth("52:54:00:00:00:02", "52:54:00:00:00:01", 0x0800, 64)));
        await("the failing send", () -> a1.sendFault == null);
        assertTrue(in.receive(eth("52:54:00:00:00:02", "52:54:00:00:00:01", 0x0800, 64)));
        await(() -> "both retired by the port: " + a1.completed, () -> a1.completed.get() == 2);
        assertEquals(0, dp.pool().inUse());
    }

    /**
     * Packets still in flight when a reconfiguration's bounded drain ends stay pending on a port that stays:
     * once their copies complete they are retired, without any further traffic to that port.
     */
    @Test
    public void packetsInFlightAcrossATimedOutDrainAreRetiredLater() throws Exception {
        FakeAsyncClass.Port a1 = asyncPortBehindDummy();
        a1.gate = false;
        DummyPort in = DummyPorts.dummy("in");
        for (int i = 0; i < 3; i++) {
            assertTrue(in.receive(eth("52:54:00:00:00:02", "52:54:00:00:00:01", 0x0800, 64)));
        }
        await("in flight", () -> a1.inFlight() == 3);
        dp.addPort("br0", "other", "dummy", Map.of(), 3); // a new snapshot: the PMD's drain times out
        a1.gate = true;
        await(() -> "retired after the drain timed out: " + a1.completed, () -> a1.completed.get() == 3);
        assertEquals(0, a1.inFlight());
        assertEquals(0, dp.pool().inUse());
    }

    /** Of two classes of one type, new ports open on the higher service.ranking (then the lower service.id). */
    @Test
    public void newPortsOpenOnTheBestRankedClassOfTheirType() throws Exception {
        FakeAsyncClass low = new FakeAsyncClass();
        FakeAsyncClass high = new FakeAsyncClass();
        FakeAsyncClass older = new FakeAsyncClass();
        dp.bindNetdevClass(low, ranked(0, 7L));
        dp.bindNetdevClass(high, ranked(10, 9L));
        dp.bindNetdevClass(older, ranked(0, 3L));
        dp.addBridge("br0");
        dp.addPort("br0", "p1", FakeAsyncClass.TYPE, Map.of(), 1);
        assertTrue("opened by the ranking-10 class", high.ports.containsKey("p1"));
        dp.unbindNetdevClass(high, ranked(10, 9L));
        assertEquals("up", dp.port("p1").state());
        assertTrue("reopened by the lower service.id of equal ranking", older.ports.containsKey("p1"));
        assertFalse(low.ports.containsKey("p1"));
        dp.unbindNetdevClass(older, ranked(0, 3L));
        assertTrue(low.ports.containsKey("p1"));
    }

    private static Map<String, Object> ranked(int ranking, long id) {
        return Map.of(io.pvio.netdev.NetdevClass.TYPE_PROPERTY, FakeAsyncClass.TYPE, "service.ranking", ranking,
                "service.id", id);
    }
}
