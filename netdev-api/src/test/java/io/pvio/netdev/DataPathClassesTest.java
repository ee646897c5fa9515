package io.pvio.netdev;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.Test;

public class DataPathClassesTest {
    static final AtomicBoolean INITIALIZED = new AtomicBoolean();

    /** Initialized only when something initializes it (a class literal does not). */
    static final class Probe {
        static {
            INITIALIZED.set(true);
        }
    }

    @Test
    public void resolvesAndInitializes() {
        Class<?> probe = Probe.class;
        assertFalse("a class literal initializes nothing", INITIALIZED.get());
        DataPathClasses.resolve(DataPathClassesTest.class, probe, io.pvio.packet.Packet.class);
        assertTrue(INITIALIZED.get());
    }

    @Test
    public void aClassTheCallersLoaderDoesNotSeeIsAnError() {
        try {
            DataPathClasses.resolve(String.class, DataPathClassesTest.class); // the boot loader sees no test class
            fail("resolved through a loader that cannot see it");
        } catch (IllegalStateException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("does not see"));
        }
    }
}
