package io.pvio.vhost;

import io.pvio.vhost.netdev.VhostPort;
import io.pvio.vhost.netdev.VhostUserServerClass;
import java.util.Map;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * Issue 15, synchronous copies: a front end truncates its memory file while pvio's "PMD" copies its frames
 * (and copies frames to it) on the CPU. A SIGBUS of such a copy surfaces later, at a safepoint poll or a
 * runtime call of the same thread: it must never land in packet-pool bookkeeping or between a packet's
 * allocation and its hand-over, where a buffer would be lost. A second thread asks for the PMD's stack all
 * the time, so that the PMD passes safepoints at many places of its burst. Every round must end with no
 * packet buffer in use ({@link TruncationRounds}).
 */
public class TruncationLeakTest {
    private TestContext ctx;
    private TruncationRounds rounds;

    @Before
    public void setUp() throws Exception {
        ctx = new TestContext(8192);
        VhostPort port = (VhostPort) new VhostUserServerClass().open("leak0", Map.of(), ctx);
        rounds = new TruncationRounds(ctx, port, "trunc-leak");
    }

    @After
    public void tearDown() throws Exception {
        rounds.close();
        ctx.cleanup();
    }

    @Test
    public void truncatedUnderCpuCopiesLeaksNothing() throws Exception {
        rounds.runChecked("TruncationLeakTest", "trunc-", false);
    }

    /** The same on packed virtqueues, whose walks read each descriptor's flags inside the burst. */
    @Test
    public void truncatedPackedRingUnderCpuCopiesLeaksNothing() throws Exception {
        rounds.runChecked("TruncationLeakTest (packed)", "ptrunc-", true);
    }
}
