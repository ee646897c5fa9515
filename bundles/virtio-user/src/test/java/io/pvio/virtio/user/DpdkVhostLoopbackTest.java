package io.pvio.virtio.user;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * The driver against a real back end that is not pvio's: DPDK 22.11's vhost PMD in dpdk-testpmd, which
 * forwards every frame it receives from us back to us (io mode, one port). Every frame sent must come back
 * exactly once, in order, byte for byte.
 */
public class DpdkVhostLoopbackTest {
    static final int[] SIZES = {60, 64, 1518, 2048, 4000, 9000};
    static final int PER_SIZE = 20;

    private Path dir;
    private Testpmd testpmd;
    private VirtioUserDevice dev;

    @Before
    public void setUp() throws Exception {
        Testpmd.assume();
        dir = Files.createTempDirectory(Path.of("/tmp"), "vu");
    }

    @After
    public void tearDown() throws Exception {
        if (dev != null) {
            dev.close();
        }
        if (testpmd != null) {
            testpmd.close();
        }
        if (dir != null && !Boolean.getBoolean("pvio.keepLogs")) {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    static byte[] frame(int seq, int size) {
        byte[] f = new byte[size];
        // broadcast destination, locally administered source, experimental ethertype
        Arrays.fill(f, 0, 6, (byte) 0xff);
        f[6] = 0x02;
        f[11] = 0x01;
        f[12] = (byte) 0x88;
        f[13] = (byte) 0xb5;
        f[14] = (byte) (seq >> 24);
        f[15] = (byte) (seq >> 16);
        f[16] = (byte) (seq >> 8);
        f[17] = (byte) seq;
        for (int i = 18; i < size; i++) {
            f[i] = (byte) (seq * 31 + i * 7 + (i >> 8));
        }
        return f;
    }

    VirtioUserDevice device() {
        return dev;
    }

    /** The configuration every test starts from (split rings; a subclass runs them all with packed rings). */
    VirtioUserConfig config() {
        return new VirtioUserConfig();
    }

    VirtioUserDevice clientWithTestpmd(VirtioUserConfig c) throws Exception {
        Path sock = dir.resolve("vhost.sock");
        testpmd = new Testpmd(sock, dir, false, c.queuePairs(), "io").start();
        testpmd.awaitSocket(20000);
        dev = VirtioUserDevice.open(c.path(sock).connectTimeoutMs(20000).name("vu-test"));
        awaitReady(0);
        return dev;
    }

    private void awaitReady(long afterGen) throws Exception {
        if (!dev.awaitReady(afterGen, 20000)) {
            fail("device not ready: " + dev.lastError() + "\n" + testpmd.tail());
        }
        testpmd.awaitForwarding(20000);
    }

    /** Sends PER_SIZE frames of every size on {@code pair} and checks that exactly they come back. */
    void loopback(int pair, int[] sizes, int perSize) throws Exception {
        loopback(pair, sizes, perSize, 8);
    }

    /**
     * As above with at most {@code window} frames in flight: fewer than the RX buffers posted, so the back end
     * never finds our RX ring full (it would drop, as any NIC).
     */
    void loopback(int pair, int[] sizes, int perSize, int window) throws Exception {
        int total = sizes.length * perSize;
        byte[] rx = new byte[70000];
        int sent = 0;
        int got = 0;
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (got < total) {
            if (sent < total && sent - got < window) {
                byte[] f = frame(sent, sizes[sent % sizes.length]);
                if (dev.transmit(pair, f)) {
                    sent++;
                }
            }
            int len = dev.receive(pair, rx, 0);
            if (len >= 0) {
                byte[] want = frame(got, sizes[got % sizes.length]);
                assertEquals("length of frame " + got, want.length, len);
                assertArrayEquals("payload of frame " + got, want, Arrays.copyOf(rx, len));
                got++;
            } else if (System.nanoTime() > deadline) {
                fail("received " + got + " of " + total + " frames (sent " + sent + "); " + dev.stats() + "\n"
                        + testpmd.tail());
            }
        }
        // nothing extra arrives
        Thread.sleep(50);
        assertEquals("extra frame received", -1, dev.receive(pair, rx, 0));
        VirtioUserStats s = dev.stats();
        assertEquals(0, s.rxErrors);
        assertEquals(0, s.txErrors);
    }

    @Test
    public void clientMergeablePush() throws Exception {
        clientWithTestpmd(config());
        assertTrue((dev.features() & (1L << VhostUser.VIRTIO_NET_F_MRG_RXBUF)) != 0);
        assertTrue("REPLY_ACK negotiated", (dev.protocolFeatures() & (1L << VhostUser.PROTOCOL_F_REPLY_ACK)) != 0);
        loopback(0, SIZES, PER_SIZE);
        VirtioUserStats s = dev.stats();
        assertEquals(SIZES.length * PER_SIZE, s.txPackets);
        assertEquals(SIZES.length * PER_SIZE, s.rxPackets);
    }
    @Test
    public void clientNonMergeable() throws Exception {
        clientWithTestpmd(config().mrgRxbuf(false));
        assertEquals(0, dev.features() & (1L << VhostUser.VIRTIO_NET_F_MRG_RXBUF));
        loopback(0, SIZES, PER_SIZE);
    }

    @Test
    public void clientNonMergeableSingleLargeBuffers() throws Exception {
        clientWithTestpmd(config().mrgRxbuf(false).rxBufSize(65562));
        loopback(0, SIZES, 10);
    }

    @Test
    public void clientSmallMergeableBuffersForceMerging() throws Exception {
        clientWithTestpmd(config().rxBufSize(512));
        loopback(0, SIZES, PER_SIZE);
    }

    @Test
    public void clientChainShape() throws Exception {
        clientWithTestpmd(config().txShape(TxShape.CHAIN));
        loopback(0, SIZES, PER_SIZE);
    }

    @Test
    public void clientSplitShape() throws Exception {
        clientWithTestpmd(config().txShape(TxShape.SPLIT));
        loopback(0, SIZES, PER_SIZE);
    }

    @Test
    public void clientIndirectShapeNonMergeable() throws Exception {
        clientWithTestpmd(config().txShape(TxShape.INDIRECT).mrgRxbuf(false));
        assertTrue((dev.features() & (1L << VhostUser.VIRTIO_RING_F_INDIRECT_DESC)) != 0);
        loopback(0, SIZES, PER_SIZE);
    }

    @Test
    public void clientWithoutEventIdxSmallRing() throws Exception {
        // 64 descriptors: the 16-bit indices wrap many times over 600 frames
        clientWithTestpmd(config().eventIdx(false).queueSize(64));
        assertEquals(0, dev.features() & (1L << VhostUser.VIRTIO_RING_F_EVENT_IDX));
        loopback(0, new int[] {60, 1518}, 300);
    }

    @Test
    public void manyFramesWrapIndices() throws Exception {
        // more than 65536 frames through a 32-descriptor ring: avail/used indices wrap around 2^16
        clientWithTestpmd(config().queueSize(32));
        loopback(0, new int[] {60}, 70000);
    }

    @Test
    public void twoQueuePairs() throws Exception {
        clientWithTestpmd(config().queuePairs(2));
        assertTrue("back end queue count " + dev.backendQueueNum(), dev.backendQueueNum() >= 2);
        loopback(0, SIZES, 10);
        loopback(1, SIZES, 10);
    }

    @Test
    public void serverRoleWithTestpmdClient() throws Exception {
        Path sock = dir.resolve("vu-server.sock");
        dev = VirtioUserDevice.open(config().path(sock).server(true).name("vu-server"));
        assertTrue(Files.exists(sock));
        testpmd = new Testpmd(sock, dir, true, 1, "io").start();
        awaitReady(0);
        loopback(0, SIZES, PER_SIZE);
    }

    @Test
    public void clientReconnectsAfterTestpmdRestart() throws Exception {
        clientWithTestpmd(config());
        loopback(0, SIZES, 5);
        long gen = dev.generation();
        testpmd.kill();
        assertTrue("device noticed the back end's death", dev.awaitDown(10000));
        assertEquals(false, dev.isReady());
        assertEquals(false, dev.transmit(0, frame(0, 60)));
        Path sock = testpmd.socket;
        Files.deleteIfExists(sock);
        testpmd = new Testpmd(sock, dir, false, 1, "io").start();
        awaitReady(gen);
        assertEquals(gen + 1, dev.generation());
        loopback(0, SIZES, PER_SIZE);
    }

    @Test
    public void serverAcceptsTestpmdAgainAfterRestart() throws Exception {
        Path sock = dir.resolve("vu-server.sock");
        dev = VirtioUserDevice.open(config().path(sock).server(true).name("vu-server"));
        testpmd = new Testpmd(sock, dir, true, 1, "io").start();
        awaitReady(0);
        loopback(0, SIZES, 5);
        long gen = dev.generation();
        testpmd.kill();
        assertTrue(dev.awaitDown(10000));
        testpmd = new Testpmd(sock, dir, true, 1, "io").start();
        awaitReady(gen);
        loopback(0, SIZES, PER_SIZE);
        VirtioUserStats s = dev.stats();
        assertEquals(s.txPackets, s.rxPackets);
    }
}
