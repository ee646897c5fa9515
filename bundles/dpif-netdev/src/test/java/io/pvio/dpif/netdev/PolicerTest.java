package io.pvio.dpif.netdev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pvio.dummy.PktgenPort;
import io.pvio.dummy.DummyPorts;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import java.util.Map;
import org.junit.Test;

/** Ingress policing as OVS-DPDK's: a token bucket of the burst, filled at the rate, on lengths without Ethernet. */
public class PolicerTest extends DpTest {
    private static final long S = 1_000_000_000L;

    /** A batch of {@code n} frames of {@code len} bytes from {@code pool}. */
    private static PacketBatch frames(PacketPool pool, int n, int len) {
        PacketBatch b = new PacketBatch();
        for (int i = 0; i < n; i++) {
            Packet p = pool.alloc();
            p.setData(p.headroom(), len);
            b.add(p);
        }
        return b;
    }

    /** 8 kbit/s (1000 B/s) with a burst of 8 kbit (1000 B), frames of 114 B (100 B policed). */
    @Test
    public void aBucketOfTheBurstFilledAtTheRate() {
        PacketPool pool = new PacketPool("policer", 64);
        Policer pol = new Policer(1000, 1000, 0);
        java.util.concurrent.atomic.AtomicLong bytes = new java.util.concurrent.atomic.AtomicLong();
        PacketBatch b = frames(pool, 12, 114);
        Packet first = b.get(0);
        assertEquals(2, pol.run(b, 0, bytes)); // a full bucket: ten pass, in order
        assertEquals(10, b.size());
        assertEquals(first, b.get(0));
        b.freeAll();
        b = frames(pool, 3, 114);
        assertEquals(3, pol.run(b, 0, bytes)); // empty
        assertEquals(0, b.size());
        b = frames(pool, 10, 114);
        assertEquals(5, pol.run(b, S / 2, bytes)); // half a second: 500 B
        b.freeAll();
        b = frames(pool, 12, 114);
        assertEquals(2, pol.run(b, 1000 * S, bytes)); // long idle: the bucket holds its burst, no more
        b.freeAll();
        b = frames(pool, 2, 14);
        assertEquals(0, pol.run(b, 1000 * S, bytes)); // a bare Ethernet header costs nothing, as OVS counts it
        b.freeAll();
        assertEquals("every packet back in the pool", 0, pool.inUse());
        assertEquals((2 + 3 + 5 + 2) * 114, bytes.get()); // the dropped ones' bytes
    }

    /**
     * pktgen g1 sends 20,000 frames of 114 B through a port policed at 80 kbit/s with a burst of 80 kbit: the
     * bucket's 10,000 B pass (100 frames) and what the rate adds while the test runs, no more; the others are
     * dropped and counted in g1's rx_dropped and ovs_rx_qos_drops. Rate 0 turns it off.
     */
    @Test
    public void aPolicedPortDropsAboveItsRateAndCountsIt() throws Exception {
        pktgenToDummy();
        long t0 = System.nanoTime();
        dp.setIngressPolicing("g1", 80, 80);
        dp.setInterface("g1", null, Map.of("count", "20000", "size", "114"));
        PktgenPort g1 = DummyPorts.pktgen("g1");
        await(() -> "all policed: " + dp.port("g1").statistics(), () -> {
            Map<String, Long> st = dp.port("g1").statistics();
            return st.get("ovs_rx_qos_drops") + dp.port("g2").statistics().get("tx_packets") == 20000;
        });
        long elapsed = System.nanoTime() - t0;
        settle();
        assertEquals(20000, g1.generated());
        Map<String, Long> st = dp.port("g1").statistics();
        long passed = dp.port("g2").statistics().get("tx_packets");
        long drops = st.get("ovs_rx_qos_drops");
        assertEquals(20000, passed + drops);
        assertTrue(st.toString(), st.get("rx_dropped") >= drops);
        assertEquals(st.toString(), passed, st.get("rx_packets").longValue()); // as OVS-DPDK: what passed
        assertEquals(st.toString(), passed * 114, st.get("rx_bytes").longValue());
        long most = 100 + (elapsed * 10_000 / S) / 100 + 1; // the burst, and the rate over the test's time
        assertTrue(passed + " passed in " + elapsed / 1_000_000 + " ms, at most " + most, passed >= 100 && passed <= most);
        assertEquals(20000 - passed, st.get("ovs_rx_qos_drops").longValue());

        dp.setIngressPolicing("g1", 0, 0); // off: everything passes, the drops stay counted
        dp.setInterface("g1", null, Map.of("count", "21000", "size", "114")); // 1000 more
        await(() -> "all passed: " + dp.port("g2").statistics(),
                () -> dp.port("g2").statistics().get("tx_packets") == passed + 1000);
        assertEquals(drops, dp.port("g1").statistics().get("ovs_rx_qos_drops").longValue());
    }

    /**
     * The Port's egress-policer QoS (cir 10,000 B/s, cbs 10,000 B) on g2, which g1's 20,000 frames of 114 B are
     * sent to: the bucket and the rate over the test's time pass, the rest is g2's tx_dropped and
     * ovs_tx_qos_drops; another type, or a cir of 0, is refused and the policer in force kept.
     */
    @Test
    public void anEgressPolicerDropsAboveItsRateAndCountsIt() throws Exception {
        pktgenToDummy();
        long t0 = System.nanoTime();
        dp.setQos("g2", "egress-policer", Map.of("cir", "10000", "cbs", "10000"));
        for (Map.Entry<String, Map<String, String>> bad : Map.of("linux-htb", Map.of("max-rate", "1000"),
                "egress-policer", Map.of("cir", "0", "cbs", "100")).entrySet()) {
            try {
                dp.setQos("g2", bad.getKey(), bad.getValue());
                org.junit.Assert.fail("accepted " + bad);
            } catch (io.pvio.dpif.DpifException e) {
                assertTrue(e.getMessage(), e.getMessage().startsWith("g2: "));
            }
        }
        dp.setInterface("g1", null, Map.of("count", "20000", "size", "114"));
        await(() -> "all policed: " + dp.port("g2").statistics(), () -> {
            Map<String, Long> st = dp.port("g2").statistics();
            return st.get("ovs_tx_qos_drops") + st.get("tx_packets") == 20000;
        });
        long elapsed = System.nanoTime() - t0;
        Map<String, Long> st = dp.port("g2").statistics();
        long passed = st.get("tx_packets");
        long most = 100 + (elapsed * 10_000 / S) / 100 + 1;
        assertTrue(passed + " passed in " + elapsed / 1_000_000 + " ms, at most " + most, passed >= 100 && passed <= most);
        assertTrue(st.toString(), st.get("tx_dropped") >= st.get("ovs_tx_qos_drops"));
        dp.setQos("g2", "", Map.of()); // none: everything passes
        dp.setInterface("g1", null, Map.of("count", "21000", "size", "114"));
        await(() -> "all passed: " + dp.port("g2").statistics(),
                () -> dp.port("g2").statistics().get("tx_packets") == passed + 1000);
    }

    /** Bridge br0: pktgen g1 (20,000 frames of 114 B, not started) forwarded to dummy port g2. */
    private void pktgenToDummy() throws Exception {
        dp.addBridge("br0");
        dp.delFlows("br0", null);
        dp.addFlow("br0", "in_port=1,actions=output:2");
        dp.addPort("br0", "g1", "pktgen", Map.of("count", "20000", "size", "114", "enabled", "false"), 1);
        dp.addPort("br0", "g2", "dummy", Map.of(), 2);
    }
}
