package io.pvio.posix;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import com.sun.jna.LastErrorException;
import org.junit.Test;

/** A sealed memfd cannot change size, so a peer's mapping of it can never fault; an unsealed one can. */
public class SealedMemfdTest {
    @Test
    public void sealedMemfdRefusesTruncation() throws Exception {
        SharedMemory m = SharedMemory.createMemfd("sealed-test", 1 << 20, true);
        try {
            assertTrue(Fd.sealedAgainstShrinking(m.fd()));
            try {
                LibC.ftruncate(m.fd(), 4096);
                fail("a sealed memfd was truncated");
            } catch (LastErrorException e) {
                assertEquals(1, e.getErrorCode()); // EPERM
            }
            m.buffer().put((1 << 20) - 1, (byte) 7);
            assertEquals(7, m.buffer().get((1 << 20) - 1));
        } finally {
            m.unmap();
        }
    }

    @Test
    public void unsealedMemfdStaysUnsealed() throws Exception {
        SharedMemory m = SharedMemory.createMemfd("unsealed-test", 1 << 16);
        try {
            assertFalse(Fd.sealedAgainstShrinking(m.fd()));
        } finally {
            m.unmap();
        }
    }
}
