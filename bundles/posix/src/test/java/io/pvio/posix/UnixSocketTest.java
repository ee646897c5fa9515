package io.pvio.posix;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

public class UnixSocketTest {
    private Path dir;
    private UnixSocket server;
    private UnixSocket client;
    private UnixSocket accepted;

    @Before
    public void setUp() throws Exception {
        dir = Files.createTempDirectory("pvio-posix");
        server = UnixSocket.listen(dir.resolve("s.sock"), 1);
        client = UnixSocket.connect(dir.resolve("s.sock"));
        assertTrue(server.awaitReadable(2000));
        accepted = server.accept();
    }

    @After
    public void tearDown() throws Exception {
        client.close();
        accepted.close();
        server.close();
        Files.deleteIfExists(dir.resolve("s.sock"));
        Files.deleteIfExists(dir);
    }

    @Test
    public void passesAMemfdThatBothSidesSee() throws Exception {
        try (SharedMemory mine = SharedMemory.createMemfd("t", 1 << 16)) {
            mine.buffer().putLong(4096, 0x1122334455667788L);
            byte[] hdr = {1, 2, 3, 4};
            client.send(hdr, 0, 4, new int[] {mine.fd()}, 1);

            byte[] in = new byte[4];
            int[] fds = new int[8];
            int[] n = new int[1];
            assertTrue(accepted.receiveFully(in, 0, 4, fds, n));
            assertArrayEquals(hdr, in);
            assertEquals(1, n[0]);
            try (SharedMemory theirs = SharedMemory.map(fds[0], 1 << 16, 0)) {
                assertEquals(0x1122334455667788L, theirs.buffer().getLong(4096));
                theirs.buffer().putInt(8, 42);
                assertEquals(42, mine.buffer().getInt(8));
            } finally {
                Fd.closeQuietly(fds[0]);
            }
        }
    }

    @Test
    public void refusesMoreDescriptorsThanAsked() throws Exception {
        EventFd[] efds = new EventFd[4];
        int[] raw = new int[4];
        for (int i = 0; i < 4; i++) {
            efds[i] = EventFd.create();
            raw[i] = efds[i].fd();
        }
        client.send(new byte[] {9}, 0, 1, raw, 4);
        int[] n = new int[1];
        try {
            accepted.receive(new byte[1], 0, 1, new int[2], n);
            fail("four descriptors accepted into room for two");
        } catch (PosixException expected) {
            assertTrue(expected.getMessage(), expected.getMessage().contains("more than 2"));
        }
        for (EventFd e : efds) {
            e.close();
        }
    }

    /** A message cut short after its first bytes: the descriptors that came with them are closed, not leaked. */
    @Test
    public void descriptorsOfAMessageCutShortAreClosed() throws Exception {
        try (SharedMemory mem = SharedMemory.createMemfd("cut", 4096)) {
            client.send(new byte[] {1, 2, 3, 4}, 0, 4, new int[] {mem.fd()}, 1);
            client.close();
            int[] fds = new int[8];
            int[] n = new int[1];
            assertEquals("the memfd in flight is open only as the sender's", 1, openFdsOf("memfd:cut"));
            try {
                accepted.receiveFully(new byte[12], 0, 12, fds, n);
                fail("a 4-byte message read as 12");
            } catch (PosixException expected) {
                assertTrue(expected.getMessage(), expected.getMessage().contains("closed in the middle"));
            }
            assertEquals("no descriptor handed out", 0, n[0]);
            assertEquals("the received descriptor was closed", 1, openFdsOf("memfd:cut"));
        }
    }

    /** Descriptors of this process that point at {@code target}; other threads' descriptors do not count. */
    private static long openFdsOf(String target) throws java.io.IOException {
        long n = 0;
        try (java.nio.file.DirectoryStream<java.nio.file.Path> fds =
                java.nio.file.Files.newDirectoryStream(java.nio.file.Paths.get("/proc/self/fd"))) {
            for (java.nio.file.Path fd : fds) {
                try {
                    if (java.nio.file.Files.readSymbolicLink(fd).toString().contains(target)) {
                        n++;
                    }
                } catch (java.io.IOException gone) {
                    // closed while listed (the directory stream's own descriptor, say)
                }
            }
        }
        return n;
    }

    @Test
    public void peerCloseReadsAsEndOfStream() throws Exception {
        client.close();
        int[] n = new int[1];
        assertFalse(accepted.receiveFully(new byte[12], 0, 12, new int[1], n));
    }

    @Test
    public void connectToMissingSocketFailsWithErrno() {
        try {
            UnixSocket.connect(dir.resolve("nobody"));
            fail();
        } catch (PosixException e) {
            assertEquals(2, e.errno()); // ENOENT
        }
    }

    @Test
    public void tooLongPathIsRefusedBeforeTheSyscall() {
        try {
            UnixSocket.listen(dir.resolve("x".repeat(120)), 1);
            fail();
        } catch (PosixException e) {
            assertTrue(e.getMessage().contains("too long"));
        }
    }

    @Test
    public void eventFdSignalsAcrossAPoll() throws Exception {
        try (EventFd e = EventFd.create()) {
            assertFalse(e.await(0));
            assertTrue(e.signal());
            assertTrue(e.signal());
            assertTrue(e.await(1000));
            assertEquals(2, e.drain());
            assertEquals(0, e.drain());
        }
    }

    @Test
    public void fdSizeIsTheFileSize() throws Exception {
        try (SharedMemory m = SharedMemory.createMemfd("s", 3 * 4096)) {
            assertEquals(3 * 4096, Fd.size(m.fd()));
        }
        try {
            Fd.size(-1);
            fail();
        } catch (PosixException e) {
            assertEquals(9, e.errno()); // EBADF
        }
    }

    @Test
    public void mappingIsBoundsChecked() throws Exception {
        try (SharedMemory m = SharedMemory.createMemfd("b", 8192)) {
            ByteBuffer b = m.buffer();
            b.put(8191, (byte) 1);
            try {
                b.get(8192);
                fail("read past the mapping");
            } catch (IndexOutOfBoundsException expected) {
                // the view refuses instead of touching memory beyond the region
            }
        }
    }

    /** A peer that reads nothing: send gives up after its timeout instead of blocking for ever. */
    @Test
    public void sendToAPeerThatReadsNothingIsBounded() throws Exception {
        accepted.setSendTimeoutMs(200);
        byte[] chunk = new byte[4096];
        int sent = 0;
        try {
            for (;;) {
                accepted.send(chunk, 0, chunk.length, null, 0);
                sent++;
                assertTrue("the socket buffer never filled", sent < 100_000);
            }
        } catch (PosixException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("read nothing for 200 ms"));
        }
        assertTrue(sent > 0);
    }

    /** shutdown() from another thread wakes a sender waiting for room, without waiting for it. */
    @Test
    public void shutdownWakesAStuckSender() throws Exception {
        accepted.setSendTimeoutMs(600_000);
        java.util.concurrent.atomic.AtomicInteger sent = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.FutureTask<Exception> sender = new java.util.concurrent.FutureTask<>(() -> {
            byte[] chunk = new byte[4096];
            try {
                for (;;) {
                    accepted.send(chunk, 0, chunk.length, null, 0);
                    sent.incrementAndGet();
                }
            } catch (PosixException e) {
                return e;
            }
        });
        Thread t = new Thread(sender, "stuck-sender");
        t.setDaemon(true);
        t.start();
        int last = -1;
        while (sent.get() != last) {
            last = sent.get();
            Thread.sleep(200);
        }
        java.util.concurrent.FutureTask<Void> shut = new java.util.concurrent.FutureTask<>(() -> {
            accepted.shutdown();
            return null;
        });
        new Thread(shut, "shutdown").start();
        shut.get(30, java.util.concurrent.TimeUnit.SECONDS); // a hang detector: it used to wait for the sender's lock
        Exception e = sender.get(30, java.util.concurrent.TimeUnit.SECONDS);
        assertTrue(e.getMessage(), e.getMessage().contains("shut down") || e.getMessage().contains("sendmsg"));
    }

    @Test
    public void probeTellsAListenerFromAStaleSocket() throws Exception {
        Path live = dir.resolve("s.sock");
        assertEquals(UnixSocket.Probe.LISTENING, UnixSocket.probe(live));
        assertEquals(UnixSocket.Probe.ABSENT, UnixSocket.probe(dir.resolve("none")));
        Path gone = dir.resolve("gone.sock");
        UnixSocket.listen(gone, 1).close(); // the file stays, nobody listens
        try {
            assertEquals(UnixSocket.Probe.STALE, UnixSocket.probe(gone));
        } finally {
            Files.deleteIfExists(gone);
        }
        Path busy = dir.resolve("busy.sock");
        try (UnixSocket full = UnixSocket.listen(busy, 0)) {
            for (int i = 0; i < 8; i++) { // never accepted: the backlog fills, the probe must not block
                assertEquals(UnixSocket.Probe.LISTENING, UnixSocket.probe(busy));
            }
        } finally {
            Files.deleteIfExists(busy);
        }
    }
}
