package io.pvio.control.dma;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dma.DmaDevice;
import io.pvio.dma.DmaInfo;
import io.pvio.netdev.CustomStats;
import io.pvio.unixctl.UnixctlException;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.Test;

public class DmaShowCommandTest {
    private final DmaShowCommand cmd = new DmaShowCommand();
    private DmaDevice a;
    private DmaDevice b;

    /** A channel that only answers what dma/show asks: info, isStarted, stats. */
    static DmaDevice channel(String address, String driver, int ring, boolean started, Map<String, Long> stats) {
        DmaInfo info = new DmaInfo(address, driver, driver, "-", DmaDevice.CAPA_MEM_TO_MEM, ring, 64, 4096, -1);
        return (DmaDevice) Proxy.newProxyInstance(DmaShowCommandTest.class.getClassLoader(),
                new Class<?>[] {DmaDevice.class}, (p, m, args) -> switch (m.getName()) {
                    case "info" -> info;
                    case "isStarted" -> started;
                    case "stats" -> {
                        stats.forEach(((CustomStats) args[0])::put);
                        yield null;
                    }
                    case "hashCode" -> System.identityHashCode(p);
                    case "equals" -> p == args[0];
                    case "toString" -> address;
                    default -> throw new UnsupportedOperationException(m.getName());
                });
    }

    private void twoChannels() {
        a = channel("0000:00:04.1", "ioat", 64, true, Map.of("in_flight", 0L, "queued", 0L, "submitted", 1L,
                "completed", 1L, "engine_busy_ppm", 1234L, "doorbells", 1L, "wakeups", 1L));
        b = channel("0000:00:04.0", "dmadev", 128, false, Map.of("in_flight", 0L, "queued", 0L, "doorbells", 0L,
                "wakeups", 0L));
        cmd.addChannel(a, Map.of(DmaDevice.ADDRESS_PROPERTY, "0000:00:04.1", DmaDevice.DRIVER_PROPERTY, "ioat",
                DmaDevice.ENGINE_PROPERTY, "model", DmaDevice.DEVICE_PROPERTY, "-"));
        cmd.addChannel(b, Map.of(DmaDevice.ADDRESS_PROPERTY, "0000:00:04.0", DmaDevice.DRIVER_PROPERTY, "dmadev",
                DmaDevice.ENGINE_PROPERTY, "dmadev", DmaDevice.DEVICE_PROPERTY, "dma_skeleton0"));
    }

    @Test
    public void showsEveryChannelSortedByAddress() throws Exception {
        twoChannels();
        String out = cmd.run(List.of());
        String[] lines = out.split("\n");
        assertEquals(3, lines.length);
        assertTrue(lines[0], lines[0].matches("ADDRESS .* BUSY +DOORBELLS +WAKEUPS"));
        assertTrue(lines[1], lines[1].matches("0000:00:04\\.0 +dmadev +dmadev +dma_skeleton0 +128 +down +0 +0 +0 .* 0 +0"));
        assertTrue(lines[2], lines[2].matches("0000:00:04\\.1 +ioat +model +- +64 +up +[01] +[01] +1 +[01] .*% +1 +[01]"));
    }

    @Test
    public void filtersByAddressInAnyForm() throws Exception {
        twoChannels();
        String out = cmd.run(List.of("00:04.1"));
        assertTrue(out.contains("0000:00:04.1"));
        assertFalse(out.contains("0000:00:04.0"));
        cmd.removeChannel(a);
        try {
            cmd.run(List.of("00:04.1"));
            fail();
        } catch (UnixctlException e) {
            assertEquals("no DMA channel 0000:00:04.1", e.getMessage());
        }
    }

    @Test
    public void badArgumentsAreClearErrors() throws Exception {
        twoChannels();
        try {
            cmd.run(List.of("nonsense"));
            fail();
        } catch (UnixctlException e) {
            assertTrue(e.getMessage().contains("not a PCI address"));
        }
        try {
            cmd.run(List.of("00:04.0", "00:04.1"));
            fail();
        } catch (UnixctlException e) {
            assertTrue(e.getMessage().startsWith("usage"));
        }
    }

    /** The exact header and channel line, as before waiting channels were shown. */
    @Test
    public void theColumnsAreUnchanged() throws Exception {
        twoChannels();
        String[] lines = cmd.run(List.of()).split("\n");
        assertEquals("ADDRESS       DRIVER ENGINE DEVICE          RING STATE IN_FLIGHT QUEUED    SUBMITTED    COMPLETED"
                + "    FAILED RING_FULL   BUSY  DOORBELLS  WAKEUPS", lines[0]);
        assertEquals("0000:00:04.1  ioat   model  -                 64 up            0      0            1            1"
                + "         0         0   0.1%          1        1", lines[2]);
    }

    /** Configurations without a channel of their driver: waiting (no driver, or not yet) or refused. */
    @Test
    public void configuredChannelsWithoutTheirDriverAreShownWaiting() throws Exception {
        DmaEngines.Engine cpu = DmaEngines.named("cpu");
        DmaEngines.Engine dmadev = DmaEngines.named("dmadev");
        List<DmaConfigCommands.Configured> configured = List.of(
                new DmaConfigCommands.Configured(DmaEngines.MODEL, "io.pvio.dma.ioat~a", "0000:00:04.1", 64, null),
                new DmaConfigCommands.Configured(cpu, "io.pvio.dma.cpu~b", "0000:00:04.1", 512, null),
                new DmaConfigCommands.Configured(dmadev, "io.pvio.dma.dmadev~c", "0000:00:04.2", "1024", "dsa0"),
                new DmaConfigCommands.Configured(DmaEngines.MODEL, "io.pvio.dma.ioat~d", "0000:00:04.3", null, null));
        twoChannels();
        DmaEngines.Drivers drivers = new DmaEngines.Drivers(Set.of("io.pvio.dma.ioat", "io.pvio.dma.dmadev"),
                Set.of("io.pvio.dma.ioat~a", "io.pvio.dma.dmadev~c"));
        String[] lines = cmd.show(List.of(), configured, drivers).split("\n");
        assertEquals(String.join("\n", lines), 6, lines.length);
        assertTrue(lines[1], lines[1].startsWith("0000:00:04.0  dmadev dmadev dma_skeleton0    128 down "));
        assertEquals("0000:00:04.1  cpu    cpu    -                512 waiting       -      -            -"
                + "            -         -         -      -          -        -", lines[2]);
        assertTrue(lines[3], lines[3].startsWith("0000:00:04.1  ioat   model  -                 64 up "));
        assertTrue(lines[4], lines[4].matches("0000:00:04\\.2 +dmadev +dmadev +dsa0 +1024 refused +- .*"));
        assertTrue(lines[5], lines[5].matches("0000:00:04\\.3 +ioat +model +- +- waiting +- .*"));
        assertEquals("columns aligned", lines[0].length(), lines[2].length());
        assertEquals("IN_FLIGHT's end", lines[0].indexOf("IN_FLIGHT") + 9, lines[2].indexOf("waiting") + 15);

        cmd.removeChannel(a);
        cmd.removeChannel(b);
        String one = cmd.show(List.of("00:04.3"), configured, null);
        assertEquals(2, one.split("\n").length);
        assertTrue(one, one.contains("0000:00:04.3  ioat   model  -                  - waiting"));
        try {
            cmd.show(List.of("00:04.5"), configured, drivers);
            fail();
        } catch (UnixctlException e) {
            assertEquals("no DMA channel 0000:00:04.5", e.getMessage());
        }
    }
}
