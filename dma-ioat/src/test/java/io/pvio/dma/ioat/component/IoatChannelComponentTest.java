package io.pvio.dma.ioat.component;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaDevice;
import io.pvio.memory.NativeMemory;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

public class IoatChannelComponentTest {
    @Rule
    public Timeout guard = new Timeout(60, TimeUnit.SECONDS);

    private final Fakes.Context fw = new Fakes.Context();
    private final List<IoatChannelComponent> active = new ArrayList<>();
    private final List<LogRecord> logged = new ArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
            synchronized (logged) {
                logged.add(r);
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @Before
    public void hook() {
        Logger.getLogger("dma_ioat").addHandler(capture);
    }

    @After
    public void cleanUp() {
        for (IoatChannelComponent c : active) {
            c.deactivate();
        }
        Logger.getLogger("dma_ioat").removeHandler(capture);
    }

    private static Map<String, Object> values(String address, int ring) {
        Map<String, Object> v = new HashMap<>();
        v.put("address", address);
        v.put("ring_size", ring);
        return v;
    }

    private IoatChannelComponent activate(String pid, Map<String, Object> values) {
        IoatChannelComponent c = new IoatChannelComponent();
        c.activate(fw.bundleContext(), Fakes.config(IoatConfig.class, values), Map.of("service.pid", pid));
        active.add(c);
        return c;
    }

    private boolean loggedSevere(String part) {
        synchronized (logged) {
            return logged.stream().anyMatch(r -> r.getLevel().getName().equals("SEVERE") && r.getMessage().contains(part));
        }
    }

    @Test
    public void publishesAStartedChannelWithItsProperties() {
        IoatChannelComponent c = activate("io.pvio.dma.ioat~a", values("00:04.3", 512));
        assertEquals(1, fw.live().size());
        Fakes.Registration r = fw.live().get(0);
        assertSame(c.channel(), r.service);
        assertEquals("0000:00:04.3", r.props.get(DmaDevice.ADDRESS_PROPERTY));
        assertEquals("ioat", r.props.get(DmaDevice.DRIVER_PROPERTY));
        assertEquals(512, r.props.get(DmaDevice.RING_SIZE_PROPERTY));
        assertTrue(((DmaDevice) r.service).isStarted());
        assertEquals(512, ((DmaDevice) r.service).info().ringSize());
    }

    @Test
    public void secondConfigurationOfAnAddressIsRefused() {
        activate("io.pvio.dma.ioat~a", values("0000:00:04.1", 256));
        IoatChannelComponent second = activate("io.pvio.dma.ioat~b", values("00:04.1", 128));
        assertEquals(1, fw.live().size());
        assertNull(second.channel());
        assertTrue(loggedSevere("0000:00:04.1 is already configured by io.pvio.dma.ioat~a"));
        // once the first goes away, the address is free again
        active.remove(0).deactivate();
        assertEquals(0, fw.live().size());
        activate("io.pvio.dma.ioat~c", values("0000:00:04.1", 64));
        assertEquals(1, fw.live().size());
    }

    @Test
    public void badAddressAndRingSizeAreRefusedWithAClearError() {
        IoatChannelComponent a = activate("io.pvio.dma.ioat~x", values("00:04.9", 256));
        IoatChannelComponent b = activate("io.pvio.dma.ioat~y", values("0000:00:04.2", 100));
        Map<String, Object> rate = values("0000:00:04.3", 256);
        rate.put("fault_error_rate", 2.0);
        IoatChannelComponent c = activate("io.pvio.dma.ioat~z", rate);
        assertNull(a.channel());
        assertNull(b.channel());
        assertNull(c.channel());
        assertEquals(0, fw.live().size());
        assertTrue(loggedSevere("not a PCI address"));
        assertTrue(loggedSevere("power of two"));
        assertTrue(loggedSevere("not in 0..1"));
        // a refused address is not held
        activate("io.pvio.dma.ioat~w", values("0000:00:04.2", 256));
        assertEquals(1, fw.live().size());
    }

    @Test
    public void deactivateUnregistersFirstThenStopsAfterPendingCopies() {
        IoatChannelComponent c = activate("io.pvio.dma.ioat~a", values("0000:00:04.0", 1024));
        DmaDevice ch = c.channel();
        ByteBuffer src = ByteBuffer.allocateDirect(1000 * 1518);
        ByteBuffer dst = ByteBuffer.allocateDirect(1000 * 1518);
        for (int i = 0; i < src.capacity(); i++) {
            src.put(i, (byte) (i * 13 + 5));
        }
        long s = NativeMemory.address(src);
        long d = NativeMemory.address(dst);
        for (int i = 0; i < 1000; i++) {
            assertEquals(i, ch.copy(s + i * 1518L, d + i * 1518L, 1518, i % 32 == 31 ? DmaDevice.FLAG_SUBMIT : 0));
        }
        active.remove(c);
        c.deactivate();
        Fakes.Registration r = fw.registrations.get(0);
        assertTrue(r.unregistered);
        assertEquals(Boolean.TRUE, r.startedAtUnregister);
        assertFalse(ch.isStarted());
        DmaCompletions out = new DmaCompletions(1024);
        assertEquals(1000, ch.completed(1024, out));
        assertEquals(999, out.lastIdx());
        assertEquals(src, dst);
    }

    @Test
    public void modifiedFaultsApplyToTheLiveChannel() {
        IoatChannelComponent c = activate("io.pvio.dma.ioat~a", values("0000:00:04.0", 256));
        DmaDevice ch = c.channel();
        Map<String, Object> v = values("0000:00:04.0", 256);
        v.put("fault_stall", true);
        c.modified(Fakes.config(IoatConfig.class, v));
        assertSame(ch, c.channel());
        assertEquals(1, fw.live().size());
        Map<String, Long> s = new HashMap<>();
        ch.stats(s::put);
        assertEquals(Long.valueOf(1), s.get("stalled"));
        v.put("fault_stall", false);
        v.put("fault_error_rate", 1.0);
        c.modified(Fakes.config(IoatConfig.class, v));
        ByteBuffer b = ByteBuffer.allocateDirect(64);
        assertEquals(0, ch.copy(NativeMemory.address(b), NativeMemory.address(b), 64, DmaDevice.FLAG_SUBMIT));
        DmaCompletions out = new DmaCompletions(1);
        while (ch.completedStatus(1, out) == 0) {
            Thread.onSpinWait();
        }
        assertEquals(DmaDevice.STATUS_ERROR_UNKNOWN, out.status(0));
    }

    @Test
    public void modifiedRingSizeRecreatesTheChannel() {
        IoatChannelComponent c = activate("io.pvio.dma.ioat~a", values("0000:00:04.0", 256));
        DmaDevice old = c.channel();
        c.modified(Fakes.config(IoatConfig.class, values("0000:00:04.0", 2048)));
        assertFalse(old.isStarted());
        assertEquals(1, fw.live().size());
        assertEquals(2048, fw.live().get(0).props.get(DmaDevice.RING_SIZE_PROPERTY));
        assertEquals(2048, c.channel().info().ringSize());
    }

    /** An update that would be refused leaves the working channel as it was (no teardown first). */
    @Test
    public void refusedUpdateKeepsTheRunningChannel() {
        IoatChannelComponent c = activate("io.pvio.dma.ioat~a", values("0000:00:04.0", 256));
        DmaDevice old = c.channel();
        c.modified(Fakes.config(IoatConfig.class, values("0000:00:04.0", 100)));
        assertSame(old, c.channel());
        assertTrue(old.isStarted());
        assertEquals(1, fw.live().size());
        assertTrue(loggedSevere("keeps running with the previous ones"));
        // the same address written another way is the same channel: not re-created
        c.modified(Fakes.config(IoatConfig.class, values("00:04.0", 256)));
        assertSame(old, c.channel());
    }

    /** A value SCR cannot convert (ring.size=1k in a .cfg file) is refused and does not keep the address. */
    @Test
    public void unconvertibleValueIsRefusedAndReleasesTheAddress() {
        Map<String, Object> v = values("0000:00:04.5", 256);
        v.put("ring_size", new Object() { }); // the proxy returns it where an int is expected: a conversion error
        IoatChannelComponent bad = activate("io.pvio.dma.ioat~bad", v);
        assertNull(bad.channel());
        assertTrue(loggedSevere("configuration refused for 0000:00:04.5"));
        activate("io.pvio.dma.ioat~good", values("00:04.5", 256));
        assertEquals(1, fw.live().size());
    }
}
