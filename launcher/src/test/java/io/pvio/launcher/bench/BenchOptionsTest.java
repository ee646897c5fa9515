package io.pvio.launcher.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.Test;

public class BenchOptionsTest {
    @Test
    public void defaultsAndLists() {
        BenchOptions d = BenchOptions.parse(List.of(), null);
        assertEquals(List.of(64, 512, 1518), d.sizes);
        assertEquals(List.of("cpu", "async", "async-cpu"), d.modes);
        assertEquals(List.of("enqueue", "dequeue", "pvp"), d.directions);
        assertEquals(5, d.seconds);
        assertEquals(2, d.warmup);
        assertFalse(d.json);
        BenchOptions o = BenchOptions.parse(List.of("--size", "1518,64", "--mode=async-cpu,cpu", "--direction", "pvp",
                "--json", "--warmup", "0", "--no-pin", "--rate", "0.5"), 10);
        assertEquals(List.of(1518, 64), o.sizes);
        assertEquals(List.of("cpu", "async-cpu"), o.modes); // canonical order: modes are switched in this order
        assertEquals(List.of("pvp"), o.directions);
        assertEquals(10, o.seconds);
        assertEquals(0, o.warmup);
        assertTrue(o.json);
        assertFalse(o.pin);
        assertEquals(0.5, o.rateMpps, 0);
        assertEquals(1, d.engineCpu); // the DMA engine on the front end's core, not on pvio's PMD
        assertEquals(0, d.guestSleepUs);
        assertEquals(1, d.burst);
        BenchOptions e = BenchOptions.parse(List.of("--engine-cpu", "-1", "--guest-sleep=50", "--burst", "32",
                "--payload", "none", "--queue-size", "1024"), null);
        assertEquals(-1, e.engineCpu);
        assertEquals(50, e.guestSleepUs);
        assertEquals(32, e.burst);
        assertEquals("pattern", d.payload);
        e.rateMpps = 0.4;
        Scenario sc = Scenario.of("enqueue", 1518, e);
        Map<String, String> gen = sc.ports.stream().filter(p -> p.name().equals("a-gen")).findFirst().orElseThrow()
                .options();
        assertEquals("32", gen.get("burst"));
        assertEquals("none", gen.get("payload"));
        assertEquals("400000", gen.get("rate"));
        assertEquals("1024", sc.ports.stream().filter(p -> p.name().equals("b-fe")).findFirst().orElseThrow()
                .options().get("queue_size"));
        assertEquals("false", sc.ports.stream().filter(p -> p.name().equals("d-sink")).findFirst().orElseThrow()
                .options().get("read_payload"));
        // read: the generator sends headers only and the sink (the guest's side in enqueue) reads every byte
        Scenario r = Scenario.of("enqueue", 1518, BenchOptions.parse(List.of("--payload", "read"), null));
        assertEquals("none", r.ports.stream().filter(p -> p.name().equals("a-gen")).findFirst().orElseThrow()
                .options().get("payload"));
        assertEquals("true", r.ports.stream().filter(p -> p.name().equals("d-sink")).findFirst().orElseThrow()
                .options().get("read_payload"));
    }

    @Test
    public void helpPrintsTheUsageAndSucceeds() {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        int rc = Bench.run(null, List.of("--size", "64", "--help"), null, new java.io.PrintStream(out, true),
                new java.io.PrintStream(err, true));
        assertEquals(0, rc);
        assertTrue(out.toString(), out.toString().startsWith("usage: pvio bench"));
        assertEquals("", err.toString());
        assertEquals(2, Bench.run(null, List.of("--frob"), null, new java.io.PrintStream(out, true),
                new java.io.PrintStream(err, true)));
        assertTrue(err.toString(), err.toString().contains("unknown option --frob"));
    }

    @Test
    public void badInputIsRefusedWithAMessage() {
        for (List<String> bad : List.of(List.of("--size", "20"), List.of("--size"), List.of("--mode", "dma"),
                List.of("--direction", "sideways"), List.of("--warmup", "x"), List.of("--frob"), List.of("--rate", "-1"),
                List.of("--engine-cpu", "-2"), List.of("--guest-sleep", "x"), List.of("--guest-sleep", "10001"),
                List.of("--burst", "0"), List.of("--burst", "33"), List.of("--payload", "zero"),
                List.of("--queue-size", "1000"), List.of("--queue-size", "32"))) {
            try {
                BenchOptions.parse(bad, null);
                fail("accepted " + bad);
            } catch (IllegalArgumentException e) {
                assertFalse(e.getMessage().isEmpty());
            }
        }
    }

    /** Every back-end rx queue on PMD core 0, every front-end one on core 1, given round-robin by name. */
    @Test
    public void portNamesPutEachSideOnItsPmd() {
        for (String dir : BenchOptions.DIRECTIONS) {
            Scenario s = Scenario.of(dir, 64, new BenchOptions());
            List<Scenario.Port> sorted = new java.util.ArrayList<>(s.ports);
            sorted.sort((a, b) -> a.name().compareTo(b.name()));
            Set<String> ofports = new HashSet<>();
            for (int i = 0; i < sorted.size(); i++) {
                Scenario.Port p = sorted.get(i);
                assertEquals(dir + " " + p.name(), i % 2, p.core());
                assertTrue(ofports.add(p.bridge() + p.ofport()));
                // rx queues that carry traffic: the generator on its side, vhost on pvio's, virtio-user on the guest's
                int side = p.bridge().equals("br1") ? 1 : 0;
                if (p.name().equals(s.gen) || !p.type().equals("pktgen")) {
                    assertEquals(dir + " " + p.name(), side, p.core());
                }
            }
            Map<String, String> types = new HashMap<>();
            s.ports.forEach(p -> types.put(p.name(), p.type()));
            assertEquals("pktgen", types.get(s.gen));
            assertEquals("pktgen", types.get(s.sink));
            for (String v : s.vhostPorts()) {
                assertEquals("dpdkvhostuser", types.get(v));
            }
            List<String> argv = s.addPorts(true);
            assertEquals("vsctl", argv.get(0));
            assertFalse(argv.get(1).equals("--"));
            assertTrue(String.join(" ", argv).contains("options:vhost-async-attr=\"("));
            assertFalse(String.join(" ", s.addPorts(false)).contains("vhost-async-attr"));
        }
    }

    @Test
    public void jsonStringsAreEscaped() {
        assertEquals("\"a\\\"b\\\\c\\n\\u0001\"", Report.str("a\"b\\c\n\u0001"));
    }
}
