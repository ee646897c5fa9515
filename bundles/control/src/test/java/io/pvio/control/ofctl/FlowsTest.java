package io.pvio.control.ofctl;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import org.junit.Test;

public class FlowsTest {
    @Test
    public void addFlowNeedsActionsWithOvsText() {
        try {
            Flows.parse("in_port=1", true);
            fail();
        } catch (IllegalArgumentException e) {
            assertEquals("must specify an action", e.getMessage());
        }
    }

    @Test
    public void actionAndActionsAreTheSameKeyword() {
        assertEquals("output:p2", Flows.parse("in_port=p1,action=output:p2", true).actions());
        assertEquals("output:2", Flows.parse("in_port=1 ACTIONS=output:2", true).actions());
        Flows.Parsed p = Flows.parse("priority=5,in_port=p1,actions=normal", true);
        assertEquals(5, p.priority());
        assertTrue(p.match().toString(), p.match().contains("in_port=p1"));
        // a field whose name ends in "action" is not the actions keyword
        try {
            Flows.parse("xaction=1", true);
            fail();
        } catch (IllegalArgumentException e) {
            assertEquals("must specify an action", e.getMessage());
        }
    }
}
