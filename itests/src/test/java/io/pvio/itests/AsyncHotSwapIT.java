package io.pvio.itests;

import static io.pvio.itests.VhostLoad.VHU;
import static org.junit.Assert.assertEquals;

import io.pvio.dma.DmaDevice;
import io.pvio.dpif.Dpif;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.service.cm.Configuration;

/**
 * Issue 5: the DMA back end of an asynchronous vhost-user queue is swapped, updated, deconfigured and turned
 * off while 1518-byte frames flow from a pktgen through vhu0's txq0 (copied into guest memory by the DMA
 * channel 00:04.0) to a virtio-user front end and a validating pktgen sink. Every packet must arrive exactly
 * once, in order and intact, DMA copies must really have happened, and no packet buffer may leak.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class AsyncHotSwapIT extends PvioFramework {
    /** Frames per second: low enough for 2 cores (generator, PMD, DMA engine and the front end share them). */
    static final long RATE = Long.getLong("pvio.it.rate", 50_000); // 80 ms of traffic fit the guest ring of 4096: a 2-core CI machine descheduling a PMD or the engine for a few ms must not overflow it
    private static final String ADDR = "0000:00:04.0";
    private static final int SWAPS = 50;

    private VhostLoad load;

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
        bundleNamed(CPU_BSN).stop();
        bundleNamed(IOAT_BSN).start();
        deleteAllChannelConfigs();
    }

    /** Waits until vhu0 has made more DMA copies than {@code before} (its queue is bound to a channel). */
    private void awaitDmaCopies(String what, long before) throws InterruptedException {
        await(what + ": vhu0 copies through a DMA channel (from " + before + "; " + load.stats(VHU) + ")",
                () -> load.statSum(VHU, "dma_copies") > before);
    }

    private long dma() {
        return load.statSum(VHU, "dma_copies");
    }

    private long t0 = System.nanoTime();

    /** One line per phase: time, sink counters and vhu0's drops (the report of a failed run says where). */
    private void phase(String what) {
        load.dropsDuring(what.replaceAll(" [0-9]+ to ", " to "));
        System.out.printf("%6d ms %-40s %s dma=%d cpu=%d%n", (System.nanoTime() - t0) / 1_000_000, what,
                load.sinkSummary(), load.statSum(VHU, "dma_copies"), load.statSum(VHU, "cpu_copies"));
    }

    @Test
    public void hotSwapsUnderLoadLoseNothing() throws Exception {
        Configuration ioatCfg = channelConfig(IOAT_PID, "00:04.0", "ring.size", 256);
        channelConfig(CPU_PID, "00:04.0", "ring.size", 256);
        awaitChannel(ADDR, "ioat");
        Dpif dpif = service(Dpif.class);
        load = new VhostLoad(dpif, this::appctl);
        load.build("(txq0,00:04.0,256)", 1518, RATE, true);
        load.start();
        t0 = System.nanoTime();
        load.awaitProgress("traffic", 5_000);
        awaitDmaCopies("async copies on", 0);
        System.out.println("before the swaps: " + load.sinkSummary() + " vhu0 " + load.stats(VHU));

        Bundle ioat = bundleNamed(IOAT_BSN);
        Bundle cpuB = bundleNamed(CPU_BSN);
        for (int i = 0; i < SWAPS; i++) {
            boolean toCpu = i % 2 == 0;
            Bundle from = toCpu ? ioat : cpuB;
            Bundle to = toCpu ? cpuB : ioat;
            from.stop();
            long d = dma();
            to.start();
            awaitChannel(ADDR, toCpu ? "cpu" : "ioat");
            awaitDmaCopies("swap " + (i + 1) + " to " + (toCpu ? "cpu" : "ioat"), d);
            load.awaitProgress("swap " + (i + 1), 1_000);
            phase("swap " + (i + 1) + " to " + (toCpu ? "cpu" : "ioat"));
        }
        assertEquals("the last swap brought dma-ioat back", Bundle.ACTIVE, ioat.getState());

        // Bundle.update of dma-ioat (same jar): channels unregistered, bundle replaced, re-registered
        long d = dma();
        ioat.update();
        awaitChannel(ADDR, "ioat");
        awaitDmaCopies("after the dma-ioat update", d);
        load.awaitProgress("after the dma-ioat update", 5_000);
        phase("after the dma-ioat update");

        // the channel's configuration deleted: the queue copies with the CPU, then rebinds to the new one
        DmaDevice gone = ctx().getService(awaitChannel(ADDR, "ioat"));
        ioatCfg.delete();
        // Felix removes a service from the registry before its UNREGISTERING listeners (the vhost unbind)
        // run; the provider stops the channel only after they returned, so a stopped channel = unbound
        await("the deleted channel stopped (after the vhost unbind)", () -> !gone.isStarted());
        awaitNoChannel(dmaFilter(ADDR, "ioat"));
        d = dma();
        load.awaitProgress("without a channel", 5_000);
        phase("without a channel");
        assertEquals("no DMA copy without a channel: " + load.stats(VHU), d, dma());
        ioatCfg = channelConfig(IOAT_PID, "00:04.0", "ring.size", 256);
        awaitChannel(ADDR, "ioat");
        awaitDmaCopies("after the configuration was re-created", d);
        load.awaitProgress("after the configuration was re-created", 5_000);
        phase("after the configuration was re-created");

        // vhost-async-copy-support off: no DMA copy any more; on again: DMA copies resume
        load.setAsyncSupport(false);
        d = dma();
        load.awaitProgress("async copy support off", 10_000);
        phase("async copy support off");
        assertEquals("no DMA copy while vhost-async-copy-support=false: " + load.stats(VHU), d, dma());
        load.setAsyncSupport(true);
        awaitDmaCopies("async copy support on again", d);
        phase("async copy support on again");

        long count = load.finishAfter(50_000);
        load.assertExactDelivery(count);
        System.out.println("after " + SWAPS + " swaps, an update, a re-configuration and a support flip: "
                + load.sinkSummary() + " vhu0 " + load.stats(VHU));
        assertEquals("vhu0 dropped nothing: " + load.stats(VHU), 0, load.stat(VHU, "tx_dropped"));
        assertEquals("no DMA error: " + load.stats(VHU), 0, load.statSum(VHU, "dma_errors"));
        load.tearDown();
        load = null;
    }
}
