package io.pvio.virtio.user;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import org.junit.After;
import org.junit.Test;

/**
 * Every {@link DpdkVhostLoopbackTest} with packed virtqueues (VIRTIO_F_RING_PACKED) against DPDK's vhost
 * PMD: TX shapes (one descriptor, chains, indirect), mergeable and chained RX buffers, event suppression with
 * and without EVENT_IDX, wrap counters flipping thousands of times, two queue pairs, both socket roles and
 * reconnection (the ring state resumed through SET_VRING_BASE's wrap bit); and rings whose size is not a power
 * of two (VIRTIO 1.1 2.7), which DPDK's vhost library accepts for packed rings (1000 descriptors; on a ring
 * of 3 DPDK 22.11's vhost PMD forwards nothing, see the session report).
 */
public class DpdkVhostPackedLoopbackTest extends DpdkVhostLoopbackTest {
    private VirtioUserDevice checked;

    @Override
    VirtioUserConfig config() {
        return new VirtioUserConfig().packed(true);
    }

    @Override
    void loopback(int pair, int[] sizes, int perSize, int window) throws Exception {
        VirtioUserDevice d = device();
        if (d != checked) {
            assertTrue("VIRTIO_F_RING_PACKED negotiated", (d.features() & (1L << VhostUser.VIRTIO_F_RING_PACKED)) != 0);
            checked = d;
        }
        super.loopback(pair, sizes, perSize, window);
    }

    /** 1000 descriptors: mergeable and chained receive buffers, every frame size, the ring wraps. */
    @Test
    public void ringOf1000() throws Exception {
        clientWithTestpmd(config().queueSize(1000));
        loopback(0, SIZES, 200);
        assertEquals(SIZES.length * 200, device().stats().rxPackets);
    }

    @Test
    public void ringOf1000ChainedRxBuffersSplitTx() throws Exception {
        clientWithTestpmd(config().queueSize(1000).mrgRxbuf(false).txShape(TxShape.SPLIT));
        loopback(0, SIZES, 200);
    }

    @After
    public void forget() {
        checked = null;
    }
}
