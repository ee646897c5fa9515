package io.pvio.dpif.netdev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.pvio.dummy.DummyPort;
import io.pvio.dummy.DummyPorts;
import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevClass;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.NetdevException;
import io.pvio.netdev.NetdevStats;
import io.pvio.packet.PacketBatch;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.Test;

/**
 * The reconfigure step (OVS's netdev_request_reconfigure / reconfigure): a dummy port changes its own rx
 * queue count; the datapath pauses the PMDs, calls reconfigure(), re-reads the counts and resumes.
 */
public class ReconfigureTest extends DpTest {
    private static final byte[] FRAME = eth("52:54:00:00:00:02", "52:54:00:00:00:01", 0x0800, 64);

    private Netdev in;
    private DummyPort inPort;
    private DummyPort out;

    private void twoPortsOnTwoPmds() throws Exception {
        dp.setOtherConfig(Map.of("pmd-cpu-mask", "0x3"));
        dp.addBridge("br0");
        dp.addPort("br0", "in", "dummy", Map.of(), 1);
        dp.addPort("br0", "out", "dummy", Map.of(), 2);
        dp.addFlow("br0", "priority=10,in_port=1,actions=output:2");
        inPort = DummyPorts.dummy("in");
        in = (Netdev) inPort;
        out = DummyPorts.dummy("out");
    }

    private int polledQueues(String port) {
        String show = dp.pmdRxqShow();
        int n = 0;
        for (String line : show.split("\n")) {
            if (line.trim().startsWith("port: " + port + " ")) {
                n++;
            }
        }
        return n;
    }

    /** The port asks by itself (as a vhost front end adding queues would): the new queues get polled. */
    @Test
    public void aPortThatAsksGetsReconfiguredAndItsNewQueuesPolled() throws Exception {
        twoPortsOnTwoPmds();
        assertEquals(1, polledQueues("in"));
        in.setConfig(Map.of("n_rxq", "4")); // requests; applied on the datapath's control thread
        await(() -> "4 rx queues polled: " + dp.pmdRxqShow(), () -> polledQueues("in") == 4);
        assertFalse(in.reconfigureRequired());
        assertEquals(4, in.nRxq());
        for (int q = 0; q < 4; q++) {
            assertTrue(inPort.receive(q, FRAME));
        }
        await(() -> "sent " + out.sentPackets(), () -> out.sentPackets() == 4);
        assertFalse(inPort.reconfiguredWhileBusy());
    }

    /**
     * Queue counts change back and forth while frames arrive on every queue: each change happens with no PMD
     * inside the port, and every frame accepted is forwarded or counted as dropped, none lost.
     */
    @Test
    public void queueCountChangesUnderTrafficLoseNothing() throws Exception {
        twoPortsOnTwoPmds();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong accepted = new AtomicLong();
        Thread injector = new Thread(() -> {
            int q = 0;
            while (!stop.get()) {
                try {
                    if (inPort.receive(q, FRAME)) {
                        accepted.incrementAndGet();
                    } else {
                        Thread.onSpinWait(); // queue full or pool empty: nothing was taken
                    }
                    q++;
                } catch (IllegalArgumentException e) { // beyond the queues in force now
                    q = 0;
                }
            }
        }, "injector");
        injector.start();
        try {
            int[] counts = {3, 1, 4, 2, 1, 4, 1};
            for (int n : counts) {
                long before = accepted.get();
                in.setConfig(Map.of("n_rxq", Integer.toString(n)));
                await(() -> n + " rx queues polled: " + dp.pmdRxqShow(), () -> polledQueues("in") == n);
                await("traffic on " + n + " queues", () -> accepted.get() > before + 100);
            }
        } finally {
            stop.set(true);
            injector.join();
        }
        NetdevStats st = new NetdevStats();
        in.getStats(st);
        long dropped = st.rxDropped;
        await(() -> "accepted " + accepted.get() + ", dropped " + dropped + ", sent " + out.sentPackets(),
                () -> out.sentPackets() == accepted.get() - dropped);
        assertEquals(0, inPort.rxBacklog());
        assertFalse("reconfigure ran while a PMD polled the port", inPort.reconfiguredWhileBusy());
        assertEquals(Map.of("n_rxq", "1", "n_txq", "1"), in.getConfig());
    }

    /** Without a request nothing is reconfigured: the default step is a no-op and queue counts stay. */
    @Test
    public void portsThatDoNotAskKeepTheirQueues() throws Exception {
        twoPortsOnTwoPmds();
        in.setConfig(Map.of("n_rxq", "1")); // same as before: no request
        assertFalse(in.reconfigureRequired());
        dp.addPort("br0", "p3", "dummy", Map.of(), 3); // another reconfiguration of the datapath
        assertEquals(1, polledQueues("in"));
        assertTrue(inPort.receive(0, FRAME));
        await(() -> "sent " + out.sentPackets(), () -> out.sentPackets() == 1);
    }

    /** A port whose reconfigure always fails: logged, the port and the datapath run on as they were. */
    @Test
    public void aFailingReconfigureLeavesThePortAsItWas() throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        NetdevContext[] ctx = new NetdevContext[1];
        NetdevClass failing = new NetdevClass() {
            @Override
            public String type() {
                return "failing";
            }

            @Override
            public Netdev open(String name, Map<String, String> options, NetdevContext context) {
                ctx[0] = context;
                return new Netdev() {
                    private volatile boolean asked;

                    @Override
                    public String name() {
                        return name;
                    }

                    @Override
                    public String type() {
                        return "failing";
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
                    public boolean reconfigureRequired() {
                        return asked;
                    }

                    @Override
                    public void reconfigure() throws NetdevException {
                        attempts.incrementAndGet();
                        throw new NetdevException(name + ": no such queue layout");
                    }

                    void ask() {
                        asked = true;
                    }

                    @Override
                    public int rxqRecv(int qid, PacketBatch batch) {
                        if (asked) {
                            return 0;
                        }
                        ask(); // the port asks once, from the data path, as a front end's message would make it
                        context.requestReconfigure();
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
        bind(failing);
        twoPortsOnTwoPmds();
        dp.addPort("br0", "f", "failing", Map.of(), 3);
        await(() -> "reconfigure attempted", () -> attempts.get() >= 1);
        assertEquals(1, polledQueues("f"));
        assertEquals("up", dp.port("f").state());
        assertTrue(inPort.receive(0, FRAME));
        await(() -> "sent " + out.sentPackets(), () -> out.sentPackets() == 1);
    }
}
