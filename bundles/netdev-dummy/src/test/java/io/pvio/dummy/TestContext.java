package io.pvio.dummy;

import io.pvio.netdev.NetdevContext;
import io.pvio.packet.PacketPool;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/** A NetdevContext for unit tests. */
final class TestContext implements NetdevContext {
    final PacketPool pool;
    final AtomicInteger changed = new AtomicInteger();

    TestContext(int buffers) {
        pool = new PacketPool("test", buffers);
    }

    @Override
    public PacketPool pool() {
        return pool;
    }

    @Override
    public Path runDir() {
        return Path.of(System.getProperty("java.io.tmpdir"));
    }

    @Override
    public Map<String, String> otherConfig() {
        return Map.of();
    }

    @Override
    public int pmdCount() {
        return 1;
    }

    @Override
    public void changed() {
        changed.incrementAndGet();
    }
}
