package io.pvio.dpif.netdev;

import io.pvio.counter.CounterArray;
import io.pvio.dpif.FlowEntry;
import io.pvio.dpif.netdev.flow.FlowEntries;
import io.pvio.dpif.netdev.flow.FlowTable;
import io.pvio.dpif.netdev.flow.MacTable;
import java.util.TreeMap;

/** A bridge: its ports by ofport (control state, guarded by the datapath lock), flow table and MAC table. */
final class Bridge {
    /** OVS's MAC_DEFAULT_MAX: other_config:mac-table-size when unset. */
    static final int MAC_TABLE_SIZE = 8192;
    /** OVS's MAC_ENTRY_DEFAULT_IDLE_TIME: other_config:mac-aging-time when unset. */
    static final int MAC_AGING_SECONDS = 300;

    final String name;
    final TreeMap<Integer, Port> ports = new TreeMap<>();
    /** Published flow table: PMDs read it once per rx batch; replaced as a whole by the control path. */
    volatile FlowTable flows;
    final MacTable macs = new MacTable(MAC_TABLE_SIZE, MAC_AGING_SECONDS);
    /** The bridge's Ethernet address (Dpif#setBridgeAddress), or null; guarded by the datapath lock. */
    String hwaddr;
    /** other_config:datapath-id (Dpif#setDatapathId), or 0 to use the address; guarded by the datapath lock. */
    long dpid;
    /** Packets that hit a flow and that missed, by PMD counter id (core + 1, cores 0..63): one writer each. */
    private final CounterArray hits = CounterArray.padded(COUNTER_IDS);
    private final CounterArray misses = CounterArray.padded(COUNTER_IDS);
    static final int COUNTER_IDS = 65;
    /** Its controllers' targets and fail mode (Dpif#setControllers); guarded by the datapath lock. */
    java.util.List<String> controllers = java.util.List.of();
    java.util.List<String> controllersAsked = java.util.List.of();
    /** Dpif#setPacketInOnMiss: a table miss goes to the controller (a connection below OpenFlow 1.3 is open). */
    volatile boolean packetInOnMiss;
    boolean failSecure;
    /**
     * Fail-open (OVS's fail-open.c, standalone bridges with controllers): set when no controller has been
     * connected for three probe intervals; the PMDs then send every packet to NORMAL, as OVS's hidden flow of
     * priority 15790320 does, whatever the table holds.
     */
    volatile boolean failOpen;
    /** When fail-open began (System.nanoTime), and the packets and bytes its hidden flow took; lock. */
    long failOpenSince;
    final java.util.concurrent.atomic.LongAdder failOpenPackets = new java.util.concurrent.atomic.LongAdder();
    final java.util.concurrent.atomic.LongAdder failOpenBytes = new java.util.concurrent.atomic.LongAdder();
    /** The disconnection time last logged in fail-open (s), the largest probe interval (s), when each target was set. */
    int failOpenLogged;
    int probeSeconds = 5;
    final java.util.Map<String, Long> controllerSetAt = new java.util.HashMap<>();
    /** Each controller connection's state, by target, as the OpenFlow side records it (Dpif.setControllerStatus). */
    final java.util.concurrent.ConcurrentHashMap<String, io.pvio.dpif.ControllerStatus> controllerStatus =
            new java.util.concurrent.ConcurrentHashMap<>();
    /** Packet-ins queued for the bridge's OpenFlow connections (Dpif#takePacketIn). */
    static final int PACKET_INS = 1024;
    /**
     * Packets the flows sent to the controller, until the OpenFlow side takes them. A slow path, as OVS's
     * upcalls: each is a copy, and a full queue drops the packet (counted).
     */
    final java.util.concurrent.ArrayBlockingQueue<io.pvio.dpif.PacketIn> packetIns =
            new java.util.concurrent.ArrayBlockingQueue<>(PACKET_INS);
    final java.util.concurrent.atomic.LongAdder packetInDrops = new java.util.concurrent.atomic.LongAdder();

    Bridge(String name) {
        this.name = name;
        this.flows = flushed(false, false);
    }

    /**
     * The table after a flush, as OVS's connmgr_flushed: with no controller in standalone mode one NORMAL flow
     * without flags (not an add from ovs-ofctl), else none.
     */
    static FlowTable flushed(boolean controllers, boolean secure) {
        if (controllers || secure) {
            return new FlowTable();
        }
        return new FlowTable(FlowEntries.fromEntry(FlowEntry.of(0, 0, FlowEntry.ANY, FlowEntry.ANY,
                FlowEntry.ANY, FlowEntry.ANY, java.util.List.of(FlowEntry.NORMAL))));
    }

    /** A PMD's lookups of one rx batch. {@code counter}: its counter id, this thread's alone. */
    void countLookups(int counter, long hit, long missed) {
        if (hit != 0) {
            hits.add(counter, hit);
        }
        if (missed != 0) {
            misses.add(counter, missed);
        }
    }

    /** {lookups, matched} of table 0, from any thread. */
    long[] lookups() {
        long h = hits.sum(COUNTER_IDS);
        return new long[] {h + misses.sum(COUNTER_IDS), h};
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
