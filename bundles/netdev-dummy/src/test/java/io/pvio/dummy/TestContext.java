package io.pvio.dummy;

import io.pvio.netdev.SimpleNetdevContext;
import io.pvio.packet.PacketPool;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/** A NetdevContext for unit tests: its own pool, the temporary directory, counts changed() calls. */
final class TestContext extends SimpleNetdevContext {
    final PacketPool pool;
    final AtomicInteger changed;

    TestContext(int buffers) {
        this(new PacketPool("test", buffers), new AtomicInteger());
    }

    private TestContext(PacketPool pool, AtomicInteger changed) {
        super(pool, Path.of(System.getProperty("java.io.tmpdir")), changed::incrementAndGet);
        this.pool = pool;
        this.changed = changed;
    }
}
