package io.pvio.vhost;

import io.pvio.netdev.SimpleNetdevContext;
import io.pvio.packet.PacketPool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A NetdevContext for tests: its own pool and a fresh run directory; counts changed() calls. Reconfiguration
 * requests are served at once, as a datapath would, on the requesting (control) thread: the tests using it
 * call a port's data path only once its front end has set up its queues.
 */
final class TestContext extends SimpleNetdevContext {
    final PacketPool pool;
    final Path runDir;
    final AtomicInteger changes;

    TestContext(int buffers) throws Exception {
        this(new PacketPool("test", buffers), Files.createTempDirectory("pvio-vh"), new AtomicInteger());
    }

    private TestContext(PacketPool pool, Path runDir, AtomicInteger changes) {
        super(pool, runDir, changes::incrementAndGet);
        this.pool = pool;
        this.runDir = runDir;
        this.changes = changes;
    }

    @Override
    public void requestReconfigure() {
        for (io.pvio.vhost.netdev.VhostPort p : io.pvio.vhost.netdev.VhostPorts.all().values()) {
            if (p.context() == this && p.reconfigureRequired()) {
                p.reconfigure();
            }
        }
        super.requestReconfigure();
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
