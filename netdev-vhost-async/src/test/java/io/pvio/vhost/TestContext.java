package io.pvio.vhost;

import io.pvio.netdev.NetdevContext;
import io.pvio.packet.PacketPool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/** A NetdevContext for tests: its own pool and a fresh run directory. */
final class TestContext implements NetdevContext {
    final PacketPool pool;
    final Path runDir;
    final AtomicInteger changes = new AtomicInteger();

    TestContext(int buffers) throws Exception {
        pool = new PacketPool("test", buffers);
        runDir = Files.createTempDirectory("pvio-vh");
    }

    @Override
    public PacketPool pool() {
        return pool;
    }

    @Override
    public Path runDir() {
        return runDir;
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
        changes.incrementAndGet();
    }

    void cleanup() {
        try (var s = Files.walk(runDir)) {
            s.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
        } catch (Exception e) {
            // best effort
        }
    }
}
