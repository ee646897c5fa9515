package io.pvio.vhost.ring;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.posix.SharedMemory;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import org.junit.Assume;
import org.junit.Test;

/**
 * {@link GuestMemory#deliverPendingFault()} raises a fault that compiled code left pending (HotSpot records a
 * SIGBUS in an unsafe access and raises it later), right there, and allocates nothing (issue 21).
 */
public class FaultFenceTest {
    private static final long SIZE = 1 << 20;
    private static final int PAGES = 64;
    private static int sink;

    /** Reads a byte of each page; compiled, a fault raises nothing here (it is left pending). */
    private static int touch(ByteBuffer v) {
        int s = 0;
        for (int i = 0; i < PAGES; i++) {
            s += v.get(4096 * i + 8);
        }
        return s;
    }

    /** Unless the JVM's options make HotSpot compile huge methods (then the allocating fence is right). */
    private static void assumeDefaultCompilation() {
        Assume.assumeFalse("the JVM compiles huge methods", FaultFence.hugeMethodsCompiled());
        Assume.assumeTrue(System.getProperty("pvio.vhost.faultFence") == null);
    }

    @Test
    public void theFenceInUseIsTheAllocationFreeOne() {
        assumeDefaultCompilation();
        assertTrue("the interpreted fence is defined (else every fence allocates 16 bytes)", FaultFence.interpreted());
        assertTrue(!GuestMemory.faultFenceAllocates());
    }

    /** 0: nothing was raised; 1: the read raised the fault itself; 2: the fence raised it. */
    private static int readThenFence(ByteBuffer v) {
        try {
            sink += touch(v);
        } catch (InternalError e) {
            return 1;
        }
        try {
            GuestMemory.deliverPendingFault();
        } catch (InternalError e) {
            assertTrue(e.getMessage(), e.getMessage().contains("unsafe memory access"));
            return 2;
        }
        return 0;
    }

    /**
     * A fault that compiled code left pending is raised by the fence: {@link #readThenFence} (compiled by then)
     * returns 2, where a fence that is no such transition returns 0 (the error would surface later, anywhere).
     * An attempt whose read raised the fault itself (not compiled yet, or a safepoint came) proves nothing
     * and is redone with the file grown back, warmer.
     */
    @Test
    public void aPendingFaultIsRaisedAtTheFence() throws Exception {
        try (SharedMemory file = SharedMemory.createMemfd("fence", SIZE);
                RandomAccessFile f = new RandomAccessFile("/proc/self/fd/" + file.fd(), "rw")) {
            ByteBuffer v = file.buffer();
            int raisedByRead = 0;
            for (int attempt = 0; attempt < 10; attempt++) {
                f.setLength(SIZE);
                for (int i = 0; i < 20_000; i++) {
                    assertEquals(0, readThenFence(v));
                }
                f.setLength(4096);
                int r = readThenFence(v);
                assertTrue("the fault of the read was left pending past the fence", r != 0);
                if (r == 2) {
                    try {
                        GuestMemory.deliverPendingFault();
                    } catch (InternalError e) {
                        fail("delivered twice: " + e);
                    }
                    return;
                }
                raisedByRead++;
            }
            fail("the read raised the fault itself in every attempt (" + raisedByRead + ")");
        }
    }

    /** 0 B per fence once warm, with and without compiled callers (ThreadMXBean counts this thread's bytes). */
    @Test
    public void aFenceAllocatesNothing() {
        assumeDefaultCompilation();
        Assume.assumeTrue(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean);
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().getId();
        fences(200_000);
        long before = mx.getThreadAllocatedBytes(tid);
        fences(1_000_000);
        long allocated = mx.getThreadAllocatedBytes(tid) - before;
        assertTrue("1,000,000 fences allocated " + allocated + " bytes", allocated < 1024);
    }

    private static void fences(int n) {
        for (int i = 0; i < n; i++) {
            GuestMemory.deliverPendingFault();
        }
    }
}
