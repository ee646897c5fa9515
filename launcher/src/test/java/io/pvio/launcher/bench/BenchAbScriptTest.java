package io.pvio.launcher.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

/**
 * launcher/bench-ab.sh's variants against a stand-in for the peer script: JVM options and the FLOWS=N /
 * NORMAL=N settings reach pvio's back end apart, and the table gives each variant's median, its ratio to the
 * first, and the paired view (per-round ratios). The real peer (DPDK testpmd) is exercised by hand, see
 * docs/performance.md.
 */
public class BenchAbScriptTest extends ScriptTest {

    @Test
    public void variantsPassJvmOptionsAndFlowSettingsApart() throws Exception {
        Path log = dir.resolve("seen.log");
        // reports a rate per flow setting, and logs what the back end would have been given
        Path peer = peer(
                "echo \"jar=$(basename \"$PVIO_JAR\") flows=$BENCH_PEER_FLOWS opts=[$BENCH_PEER_JAVA_OPTS]\" >> '" + log + "'",
                "case $BENCH_PEER_FLOWS in flows:1000) v=4;; normal:5) v=2;; '') v=8;; *) v=1;; esac");
        Path jar = jar("a.jar");
        String o = benchAb(peer, "--mode", "enqueue", "--size", "64", "--rounds", "2",
                jar + "@FLOWS=1000~-Dx=1", jar + "@NORMAL=5", jar.toString());
        List<String> seen = Files.readAllLines(log);
        assertEquals(List.of("jar=a.jar flows=flows:1000 opts=[ -Dx=1]", "jar=a.jar flows=normal:5 opts=[]",
                "jar=a.jar flows= opts=[]"), seen.subList(0, 3));
        assertEquals(seen.subList(0, 3), seen.subList(3, 6)); // every round runs every variant, in order
        String t = o.replaceAll(" +", " ");
        assertTrue(o, t.contains("enqueue 4.000 4.000-4.000 1.00 (first) " + jar + "@FLOWS=1000~-Dx=1\n"));
        assertTrue(o, t.contains("enqueue 2.000 2.000-2.000 0.50 paired 0.50, above in 0 of 2 " + jar + "@NORMAL=5\n"));
        assertTrue(o, t.contains("enqueue 8.000 8.000-8.000 2.00 paired 2.00, above in 2 of 2 " + jar + "\n"));
    }

    /**
     * The paired view: the median of each round's ratio to the first variant, and the rounds above it, which
     * the ratio of medians hides when the host's level moves between rounds.
     */
    @Test
    public void pairedRatiosAreTakenWithinRounds() throws Exception {
        Path count = dir.resolve("count");
        // runs in order: round 1 a=1 b=2, round 2 a=8 b=4, round 3 a=4 b=6
        Path peer = peer(
                "n=$(( $(cat '" + count + "' 2>/dev/null || echo 0) + 1 )); echo $n > '" + count + "'",
                "v=(0 1 2 8 4 4 6); v=${v[$n]}");
        Path a = jar("a.jar");
        Path b = jar("b.jar");
        String t = benchAb(peer, "--rounds", "3", a.toString(), b.toString()).replaceAll(" +", " ");
        assertTrue(t, t.contains("enqueue 4.000 1.000-8.000 1.00 (first) " + a + "\n"));
        // medians level (4 and 4), yet b was above a in two rounds of three, by 1.5x at the median
        assertTrue(t, t.contains("enqueue 4.000 2.000-6.000 1.00 paired 1.50, above in 2 of 3 " + b + "\n"));
    }

    /** A stand-in peer: {@code body} sets v, the rate it reports in Mpps. */
    private Path peer(String... body) throws Exception {
        List<String> lines = new ArrayList<>(List.of("#!/usr/bin/env bash"));
        lines.addAll(List.of(body));
        lines.add("echo \"peer pvio enqueue size=64 mpps=$v.000 gbps=1.000 runs=1\"");
        lines.add("");
        Path peer = dir.resolve("peer.sh");
        Files.writeString(peer, String.join("\n", lines));
        Files.setPosixFilePermissions(peer, PosixFilePermissions.fromString("rwxr-xr-x"));
        return peer;
    }

    private Path jar(String name) throws Exception {
        Path jar = dir.resolve(name);
        Files.writeString(jar, "");
        return jar;
    }

    /** bench-ab.sh's stdout; it must exit 0. */
    private String benchAb(Path peer, String... args) throws Exception {
        List<String> a = new ArrayList<>(List.of("--peer", peer.toString()));
        a.addAll(List.of(args));
        Run r = script("bench-ab.sh", 60, a);
        assertEquals(r.out() + r.err(), 0, r.exit());
        return r.out();
    }
}
