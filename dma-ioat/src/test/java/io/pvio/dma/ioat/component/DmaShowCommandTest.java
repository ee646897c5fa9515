package io.pvio.dma.ioat.component;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dma.DmaDevice;
import io.pvio.dma.spi.EngineChannel;
import io.pvio.dma.ioat.engine.ModelEngine;
import io.pvio.unixctl.UnixctlException;
import java.util.List;
import java.util.Map;
import org.junit.After;
import org.junit.Test;

public class DmaShowCommandTest {
    private final DmaShowCommand cmd = new DmaShowCommand();
    private EngineChannel a;
    private EngineChannel b;

    private void twoChannels() throws Exception {
        a = new EngineChannel("0000:00:04.1", "ioat", new ModelEngine("0000:00:04.1", -1), 64, "dma_ioat");
        b = new EngineChannel("0000:00:04.0", "ioat", new ModelEngine("0000:00:04.0", -1), 128, "dma_ioat");
        a.start();
        cmd.addChannel(a, Map.of(DmaDevice.ADDRESS_PROPERTY, "0000:00:04.1", DmaDevice.DRIVER_PROPERTY, "ioat",
                DmaDevice.ENGINE_PROPERTY, "model", DmaDevice.DEVICE_PROPERTY, "-"));
        cmd.addChannel(b, Map.of(DmaDevice.ADDRESS_PROPERTY, "0000:00:04.0", DmaDevice.DRIVER_PROPERTY, "dmadev",
                DmaDevice.ENGINE_PROPERTY, "dmadev", DmaDevice.DEVICE_PROPERTY, "dma_skeleton0"));
    }

    @After
    public void stop() {
        if (a != null) {
            a.stop();
        }
    }

    @Test
    public void showsEveryChannelSortedByAddress() throws Exception {
        twoChannels();
        assertEquals(0, a.copy(0, 0, 0, DmaDevice.FLAG_SUBMIT));
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
}
