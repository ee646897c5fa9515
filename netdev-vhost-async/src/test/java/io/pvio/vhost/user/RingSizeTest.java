package io.pvio.vhost.user;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.vhost.ring.VirtioFeatures;
import io.pvio.vhost.user.VhostDevice.Message;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * SET_VRING_NUM as DPDK's vhost_user_set_vring_num: any size 1..32768 for a packed ring (VIRTIO 1.1 2.7), a
 * power of two for a split ring (VIRTIO 1.0 2.4), judged by the features negotiated before it.
 */
public class RingSizeTest {
    private VhostDevice dev;

    @Before
    public void setUp() {
        dev = new VhostDevice("rs0", () -> { });
        dev.connect();
    }

    @After
    public void tearDown() {
        dev.disconnect();
    }

    private void features(boolean packed) throws Exception {
        Message m = MessageTableTest.message(Request.SET_FEATURES, 8, 0);
        long f = VirtioFeatures.bit(VirtioFeatures.F_VERSION_1);
        m.payload.putLong(0, packed ? f | VirtioFeatures.bit(VirtioFeatures.F_RING_PACKED) : f);
        dev.handle(m);
    }

    private void num(int ring, int num) throws Exception {
        Message m = MessageTableTest.message(Request.SET_VRING_NUM, 8, 0);
        m.payload.putInt(0, ring).putInt(4, num);
        dev.handle(m);
    }

    private void refused(int num, String why) throws Exception {
        int before = dev.vq(0).size();
        try {
            num(0, num);
            fail("ring size " + Integer.toUnsignedString(num) + " accepted");
        } catch (VhostUserException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(why));
        }
        assertEquals("the size in use is kept", before, dev.vq(0).size());
    }

    @Test
    public void packedRingsOfAnySize() throws Exception {
        features(true);
        for (int n : new int[] {1, 3, 1000, 32767, 32768, 256}) {
            num(0, n);
            assertEquals(n, dev.vq(0).size());
            num(1, n);
            assertEquals(n, dev.vq(1).size());
        }
        refused(0, "ring size 0 is not in 1..32768");
        refused(32769, "ring size 32769 is not in 1..32768");
        refused(-1, "ring size 4294967295 is not in 1..32768");
    }

    @Test
    public void splitRingsOfAPowerOfTwoOnly() throws Exception {
        features(false);
        num(0, 256);
        refused(1000, "ring size 1000 of a split ring is not a power of two");
        refused(3, "ring size 3 of a split ring is not a power of two");
        refused(0, "ring size 0 is not in 1..32768");
        num(0, 32768);
        assertEquals(32768, dev.vq(0).size());
    }
}
