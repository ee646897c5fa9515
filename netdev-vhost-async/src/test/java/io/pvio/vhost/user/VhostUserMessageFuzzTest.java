package io.pvio.vhost.user;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import io.pvio.posix.EventFd;
import io.pvio.posix.Fd;
import io.pvio.posix.PosixException;
import io.pvio.posix.SharedMemory;
import io.pvio.vhost.ring.Frames0;
import io.pvio.vhost.ring.Virtqueue;
import java.io.File;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Coverage-guided fuzzing of the vhost-user message handling ({@link VhostDevice#handle}, the parser and state
 * machine behind {@link ControlThread}), followed by the data path on whatever queues the messages made ready.
 * Contract checked for every input: only {@link VhostUserException} comes out of a message (anything else is
 * a bug: the control thread would close the connection as "internal error"), nothing escapes the data path,
 * and after the disconnect no packet buffer and no descriptor is left behind.
 *
 * <p>Regression mode (every {@code mvn verify}): the inputs in
 * {@code src/test/resources/io/pvio/vhost/user/VhostUserMessageFuzzTestInputs/messages}. Fuzzing: see
 * FUZZING.md.
 */
class VhostUserMessageFuzzTest {
    /** Every input breaks a queue or refuses a message: the warnings would cost more than the input. */
    private static final java.util.logging.Logger[] MUTED = {java.util.logging.Logger.getLogger("netdev_dpdk"),
        java.util.logging.Logger.getLogger("dpdk")};

    @org.junit.jupiter.api.BeforeAll
    static void mute() {
        for (java.util.logging.Logger l : MUTED) {
            l.setLevel(java.util.logging.Level.OFF);
        }
    }

    @org.junit.jupiter.api.AfterAll
    static void unmute() {
        for (java.util.logging.Logger l : MUTED) {
            l.setLevel(null);
        }
    }

    /** Guest memory the fuzzed tables may map: small, so that its gpa/uva ranges are easy to hit. */
    static final long MEM = 1 << 16;
    static final long[] GPAS = {0, 0x10000, 0x4000_0000L, 0xffff_0000L};
    static final long[] UVAS = {0x7000_0000L, 0x7000_8000L, 0, 0x7fff_ffff_0000L};
    private static SharedMemory file;
    private static final PacketPool POOL = new PacketPool("fuzz-msg", 512);

    private static synchronized SharedMemory file() throws PosixException {
        if (file == null) {
            file = SharedMemory.createMemfd("fuzz-guest", MEM);
        }
        return file;
    }

    /**
     * The process's open memfds and eventfds (the kinds the messages carry; class loading may open jars
     * meanwhile, which are not the back end's).
     */
    private static java.util.Set<String> openFds() {
        java.util.Set<String> fds = new java.util.TreeSet<>();
        File[] l = new File("/proc/self/fd").listFiles();
        if (l != null) {
            for (File f : l) {
                try {
                    String to = java.nio.file.Files.readSymbolicLink(f.toPath()).toString();
                    if (to.startsWith("/memfd:") || to.contains("eventfd")) {
                        fds.add(f.getName() + " -> " + to);
                    }
                } catch (java.io.IOException e) {
                    // the directory listing's own descriptor, closed by now
                }
            }
        }
        return fds;
    }

    @FuzzTest(maxDuration = "30m")
    void messages(FuzzedDataProvider d) throws Exception {
        SharedMemory guest = file();
        ByteBuffer g = guest.buffer();
        for (int i = 0; i < MEM; i += 8) {
            g.putLong(i, 0);
        }
        java.util.Set<String> fdsBefore = openFds();
        VhostDevice dev = new VhostDevice("fuzz", () -> { });
        dev.connect();
        try {
            int n = d.consumeInt(1, 40);
            for (int k = 0; k < n && d.remainingBytes() > 0; k++) {
                VhostDevice.Message m = message(d, guest);
                try {
                    dev.handle(m);
                } catch (VhostUserException expected) {
                    // refused: the control thread replies with an error or closes the connection
                }
                if (d.consumeBoolean()) {
                    traffic(dev, d, g);
                }
            }
            traffic(dev, d, g);
        } finally {
            dev.disconnect();
        }
        assertEquals(0, POOL.inUse(), "packet buffers left after the disconnect");
        assertEquals(fdsBefore, openFds(), "descriptors left after the disconnect");
    }

    /** A message as the control thread would pass it on: valid header, payload up to MAX_PAYLOAD. */
    private static VhostDevice.Message message(FuzzedDataProvider d, SharedMemory guest) throws PosixException {
        VhostDevice.Message m = new VhostDevice.Message();
        m.request = d.consumeBoolean() ? d.consumeInt(1, Request.NET_SET_MTU) : d.consumeInt(0, 64);
        m.flags = Request.FLAG_VERSION | (d.consumeBoolean() ? Request.FLAG_NEED_REPLY : 0);
        ByteBuffer p;
        switch (d.consumeInt(0, 3)) {
            case 0: { // structured: a plausible memory table
                int regions = d.consumeInt(0, 9);
                p = ByteBuffer.allocate(8 + 32 * regions).order(ByteOrder.LITTLE_ENDIAN);
                p.putInt(0, regions);
                for (int i = 0; i < regions; i++) {
                    p.putLong(8 + 32 * i, d.pickValue(GPAS) + d.consumeInt(-2, 2) * 4096L);
                    p.putLong(16 + 32 * i, d.consumeBoolean() ? MEM : d.consumeLong(0, 2 * MEM));
                    p.putLong(24 + 32 * i, d.pickValue(UVAS) + d.consumeInt(-2, 2) * 4096L);
                    p.putLong(32 + 32 * i, d.consumeBoolean() ? 0 : d.consumeLong(0, MEM));
                }
                m.request = d.consumeBoolean() ? Request.SET_MEM_TABLE : m.request;
                break;
            }
            case 1: { // structured: ring addresses inside the table's usual uva
                p = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN);
                p.putInt(0, d.consumeInt(0, 3));
                p.putInt(4, d.consumeInt(0, 1));
                long base = d.pickValue(UVAS);
                p.putLong(8, base + d.consumeInt(0, (int) MEM));
                p.putLong(16, base + d.consumeInt(0, (int) MEM));
                p.putLong(24, base + d.consumeInt(0, (int) MEM));
                p.putLong(32, d.consumeLong());
                m.request = d.consumeBoolean() ? Request.SET_VRING_ADDR : m.request;
                break;
            }
            case 2: { // a vring state or u64
                p = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
                p.putInt(0, d.consumeInt(0, 4));
                p.putInt(4, d.consumeBoolean() ? 1 << d.consumeInt(0, 15) : d.consumeInt());
                if (d.consumeBoolean()) {
                    p.putLong(0, d.consumeLong());
                }
                break;
            }
            default: {
                byte[] raw = d.consumeBytes(d.consumeInt(0, Request.MAX_PAYLOAD));
                p = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
                break;
            }
        }
        m.payload = p.slice().order(ByteOrder.LITTLE_ENDIAN);
        m.size = p.capacity();
        int nfds = d.consumeInt(0, 3);
        for (int i = 0; i < nfds; i++) {
            m.fds[i] = d.consumeBoolean() ? Fd.dup(guest.fd()) : eventFd();
        }
        m.nfds = nfds;
        return m;
    }

    private static int eventFd() throws PosixException {
        try (EventFd e = EventFd.create()) {
            return Fd.dup(e.fd());
        }
    }

    /** One burst each way on every ready queue, as the PMD would run them. */
    private static void traffic(VhostDevice dev, FuzzedDataProvider d, ByteBuffer g) {
        for (int i = 0; i < 4; i++) {
            Virtqueue vq = dev.vq(i);
            vq.lock();
            try {
                if (!vq.ready()) {
                    continue;
                }
                PacketBatch b = new PacketBatch();
                if ((i & 1) == 1) {
                    vq.dequeue(POOL, b);
                    b.freeAll();
                } else {
                    int n = d.consumeInt(0, 4);
                    for (int k = 0; k < n; k++) {
                        b.add(Frames0.packet(POOL, d.consumeInt(1, 9000), d.consumeInt(512, 4096))); // at most 4 x 18 buffers
                    }
                    vq.enqueue(b);
                    b.freeAll();
                }
                vq.faultFence();
            } finally {
                vq.unlock();
            }
        }
    }
}
