package io.pvio.dpif.netdev;

import io.pvio.dpif.netdev.flow.FlowParser;
import io.pvio.dpif.netdev.flow.FlowTable;
import io.pvio.dpif.netdev.flow.MacTable;
import java.util.TreeMap;

/** A bridge: its ports by ofport (control state, guarded by the datapath lock), flow table and MAC table. */
final class Bridge {
    static final int MAC_TABLE_SIZE = 2048;
    static final int MAC_AGING_SECONDS = 300;

    final String name;
    final TreeMap<Integer, Port> ports = new TreeMap<>();
    /** Published flow table: PMDs read it once per rx batch; replaced as a whole by the control path. */
    volatile FlowTable flows;
    final MacTable macs = new MacTable(MAC_TABLE_SIZE, MAC_AGING_SECONDS);

    Bridge(String name) {
        this.name = name;
        this.flows = new FlowTable(FlowParser.parseFlow("priority=0,actions=NORMAL"));
    }

    /** Lowest free ofport from 1. */
    int freeOfport() {
        int n = 1;
        while (ports.containsKey(n)) {
            n++;
        }
        return n;
    }
}
