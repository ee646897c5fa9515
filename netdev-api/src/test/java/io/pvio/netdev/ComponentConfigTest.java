package io.pvio.netdev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.lang.reflect.Proxy;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.junit.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.ComponentContext;

public class ComponentConfigTest {
    private static final Logger LOG = Logger.getLogger("dpif_netdev");

    /** What Karaf's feature {@code <config>} gives, then fileinstall's update of the same file. */
    private static final Map<String, Object> KARAF = Map.of("run.dir", "/opt/karaf/data/pvio",
            "service.pid", "io.pvio.run", "component.name", "io.pvio.dpif.netdev.DpifNetdev", "component.id", 3L,
            "org.apache.karaf.features.configKey", "io.pvio.run", "dpif.type", "netdev");
    private static final Map<String, Object> FILEINSTALL = Map.of("run.dir", "/opt/karaf/data/pvio",
            "service.pid", "io.pvio.run", "component.name", "io.pvio.dpif.netdev.DpifNetdev", "component.id", 3L,
            "felix.fileinstall.filename", "file:/opt/karaf/etc/io.pvio.run.cfg", "dpif.type", "netdev");

    @Test
    public void bookkeepingKeysChangeNothing() {
        assertEquals(Set.of(), ComponentConfig.changedKeys(KARAF, FILEINSTALL));
        assertFalse(ComponentConfig.changed(KARAF, FILEINSTALL));
        assertFalse(ComponentConfig.changed(Map.of("service.pid", new String[] {"a", "b"}, "component.id", 1L),
                Map.of("service.bundleLocation", "?", "component.id", 2L)));
        assertTrue(ComponentConfig.isBookkeeping("felix.fileinstall.dir"));
        assertFalse(ComponentConfig.isBookkeeping("run.dir"));
        assertFalse(ComponentConfig.isBookkeeping("servicepid")); // a prefix ends with its dot
    }

    @Test
    public void aMovedRunDirIsAChange() {
        Map<String, Object> moved = new java.util.HashMap<>(FILEINSTALL);
        moved.put("run.dir", "/srv/pvio");
        assertEquals(Set.of("run.dir"), ComponentConfig.changedKeys(KARAF, moved));
    }

    @Test
    public void addedAndRemovedKeysAreChanges() {
        assertEquals(Set.of("pool.buffers", "run.dir"), ComponentConfig.changedKeys(
                Map.of("run.dir", "/a", "service.pid", "x"), Map.of("pool.buffers", "4096")));
        assertEquals(Set.of("run.dir"), ComponentConfig.changedKeys(null, Map.of("run.dir", "/a")));
        assertEquals(Set.of(), ComponentConfig.changedKeys(null, null));
    }

    @Test
    public void arraysCompareByContentAndTypesMatter() {
        assertFalse(ComponentConfig.changed(Map.of("k", new int[] {1, 2}), Map.of("k", new int[] {1, 2})));
        assertFalse(ComponentConfig.changed(Map.of("k", new String[] {"a"}), Map.of("k", new String[] {"a"})));
        assertTrue(ComponentConfig.changed(Map.of("k", new String[] {"a"}), Map.of("k", new String[] {"b"})));
        assertTrue(ComponentConfig.changed(Map.of("pool.buffers", 4096), Map.of("pool.buffers", "4096")));
    }

    @Test
    public void identicalUpdateDoesNotTouchTheComponent() {
        List<String> calls = new CopyOnWriteArrayList<>();
        assertFalse(ComponentConfig.reactivateIfChanged(context(calls, null), KARAF, FILEINSTALL, LOG));
        assertEquals(List.of(), calls);
    }

    @Test
    public void realChangeDisablesThenEnablesItself() throws InterruptedException {
        List<String> calls = new CopyOnWriteArrayList<>();
        CountDownLatch enabled = new CountDownLatch(1);
        Map<String, Object> moved = new java.util.HashMap<>(FILEINSTALL);
        moved.put("run.dir", "/srv/pvio");
        assertTrue(ComponentConfig.reactivateIfChanged(context(calls, enabled), KARAF, moved, LOG));
        assertTrue("enableComponent called", enabled.await(60, TimeUnit.SECONDS));
        assertEquals(List.of("disableComponent io.pvio.dpif.netdev.DpifNetdev",
                "enableComponent io.pvio.dpif.netdev.DpifNetdev"), calls);
    }

    private static Object activeBundleContext() {
        Object bundle = Proxy.newProxyInstance(Bundle.class.getClassLoader(), new Class<?>[] {Bundle.class},
                (proxy, m, args) -> {
                    if (m.getName().equals("getState")) {
                        return Bundle.ACTIVE;
                    }
                    throw new UnsupportedOperationException(m.getName());
                });
        return Proxy.newProxyInstance(BundleContext.class.getClassLoader(), new Class<?>[] {BundleContext.class},
                (proxy, m, args) -> {
                    if (m.getName().equals("getBundle") && args == null) {
                        return bundle;
                    }
                    throw new UnsupportedOperationException(m.getName());
                });
    }

    /** A ComponentContext of DpifNetdev that records disable/enable calls on another thread than the test's. */
    private static ComponentContext context(List<String> calls, CountDownLatch enabled) {
        Thread caller = Thread.currentThread();
        Hashtable<String, Object> props = new Hashtable<>(KARAF);
        return (ComponentContext) Proxy.newProxyInstance(ComponentContext.class.getClassLoader(),
                new Class<?>[] {ComponentContext.class}, (proxy, m, args) -> {
                    switch (m.getName()) {
                        case "getProperties":
                            return props;
                        case "getBundleContext":
                            return activeBundleContext();
                        case "disableComponent":
                        case "enableComponent":
                            // SCR would wait for the modified call: the caller's thread must not make these
                            calls.add(m.getName() + " " + args[0]
                                    + (Thread.currentThread() == caller ? " (on the modified thread)" : ""));
                            if (m.getName().equals("enableComponent")) {
                                enabled.countDown();
                            }
                            return null;
                        default:
                            throw new UnsupportedOperationException(m.getName());
                    }
                });
    }
}
