package io.pvio.vhost;

import static org.junit.Assert.assertEquals;
import static org.junit.Assume.assumeTrue;

import io.pvio.dma.spi.EngineChannel;
import io.pvio.netdev.NetdevStats;
import io.pvio.packet.PacketBatch;
import io.pvio.vhost.netdev.VhostPort;
import io.pvio.virtio.user.TxShape;
import io.pvio.virtio.user.VirtioUserConfig;
import io.pvio.virtio.user.VirtioUserDevice;
import org.junit.Test;

/**
 * Packed rings of 3 entries (any size is valid for a packed ring, VIRTIO 1.1 2.7): every {@link AsyncCopyTest}
 * (copies by the IOAT model and the CPU channel, completed and used in order), and CPU copies both ways with
 * single buffers, mergeable frames over the whole ring, 3-descriptor receive chains and indirect transmit
 * buffers; 70,000 frames each way wrap the ring more than 23,000 times.
 */
public class PackedRingOf3Test extends AsyncCopyTest {
    /** Up to what 3 mergeable 2048-byte buffers hold (6000 takes the whole ring, wrapping inside a frame). */
    static final int[] SIZES = {60, 64, 65, 127, 128, 1500, 1514, 1518, 2048, 4000, 6000};

    /** Non-mergeable receive chains of 3 descriptors: the header alone, then 2 x 4096 bytes. */
    @Override
    VirtioUserConfig config() {
        return new VirtioUserConfig().packed(true).queueSize(3).rxMaxLen(8192);
    }

    /** Two bursts fit into the 3 receive buffers. */
    @Override
    int burst() {
        return 1;
    }

    /** Needs more than 64 packets in flight; see {@link #stalledCopiesHoldTheWholeRingThenCompleteInOrder}. */
    @Override
    @Test
    public void stalledChannelThenClearedLosesNothingAndFullRingFallsBackToCpu() {
        assumeTrue("a ring of 3 never fills the DMA channel's ring of 64", false);
    }

    /**
     * Round after round, the copies of 3 packets stall on the channel (threshold 0: all by DMA) and hold every
     * position of the ring; once the channel runs again they complete in order; at the end the front end
     * goes away with 3 stalled copies in flight and no packet is lost.
     */
    @Test
    public void stalledCopiesHoldTheWholeRingThenCompleteInOrder() throws Exception {
        EngineChannel ch = ioat(A0, 64);
        VhostPort p = port("v3s", "(txq0,00:04.0,0)");
        VirtioUserDevice d = frontEnd(p, config().name("fe-3s"));
        PacketBatch b = new PacketBatch();
        int[] inFlight = new int[1];
        byte[] buf = new byte[16384];
        int sent = 0;
        int received = 0;
        int rounds = 500;
        for (int round = 0; round < rounds; round++) {
            ch.setFaults(0, true);
            assertEquals("the ring takes 3", 3, offer(p, ctx, b, sent, 3, inFlight));
            sent += 3;
            assertEquals("no room while the copies stall", 0, offer(p, ctx, b, sent, 1, inFlight));
            assertEquals("nothing completes while the channel stalls", 3, p.freePkts(0, false));
            assertEquals("the guest sees nothing before the stalled copies", 0, receiveInOrder(d, buf, received));
            ch.setFaults(0, false);
            while (received < sent) {
                p.freePkts(0, false);
                received += receiveInOrder(d, buf, received);
            }
        }
        NetdevStats s = Frames.stats(p);
        assertEquals(3L * rounds, s.txPackets);
        assertEquals(rounds, s.txDropped);
        assertEquals(0, p.freePkts(0, false));
        assertEquals(0L, (long) custom(p).get("tx_q0_async_cpu_copies"));
        ch.setFaults(0, true);
        assertEquals(3, offer(p, ctx, b, sent, 3, inFlight));
        Thread unstall = unstallLater(ch);
        d.close(); // the back end drains the stalled copies before it unmaps
        VirtioUserTest.awaitCarrier(p, false);
        unstall.join();
        assertEquals(0, p.freePkts(0, false));
        assertEquals("packets in use", 0, ctx.pool.inUse());
    }

    /** CPU copies (no async attribute): every size both ways, single- and multi-segment packets. */
    private void everySizeBothWays(VirtioUserConfig cfg, String name) throws Exception {
        VhostPort p = port(name, null);
        VirtioUserDevice d = frontEnd(p, cfg);
        assertEquals(3, p.device().vq(0).size());
        int seq = 0;
        for (int round = 0; round < 3; round++) {
            for (int len : SIZES) {
                VirtioUserTest.toGuest(p, ctx, d, 0, len, Integer.MAX_VALUE, seq++);
                VirtioUserTest.toGuest(p, ctx, d, 0, len, 700, seq++);
                VirtioUserTest.fromGuest(p, d, 0, len, seq++);
            }
        }
        VirtioUserTest.everySizeCounts(p, d, SIZES);
    }

    @Test
    public void cpuEverySizeMergeable() throws Exception {
        everySizeBothWays(config().name("fe-3m"), "v3m");
    }

    @Test
    public void cpuEverySizeMergeableIndirectTx() throws Exception {
        everySizeBothWays(config().name("fe-3i").txShape(TxShape.INDIRECT), "v3i");
    }

    @Test
    public void cpuEverySizeChainedRxBuffersWithoutEventIdx() throws Exception {
        everySizeBothWays(config().name("fe-3c").mrgRxbuf(false).eventIdx(false).txShape(TxShape.INDIRECT), "v3c");
    }

    /** 70,000 frames each way, in order, none dropped: the ring and both wrap counters flip 23,333 times. */
    @Test
    public void cpuWrapAroundBothWays() throws Exception {
        VhostPort p = port("v3w", null);
        VirtioUserDevice d = frontEnd(p, config().name("fe-3w"));
        int total = 70_000;
        byte[] f = new byte[64];
        byte[] got = new byte[2048];
        PacketBatch b = new PacketBatch();
        int received = 0;
        for (int sent = 0; sent < total; ) {
            int k = Math.min(3, total - sent); // the guest posts 3 buffers
            for (int i = 0; i < k; i++) {
                Frames.fill(f, sent + i);
                b.add(Frames.packet(ctx.pool, f, Integer.MAX_VALUE));
            }
            p.send(0, b, false);
            sent += k;
            int n;
            while ((n = d.receive(0, got, 0)) >= 0) {
                assertEquals(64, n);
                assertEquals("frame order", received, seq(got));
                received++;
            }
            assertEquals("every frame sent was received", sent, received);
        }
        assertEquals(total, Frames.stats(p).txPackets);
        assertEquals(0, Frames.stats(p).txDropped);
        int rx = 0;
        for (int sent = 0; sent < total; ) {
            Frames.fill(f, sent);
            if (d.transmit(0, f)) {
                sent++;
            } else {
                d.reclaim(0);
            }
            int n = p.rxqRecv(0, b);
            for (int i = 0; i < n; i++) {
                assertEquals("frame order", rx + i, seq(b.get(i).toByteArray()));
            }
            rx += n;
            b.freeAll();
        }
        while (rx < total) {
            int n = p.rxqRecv(0, b);
            for (int i = 0; i < n; i++) {
                assertEquals("frame order", rx + i, seq(b.get(i).toByteArray()));
            }
            rx += n;
            b.freeAll();
        }
        assertEquals(total, Frames.stats(p).rxPackets);
        assertEquals(total, d.stats().txPackets);
    }

    private static int seq(byte[] g) {
        return ((g[14] & 0xff) << 24) | ((g[15] & 0xff) << 16) | ((g[16] & 0xff) << 8) | (g[17] & 0xff);
    }
}
