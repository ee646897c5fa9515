package io.pvio.vhost;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import io.pvio.netdev.NetdevStats;
import io.pvio.netdev.SimpleNetdevContext;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import io.pvio.vhost.netdev.VhostPort;
import io.pvio.vhost.netdev.VhostUserServerClass;
import io.pvio.virtio.user.VirtioUserConfig;
import io.pvio.virtio.user.VirtioUserDevice;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * VhostPort's reconfigure step (Netdev.reconfigureRequired / reconfigure): the Java front end comes back with
 * 1, 3, 2, 4 and 1 queue pairs while a loop shaped like a dpif-netdev PMD keeps sending to and receiving from
 * the port on every queue it last read, and reconfigures the port, paused, when it asks (as dpif-netdev does).
 * The port never changes its counts on its own; every frame is accounted for.
 */
public class VhostReconfigureTest {
    private static final int LEN = 64;
    private static final int PER_PAIR = 3000;

    private PacketPool pool;
    private Path dir;
    private final AtomicInteger requests = new AtomicInteger();
    private VhostPort port;

    @Before
    public void setUp() throws Exception {
        pool = new PacketPool("reconf", 8192);
        dir = Files.createTempDirectory("pvio-reconf");
        SimpleNetdevContext ctx = new SimpleNetdevContext(pool, dir, () -> { }) {
            @Override
            public void requestReconfigure() {
                requests.incrementAndGet(); // picked up by the data-path loop at its next pause
            }
        };
        port = (VhostPort) new VhostUserServerClass().open("vhr", Map.of(), ctx);
    }

    @After
    public void tearDown() throws Exception {
        if (port != null) {
            port.close();
        }
        try (var s = Files.walk(dir)) {
            s.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
        }
    }

    /** One PMD-like thread: polls every rx queue and sends on every tx queue it last read from the port. */
    private final class Pmd extends Thread {
        volatile boolean stop;
        /** False: the loop does not send (acknowledged through {@link #sendAck}). */
        volatile boolean sending = true;
        volatile boolean sendAck = true;
        volatile int queues = 1;
        final AtomicLong sent = new AtomicLong();
        final AtomicLong received = new AtomicLong();
        final AtomicLong wrongQueue = new AtomicLong();
        final AtomicInteger reconfigures = new AtomicInteger();
        final AtomicReference<String> failure = new AtomicReference<>();
        private int seenRequests;

        @Override
        public void run() {
            PacketBatch rx = new PacketBatch();
            PacketBatch tx = new PacketBatch();
            byte[] f = new byte[LEN];
            int nRxq = port.nRxq();
            int nTxq = port.nTxq();
            int seq = 0;
            try {
                while (!stop) {
                    int r = requests.get();
                    if (r != seenRequests) { // the datapath pauses: nothing of this port runs now
                        seenRequests = r;
                        if (port.reconfigureRequired()) {
                            port.reconfigure();
                            reconfigures.incrementAndGet();
                        }
                        nRxq = port.nRxq();
                        nTxq = port.nTxq();
                        queues = nRxq;
                    }
                    if (port.nRxq() != nRxq || port.nTxq() != nTxq) {
                        failure.set("queue counts changed outside reconfigure: " + nRxq + "/" + nTxq + " -> "
                                + port.nRxq() + "/" + port.nTxq());
                        return;
                    }
                    for (int q = 0; q < nRxq; q++) {
                        int n = port.rxqRecv(q, rx);
                        for (int i = 0; i < n; i++) {
                            Packet p = rx.get(i);
                            if (p.buffer().get(p.dataOffset() + 20) != q) {
                                wrongQueue.incrementAndGet();
                            }
                        }
                        received.addAndGet(n);
                        rx.freeAll();
                    }
                    boolean s = sending;
                    if (s) {
                        for (int q = 0; q < nTxq; q++) {
                            for (int i = 0; i < 8; i++) {
                                Frames.fill(f, seq++);
                                f[20] = (byte) q;
                                tx.add(Frames.packet(pool, f, Integer.MAX_VALUE));
                            }
                            sent.addAndGet(8);
                            port.send(q, tx, false);
                        }
                    }
                    sendAck = s;
                    Thread.sleep(0, 200_000);
                }
            } catch (Throwable t) {
                failure.set(t.toString());
            }
        }
    }

    @Test
    public void frontEndChangesQueuePairsUnderTraffic() throws Exception {
        Pmd pmd = new Pmd();
        pmd.start();
        long guestTx = 0;
        long guestRx = 0;
        long guestRxWrongPair = 0;
        int[] plan = {1, 3, 2, 4, 1};
        try {
            for (int pairs : plan) {
                VirtioUserDevice d = VirtioUserDevice.open(new VirtioUserConfig().name("fe-r" + pairs)
                        .queuePairs(pairs).path(dir.resolve("vhr")));
                try {
                    assertTrue("front end ready: " + d.lastError(), d.awaitReady(10_000));
                    DpdkFrontEndTest.await(pairs + " queue pair(s) in the data path", 20_000,
                            () -> pmd.queues == pairs && port.nTxq() == pairs && !port.reconfigureRequired());
                    byte[] f = new byte[LEN];
                    byte[] got = new byte[2048];
                    for (int k = 0; k < PER_PAIR; k++) {
                        for (int q = 0; q < pairs; q++) {
                            Frames.fill(f, k);
                            f[20] = (byte) q;
                            long end = System.currentTimeMillis() + 10_000;
                            while (!d.transmit(q, f)) {
                                d.reclaim(q);
                                assertTrue("guest tx ring drains", System.currentTimeMillis() < end);
                                Thread.onSpinWait();
                            }
                            guestTx++;
                            int n;
                            while ((n = d.receive(q, got, 0)) >= 0) {
                                guestRx++;
                                if (n != LEN || got[20] != q) {
                                    guestRxWrongPair++;
                                }
                            }
                        }
                    }
                    // quiesce before the front end goes away: the PMD stops sending, the guest takes what came
                    pmd.sending = false;
                    DpdkFrontEndTest.await("the PMD to stop sending", 10_000, () -> !pmd.sendAck);
                    for (int q = 0; q < pairs; q++) {
                        int n;
                        while ((n = d.receive(q, got, 0)) >= 0) {
                            guestRx++;
                            if (n != LEN || got[20] != q) {
                                guestRxWrongPair++;
                            }
                        }
                    }
                    long tx = guestTx;
                    DpdkFrontEndTest.await("the PMD to receive every guest frame", 20_000,
                            () -> pmd.received.get() == tx || pmd.failure.get() != null);
                    assertNull(pmd.failure.get());
                    assertEquals("this front end's transmitted frames", (long) pairs * PER_PAIR, d.stats().txPackets);
                } finally {
                    d.close();
                }
                pmd.sending = true; // to a port without a guest for a moment: dropped and counted
            }
        } finally {
            pmd.stop = true;
            pmd.join(10_000);
        }
        assertNull(pmd.failure.get());
        NetdevStats s = Frames.stats(port);
        System.out.printf("MEASURED reconfigure under traffic: %d reconfigurations for %d requests, guest tx %d,"
                + " host tx %d (delivered %d, dropped %d), guest rx %d%n", pmd.reconfigures.get(), requests.get(),
                guestTx, pmd.sent.get(), s.txPackets, s.txDropped, guestRx);
        assertTrue("one reconfiguration per change of the queue count at least: " + pmd.reconfigures.get(),
                pmd.reconfigures.get() >= plan.length - 1);
        assertEquals("guest frames received by the PMD", guestTx, pmd.received.get());
        assertEquals(guestTx, s.rxPackets);
        assertEquals("guest frames on the rx queue of their pair", 0, pmd.wrongQueue.get());
        assertEquals("host frames delivered or counted as dropped", pmd.sent.get(), s.txPackets + s.txDropped);
        assertEquals("host frames delivered = frames the guest took", s.txPackets, guestRx);
        assertEquals("host frames on the guest pair of their tx queue", 0, guestRxWrongPair);
        assertEquals(1, port.nRxq());
        assertEquals("packets leaked", 0, pool.inUse());
    }
}
