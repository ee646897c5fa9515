package io.pvio.control.ofctl;

import static org.junit.Assert.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

public class FlowsTest {
    @Test
    public void addReplacesSameMatchAndPriority() {
        List<String> f = new ArrayList<>(List.of("priority=0,actions=normal"));
        Flows.add(f, "priority=10,in_port=1,actions=output:2");
        Flows.add(f, "in_port=1,priority=10,actions=drop");
        Flows.add(f, "priority=11,in_port=1,actions=output:3");
        assertEquals(List.of("priority=0,actions=normal", "in_port=1,priority=10,actions=drop",
                "priority=11,in_port=1,actions=output:3"), f);
    }

    @Test
    public void deleteRemovesFlowsContainingTheMatch() {
        List<String> f = new ArrayList<>(List.of("priority=0,actions=normal", "in_port=1,actions=output:2",
                "in_port=1,dl_dst=52:54:00:00:00:01,actions=output:3", "in_port=2,actions=output:1"));
        Flows.delete(f, "in_port=1");
        assertEquals(List.of("priority=0,actions=normal", "in_port=2,actions=output:1"), f);
        Flows.delete(f, null);
        assertEquals(List.of(), f);
    }

    @Test(expected = IllegalArgumentException.class)
    public void addFlowNeedsActions() {
        Flows.parse("in_port=1", true);
    }
}
