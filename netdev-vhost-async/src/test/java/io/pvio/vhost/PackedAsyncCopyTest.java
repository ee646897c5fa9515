package io.pvio.vhost;

import io.pvio.virtio.user.VirtioUserConfig;

/**
 * Every {@link AsyncCopyTest} with packed virtqueues: the packed walkers over the asynchronous copy sink,
 * used descriptors written in order as the copies complete.
 */
public class PackedAsyncCopyTest extends AsyncCopyTest {
    @Override
    VirtioUserConfig config() {
        return new VirtioUserConfig().packed(true);
    }
}
