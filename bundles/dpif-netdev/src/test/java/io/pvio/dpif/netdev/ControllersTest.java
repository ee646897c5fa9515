package io.pvio.dpif.netdev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.junit.Test;

/**
 * A bridge's controllers and fail mode as OVS's connmgr: the table is flushed when the first controller
 * comes or the last goes (and when the fail mode changes without one); standalone without a controller has
 * the NORMAL flow, secure has none; a target pvio cannot connect to is left out with a warning.
 */
public class ControllersTest extends DpTest {
    private static final List<String> NORMAL = List.of("priority=0,actions=NORMAL");

    @Test
    public void controllersAndFailModeFlushTheTableAsOvs() throws Exception {
        dp.addBridge("br0");
        dp.addFlow("br0", "priority=5,in_port=1,actions=drop");
        dp.setControllers("br0", List.of(), false);
        assertEquals("no change: nothing flushed", 2, dp.flows("br0").size());

        dp.setControllers("br0", List.of("tcp:127.0.0.1:6653"), false);
        assertEquals("the first controller flushes", List.of(), dp.flows("br0"));
        assertEquals(List.of("tcp:127.0.0.1:6653"), dp.controllers("br0"));
        dp.addFlow("br0", "priority=0,actions=controller:128");
        dp.setControllers("br0", List.of("tcp:127.0.0.1:6653", "unix:/run/ctl.sock"), true);
        assertEquals("another controller, another mode: no flush", List.of("priority=0,actions=CONTROLLER:128"),
                dp.flows("br0"));

        dp.setControllers("br0", List.of(), true);
        assertEquals("the last gone, secure: nothing", List.of(), dp.flows("br0"));
        dp.setControllers("br0", List.of(), false);
        assertEquals("standalone without a controller: NORMAL", NORMAL, dp.flows("br0"));

        dp.setControllers("br0", List.of("ssl:10.0.0.1:6653", "ptcp:6653"), false);
        assertEquals("unsupported targets are no controllers", List.of(), dp.controllers("br0"));
        assertEquals(NORMAL, dp.flows("br0"));
        assertTrue(log.toString(), log.stream().anyMatch(l -> l.contains("ssl:10.0.0.1:6653: unsupported controller target")));
    }
}
