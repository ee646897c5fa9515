package io.pvio.control.appctl;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.After;
import org.junit.Test;

/** vlog/set reads a spec as OVS's vlog_set_levels_from_string does. */
public class VlogTest {
    private final Logger bridge = Logger.getLogger("bridge");
    private final Level before = bridge.getLevel();

    @After
    public void restore() {
        bridge.setLevel(before);
    }

    @Test
    public void aModuleWithoutALevelIsSetToDbg() throws Exception {
        assertEquals("", Vlog.set(List.of("bridge:warn")));
        assertEquals(Level.WARNING, bridge.getLevel());
        assertEquals("", Vlog.set(List.of("bridge")));
        assertEquals(Level.FINE, bridge.getLevel());
        assertTrue(Vlog.list(), Vlog.list().matches("(?s).*\\nbridge +DBG\\n.*"));
        assertEquals("", Vlog.set(List.of("file:info:bridge")));
        assertEquals(Level.INFO, bridge.getLevel());
    }

    @Test
    public void noSpecChangesNothing() throws Exception {
        bridge.setLevel(Level.WARNING);
        assertEquals("", Vlog.set(List.of()));
        assertEquals(Level.WARNING, bridge.getLevel());
    }
}
