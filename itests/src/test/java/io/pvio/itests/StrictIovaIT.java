package io.pvio.itests;

import static io.pvio.itests.VhostLoad.VHU;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import io.pvio.dma.DmaMemory;
import io.pvio.dpif.Dpif;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/**
 * Issue 20, memory registration: the whole switch with dma-dmadev's strict IOVA mode on (a copy outside
 * memory registered through DmaMemory fails, as behind an IOMMU). The guest memory of vhu0 and the
 * datapath's packet pool are registered before the EAL runs (no dmadev channel yet) and mapped when the
 * first dmadev channel starts it; the dma-dmadev bundle is then restarted under traffic (its DmaMemory
 * goes after its channel drained, withdrawing its mappings, and comes back before its channel, getting
 * them replayed). Every frame arrives exactly once and no copy is refused.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class StrictIovaIT extends PvioFramework {
    private static final String ADDR = "0000:00:04.0";
    private static final int RESTARTS = 5;
    private VhostLoad load;
    /** What the EAL, the vhost back end and the datapath log (held: JUL keeps loggers weakly). */
    private final List<Logger> loggers = List.of(Logger.getLogger("dpdk"), Logger.getLogger("netdev_dpdk"),
            Logger.getLogger("dpif_netdev"));
    private final List<String> log = new CopyOnWriteArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
            log.add(r.getLoggerName() + ": " + r.getMessage());
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    private long logged(String part) {
        return log.stream().filter(l -> l.contains(part)).count();
    }

    @Before
    public void providers() throws Exception {
        loggers.forEach(l -> {
            l.setLevel(java.util.logging.Level.INFO); // the framework's default may be WARN
            l.addHandler(capture);
        });
        bundleNamed(CPU_BSN).stop();
        bundleNamed(IOAT_BSN).start();
        bundleNamed(DMADEV_BSN).start();
        deleteAllChannelConfigs();
    }

    @After
    public void cleanUp() throws Exception {
        loggers.forEach(l -> l.removeHandler(capture));
        if (load != null) {
            load.tearDown();
        }
        bundleNamed(IOAT_BSN).start();
        deleteAllChannelConfigs();
    }

    @Test
    public void strictIovaThroughRegistrationAndABundleRestartRefusesNoCopy() throws Exception {
        org.osgi.service.cm.Configuration eal = configAdmin().getConfiguration("io.pvio.dpdk.eal", "?");
        Hashtable<String, Object> p = new Hashtable<>();
        p.put("iova.strict", true);
        eal.update(p);
        assertNotNull("dma-dmadev offers DmaMemory", ctx().getServiceReference(DmaMemory.class));

        Dpif dpif = service(Dpif.class);
        load = new VhostLoad(dpif, this::appctl);
        channelConfig(IOAT_PID, "00:04.0", "ring.size", 256); // the port needs a channel to accept its attr
        awaitChannel(ADDR, "ioat");
        load.build("(txq0,00:04.0,256)", 1518, AsyncDmadevSwapIT.RATE, true); // guest memory mapped, no EAL yet
        bundleNamed(IOAT_BSN).stop();
        channelConfig(DMADEV_PID, "00:04.0", "device", "dma_skeleton0", "ring.size", 256); // EAL starts here
        awaitChannel(ADDR, "dmadev");
        assertEquals(log.toString(), 1, logged("dpdk: strict IOVA: dmadev copies outside registered memory fail"));
        // vu0's guest memory (one slice) and the datapath's pool, registered while there was no EAL
        assertEquals(log.toString(), 1, logged("dpdk: 2 memory range(s) registered before EAL started mapped"));
        load.start();
        load.awaitProgress("traffic", 5_000);
        await("DMA copies on dmadev (" + load.stats(VHU) + ")", () -> load.statSum(VHU, "dma_copies") > 1_000);
        assertEquals("no copy refused: " + load.stats(VHU), 0, load.statSum(VHU, "dma_errors"));

        for (int i = 1; i <= RESTARTS; i++) {
            bundleNamed(DMADEV_BSN).stop(); // its channel drains and goes, then its DmaMemory
            long before = load.statSum(VHU, "dma_copies");
            bundleNamed(DMADEV_BSN).start();
            awaitChannel(ADDR, "dmadev");
            assertEquals(log.toString(), i, logged("netdev_dpdk: vhost-user guest memory: DMA memory service dpdk"
                    + " dmadev (EAL up) bound, 1 of 1 registered range(s) mapped on it"));
            assertEquals(log.toString(), i, logged("dpif_netdev: dpif-netdev packet pool: DMA memory service dpdk"
                    + " dmadev (EAL up) bound, 1 of 1 registered range(s) mapped on it"));
            await("restart " + i + ": copies through dmadev again (" + load.stats(VHU) + ")",
                    () -> load.statSum(VHU, "dma_copies") > before + 1_000);
            load.awaitProgress("restart " + i, 1_000);
            assertEquals("restart " + i + ": no copy refused: " + load.stats(VHU), 0,
                    load.statSum(VHU, "dma_errors"));
        }
        long count = load.finishAfter(30_000);
        load.assertExactDelivery(count);
        System.out.println("strict IOVA, " + RESTARTS + " dma-dmadev restarts: " + load.sinkSummary() + " vhu0 "
                + load.stats(VHU));
        assertEquals("vhu0 dropped nothing: " + load.stats(VHU), 0, load.stat(VHU, "tx_dropped"));
        assertEquals("no copy refused: " + load.stats(VHU), 0, load.statSum(VHU, "dma_errors"));
        assertTrue(load.statSum(VHU, "dma_copies") > 0);
        load.tearDown();
        load = null;
    }
}
