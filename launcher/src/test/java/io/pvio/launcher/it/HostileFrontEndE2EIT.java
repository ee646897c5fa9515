package io.pvio.launcher.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import io.pvio.launcher.it.guest.PvioDaemon;
import io.pvio.virtio.user.VhostUser;
import io.pvio.virtio.user.VhostUserMessage;
import io.pvio.virtio.user.VirtioUserConfig;
import io.pvio.virtio.user.VirtioUserDevice;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.After;
import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Issue 15 end to end: a hostile vhost-user front end on a {@code dpdkvhostuser} port of a real
 * {@code pvio vswitchd}, beside a healthy pktgen path through br0 on the same PMD. The front end is the test
 * process (pvio's Java front end for the handshake and rings, libc for what a hostile guest does with its
 * descriptors and memory). For each case: the healthy path forwards every packet (exact counts), {@code vsctl
 * del-port} of the hostile port returns (the client's 60 s limit is a hang detector, not a speed bar; the
 * elapsed time is printed), and {@code appctl memory/show} shows 0 buffers in use once the ports are gone.
 */
public class HostileFrontEndE2EIT {
    /** Packets of the healthy path per case; at {@link #RATE} per second: traffic lasts about 2 s. */
    private static final int COUNT = 20_000;
    private static final int RATE = 10_000;
    private static final long HANG_S = 60;
    private static final int F = VhostUser.FLAG_VERSION;

    private static PvioDaemon pvio;
    private static final List<String> elapsed = new ArrayList<>();
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "hostile-fe");
        t.setDaemon(true);
        return t;
    });
    private VirtioUserDevice fe;

    /** What a hostile guest does with its descriptors and memory, straight from libc. */
    interface C extends Library {
        C LIBC = Native.load("c", C.class);

        int eventfd(int initval, int flags);

        long write(int fd, Memory buf, long n);

        int close(int fd);

        int ftruncate(int fd, long length);
    }

    @BeforeClass
    public static void startDaemon() throws Exception {
        Path base = Files.createDirectories(Path.of(System.getProperty("pvio.it.dir", "target/it")));
        pvio = new PvioDaemon(Files.createTempDirectory(base, "hostile-").toAbsolutePath());
        pvio.start();
        pvio.ok("vsctl", "add-br", "br0");
    }

    @AfterClass
    public static void stopDaemon() throws Exception {
        if (pvio != null) {
            String log = pvio.log();
            pvio.close();
            assertFalse("a PMD stalled: " + log, log.contains("has not acknowledged reconfiguration"));
            assertFalse("the JVM reported a fault outside its queue", log.contains("|ERR|") && log.contains("pmd-c00")
                    && log.contains("InternalError") && !log.contains("is broken"));
        }
        System.out.println("hostile-e2e: del-port of the hostile port took " + elapsed);
    }

    /** gen (1) -> sink (2) and the hostile port (3), both on one flow: one PMD serves them all. */
    @Before
    public void addPorts() throws Exception {
        pvio.ok("vsctl", "add-port", "br0", "gen", "--", "set", "Interface", "gen", "type=pktgen", "ofport_request=1",
                "options:count=" + COUNT, "options:rate=" + RATE, "options:enabled=false",
                "--", "add-port", "br0", "sink", "--", "set", "Interface", "sink", "type=pktgen", "ofport_request=2",
                "options:count=1", "options:enabled=false",
                "--", "add-port", "br0", "bad", "--", "set", "Interface", "bad", "type=dpdkvhostuser",
                "ofport_request=3");
        pvio.ok("ofctl", "del-flows", "br0");
        pvio.ok("ofctl", "add-flow", "br0", "in_port=1,actions=output:2,output:3");
    }

    @After
    public void removePorts() throws Exception {
        try {
            pvio.ok("vsctl", "--if-exists", "del-port", "bad", "--", "del-port", "gen", "--", "del-port", "sink");
            assertEquals("packet buffers in use after the ports closed", 0, pvio.buffersInUse());
        } finally {
            if (fe != null) {
                closeFrontEnd(fe);
            }
            pool.shutdownNow();
        }
    }

    /** Closes a front end in a thread of its own: one whose memory was truncated may fault in its own code. */
    private void closeFrontEnd(VirtioUserDevice d) throws Exception {
        pool.submit(() -> {
            try {
                d.close();
            } catch (Throwable e) {
                // the hostile side's own fault
            }
            return null;
        }).get(HANG_S, TimeUnit.SECONDS);
    }

    private VirtioUserDevice connect(VirtioUserConfig cfg) throws Exception {
        fe = VirtioUserDevice.open(cfg.reconnect(false).path(pvio.runDir().resolve("bad")));
        return fe;
    }

    private void awaitLink(String port, String state) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_S);
        String last;
        while (!(last = pvio.ok("vsctl", "get", "Interface", port, "link_state").strip()).equals(state)) {
            assertTrue(port + " link_state " + last + ", expected " + state, System.nanoTime() < end);
            Thread.sleep(100);
        }
    }

    private long stat(String port, String key) throws Exception {
        PvioDaemon.Out o = pvio.pvio("vsctl", "get", "Interface", port, "statistics:" + key);
        return o.status() == 0 ? Long.parseLong(o.out().strip()) : -1;
    }

    /** Starts the healthy path's traffic; also towards the hostile port. */
    private void startTraffic() throws Exception {
        pvio.ok("vsctl", "remove", "Interface", "gen", "options", "enabled");
    }

    /** The healthy path: the sink receives exactly what gen sent, every packet (the wait is a hang detector). */
    private void healthyPathForwardsEverything() throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_S);
        long rx;
        while ((rx = stat("sink", "rx_valid")) < COUNT) {
            assertTrue("sink received " + rx + " of " + COUNT, System.nanoTime() < end);
            Thread.sleep(200);
        }
        Thread.sleep(300); // nothing more than what was sent arrives late
        assertEquals("sink rx_valid", COUNT, stat("sink", "rx_valid"));
        for (String bad : List.of("rx_lost", "rx_corrupt", "rx_out_of_order", "rx_duplicate")) {
            assertEquals("sink " + bad, 0, stat("sink", bad));
        }
        assertEquals("gen generated", COUNT, stat("gen", "generated"));
    }

    /** {@code vsctl del-port bad}: must return (60 s hang detector in the client); the time is recorded. */
    private void delPortReturns(String kase) throws Exception {
        long t0 = System.nanoTime();
        PvioDaemon.Out o = pvio.pvio("vsctl", "del-port", "br0", "bad");
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        synchronized (elapsed) {
            elapsed.add(kase + " " + ms + " ms");
        }
        System.out.println("hostile-e2e: " + kase + ": vsctl del-port took " + ms + " ms (client JVM included)");
        assertEquals("del-port: " + o.err(), 0, o.status());
        assertEquals("gen\nsink\n", pvio.ok("vsctl", "list-ports", "br0"));
        assertEquals("the daemon still answers", 0, pvio.pvio("vsctl", "show").status());
    }

    private static int fullBlockingEventFd() {
        int fd = C.LIBC.eventfd(0, 0x80000 /* EFD_CLOEXEC, blocking */);
        assertTrue("eventfd", fd >= 0);
        Memory m = new Memory(8);
        m.setLong(0, 0xfffffffffffffffeL);
        assertEquals("eventfd pre-set to its maximum", 8, C.LIBC.write(fd, m, 8));
        return fd;
    }

    /**
     * Defect 1: SET_VRING_CALL on the guest's receive ring with a blocking eventfd at 0xfffffffffffffffe, and
     * traffic its way: every signal would block the PMD. The front end never drains it.
     */
    @Test
    public void blockingFullCallFd() throws Exception {
        VirtioUserDevice d = connect(new VirtioUserConfig().name("stall-call").eventIdx(false));
        assertTrue(d.awaitReady(TimeUnit.SECONDS.toMillis(HANG_S)));
        awaitLink("bad", "up");
        d.guestWrite(d.rawQueue(0).availGpa(), new byte[2], 0, 2); // avail flags 0: signal me after each packet
        int hostile = fullBlockingEventFd();
        try {
            try (VirtioUserDevice.Channel ch = d.channel()) {
                ch.send(new VhostUserMessage(VhostUser.SET_VRING_CALL, F, new byte[8], hostile));
                ch.send(new VhostUserMessage(VhostUser.GET_FEATURES, F, null));
                VhostUserMessage r = ch.receive(10_000); // in order: SET_VRING_CALL was applied before it
                assertNotNull(r);
                assertEquals(VhostUser.GET_FEATURES, r.request);
            }
            startTraffic();
            healthyPathForwardsEverything();
            String stats = pvio.ok("vsctl", "get", "Interface", "bad", "statistics");
            Matcher m = Pattern.compile("[rt]x_q0_guest_notifications_failed=(\\d+)").matcher(stats);
            long failed = 0;
            while (m.find()) {
                failed += Long.parseLong(m.group(1));
            }
            assertTrue("failed signals counted: " + stats, failed > 0);
            assertTrue("and logged", pvio.log().contains("cannot signal the call fd"));
            delPortReturns("blocking full call fd");
        } finally {
            C.LIBC.close(hostile);
        }
    }

    /**
     * Defect 2: GET_FEATURES in a loop without reading a reply, until pvio's replies fill the socket and it
     * stops reading; del-port while its control thread has replies it cannot send.
     */
    @Test
    public void frontEndThatReadsNoReply() throws Exception {
        VirtioUserDevice d = connect(new VirtioUserConfig().name("deaf").handshake(false));
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_S);
        while (!d.isConnected()) {
            assertTrue("deaf front end connected", System.nanoTime() < end);
            Thread.sleep(20);
        }
        AtomicInteger sent = new AtomicInteger();
        Future<Integer> writer = pool.submit(() -> {
            try (VirtioUserDevice.Channel ch = d.channel()) {
                while (sent.get() < 1_000_000) {
                    ch.send(new VhostUserMessage(VhostUser.GET_FEATURES, F, null));
                    sent.incrementAndGet();
                }
            } catch (java.io.IOException e) {
                // pvio closed the connection (the port went away, or it gave up on us)
            }
            return sent.get();
        });
        startTraffic();
        // pvio's replies fill the socket; it stops reading; our sends then block: the count stalls
        int last = -1;
        while (sent.get() != last) {
            last = sent.get();
            Thread.sleep(300);
        }
        assertTrue("requests sent before pvio stopped reading: " + last, last > 100);
        delPortReturns("front end reads no reply");
        writer.get(HANG_S, TimeUnit.SECONDS);
        healthyPathForwardsEverything();
    }

    /** Defect 3: the front end truncates its memory file (rings and buffers gone) while traffic flows. */
    @Test
    public void memoryTruncatedUnderTraffic() throws Exception {
        truncateUnderTraffic("memory truncated", false);
    }

    /** Defect 3 with DMA copies in flight: async copies on both of the hostile port's queues. */
    @Test
    public void memoryTruncatedUnderAsyncTraffic() throws Exception {
        pvio.ok("vsctl", "set", "Open_vSwitch", ".", "other_config:vhost-async-copy-support=true");
        try {
            pvio.ok("vsctl", "set", "Interface", "bad",
                    "options:vhost-async-attr=\"(txq0,00:04.0,0),(rxq0,00:04.1,0)\"");
            truncateUnderTraffic("memory truncated, async", true);
        } finally {
            pvio.ok("vsctl", "remove", "Open_vSwitch", ".", "other_config", "vhost-async-copy-support");
        }
    }

    private long occurrences(String part) throws Exception {
        return pvio.log().lines().filter(l -> l.contains(part)).count();
    }

    private void truncateUnderTraffic(String kase, boolean async) throws Exception {
        long seen = occurrences("shrank its memory file") + occurrences("is broken");
        VirtioUserDevice d = connect(new VirtioUserConfig().name("trunc"));
        assertTrue(d.awaitReady(TimeUnit.SECONDS.toMillis(HANG_S)));
        awaitLink("bad", "up");
        for (int i = 0; i < 16; i++) { // frames waiting in its transmit ring, for pvio to read
            d.transmit(0, new byte[200]);
        }
        startTraffic();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_S);
        while (stat("sink", "rx_valid") < COUNT / 4) {
            assertTrue("traffic started", System.nanoTime() < end);
            Thread.sleep(50);
        }
        end = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_S);
        while (async && stat("bad", "tx_q0_async_dma_copies") <= 0) {
            assertTrue("copies to the hostile guest by DMA: " + pvio.ok("vsctl", "get", "Interface", "bad",
                    "statistics"), System.nanoTime() < end);
            Thread.sleep(50);
        }
        // rings and buffers gone under pvio's feet; from here the test's own mapping is not touched
        assertEquals(0, C.LIBC.ftruncate(d.memFd(), 4096));
        healthyPathForwardsEverything();
        end = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_S);
        while (occurrences("shrank its memory file") + occurrences("is broken") == seen) {
            assertTrue("pvio notices the truncation", System.nanoTime() < end);
            Thread.sleep(100);
        }
        delPortReturns(kase);
    }
}
