package io.pvio.itests;

import static io.pvio.itests.VhostLoad.VHU;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pvio.dma.DmaDevice;
import io.pvio.dpif.Dpif;
import java.util.List;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceReference;

/**
 * Issue 20: the DMA engine of vhu0's txq0 (channel 00:04.0) is swapped model ⇄ dmadev ⇄ cpu while 1518-byte
 * frames flow from a pktgen through it to a virtio-user front end and a validating sink. The dmadev channel
 * runs on DPDK's dma_skeleton0 through the shim, EAL started once in this JVM by dma-dmadev and kept across
 * the bundle's restarts. Every packet arrives exactly once, in order and intact; each engine really copied.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class AsyncDmadevSwapIT extends PvioFramework {
    private static final String ADDR = "0000:00:04.0";
    /** model, dmadev, cpu, dmadev, model...: every pair of neighbours swapped both ways. */
    private static final List<String> ORDER = List.of("ioat", "dmadev", "cpu", "dmadev");
    private static final int SWAPS = 12;
    /**
     * Frames per second: below AsyncHotSwapIT's, because dma_skeleton's copy thread polls its ring without
     * sleeping while it has work, a fourth busy thread on a 2-core CI machine (generator, PMD, front end).
     */
    static final long RATE = Long.getLong("pvio.it.dmadev.rate", 20_000);

    private VhostLoad load;

    @Before
    public void providers() throws Exception {
        bundleNamed(CPU_BSN).stop();
        bundleNamed(DMADEV_BSN).stop();
        bundleNamed(IOAT_BSN).start();
        deleteAllChannelConfigs();
    }

    @After
    public void cleanUp() throws Exception {
        if (load != null) {
            load.tearDown();
        }
        bundleNamed(CPU_BSN).stop();
        bundleNamed(DMADEV_BSN).start();
        bundleNamed(IOAT_BSN).start();
        deleteAllChannelConfigs();
    }

    private Bundle bundleOf(String driver) {
        return bundleNamed(switch (driver) {
            case "ioat" -> IOAT_BSN;
            case "cpu" -> CPU_BSN;
            default -> DMADEV_BSN;
        });
    }

    @Test
    public void modelDmadevCpuSwapsUnderLoadLoseNothing() throws Exception {
        channelConfig(IOAT_PID, "00:04.0", "ring.size", 256);
        channelConfig(CPU_PID, "00:04.0", "ring.size", 256);
        channelConfig(DMADEV_PID, "00:04.0", "device", "dma_skeleton0", "ring.size", 256);
        awaitChannel(ADDR, "ioat");
        Dpif dpif = service(Dpif.class);
        load = new VhostLoad(dpif, this::appctl);
        load.build("(txq0,00:04.0,256)", 1518, RATE, true);
        load.start();
        load.awaitProgress("traffic", 5_000);
        await("DMA copies on the model", () -> load.statSum(VHU, "dma_copies") > 0);

        String current = "ioat";
        for (int i = 1; i <= SWAPS; i++) {
            String next = ORDER.get(i % ORDER.size());
            bundleOf(current).stop();
            long before = load.statSum(VHU, "dma_copies");
            bundleOf(next).start();
            ServiceReference<DmaDevice> ref = awaitChannel(ADDR, next);
            String what = "swap " + i + " " + current + " to " + next;
            await(what + ": vhu0 copies through the channel (" + load.stats(VHU) + ")",
                    () -> load.statSum(VHU, "dma_copies") > before);
            load.awaitProgress(what, 1_000);
            if (next.equals("dmadev")) {
                assertEquals("dma_skeleton0", ref.getProperty(DmaDevice.DEVICE_PROPERTY));
                assertEquals("dmadev", ref.getProperty(DmaDevice.ENGINE_PROPERTY));
            }
            System.out.println(what + ": " + load.sinkSummary() + " dma=" + load.statSum(VHU, "dma_copies"));
            current = next;
        }
        // dma/show (a control command) names each channel's engine and device
        assertEquals("the last swap brought the model back", "ioat", current);
        bundleOf("dmadev").start();
        awaitChannel(ADDR, "dmadev");
        String show = appctl("dma/show", ADDR);
        assertTrue(show, show.matches("(?s).*0000:00:04\\.0 +dmadev +dmadev +dma_skeleton0 +256 +up .*"));
        assertTrue(show, show.matches("(?s).*0000:00:04\\.0 +ioat +model +- +256 +up .*"));
        long count = load.finishAfter(50_000);
        load.assertExactDelivery(count);
        System.out.println("after " + SWAPS + " model/dmadev/cpu swaps: " + load.sinkSummary() + " vhu0 "
                + load.stats(VHU));
        assertEquals("vhu0 dropped nothing: " + load.stats(VHU), 0, load.stat(VHU, "tx_dropped"));
        assertEquals("no DMA error: " + load.stats(VHU), 0, load.statSum(VHU, "dma_errors"));
        load.tearDown();
        load = null;
    }
}
