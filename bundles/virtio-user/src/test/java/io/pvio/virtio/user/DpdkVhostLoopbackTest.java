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
        if (dir != null) {
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

    private VirtioUserDevice clientWithTestpmd(VirtioUserConfig c) throws Exception {
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
    }

    /** Sends PER_SIZE frames of every size on {@code pair} and checks that exactly they come back. */
    void loopback(int pair, int[] sizes, int perSize) throws Exception {
        int total = sizes.length * perSize;
        byte[] rx = new byte[70000];
        int sent = 0;
        int got = 0;
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (got < total) {
            if (sent < total && sent - got < 32) {
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
        clientWithTestpmd(new VirtioUserConfig());
        assertTrue((dev.features() & (1L << VhostUser.VIRTIO_NET_F_MRG_RXBUF)) != 0);
        assertTrue("REPLY_ACK negotiated", (dev.protocolFeatures() & (1L << VhostUser.PROTOCOL_F_REPLY_ACK)) != 0);
        loopback(0, SIZES, PER_SIZE);
        VirtioUserStats s = dev.stats();
        assertEquals(SIZES.length * PER_SIZE, s.txPackets);
        assertEquals(SIZES.length * PER_SIZE, s.rxPackets);
    }
}
