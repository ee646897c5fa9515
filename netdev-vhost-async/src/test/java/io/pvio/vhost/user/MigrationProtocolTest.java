package io.pvio.vhost.user;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.posix.Fd;
import io.pvio.posix.SharedMemory;
import io.pvio.vhost.ring.DirtyLog;
import io.pvio.vhost.ring.SealedMemfd;
import io.pvio.vhost.ring.VirtioFeatures;
import io.pvio.vhost.user.VhostDevice.Message;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * The live-migration requests through the device as QEMU sends them: features offered, SET_LOG_BASE
 * (empty reply, the log handed to every queue), SET_LOG_FD, SET_VRING_ADDR with VHOST_VRING_F_LOG,
 * SEND_RARP; bad input refused with a clear error and the state kept.
 */
public class MigrationProtocolTest {
    private static final long GPA = 0x100000;
    private static final long UVA = 0x7000_0000L;
    private static final int SIZE = 1 << 20;

    private SharedMemory guest;
    private VhostDevice dev;

    @Before
    public void setUp() throws Exception {
        guest = SharedMemory.createMemfd("guest", SIZE);
        dev = new VhostDevice("mig0", () -> { });
        dev.connect();
        Message m = message(Request.SET_MEM_TABLE, 8 + 32);
        m.payload.putInt(0, 1);
        m.payload.putLong(8, GPA).putLong(16, SIZE).putLong(24, UVA).putLong(32, 0);
        m.fds[0] = Fd.dup(guest.fd());
        m.nfds = 1;
        dev.handle(m);
    }

    @After
    public void tearDown() {
        dev.disconnect();
        guest.close();
    }

    private static Message message(int request, int size) {
        Message m = new Message();
        m.request = request;
        m.payload = ByteBuffer.allocate(Request.MAX_PAYLOAD).order(ByteOrder.LITTLE_ENDIAN);
        m.size = size;
        return m;
    }

    /** SET_LOG_BASE of {@code size} bytes at {@code offset} of {@code fd} (a duplicate is sent). */
    private ByteBuffer setLogBase(int fd, long size, long offset) throws Exception {
        Message m = message(Request.SET_LOG_BASE, 16);
        m.payload.putLong(0, size).putLong(8, offset);
        m.fds[0] = Fd.dup(fd);
        m.nfds = 1;
        try {
            return dev.handle(m);
        } finally {
            assertEquals("the descriptor is closed after the request", 0, m.nfds);
        }
    }

    private void refusedLog(int fd, long size, long offset, String why) throws Exception {
        DirtyLog before = dev.log();
        try {
            setLogBase(fd, size, offset);
            fail("SET_LOG_BASE of " + size + " bytes accepted");
        } catch (VhostUserException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(why));
        }
        assertSame("the log in use is kept", before, dev.log());
    }

    private void setAddr(int ring, int flags, long logAddr) throws Exception {
        Message m = message(Request.SET_VRING_ADDR, 40);
        m.payload.putInt(0, ring).putInt(4, flags).putLong(8, UVA).putLong(16, UVA + 0x2000)
                .putLong(24, UVA + 0x1000).putLong(32, logAddr);
        dev.handle(m);
    }

    private void setFeatures(long f) throws Exception {
        Message m = message(Request.SET_FEATURES, 8);
        m.payload.putLong(0, f);
        dev.handle(m);
    }

    @Test
    public void migrationFeaturesAreOffered() throws Exception {
        long f = dev.handle(message(Request.GET_FEATURES, 0)).getLong(0);
        assertTrue(VirtioFeatures.has(f, VirtioFeatures.F_LOG_ALL));
        assertTrue(VirtioFeatures.has(f, VirtioFeatures.NET_F_GUEST_ANNOUNCE));
        long p = dev.handle(message(Request.GET_PROTOCOL_FEATURES, 0)).getLong(0);
        assertEquals(1L << Request.PROTOCOL_F_LOG_SHMFD, p & (1L << Request.PROTOCOL_F_LOG_SHMFD));
        assertEquals(1L << Request.PROTOCOL_F_RARP, p & (1L << Request.PROTOCOL_F_RARP));
        assertTrue(Request.repliesWithData(Request.SET_LOG_BASE)); // no extra ack after its reply
    }

    @Test
    public void setLogBaseMapsTheLogAndRepliesEmpty() throws Exception {
        int fd = SealedMemfd.create(8192, true);
        try {
            long need = DirtyLog.bytesFor(GPA + SIZE);
            ByteBuffer reply = setLogBase(fd, need, 0);
            assertNotNull("SET_LOG_BASE always replies", reply);
            assertEquals("with an empty payload", 0, reply.capacity());
            DirtyLog first = dev.log();
            assertNotNull(first);
            assertEquals(need, first.size());
            assertFalse("not before LOG_ALL", dev.vq(0).logging());
            setFeatures(VirtioFeatures.bit(VirtioFeatures.F_VERSION_1) | VirtioFeatures.bit(VirtioFeatures.F_LOG_ALL));
            assertTrue(dev.vq(0).logging());
            assertTrue(dev.vq(5).logging());
            assertFalse("the guest's transmit queue only logs its used ring", dev.vq(1).tracker() == null);
            // a larger log (QEMU resizes it when memory grows): replaces the first one
            setLogBase(fd, 4096, 4096);
            assertEquals(4096, dev.log().size());
            setFeatures(VirtioFeatures.bit(VirtioFeatures.F_VERSION_1));
            assertFalse(dev.vq(0).logging());
            dev.disconnect();
            assertNull("a disconnect unmaps the log", dev.log());
        } finally {
            SealedMemfd.close(fd);
        }
    }

    @Test
    public void badLogsAreRefusedAndTheCurrentOneKept() throws Exception {
        int fd = SealedMemfd.create(4096, true);
        int plain = SealedMemfd.create(4096, false);
        try {
            long need = DirtyLog.bytesFor(GPA + SIZE);
            refusedLog(fd, need - 8, 0, "too small for guest memory up to 0x200000");
            setLogBase(fd, need, 0);
            refusedLog(plain, need, 0, "not sealed against shrinking");
            refusedLog(fd, need, 4096, "runs past the end of its file");
            refusedLog(fd, need, 3, "not a multiple of 8");
            refusedLog(fd, -8, 0, "18446744073709551608 bytes is larger than"); // unsigned, not wrapped
            Message noFd = message(Request.SET_LOG_BASE, 16);
            noFd.payload.putLong(0, need);
            try {
                dev.handle(noFd);
                fail();
            } catch (VhostUserException e) {
                assertEquals("0 file descriptors, expected 1", e.getMessage());
            }
            Message badFd = message(Request.SET_LOG_BASE, 16);
            badFd.payload.putLong(0, need);
            badFd.fds[0] = 1_000_000; // not open
            badFd.nfds = 1;
            try {
                dev.handle(badFd);
                fail();
            } catch (VhostUserException e) {
                assertTrue(e.getMessage(), e.getMessage().startsWith("bad dirty log: "));
            }
            assertEquals(need, dev.log().size());
            assertTrue(dev.lastError(), dev.lastError().startsWith("VHOST_USER_SET_LOG_BASE: bad dirty log"));
        } finally {
            SealedMemfd.close(fd);
            SealedMemfd.close(plain);
        }
    }

    @Test
    public void usedRingLogAddressesAreChecked() throws Exception {
        Message num = message(Request.SET_VRING_NUM, 8);
        num.payload.putInt(0, 0).putInt(4, 256);
        dev.handle(num);
        setAddr(0, 1, GPA + 0x2000); // VHOST_VRING_F_LOG, the used ring's guest address
        setAddr(0, 0, 0); // logging off again: the address is ignored
        refusedAddr(1, GPA + SIZE - 16, "outside guest memory");
        refusedAddr(1, 0x1000, "outside guest memory");
        refusedAddr(1, GPA + 0x2002, "not 4-byte aligned");
        refusedAddr(2, GPA + 0x2000, "unknown vring address flags 0x2");
        int fd = SealedMemfd.create(4096, true);
        try {
            setLogBase(fd, DirtyLog.bytesFor(GPA + SIZE), 0);
            setAddr(0, 1, GPA + SIZE - 0x1000 - 4096);
        } finally {
            SealedMemfd.close(fd);
        }
    }

    private void refusedAddr(int flags, long addr, String why) throws Exception {
        try {
            setAddr(0, flags, addr);
            fail("log address 0x" + Long.toHexString(addr) + " accepted");
        } catch (VhostUserException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(why));
        }
    }

    @Test
    public void sendRarpIsHandedToTheDataPathOnce() throws Exception {
        assertEquals(-1, dev.takeRarp());
        Message m = message(Request.SEND_RARP, 8);
        m.payload.put(new byte[] {0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0, 0}, 0, 8).rewind();
        dev.handle(m);
        assertEquals(0x525400123456L, dev.takeRarp());
        assertEquals(-1, dev.takeRarp());
        assertEquals("52:54:00:12:34:56", VhostDevice.macString(0x525400123456L));
    }

    @Test
    public void setLogFdClosesTheDescriptor() throws Exception {
        int fd = SealedMemfd.create(4096, true);
        Message m = message(Request.SET_LOG_FD, 0);
        m.fds[0] = fd;
        m.nfds = 1;
        dev.handle(m);
        Path link = Path.of("/proc/self/fd/" + fd);
        // the number may be taken again meanwhile (a jar opened by class loading), but not by the log memfd
        assertFalse("closed", Files.exists(link) && Files.readSymbolicLink(link).toString().startsWith("/memfd:log"));
    }
}
