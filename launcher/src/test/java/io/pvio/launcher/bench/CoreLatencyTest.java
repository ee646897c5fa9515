package io.pvio.launcher.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pvio.launcher.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.Assume;
import org.junit.Before;
import org.junit.Test;

public class CoreLatencyTest {
    @Before
    public void twoCpus() {
        Assume.assumeTrue("needs two CPUs for the two spinning threads", Runtime.getRuntime().availableProcessors() >= 2);
    }

    /**
     * A cache line bounced between two threads takes a finite, positive time (no upper bound: on a loaded
     * machine the two threads may share a CPU and wait for the scheduler).
     */
    @Test
    public void measuresAOneWayLatencyInNanoseconds() throws Exception {
        double ns = CoreLatency.measure(3, 2_000);
        assertTrue("one-way latency " + ns + " ns", ns > 1 && Double.isFinite(ns));
    }

    @Test
    public void theCommandPrintsItsFigureAndRejectsBadArguments() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        assertEquals(0, Main.run(List.of("c2c", "--samples", "1"), o, e));
        String line = out.toString(StandardCharsets.UTF_8).trim();
        assertTrue(line, line.matches("c2c_ns=\\d+"));
        assertEquals(2, Main.run(List.of("c2c", "--samples", "0"), o, e));
        assertEquals(2, Main.run(List.of("c2c", "--frob"), o, e));
        assertTrue(err.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8).contains("unknown argument"));
    }
}
