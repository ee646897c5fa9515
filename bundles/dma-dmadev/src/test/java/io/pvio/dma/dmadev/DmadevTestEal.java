package io.pvio.dma.dmadev;

import java.util.List;

/** EAL for the tests of this JVM: two dma_skeleton devices, no PCI, no hugepages. */
final class DmadevTestEal {
    static final List<String> ARGS = List.of("--no-huge", "-m", "64", "--no-pci", "--no-shconf", "--no-telemetry",
            "--lcores", "0@(0-" + (Runtime.getRuntime().availableProcessors() - 1) + ")", "--vdev=dma_skeleton0",
            "--vdev=dma_skeleton1");

    private DmadevTestEal() {
    }

    static void start() throws Exception {
        Eal.ensureStarted(ARGS);
    }
}
