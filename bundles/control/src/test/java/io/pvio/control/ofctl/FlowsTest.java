package io.pvio.control.ofctl;

import org.junit.Test;

public class FlowsTest {
    @Test(expected = IllegalArgumentException.class)
    public void addFlowNeedsActions() {
        Flows.parse("in_port=1", true);
    }
}
