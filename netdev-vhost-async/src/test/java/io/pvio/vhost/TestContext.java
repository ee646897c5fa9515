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

    /** The front end sends its (unchanged) memory table again and the back end must accept it. */
    static void resendMemTable(io.pvio.virtio.user.VirtioUserDevice d) throws Exception {
        java.nio.ByteBuffer table = java.nio.ByteBuffer.allocate(40).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        table.putInt(0, 1).putLong(8, d.gpaBase()).putLong(16, d.memSize())
                .putLong(24, io.pvio.virtio.user.VirtioUserConfig.DEFAULT_UVA_BASE).putLong(32, 0);
        io.pvio.virtio.user.VhostUserMessage r = d.request(new io.pvio.virtio.user.VhostUserMessage(
                io.pvio.virtio.user.VhostUser.SET_MEM_TABLE, io.pvio.virtio.user.VhostUser.FLAG_VERSION
                | io.pvio.virtio.user.VhostUser.FLAG_NEED_REPLY, table.array(), d.memFd()), true);
        org.junit.Assert.assertEquals(0, r.payloadU64());
    }
}
