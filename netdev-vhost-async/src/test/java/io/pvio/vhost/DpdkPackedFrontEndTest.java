package io.pvio.vhost;

import static org.junit.Assert.assertTrue;

import io.pvio.netdev.Netdev;
import io.pvio.vhost.netdev.VhostPort;
import io.pvio.vhost.ring.VirtioFeatures;

/**
 * Every {@link DpdkFrontEndTest} with packed virtqueues: DPDK's virtio-user with {@code packed_vq=1}
 * (rxonly and txonly, exact counts, both socket roles, CPU and asynchronous copies, reconnection,
 * two queue pairs with non-mergeable jumbo frames).
 */
public class DpdkPackedFrontEndTest extends DpdkFrontEndTest {
    @Override
    String devargs(String args) {
        return args.isEmpty() ? "packed_vq=1" : args + ",packed_vq=1";
    }

    @Override
    void checkFeatures(Netdev p) {
        long f = ((VhostPort) p).device().features();
        assertTrue("VIRTIO_F_RING_PACKED negotiated: " + VirtioFeatures.describe(f),
                VirtioFeatures.has(f, VirtioFeatures.F_RING_PACKED));
    }
}
