package io.pvio.vhost.ring;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.pvio.posix.Fd;
import io.pvio.posix.SharedMemory;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import org.junit.Test;

/**
 * A memory file truncated behind a mapping: the SIGBUS HotSpot turns into an InternalError must surface at
 * {@link GuestMemory#faultFence()}, inside the error boundary of the code that touched the mapping, even in
 * compiled code; sealed files are recognised (and need no fence).
 */
public class GuestMemoryFaultTest {
    private static final long SIZE = 1 << 20;
    private static int sink;

    /** 0: no fault; 1: raised by the access itself; 2: raised by the fence. */
    private static int burst(GuestMemory m, int pages) {
        ByteBuffer v = m.view(0);
        try {
            int s = 0;
            for (int i = 0; i < pages; i++) {
                s += v.get(4096 * i + 8);
            }
            sink += s;
        } catch (InternalError e) {
            return 1;
        }
        try {
            m.faultFence();
        } catch (InternalError e) {
            return 2;
        }
        return 0;
    }

    @Test
    public void aLateFaultSurfacesAtTheFence() throws Exception {
        try (SharedMemory file = SharedMemory.createMemfd("truncated", SIZE)) {
            GuestMemory m = GuestMemory.map(new GuestMemory.Region[] {
                new GuestMemory.Region(0x1000_0000L, SIZE, 0x7000_0000L, 0)}, new int[] {file.fd()});
            try {
                assertFalse("a plain memfd is not sealed", m.sealed());
                for (int i = 0; i < 30_000; i++) { // compiled by now
                    assertEquals(0, burst(m, 64));
                }
                try (RandomAccessFile f = new RandomAccessFile("/proc/self/fd/" + file.fd(), "rw")) {
                    f.setLength(4096);
                }
                int r = burst(m, 64);
                assertTrue("the fault was raised inside the burst's error boundary (got " + r + ")", r == 1 || r == 2);
                // and nothing is left pending for whoever runs next on this thread
                GuestMemory.deliverPendingFault();
            } finally {
                m.unmap();
            }
        }
    }

    private static int read;

    /** {@link GuestMemory#readU16} into {@link #read}, then the fence: true when a fault was raised. */
    private static boolean readThenFence(GuestMemory m, ByteBuffer v, int off, ByteBuffer scratch, int mark) {
        read = -1;
        try {
            read = GuestMemory.readU16(v, off, scratch, mark);
            m.faultFence();
            return false;
        } catch (InternalError e) {
            return true;
        }
    }

    /**
     * {@link GuestMemory#readU16}: the value when the page is there; the mark, with the fault pending, when the
     * file was truncated under it (a plain load would leave some register's value), in compiled code too.
     */
    @Test
    public void aFaultingIndexReadLeavesItsMark() throws Exception {
        try (SharedMemory file = SharedMemory.createMemfd("index", SIZE)) {
            GuestMemory m = GuestMemory.map(new GuestMemory.Region[] {
                new GuestMemory.Region(0x1000_0000L, SIZE, 0x7000_0000L, 0)}, new int[] {file.fd()});
            try {
                ByteBuffer v = m.view(0);
                ByteBuffer scratch = ByteBuffer.allocateDirect(8);
                int off = 8 * 4096 + 2;
                v.putShort(off, (short) 0x1234);
                for (int i = 0; i < 30_000; i++) { // compiled by now
                    assertFalse(readThenFence(m, v, off, scratch, i & 0xffff ^ 0x8000));
                    assertEquals(0x1234, read);
                }
                try (RandomAccessFile f = new RandomAccessFile("/proc/self/fd/" + file.fd(), "rw")) {
                    f.setLength(4096);
                }
                for (int mark : new int[] {0x9235, 0, 0xffff, 0x1234 ^ 0x8000}) {
                    assertTrue("the read of a truncated page faulted", readThenFence(m, v, off, scratch, mark));
                    assertEquals("and stored nothing", mark, read);
                }
                GuestMemory.deliverPendingFault();
            } finally {
                m.unmap();
            }
        }
    }

    @Test
    public void aSealedMemfdIsRecognised() throws Exception {
        int fd = io.pvio.vhost.HostileFdsAccess.sealedMemfd(SIZE);
        try {
            GuestMemory m = GuestMemory.map(new GuestMemory.Region[] {
                new GuestMemory.Region(0, SIZE, 0x7000_0000L, 0)}, new int[] {fd});
            try {
                assertTrue(m.sealed());
                assertEquals(0, burst(m, 16));
            } finally {
                m.unmap();
            }
        } finally {
            Fd.closeQuietly(fd);
        }
    }
}
