package io.pvio.virtio.user.netdev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.SimpleNetdevContext;
import io.pvio.netdev.NetdevException;
import io.pvio.netdev.NetdevStats;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.After;
import org.junit.Assume;
import org.junit.Before;
import org.junit.Test;

public class VirtioUserNetdevTest {
    private Path dir;
    private PacketPool pool;
    private final AtomicInteger changes = new AtomicInteger();
    private Process testpmd;
    private NetdevContext ctx;

    @Before
    public void setUp() throws Exception {
        dir = Files.createTempDirectory(Path.of("/tmp"), "vun");
        pool = new PacketPool("test", 1024);
        ctx = new SimpleNetdevContext(pool, dir, changes::incrementAndGet);
    }

    @After
    public void tearDown() throws Exception {
        if (testpmd != null) {
            testpmd.destroy();
            testpmd.waitFor(10, TimeUnit.SECONDS);
            testpmd.destroyForcibly();
            Path run = Path.of("/var/run/dpdk/pvio-vun-" + ProcessHandle.current().pid());
            if (Files.exists(run)) {
                try (var s = Files.walk(run)) {
                    s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
                }
            }
        }
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    private void expectBad(Map<String, String> o, String fragment) {
        try {
            new VirtioUserClass().open("vu0", o, ctx).close();
            fail("accepted " + o);
        } catch (NetdevException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(fragment));
            assertTrue(e.getMessage(), e.getMessage().startsWith("vu0"));
        }
    }

    @Test
    public void badOptionsAreRejectedClearly() {
        expectBad(Map.of(), "'path'");
        expectBad(Map.of("path", "x.sock", "colour", "red"), "unknown option 'colour'");
        expectBad(Map.of("path", "x.sock", "queues", "two"), "'queues' must be an integer");
        expectBad(Map.of("path", "x.sock", "queues", "0"), "queues must be 1..64");
        expectBad(Map.of("path", "x.sock", "queue_size", "100"), "power of two");
        expectBad(Map.of("path", "x.sock", "server", "yes"), "'server' must be true or false");
        expectBad(Map.of("path", "x.sock", "packed", "1"), "'packed' must be true or false");
        expectBad(Map.of("path", "x.sock", "tx_shape", "zigzag"), "tx_shape must be push");
        expectBad(Map.of("path", "x.sock", "mem_size", "lots"), "mem_size");
        expectBad(Map.of("path", "x.sock", "mem_size", "1M", "queues", "8"), "too small");
        assertTrue("nothing left behind", !Files.exists(dir.resolve("x.sock")));
    }

    @Test
    public void serverPortListensInRunDirAndRejectsOptionChanges() throws Exception {
        Map<String, String> o = Map.of("path", "vu0.sock", "server", "true", "queues", "2");
        try (Netdev p = new VirtioUserClass().open("vu0", o, ctx)) {
            assertTrue(Files.exists(dir.resolve("vu0.sock")));
            assertEquals(2, p.nRxq());
            assertEquals(2, p.nTxq());
            assertEquals(false, p.carrier());
            assertEquals(0, p.rxqRecv(0, new PacketBatch()));
            PacketBatch b = new PacketBatch();
            Packet pk = pool.alloc();
            pk.setData(pk.headroom(), 60);
            b.add(pk);
            p.send(1, b, false);
            assertTrue(b.isEmpty());
            NetdevStats s = new NetdevStats();
            p.getStats(s);
            assertEquals("no carrier: dropped", 1, s.txDropped);
            assertEquals(0, pool.inUse());
            p.setConfig(o);
            try {
                p.setConfig(Map.of("path", "vu0.sock", "server", "true", "queues", "1"));
                fail();
            } catch (NetdevException e) {
                assertTrue(e.getMessage().contains("cannot change"));
            }
            assertEquals("server", p.status().get("mode"));
        }
        assertTrue("socket removed on close", !Files.exists(dir.resolve("vu0.sock")));
    }

    /** pool packets → virtio-user port → DPDK vhost (io loopback) → virtio-user port → pool packets. */
    @Test
    public void loopbackThroughTestpmdAsPackets() throws Exception {
        loopbackThroughTestpmd(Map.of());
    }

    /** The same with packed virtqueues (options:packed=true). */
    @Test
    public void packedLoopbackThroughTestpmdAsPackets() throws Exception {
        loopbackThroughTestpmd(Map.of("packed", "true"));
    }

    private void loopbackThroughTestpmd(Map<String, String> extra) throws Exception {
        String bin = "/usr/bin/dpdk-testpmd";
        boolean present = new File(bin).canExecute();
        if (!present && "true".equals(System.getenv("CI"))) {
            fail("CI=true but " + bin + " is missing");
        }
        Assume.assumeTrue(present);
        Path sock = dir.resolve("tp.sock");
        Path log = dir.resolve("tp.log");
        testpmd = new ProcessBuilder(List.of(bin, "--lcores", "0@0,1@" + (Runtime.getRuntime().availableProcessors() > 1 ? 1 : 0),
                "--no-pci", "--no-huge", "-m", "512", "--file-prefix=pvio-vun-" + ProcessHandle.current().pid(),
                "--no-telemetry", "--vdev", "net_vhost0,iface=" + sock + ",queues=1", "--", "--total-num-mbufs=8192",
                "--nb-cores=1", "--mbuf-size=10240", "--max-pkt-len=9600", "--forward-mode=io", "--stats-period=1"))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Map<String, String> o = new HashMap<>(Map.of("path", sock.toString(), "tx_shape", "split",
                "rx_buf_size", "1024"));
        o.putAll(extra);
        try (Netdev p = new VirtioUserClass().open("vu0", o, ctx)) {
            long end = System.currentTimeMillis() + 20000;
            while (!p.carrier() || changes.get() == 0 // the listener runs on the control thread after carrier
                    || !Files.readString(log, java.nio.charset.StandardCharsets.ISO_8859_1).contains("Port statistics")) {
                assertTrue("no carrier or no change notification: " + p.status(), System.currentTimeMillis() < end);
                Thread.sleep(50);
            }
            assertTrue(changes.get() > 0);
            int[] sizes = {60, 1518, 4000, 9000};
            int total = 40;
            int sent = 0;
            int got = 0;
            PacketBatch tx = new PacketBatch();
            PacketBatch rx = new PacketBatch();
            end = System.currentTimeMillis() + 30000;
            while (got < total) {
                if (sent < total && sent - got < 4) {
                    int len = sizes[sent % sizes.length];
                    Packet pk = pool.alloc();
                    pk.setData(pk.headroom(), Math.min(len, pk.capacity() - pk.headroom()));
                    // long frames: chain more segments
                    while (pk.length() < len) {
                        Packet seg = pool.alloc();
                        seg.setSegmentData(0, Math.min(len - pk.length(), seg.capacity()));
                        pk.chain(seg);
                    }
                    byte[] f = frame(sent, len);
                    int at = 0;
                    for (Packet s = pk; s != null; s = s.next()) {
                        s.buffer().put(s.dataOffset(), f, at, s.dataLength());
                        at += s.dataLength();
                    }
                    tx.add(pk);
                    p.send(0, tx, false);
                    sent++;
                }
                p.rxqRecv(0, rx);
                for (int i = 0; i < rx.size(); i++) {
                    Packet r = rx.get(i);
                    byte[] want = frame(got, sizes[got % sizes.length]);
                    assertArrayEquals("frame " + got, want, r.toByteArray());
                    got++;
                }
                rx.freeAll();
                assertTrue("got " + got + " of " + total, System.currentTimeMillis() < end);
            }
            NetdevStats s = new NetdevStats();
            p.getStats(s);
            assertEquals(total, s.txPackets);
            assertEquals(total, s.rxPackets);
            assertEquals(0, s.txDropped);
            if (extra.containsKey("packed")) {
                assertEquals("packed", p.status().get("ring"));
            }
        }
        assertEquals("every packet returned to the pool", 0, pool.inUse());
    }

    static byte[] frame(int seq, int size) {
        byte[] f = new byte[size];
        for (int i = 0; i < 6; i++) {
            f[i] = (byte) 0xff;
        }
        f[6] = 2;
        f[12] = (byte) 0x88;
        f[13] = (byte) 0xb5;
        for (int i = 14; i < size; i++) {
            f[i] = (byte) (seq * 17 + i);
        }
        return f;
    }
}
