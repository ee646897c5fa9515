package io.pvio.vhost;

import static org.junit.Assert.assertEquals;

import io.pvio.dma.DmaDevice;
import io.pvio.dma.ioat.engine.ModelEngine;
import io.pvio.dma.spi.EngineChannel;
import io.pvio.vhost.async.AsyncBinder;
import io.pvio.vhost.netdev.VhostPort;
import io.pvio.vhost.netdev.VhostUserServerClass;
import java.util.Map;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * Issue 15, asynchronous copies: as {@link TruncationLeakTest}, but every copy goes through a DMA channel, so
 * the PMD's enqueue walk touches the guest (descriptors, used ring) on the CPU and then retires earlier
 * packets, freeing them, in the same call. A late SIGBUS of the walk must surface before those frees, never
 * inside the pool's bookkeeping. A second thread asks for the PMD's stack all the time, so that the PMD passes
 * safepoints at many places of its burst. Every round must end with no packet buffer in use.
 */
public class AsyncTruncationLeakTest {
    private static final String A0 = "0000:00:04.0";

    private TestContext ctx;
    private AsyncBinder binder;
    private EngineChannel ch;
    private TruncationRounds rounds;

    @Before
    public void setUp() throws Exception {
        ctx = new TestContext(8192);
        binder = new AsyncBinder();
        VhostUserServerClass cls = new VhostUserServerClass(binder);
        cls.setOtherConfig(Map.of("vhost-async-copy-support", "true"));
        ch = new EngineChannel(A0, "ioat", new ModelEngine(A0, -1), 256, "dma_ioat");
        ch.start();
        binder.addDevice(ch, Map.of(DmaDevice.ADDRESS_PROPERTY, A0, DmaDevice.DRIVER_PROPERTY, "ioat",
                "service.id", 1L));
        VhostPort port = (VhostPort) cls.open("aleak0", Map.of("vhost-async-attr",
                "(txq0,00:04.0,1024),(rxq0,00:04.0,4096)"), ctx);
        rounds = new TruncationRounds(ctx, port, "async-trunc-leak");
    }

    @After
    public void tearDown() throws Exception {
        rounds.close();
        binder.removeDevice(ch);
        ch.stop();
        assertEquals("packet buffers in use after the port closed", 0, ctx.pool.inUse());
        ctx.cleanup();
    }

    @Test
    public void truncatedUnderDmaCopiesLeaksNothing() throws Exception {
        rounds.runChecked("AsyncTruncationLeakTest", "atrunc-", false);
    }

    /** The same on packed virtqueues: the tracker retires their used descriptors in ring order. */
    @Test
    public void truncatedPackedRingUnderDmaCopiesLeaksNothing() throws Exception {
        rounds.runChecked("AsyncTruncationLeakTest (packed)", "aptrunc-", true);
    }
}
