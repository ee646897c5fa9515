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
 * Issue 5, faults under load: vhu0's txq0 copies through a DMA channel that fails 30 % of its copies
 * (fault.error.rate=0.3), then, after a live change of vhost-async-attr, through a channel that stalls
 * (fault.stall=true with traffic, then cleared). The sink must see no loss and no corruption.
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

    @Test
    public void failingAndStallingChannelsLoseAndCorruptNothing() throws Exception {
        double rate = Double.parseDouble(System.getProperty("pvio.it.errorRate", "0.3"));
        channelConfig(IOAT_PID, "00:04.0", "ring.size", 256, "fault.error.rate", rate);
        Configuration stalling = channelConfig(IOAT_PID, "00:04.1", "ring.size", 256);
        awaitChannel(FAILING, "ioat");
        awaitChannel(STALLING, "ioat");
        Dpif dpif = service(Dpif.class);
        load = new VhostLoad(dpif, this::appctl);
        load.build("(txq0,00:04.0,256)", 1518, AsyncHotSwapIT.RATE, true);
        load.start();

        // failing channel: copies that fail must be redone, not delivered broken or dropped
        await(() -> "DMA errors seen by vhu0: " + load.diag(), () -> load.statSum(VHU, "dma_errors") > 1000);
        load.awaitProgress("with a failing channel", 50_000);
        phase("failing channel");
        assertTrue("the channel reports failed copies", channelStat(FAILING, "failed") > 0);
        assertEquals("no corruption with a failing channel: " + load.sinkSummary(), 0, load.sink().rxCorrupt());

        // live change of the queue's channel, then a stall of the new one with traffic
        dpif.setInterface(VHU, "dpdkvhostuser", Map.of("vhost-async-attr", "(txq0,00:04.1,256)"));
        long before = channelStat(STALLING, "submitted");
        await("copies through " + STALLING, () -> channelStat(STALLING, "submitted") > before);
        load.awaitProgress("after moving txq0 to " + STALLING, 20_000);
        phase("moved to 00:04.1");
        long errorsBefore = load.statSum(VHU, "dma_errors");
        updateConfig(stalling, "fault.stall", true);
        await("channel stalled with its ring full", () -> channelStat(STALLING, "stalled") == 1
                && channelStat(STALLING, "in_flight") == 256);
        phase("stalled");
        Thread.sleep(200); // traffic keeps coming while the channel makes no progress
        phase("stalled +200 ms");
        updateConfig(stalling, "fault.stall", false);
        await("stall cleared", () -> channelStat(STALLING, "stalled") == 0);
        load.awaitProgress("after the stall", 20_000);
        phase("stall cleared");

        long count = load.finishAfter(50_000);
        load.assertExactDelivery(count);
        phase("done");
        assertEquals("the stall caused no DMA error", errorsBefore, load.statSum(VHU, "dma_errors"));
        load.tearDown();
        load = null;
    }
}
