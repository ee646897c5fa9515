package io.pvio.itests;

import static io.pvio.itests.VhostLoad.VHU;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pvio.dma.DmaDevice;
import io.pvio.dpif.Dpif;
import java.util.HashMap;
import java.util.Map;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.service.cm.Configuration;

/**
 * Issue 5, faults under load (topology of {@link VhostLoad}): vhu0's txq0 copies through a DMA channel that
 * fails 30 % of its copies (fault.error.rate=0.3), then, after a live change of vhost-async-attr, through a
 * channel that stalls (fault.stall=true with traffic, then cleared).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class AsyncFaultsIT extends PvioFramework {
    private static final String FAILING = "0000:00:04.0";
    private static final String STALLING = "0000:00:04.1";

    private VhostLoad load;
    private final long t0 = System.nanoTime();

    @Before
    public void providers() throws Exception {
        bundleNamed(CPU_BSN).stop();
        bundleNamed(IOAT_BSN).start();
        deleteAllChannelConfigs();
    }

    @After
    public void cleanUp() throws Exception {
        if (load != null) {
            load.tearDown();
        }
        deleteAllChannelConfigs();
    }

    private void phase(String what) {
        load.dropsDuring(what);
        System.out.printf("%6d ms %-36s %s dma=%d dma_errors=%d cpu=%d ring_full=%d%n",
                (System.nanoTime() - t0) / 1_000_000, what, load.sinkSummary(), load.statSum(VHU, "dma_copies"),
                load.statSum(VHU, "dma_errors"), load.statSum(VHU, "cpu_copies"),
                load.statSum(VHU, "ring_full_fallbacks"));
    }

    private long channelStat(String address, String name) {
        DmaDevice d = ctx().getService(dmaRefs(dmaFilter(address, "ioat")).get(0));
        Map<String, Long> m = new HashMap<>();
        d.stats(m::put);
        return m.getOrDefault(name, -1L);
    }

    /** Builds the topology on {@code attr} and starts the generator. */
    private Dpif startLoad(String attr) throws Exception {
        Dpif dpif = service(Dpif.class);
        load = new VhostLoad(dpif, this::appctl);
        load.build(attr, 1518, AsyncHotSwapIT.RATE, true);
        load.start();
        return dpif;
    }

    /** Stalls the channel of {@code c} and waits until 256 copies (its whole ring) are stuck in it. */
    private void stall(Configuration c, String address) throws Exception {
        updateConfig(c, "fault.stall", true);
        await(() -> address + " stalled with its ring full: " + load.diag(),
                () -> channelStat(address, "stalled") == 1 && channelStat(address, "in_flight") == 256);
    }

    private void clearStall(Configuration c, String address) throws Exception {
        updateConfig(c, "fault.stall", false);
        await("stall of " + address + " cleared", () -> channelStat(address, "stalled") == 0);
    }

    /**
     * A channel failing 30 % of its copies, a live move of txq0 to another channel, and a stall of that
     * channel cleared as soon as its ring is full (while the guest ring still has room): nothing lost.
     */
    @Test
    public void failingAndBrieflyStalledChannelsLoseAndCorruptNothing() throws Exception {
        double rate = Double.parseDouble(System.getProperty("pvio.it.errorRate", "0.3"));
        channelConfig(IOAT_PID, "00:04.0", "ring.size", 256, "fault.error.rate", rate);
        Configuration stalling = channelConfig(IOAT_PID, "00:04.1", "ring.size", 256);
        awaitChannel(FAILING, "ioat");
        awaitChannel(STALLING, "ioat");
        Dpif dpif = startLoad("(txq0,00:04.0,256)");

        // failing channel: copies that fail are redone by the CPU, never delivered broken
        await(() -> "DMA errors seen by vhu0: " + load.diag(), () -> load.statSum(VHU, "dma_errors") > 1000);
        load.awaitProgress("with a failing channel", 50_000);
        phase("failing channel");
        assertTrue("the channel reports failed copies", channelStat(FAILING, "failed") > 0);
        assertEquals("no corruption with a failing channel: " + load.sinkSummary(), 0, load.sink().rxCorrupt());

        // live change of the queue's channel
        dpif.setInterface(VHU, "dpdkvhostuser", Map.of("vhost-async-attr", "(txq0,00:04.1,256)"));
        long before = channelStat(STALLING, "submitted");
        await("copies through " + STALLING, () -> channelStat(STALLING, "submitted") > before);
        load.awaitProgress("after moving txq0 to " + STALLING, 20_000);
        phase("moved to 00:04.1");

        // a short stall: cleared once the channel's ring is full
        long errorsBefore = load.statSum(VHU, "dma_errors");
        stall(stalling, STALLING);
        phase("stalled (ring full)");
        clearStall(stalling, STALLING);
        load.awaitProgress("after the stall", 20_000);
        phase("stall cleared");

        long count = load.finishAfter(50_000);
        load.assertExactDelivery(count);
        phase("done");
        assertEquals("the stall caused no DMA error", errorsBefore, load.statSum(VHU, "dma_errors"));
        load.tearDown();
        load = null;
    }

    /**
     * A stall of 200 ms with traffic: the queue cannot publish anything behind the stuck copies, so once the
     * guest ring is full vhu0 drops (documented: "Packets the guest has no room for are freed and counted as
     * tx_dropped"). What must hold: every packet is delivered intact and in order or counted as dropped,
     * and the queue recovers (DMA copies and deliveries resume) once the stall is cleared.
     */
    @Test
    public void aLongStallOnlyDropsWhatTheGuestHasNoRoomFor() throws Exception {
        Configuration stalling = channelConfig(IOAT_PID, "00:04.1", "ring.size", 256);
        awaitChannel(STALLING, "ioat");
        startLoad("(txq0,00:04.1,256)");
        load.awaitProgress("traffic", 20_000);
        phase("traffic");
        stall(stalling, STALLING);
        phase("stalled (ring full)");
        Thread.sleep(200); // traffic keeps coming while the channel makes no progress
        phase("stalled +200 ms");
        long dma = load.statSum(VHU, "dma_copies");
        clearStall(stalling, STALLING);
        load.awaitProgress("after the stall", 20_000);
        await(() -> "DMA copies after the stall: " + load.diag(), () -> load.statSum(VHU, "dma_copies") > dma);
        phase("stall cleared");
        long count = load.finishAfter(50_000);
        long dropped = load.assertAccounted(count);
        phase("done");
        System.out.println("a 200 ms stall at " + AsyncHotSwapIT.RATE + " pps with a guest ring of "
                + VhostLoad.QUEUE_SIZE + ": " + dropped + " of " + count + " packets dropped (counted)");
        load.tearDown();
        load = null;
    }
}
