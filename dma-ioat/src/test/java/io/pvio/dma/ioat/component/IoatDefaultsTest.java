package io.pvio.dma.ioat.component;

import static org.junit.Assert.assertEquals;

import java.lang.reflect.Proxy;
import java.util.Dictionary;
import java.util.TreeMap;
import org.junit.Test;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

public class IoatDefaultsTest {
    /** factory configuration name -> its properties once updated */
    private final TreeMap<String, Dictionary<String, ?>> store = new TreeMap<>();

    private ConfigurationAdmin cm() {
        return (ConfigurationAdmin) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ConfigurationAdmin.class}, (p, m, args) -> {
                    switch (m.getName()) {
                        case "listConfigurations":
                            assertEquals("(service.factoryPid=io.pvio.dma.ioat)", args[0]);
                            return store.isEmpty() ? null : new Configuration[store.size()];
                        case "getFactoryConfiguration":
                            assertEquals("io.pvio.dma.ioat", args[0]);
                            String name = (String) args[1];
                            return Proxy.newProxyInstance(getClass().getClassLoader(),
                                    new Class<?>[] {Configuration.class}, (p2, m2, a2) -> {
                                        if (m2.getName().equals("update") && a2 != null && a2.length == 1) {
                                            store.put(name, (Dictionary<String, ?>) a2[0]);
                                            return null;
                                        }
                                        throw new UnsupportedOperationException(m2.getName());
                                    });
                        default:
                            throw new UnsupportedOperationException(m.getName());
                    }
                });
    }

    @Test
    public void createsEightChannelsOnlyWhenNoneExist() throws Exception {
        assertEquals(8, IoatDefaults.createIfNone(cm()));
        assertEquals(8, store.size());
        for (int fn = 0; fn < 8; fn++) {
            Dictionary<String, ?> d = store.get("default-" + fn);
            assertEquals("0000:00:04." + fn, d.get("address"));
            assertEquals(256, d.get("ring.size"));
        }
        assertEquals(0, IoatDefaults.createIfNone(cm()));
        assertEquals(8, store.size());
    }
}
