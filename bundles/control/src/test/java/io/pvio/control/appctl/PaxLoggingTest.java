package io.pvio.control.appctl;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.Hashtable;
import java.util.Map;
import java.util.logging.Level;
import org.junit.Test;

/** The keys written are those Karaf's log:set writes, and an existing entry for a module is reused. */
public class PaxLoggingTest {
    @Test
    public void newModuleGetsAnEntryNamedAsLogSetNamesIt() {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put("log4j2.rootLogger.level", "INFO");
        assertTrue(PaxLogging.apply(p, Map.of("dpif_netdev", Level.FINE, "Vhost.Async", Level.WARNING)));
        assertEquals("dpif_netdev", p.get("log4j2.logger.dpif_netdev.name"));
        assertEquals("DEBUG", p.get("log4j2.logger.dpif_netdev.level"));
        assertEquals("Vhost.Async", p.get("log4j2.logger.vhost_async.name"));
        assertEquals("WARN", p.get("log4j2.logger.vhost_async.level"));
        assertFalse("same levels again: no update", PaxLogging.apply(p, Map.of("dpif_netdev", Level.FINE)));
    }

    @Test
    public void existingEntryIsReusedAndLevelsMap() {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put("log4j2.logger.mine.name", "unixctl");
        p.put("log4j2.logger.mine.level", "INFO");
        assertTrue(PaxLogging.apply(p, Map.of("unixctl", Level.OFF)));
        assertEquals("OFF", p.get("log4j2.logger.mine.level"));
        assertEquals(2, p.size());
        assertEquals("ERROR", PaxLogging.log4j(Level.SEVERE));
        assertEquals("INFO", PaxLogging.log4j(Level.INFO));
    }
}
