package io.pvio.launcher.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.Assume;
import org.junit.Before;
import org.junit.Test;

/**
 * launcher/bench-peer.sh's bookkeeping (alternation, medians, each pair's ratio) against a stand-in for the
 * peer script that reports fixed figures; the real peer (DPDK testpmd) is exercised by hand, see
 * docs/performance.md.
 */
public class BenchPeerScriptTest extends ScriptTest {
    private Path peer;
    private Path jar;

    @Before
    public void standInPeer() throws IOException {
        Assume.assumeTrue("needs taskset", onPath("taskset"));
        // the n-th measurement of a side reports that side's n-th figure (cycling through three)
        peer = dir.resolve("peer.sh");
        Files.writeString(peer, String.join("\n",
                "#!/usr/bin/env bash",
                "label=; size=; mode=",
                "while [ $# -gt 0 ]; do case $1 in --label|--size|--mode) eval \"${1#--}=\\$2\"; shift 2;; *) shift;; esac; done",
                "f=\"$(dirname \"$0\")/count.$label\"; n=$(( $(cat \"$f\" 2>/dev/null || echo 0) + 1 )); echo $n > \"$f\"",
                "if [ \"$label\" = pvio ]; then v=(5 10 8); else v=(10 10 16); fi",
                "echo \"peer $label $mode size=$size mpps=${v[$(( (n - 1) % 3 ))]}.000 gbps=1.000 runs=1\"",
                ""));
        Files.setPosixFilePermissions(peer, PosixFilePermissions.fromString("rwxr-xr-x"));
        jar = dir.resolve("no-c2c.jar"); // not a jar: `pvio c2c` gives no figure, printed as NA
        Files.writeString(jar, "");
    }

    private String[] run(String... args) throws Exception {
        List<String> a = new ArrayList<>(List.of("--peer", peer.toString(), "--jar", jar.toString()));
        a.addAll(List.of(args));
        Run r = script("bench-peer.sh", 120, a);
        return new String[] {Integer.toString(r.exit()), r.out(), r.err()};
    }

    @Test
    public void printsTheMediansTheirRatioAndEachPairsRatio() throws Exception {
        String[] r = run("--size", "64", "--mode", "enqueue", "--runs", "3", "--no-match-c2c");
        assertEquals(r[2], "0", r[0]);
        String row = r[1].lines().filter(l -> l.startsWith("enqueue")).findFirst().orElse("");
        // pvio 5, 10, 8 against dpdk 10, 10, 16: medians 8 and 10; pairs 0.50, 1.00, 0.50
        assertTrue(r[1], row.matches("enqueue +64 +8\\.000 +1\\.000 +10\\.000 +1\\.000 +0\\.80 +pairs 0\\.50 1\\.00 0\\.50; "
                + "pvio 5\\.000-10\\.000, dpdk 10\\.000-16\\.000; c2c pvio NA/NA NA/NA NA/NA; .*"));
    }

    @Test
    public void marksAPairWhosePlacementWasNotConfirmed() throws Exception {
        // no c2c figure, so no pair can be shown to share a placement: each is tried 4 times, kept, marked
        String[] r = run("--size", "64", "--mode", "enqueue", "--runs", "2");
        assertEquals(r[2], "0", r[0]);
        assertTrue(r[1], r[1].contains(" pairs 0.50* 1.00*; "));
        assertTrue(r[2], r[2].contains("pair measured again"));
    }

    @Test
    public void rejectsABadRunCount() throws Exception {
        String[] r = run("--runs", "0");
        assertEquals(r[2], "2", r[0]);
        assertTrue(r[2], r[2].contains("--runs needs a positive number"));
    }
}
