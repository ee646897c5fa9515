package io.pvio.vhost;

import io.pvio.virtio.user.VirtioUserConfig;

/**
 * Every {@link VirtioUserTest} on packed rings of 1000 entries (not a power of two, VIRTIO 1.1 2.7): the
 * walkers, used descriptors and event suppression wrap at the ring size; 70,000 packets each way wrap the
 * ring 70 times.
 */
public class PackedRingOf1000VirtioUserTest extends VirtioUserTest {
    @Override
    VirtioUserConfig config() {
        return new VirtioUserConfig().packed(true).queueSize(1000);
    }

    @Override
    int wrapQueueSize() {
        return 1000;
    }
}
