package io.pvio.vhost;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pvio.netdev.Netdev;
import io.pvio.vhost.netdev.VhostPort;
import io.pvio.vhost.netdev.VhostUserServerClass;
import io.pvio.vhost.ring.VirtioFeatures;
import java.util.Map;
import org.junit.Test;

/**
 * Every {@link DpdkFrontEndTest} with packed virtqueues: DPDK's virtio-user with {@code packed_vq=1}
 * (rxonly and txonly, exact counts, both socket roles, CPU and asynchronous copies, reconnection,
 * two queue pairs with non-mergeable jumbo frames); and packed rings whose size is not a power of two
 * ({@code queue_size=1000}), which DPDK's virtio-user accepts with {@code packed_vq=1}.
 */
public class DpdkPackedFrontEndTest extends DpdkFrontEndTest {
    @Override
    String devargs(String args) {
        return args.isEmpty() ? "packed_vq=1" : args + ",packed_vq=1";
    }

    @Override
    boolean packed() {
        return true;
    }

    @Override
    void checkFeatures(Netdev p) {
        super.checkFeatures(p);
        long f = ((VhostPort) p).device().features();
        assertTrue("VIRTIO_F_RING_PACKED negotiated: " + VirtioFeatures.describe(f),
                VirtioFeatures.has(f, VirtioFeatures.F_RING_PACKED));
    }

    /** Once the front end is up: both rings of pair 0 have {@code size} entries. */
    private void ringsOf(Netdev p, int size) throws Exception {
        await("carrier", 20_000, p::carrier);
        VhostPort v = (VhostPort) p;
        assertEquals(size, v.device().vq(0).size());
        assertEquals(size, v.device().vq(1).size());
    }

    @Test
    public void ringOf1000EnqueueCountsAgree() throws Exception {
        port = new VhostUserServerClass().open("vhp1k", Map.of(), ctx);
        try (Testpmd pmd = new Testpmd(ctx.runDir.resolve("vhp1k"), devargs("queue_size=1000"), "rxonly", 1, 64,
                ctx.runDir)) {
            ringsOf(port, 1000);
            enqueue(port, pmd, 100_000);
        }
    }

    @Test
    public void ringOf1000DequeueCountsAgree() throws Exception {
        port = new VhostUserServerClass().open("vhp1kd", Map.of(), ctx);
        try (Testpmd pmd = new Testpmd(ctx.runDir.resolve("vhp1kd"), devargs("queue_size=1000"), "txonly", 1, 1500,
                ctx.runDir, true)) {
            ringsOf(port, 1000);
            dequeue(port, pmd, 1500);
        }
    }
}
