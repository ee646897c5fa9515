package io.pvio.launcher.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import io.pvio.launcher.it.guest.PvioDaemon;
import io.pvio.posix.UnixSocket;
import io.pvio.virtio.user.VhostUser;
import io.pvio.virtio.user.VhostUserMessage;
import io.pvio.virtio.user.VirtioUserConfig;
import io.pvio.virtio.user.VirtioUserDevice;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
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
 * {@code pvio vswitchd}, beside a healthy pktgen path through br0 on the same PMD (one flow sends gen's packets
 * to the sink and to the hostile port). The front end is this test process: pvio's Java front end for the
 * handshake and rings, or a bare {@link UnixSocket}, and libc for what a hostile guest does with its
 * descriptors and memory. For each case: the healthy path keeps forwarding while the hostile front end does
 * its worst, and in the end the sink has received exactly what gen generated; {@code vsctl del-port} of the
 * hostile port returns (the client's 60 s limit is a hang detector, not a speed bar; the elapsed time is
 * printed as {@code hostile-e2e: ...}); {@code appctl memory/show} shows 0 buffers in use once the ports are
 * gone; no PMD ever stalled. Each case fails against pvio before the issue 15 fixes (commit a33361b^1).
 */
public class HostileFrontEndE2EIT {
    /** The healthy path's rate (packets/s, unlimited count): stopped and counted at the end of each case. */
    private static final int RATE = 20_000;
    private static final long HANG_S = 60;
    private static final int F = VhostUser.FLAG_VERSION;

    private static PvioDaemon pvio;
    /** DPDK's testpmd (rxonly) on the dpdkvhostuser port vm (4): a third-party guest on the healthy path. */
    private static Process testpmd;
    private static String testpmdPrefix;
    private static Path testpmdLog;
    private long vmBase;
    private long logLinesBefore;
    /** Buffers in use when the case began (0 unless an earlier case leaked: then only that one fails). */
    private int inUseBefore;
    private static final List<String> elapsed = new ArrayList<>();
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "hostile-fe");
        t.setDaemon(true);
        return t;
    });
    private final List<VirtioUserDevice> frontEnds = new ArrayList<>();
    private UnixSocket raw;

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
        boolean installed = new File("/usr/bin/dpdk-testpmd").canExecute();
        if (!installed && "true".equals(System.getenv("CI"))) {
            fail("dpdk-testpmd is not installed (CI=true): install the Debian package dpdk");
        }
        if (!installed) {
            System.out.println("hostile-e2e: no dpdk-testpmd: the healthy path is pktgen only");
            return;
        }
        pvio.ok("vsctl", "add-port", "br0", "vm", "--", "set", "Interface", "vm", "type=dpdkvhostuser",
                "ofport_request=4");
        testpmdPrefix = "pvio-hostile-" + ProcessHandle.current().pid();
        testpmdLog = pvio.runDir().resolve("testpmd.log");
        testpmd = new ProcessBuilder("stdbuf", "-oL", "/usr/bin/dpdk-testpmd", "--lcores", "0@0,1@1", "--no-pci",
                "--no-huge", "-m", "256", "--file-prefix=" + testpmdPrefix, "--no-telemetry",
                "--vdev", "net_virtio_user0,path=" + pvio.runDir().resolve("vm"), "--", "--total-num-mbufs=8192",
                "--nb-cores=1", "--forward-mode=rxonly", "--stats-period=1")
                .redirectErrorStream(true).redirectOutput(testpmdLog.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_S);
        while (!Files.readString(testpmdLog).contains("Port statistics")
                || !pvio.ok("vsctl", "get", "Interface", "vm", "link_state").strip().equals("up")) {
            assertTrue("testpmd exited: " + Files.readString(testpmdLog), testpmd.isAlive());
            assertTrue("testpmd forwarding on vm", System.nanoTime() < end);
            Thread.sleep(100);
        }
    }

    /** testpmd's last RX-packets figure (printed every second). */
    private static long testpmdRx() throws Exception {
        Matcher m = Pattern.compile("RX-packets:\\s+(\\d+)").matcher(Files.readString(testpmdLog));
        long v = -1;
        while (m.find()) {
            v = Long.parseLong(m.group(1));
        }
        return v;
    }

    @AfterClass
    public static void stopDaemon() throws Exception {
        System.out.println("hostile-e2e: del-port of the hostile port took " + elapsed);
        if (testpmd != null) {
            testpmd.destroy();
            if (!testpmd.waitFor(15, TimeUnit.SECONDS)) {
                testpmd.destroyForcibly();
            }
            for (String d : new String[] {"/var/run/dpdk/", "/tmp/dpdk/"}) {
                File[] kids = new File(d + testpmdPrefix).listFiles();
                if (kids != null) {
                    Arrays.stream(kids).forEach(File::delete);
                }
                new File(d + testpmdPrefix).delete();
            }
        }
        if (pvio != null) {
            String log = pvio.log();
            pvio.close();
            assertFalse("a PMD stalled, see " + pvio.runDir().resolve("vswitchd.log"),
                    log.contains("has not acknowledged reconfiguration"));
        }
    }

    /** gen (1) -> sink (2), the hostile port (3) and testpmd (4), on one flow: one PMD serves them all. */
    @Before
    public void addPorts() throws Exception {
        logLinesBefore = pvio.log().lines().count();
        inUseBefore = pvio.buffersInUse();
        pvio.ok("vsctl", "add-port", "br0", "gen", "--", "set", "Interface", "gen", "type=pktgen", "ofport_request=1",
                "options:rate=" + RATE, "options:enabled=false",
                "--", "add-port", "br0", "sink", "--", "set", "Interface", "sink", "type=pktgen", "ofport_request=2",
                "options:count=1", "options:enabled=false",
                "--", "add-port", "br0", "bad", "--", "set", "Interface", "bad", "type=dpdkvhostuser",
                "ofport_request=3");
        pvio.ok("ofctl", "del-flows", "br0");
        pvio.ok("ofctl", "add-flow", "br0", "in_port=1,actions=output:2,output:3" + (testpmd != null ? ",output:4" : ""));
        if (testpmd != null) {
            vmBase = stat("vm", "tx_packets") + stat("vm", "tx_dropped");
        }
    }

    @After
    public void removePorts() throws Exception {
        try {
            pvio.ok("vsctl", "--if-exists", "del-port", "bad", "--", "del-port", "gen", "--", "del-port", "sink");
            int inUse = pvio.buffersInUse();
            assertEquals("packet buffers in use after the ports closed (" + inUseBefore + " before the case): "
                    + pvio.ok("appctl", "memory/show") + ", log in " + pvio.runDir(), inUseBefore, inUse);
            // a fault is charged to the hostile port's own queues, never to the PMD or another port
            List<String> misplaced = pvio.log().lines().skip(logLinesBefore)
                    .filter(l -> l.contains("error in the data path")
                            || l.contains("is broken") && !l.contains("vHost device 'bad' queue"))
                    .toList();
            assertEquals("faults outside the hostile port's queues", List.of(), misplaced);
        } finally {
            for (VirtioUserDevice d : frontEnds) {
                closeFrontEnd(d);
            }
            if (raw != null) {
                raw.close();
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

    private VirtioUserDevice connect(String name, VirtioUserConfig cfg) throws Exception {
        VirtioUserDevice d = VirtioUserDevice.open(cfg.reconnect(false).path(pvio.runDir().resolve("bad")));
        frontEnds.add(d);
        assertTrue(name + " ready", d.awaitReady(TimeUnit.SECONDS.toMillis(HANG_S)));
        return d;
    }

    private long stat(String port, String key) throws Exception {
        PvioDaemon.Out o = pvio.pvio("vsctl", "get", "Interface", port, "statistics:" + key);
        return o.status() == 0 ? Long.parseLong(o.out().strip()) : -1;
    }

    /** Starts the healthy path's traffic (also towards the hostile port). */
    private void startTraffic() throws Exception {
        pvio.ok("vsctl", "remove", "Interface", "gen", "options", "enabled");
    }

    /** The healthy path forwards while {@code during}: the sink's count grows by 2000 (a hang detector bounds it). */
    private void keepsForwarding(String during) throws Exception {
        long from = stat("sink", "rx_valid");
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_S);
        long now;
        while ((now = stat("sink", "rx_valid")) < from + 2000) {
            assertTrue("the healthy path stalled " + during + ": sink at " + now + " since " + from,
                    System.nanoTime() < end);
            Thread.sleep(100);
        }
    }

    /** Stops gen; the sink must then have received exactly what gen generated, in order, intact. */
    private void stopTrafficAndCount() throws Exception {
        pvio.ok("vsctl", "set", "Interface", "gen", "options:enabled=false");
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_S);
        long generated;
        long valid;
        while ((valid = stat("sink", "rx_valid")) != (generated = stat("gen", "generated"))) {
            assertTrue("sink rx_valid " + valid + ", gen generated " + generated, System.nanoTime() < end);
            Thread.sleep(100);
        }
        System.out.println("hostile-e2e: healthy path: " + generated + " generated, " + valid + " received");
        assertTrue("traffic ran: " + generated, generated >= 2000);
        if (testpmd != null) { // what vm did not deliver it counts as dropped (testpmd's ring full)
            long sentVm;
            long dropped;
            while ((sentVm = stat("vm", "tx_packets")) + (dropped = stat("vm", "tx_dropped")) - vmBase != generated) {
                assertTrue("vm accounts for " + (sentVm + dropped - vmBase) + " of " + generated,
                        System.nanoTime() < end);
                Thread.sleep(100);
            }
            while (testpmdRx() < sentVm) {
                assertTrue("testpmd counted " + testpmdRx() + " of " + sentVm, System.nanoTime() < end);
                Thread.sleep(200);
            }
            assertEquals("testpmd RX-packets", sentVm, testpmdRx());
            System.out.println("hostile-e2e: testpmd: " + sentVm + " received in all, vm tx_dropped " + dropped);
        }
        for (String bad : List.of("rx_lost", "rx_corrupt", "rx_out_of_order", "rx_duplicate")) {
            assertEquals("sink " + bad, 0, stat("sink", bad));
        }
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
        assertEquals(testpmd != null ? "gen\nsink\nvm\n" : "gen\nsink\n", pvio.ok("vsctl", "list-ports", "br0"));
        assertEquals("the daemon still answers", 0, pvio.pvio("vsctl", "show").status());
    }

    private long occurrences(String part) throws Exception {
        return pvio.log().lines().filter(l -> l.contains(part)).count();
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
     * traffic its way: each signal would block the PMD. The front end never drains it.
     */
    @Test
    public void blockingFullCallFd() throws Exception {
        VirtioUserDevice d = connect("stall-call", new VirtioUserConfig().name("stall-call").eventIdx(false));
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
            keepsForwarding("with a full blocking call fd");
            String stats = pvio.ok("vsctl", "get", "Interface", "bad", "statistics");
            Matcher m = Pattern.compile("[rt]x_q0_guest_notifications_failed=(\\d+)").matcher(stats);
            long failed = 0;
            while (m.find()) {
                failed += Long.parseLong(m.group(1));
            }
            assertTrue("failed signals counted: " + stats, failed > 0);
            assertTrue("and logged", pvio.log().contains("cannot signal the call fd"));
            delPortReturns("blocking full call fd");
            stopTrafficAndCount();
        } finally {
            C.LIBC.close(hostile);
        }
    }

    /**
     * Defect 2: a bare socket sends GET_FEATURES in a loop and never reads a reply: pvio's replies fill the
     * socket, its control thread cannot send, stops reading, and our sends stall too. del-port then, while
     * nobody ever reads (the socket stays open until the test ends).
     */
    @Test
    public void frontEndThatReadsNoReply() throws Exception {
        raw = UnixSocket.connect(pvio.runDir().resolve("bad"));
        byte[] getFeatures = new byte[12]; // request 1, flags: version 1, size 0 (little endian)
        getFeatures[0] = (byte) VhostUser.GET_FEATURES;
        getFeatures[4] = (byte) F;
        AtomicInteger sent = new AtomicInteger();
        Future<Integer> writer = pool.submit(() -> {
            try {
                while (sent.get() < 1_000_000) {
                    raw.send(getFeatures, 0, getFeatures.length, null, 0);
                    sent.incrementAndGet();
                }
            } catch (java.io.IOException e) {
                // our own send bound (pvio reads nothing), or pvio closed the connection
            }
            return sent.get();
        });
        startTraffic();
        int last = -1;
        while (sent.get() != last) { // the count stalls once pvio stopped reading
            last = sent.get();
            Thread.sleep(300);
        }
        assertTrue("requests sent before pvio stopped reading: " + last, last > 100);
        keepsForwarding("while pvio's control thread cannot send a reply");
        boolean gaveUp = pvio.log().contains("read nothing for");
        delPortReturns("front end reads no reply" + (gaveUp ? " (pvio had given up on it already)" : ""));
        writer.get(HANG_S, TimeUnit.SECONDS);
        stopTrafficAndCount();
    }

    /** Defect 3: front ends truncate their memory file under traffic, then a correct one connects. */
    @Test
    public void memoryTruncatedUnderTraffic() throws Exception {
        truncateUnderTraffic("memory truncated", 10, false);
    }

    /** Defect 3 with DMA copies in flight: async copies on both of the hostile port's queues. */
    @Test
    public void memoryTruncatedUnderAsyncTraffic() throws Exception {
        pvio.ok("vsctl", "set", "Open_vSwitch", ".", "other_config:vhost-async-copy-support=true");
        try {
            pvio.ok("vsctl", "set", "Interface", "bad",
                    "options:vhost-async-attr=\"(txq0,00:04.0,0),(rxq0,00:04.1,0)\"");
            truncateUnderTraffic("memory truncated, async", 4, true);
        } finally {
            pvio.ok("vsctl", "remove", "Open_vSwitch", ".", "other_config", "vhost-async-copy-support");
        }
    }

    /**
     * A correct front end right after a truncating one (where a late fault used to land): it receives 300
     * frames, and no queue breaks meanwhile. Closed unless {@code keep}.
     */
    private void nextFrontEndWorks(String name, boolean keep) throws Exception {
        long broken = occurrences("is broken");
        VirtioUserDevice good = connect(name, new VirtioUserConfig().name(name));
        byte[] frame = new byte[16384];
        int got = 0;
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_S);
        while (got < 300) {
            assertTrue(name + " receives: " + got + " frames", System.nanoTime() < end);
            if (good.receive(0, frame, 0) >= 0) {
                got++;
            } else {
                Thread.sleep(1);
            }
        }
        assertEquals("no fault charged to " + name, broken, occurrences("is broken"));
        if (!keep) {
            frontEnds.remove(good);
            closeFrontEnd(good);
            assertTrue(good.awaitDown(TimeUnit.SECONDS.toMillis(HANG_S)));
        }
    }

    /**
     * {@code rounds} front ends in turn: each connects, takes traffic, queues frames for pvio, and truncates
     * its memory file (even rounds: to one page, rings gone; odd rounds: up to its packet buffers, the rings
     * still readable); pvio must drop it; then a correct front end gets traffic, with no fault charged to it.
     */
    private void truncateUnderTraffic(String kase, int rounds, boolean async) throws Exception {
        long brokenBefore = occurrences("is broken");
        startTraffic();
        for (int round = 0; round < rounds; round++) {
            VirtioUserDevice d = connect("trunc-" + round, new VirtioUserConfig().name("trunc-" + round));
            if (async && round == 0) {
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_S);
                while (stat("bad", "tx_q0_async_dma_copies") <= 0) {
                    assertTrue("copies to the hostile guest by DMA: " + pvio.ok("vsctl", "get", "Interface", "bad",
                            "statistics"), System.nanoTime() < end);
                    Thread.sleep(50);
                }
            }
            keepsForwarding("with front end trunc-" + round + " connected");
            // under traffic both ways: receive buffers free again (the ring has been full since it connected),
            // frames queued for pvio, and the file cut right away
            byte[] frame = new byte[16384];
            while (d.receive(0, frame, 0) >= 0) {
                // reposts each buffer
            }
            for (int i = 0; i < 64; i++) {
                d.transmit(0, frame, 0, 200);
            }
            long keep = round % 2 == 0 ? 4096 : (d.scratchGpa() - d.gpaBase() + 4095) & ~4095L;
            assertEquals("ftruncate", 0, C.LIBC.ftruncate(d.memFd(), keep)); // from here we never touch it
            keepsForwarding("after trunc-" + round + " truncated its memory");
            assertTrue("pvio drops trunc-" + round, d.awaitDown(TimeUnit.SECONDS.toMillis(HANG_S)));
            frontEnds.remove(d);
            closeFrontEnd(d);
            nextFrontEndWorks("after-" + round, round == rounds - 1);
        }
        long faults = occurrences("shrank its memory file") + occurrences("is broken") - brokenBefore;
        assertTrue("pvio saw the truncations", faults > 0);
        delPortReturns(kase);
        stopTrafficAndCount();
    }
}
