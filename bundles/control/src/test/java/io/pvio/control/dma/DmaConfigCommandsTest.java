package io.pvio.control.dma;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.dma.spi.ChannelPublisher;
import io.pvio.unixctl.UnixctlException;
import java.lang.reflect.Proxy;
import java.util.Dictionary;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.Test;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

public class DmaConfigCommandsTest {
    /** pid -> properties: an in-memory ConfigAdmin holding factory configurations of io.pvio.dma.ioat. */
    private final Map<String, Dictionary<String, Object>> store = new LinkedHashMap<>();

    private Configuration config(String pid) {
        return (Configuration) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Configuration.class},
                (p, m, a) -> switch (m.getName()) {
                    case "getPid" -> pid;
                    case "getProperties" -> store.get(pid);
                    case "update" -> {
                        @SuppressWarnings("unchecked")
                        Dictionary<String, Object> d = (Dictionary<String, Object>) a[0];
                        store.put(pid, d);
                        yield null;
                    }
                    case "delete" -> {
                        store.remove(pid);
                        yield null;
                    }
                    default -> throw new UnsupportedOperationException(m.getName());
                });
    }

    private ConfigurationAdmin cm() {
        return (ConfigurationAdmin) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ConfigurationAdmin.class}, (p, m, a) -> switch (m.getName()) {
                    case "listConfigurations" -> list(a[0].toString());
                    case "getFactoryConfiguration" -> config(a[0] + "~" + a[1]);
                    default -> throw new UnsupportedOperationException(m.getName());
                });
    }

    /** The factory configurations the filter {@code (service.factoryPid=X)} selects, or null. */
    private Configuration[] list(String filter) {
        String factory = filter.substring(filter.indexOf('=') + 1, filter.length() - 1);
        Configuration[] found = store.keySet().stream().filter(pid -> pid.startsWith(factory + "~"))
                .map(this::config).toArray(Configuration[]::new);
        return found.length == 0 ? null : found;
    }

    @Test
    public void theEngineChoosesTheProviderAndItsSettings() throws Exception {
        ConfigurationAdmin cm = cm();
        DmaConfigCommands.set(cm, null, List.of("00:04.0", "engine=dmadev", "device=dma_skeleton0", "ring.size=512"));
        DmaConfigCommands.set(cm, null, List.of("00:04.0"));
        assertEquals(2, store.size());
        Dictionary<String, Object> d = store.get("io.pvio.dma.dmadev~appctl-0000_00_04_0");
        assertEquals("dma_skeleton0", d.get("device"));
        assertEquals(512, d.get("ring.size"));
        assertEquals(null, d.get("engine"));
        assertTrue(store.containsKey("io.pvio.dma.ioat~appctl-0000_00_04_0"));
        for (List<String> bad : List.of(List.of("00:04.0", "engine=dsa"), List.of("00:04.0", "device=x"),
                List.of("00:04.0", "engine=cpu", "fault.stall=true"), List.of("00:04.0", "engine=dmadev",
                        "engine.cpu=1"), List.of("00:04.0", "engine=dmadev", "device=a b"))) {
            try {
                DmaConfigCommands.set(cm, null, bad);
                fail(bad.toString());
            } catch (UnixctlException expected) {
                // refused, nothing changed
            }
        }
        try {
            DmaConfigCommands.del(cm, List.of("00:04.0"));
            fail("two engines configured there");
        } catch (UnixctlException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("name one with engine="));
        }
        DmaConfigCommands.del(cm, List.of("00:04.0", "engine=dmadev"));
        assertEquals(1, store.size());
        DmaConfigCommands.del(cm, List.of("00:04.0"));
        assertTrue(store.isEmpty());
    }

    @Test
    public void setAddsThenUpdatesOneConfigurationPerAddress() throws Exception {
        ConfigurationAdmin cm = cm();
        DmaConfigCommands.set(cm, null, List.of("00:05.1"));
        assertEquals(1, store.size());
        Dictionary<String, Object> d = store.values().iterator().next();
        assertEquals("0000:00:05.1", d.get("address"));
        assertEquals(256, d.get("ring.size"));
        DmaConfigCommands.set(cm, null, List.of("0000:00:05.1", "ring.size=1024", "fault.error.rate=0.25", "fault.stall=true"));
        assertEquals(1, store.size());
        d = store.values().iterator().next();
        assertEquals(1024, d.get("ring.size"));
        assertEquals(0.25, d.get("fault.error.rate"));
        assertEquals(Boolean.TRUE, d.get("fault.stall"));
        DmaConfigCommands.del(cm, List.of("00:05.1"));
        assertTrue(store.isEmpty());
    }

    /** Of two configurations naming one address, set and del act on the one that runs the channel. */
    @Test
    public void setAndDelActOnTheConfigurationThatOwnsTheChannel() throws Exception {
        Dictionary<String, Object> refusedOne = new java.util.Hashtable<>(Map.of("address", "00:04.6", "ring.size", 64));
        Dictionary<String, Object> owner = new java.util.Hashtable<>(Map.of("address", "0000:00:04.6", "ring.size", 256));
        store.put("io.pvio.dma.ioat~ch0", refusedOne);
        store.put("io.pvio.dma.ioat~default-6", owner);
        assertEquals(null, ChannelPublisher.claim("ioat", "0000:00:04.6", "io.pvio.dma.ioat~default-6"));
        try {
            DmaConfigCommands.set(cm(), null, List.of("00:04.6", "ring.size=1024"));
            assertEquals(1024, store.get("io.pvio.dma.ioat~default-6").get("ring.size"));
            assertEquals(64, store.get("io.pvio.dma.ioat~ch0").get("ring.size"));
            DmaConfigCommands.del(cm(), List.of("00:04.6"));
            assertTrue(store.containsKey("io.pvio.dma.ioat~ch0"));
            assertEquals(1, store.size());
        } finally {
            ChannelPublisher.release("ioat", "0000:00:04.6", "io.pvio.dma.ioat~default-6");
        }
        store.put("io.pvio.dma.ioat~ch1", new java.util.Hashtable<>(Map.of("address", "00:04.6")));
        try { // two naming it and none running it: which one is meant is not known
            DmaConfigCommands.del(cm(), List.of("00:04.6"));
            fail();
        } catch (UnixctlException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("2 configurations name 0000:00:04.6"));
        }
    }

    private void refused(List<String> args, String expected) {
        try {
            DmaConfigCommands.set(cm(), null, args);
            fail("accepted " + args);
        } catch (UnixctlException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(expected));
            assertTrue("nothing may be written", store.isEmpty());
        }
    }

    @Test
    public void badSettingsAreRefusedBeforeAnythingIsWritten() {
        refused(List.of("00:05.9"), "not a PCI address");
        refused(List.of("00:05.1", "ring.size=100"), "not a power of two");
        refused(List.of("00:05.1", "ring.size=x"), "not a number");
        refused(List.of("00:05.1", "fault.error.rate=2"), "outside 0..1");
        refused(List.of("00:05.1", "fault.stall=yes"), "true or false");
        refused(List.of("00:05.1", "colour=red"), "unknown setting 'colour'");
        refused(List.of("00:05.1", "ring.size"), "expected KEY=VALUE");
        refused(List.of(), "usage");
    }

    @Test
    public void deletingAnUnknownChannelIsAnError() {
        try {
            DmaConfigCommands.del(cm(), List.of("00:06.0"));
            fail();
        } catch (UnixctlException e) {
            assertTrue(e.getMessage().contains("no DMA channel configured at 0000:00:06.0"));
        }
    }

    /** An engine no started bundle drives: configured all the same, and the reply says it waits. */
    @Test
    public void theReplySaysWhenNoDriverOfTheEngineRuns() throws Exception {
        DmaEngines.Drivers onlyModel = new DmaEngines.Drivers(Set.of("io.pvio.dma.ioat"), Set.of());
        String added = DmaConfigCommands.set(cm(), onlyModel, List.of("00:05.0", "engine=cpu"));
        assertEquals("DMA channel 0000:00:05.0 (cpu engine) added (io.pvio.dma.cpu~appctl-0000_00_05_0); waiting for"
                + " a driver of engine 'cpu' (no started bundle provides it; io.pvio.dma-cpu does)\n", added);
        assertEquals("0000:00:05.0", store.get("io.pvio.dma.cpu~appctl-0000_00_05_0").get("address"));
        String updated = DmaConfigCommands.set(cm(), onlyModel, List.of("00:05.0", "engine=cpu", "ring.size=512"));
        assertTrue(updated, updated.contains(" updated ") && updated.contains("waiting for a driver of engine 'cpu'"));
        assertEquals("DMA channel 0000:00:05.1 (model engine) added (io.pvio.dma.ioat~appctl-0000_00_05_1)\n",
                DmaConfigCommands.set(cm(), onlyModel, List.of("00:05.1")));
        String none = DmaConfigCommands.set(cm(), new DmaEngines.Drivers(Set.of(), Set.of()), List.of("00:05.1"));
        assertTrue(none, none.endsWith("; waiting for a driver of engine 'model' (no started bundle provides it;"
                + " io.pvio.dma-ioat does)\n"));
        assertEquals(2, DmaConfigCommands.configured(cm()).size());
    }
}
