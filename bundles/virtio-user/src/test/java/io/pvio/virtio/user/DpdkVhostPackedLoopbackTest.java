package io.pvio.virtio.user;

import static org.junit.Assert.assertTrue;

import org.junit.After;

/**
 * Every {@link DpdkVhostLoopbackTest} with packed virtqueues (VIRTIO_F_RING_PACKED) against DPDK's vhost
 * PMD: TX shapes (one descriptor, chains, indirect), mergeable and chained RX buffers, event suppression with
 * and without EVENT_IDX, wrap counters flipping thousands of times, two queue pairs, both socket roles and
 * reconnection (the ring state resumed through SET_VRING_BASE's wrap bit).
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

    @After
    public void forget() {
        checked = null;
    }
}
