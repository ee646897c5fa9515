package io.pvio.vhost;

import io.pvio.virtio.user.VirtioUserConfig;

/**
 * Every {@link VirtioUserTest} with packed virtqueues: pvio's Java front end with {@code packed(true)}
 * against the back end's packed walkers (CPU copies): every size both ways, mergeable and chained receive
 * buffers, split and indirect transmit buffers, wrap counters flipping, several queue pairs, both socket
 * roles, a memory table replaced under traffic.
 */
public class PackedVirtioUserTest extends VirtioUserTest {
    @Override
    VirtioUserConfig config() {
        return new VirtioUserConfig().packed(true);
    }
}
