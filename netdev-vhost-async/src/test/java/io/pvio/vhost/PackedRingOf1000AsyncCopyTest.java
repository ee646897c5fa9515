package io.pvio.vhost;

import io.pvio.virtio.user.VirtioUserConfig;

/**
 * Every {@link AsyncCopyTest} on packed rings of 1000 entries (not a power of two): copies by the IOAT
 * model and the CPU channel complete in order and their used descriptors wrap at the ring size.
 */
public class PackedRingOf1000AsyncCopyTest extends AsyncCopyTest {
    @Override
    VirtioUserConfig config() {
        return new VirtioUserConfig().packed(true).queueSize(1000);
    }
}
