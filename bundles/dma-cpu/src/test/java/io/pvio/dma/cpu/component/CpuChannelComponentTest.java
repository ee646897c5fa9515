package io.pvio.dma.cpu.component;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import io.pvio.dma.DmaDevice;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.List;
import java.util.Map;
import org.junit.Test;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

public class CpuChannelComponentTest {
    private final List<Dictionary<String, ?>> live = new ArrayList<>();
    private final List<Boolean> startedAtUnregister = new ArrayList<>();

    private BundleContext context() {
        return (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {BundleContext.class},
                (p, m, args) -> {
                    Dictionary<String, ?> props = (Dictionary<String, ?>) args[2];
                    DmaDevice dev = (DmaDevice) args[1];
                    live.add(props);
                    return Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {ServiceRegistration.class},
                            (p2, m2, a2) -> {
                                startedAtUnregister.add(dev.isStarted());
                                live.remove(props);
                                return null;
                            });
                });
    }

    private static CpuConfig config(String address, int ring) {
        return (CpuConfig) Proxy.newProxyInstance(CpuChannelComponentTest.class.getClassLoader(),
                new Class<?>[] {CpuConfig.class}, (p, m, args) -> m.getName().equals("address") ? address : ring);
    }

    @Test
    public void registersOneChannelPerAddressAndUnregistersBeforeStopping() {
        CpuChannelComponent a = new CpuChannelComponent();
        a.activate(context(), config("00:04.5", 512), Map.of("service.pid", "io.pvio.dma.cpu~a"));
        CpuChannelComponent b = new CpuChannelComponent();
        b.activate(context(), config("0000:00:04.5", 256), Map.of("service.pid", "io.pvio.dma.cpu~b"));
        CpuChannelComponent bad = new CpuChannelComponent();
        bad.activate(context(), config("0000:00:04.6", 100), Map.of("service.pid", "io.pvio.dma.cpu~c"));
        assertEquals(1, live.size());
        assertEquals("0000:00:04.5", live.get(0).get(DmaDevice.ADDRESS_PROPERTY));
        assertEquals("cpu", live.get(0).get(DmaDevice.DRIVER_PROPERTY));
        assertEquals(512, live.get(0).get(DmaDevice.RING_SIZE_PROPERTY));
        assertNull(b.channel());
        assertNull(bad.channel());
        a.deactivate();
        b.deactivate();
        bad.deactivate();
        assertTrue(live.isEmpty());
        assertEquals(List.of(Boolean.TRUE), startedAtUnregister);
        CpuChannelComponent c = new CpuChannelComponent();
        c.activate(context(), config("0000:00:04.5", 64), Map.of("service.pid", "io.pvio.dma.cpu~d"));
        assertEquals(1, live.size());
        c.deactivate();
    }
}
