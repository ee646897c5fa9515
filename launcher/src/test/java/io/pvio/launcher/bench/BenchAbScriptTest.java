package io.pvio.launcher.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.Assume;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * launcher/bench-ab.sh's variants against a stand-in for the peer script: JVM options and the FLOWS=N /
 * NORMAL=N settings reach pvio's back end apart, and the table gives each variant's median and its ratio to
 * the first. The real peer (DPDK testpmd) is exercised by hand, see docs/performance.md.
 */
public class BenchAbScriptTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void variantsPassJvmOptionsAndFlowSettingsApart() throws Exception {
        Assume.assumeTrue("needs bash", BenchPeerScriptTest.onPath("bash"));
        Path dir = tmp.getRoot().toPath();
        Path log = dir.resolve("seen.log");
        // reports a rate per flow setting, and logs what the back end would have been given
        Path peer = dir.resolve("peer.sh");
        Files.writeString(peer, String.join("\n",
                "#!/usr/bin/env bash",
                "echo \"jar=$(basename \"$PVIO_JAR\") flows=$BENCH_PEER_FLOWS opts=[$BENCH_PEER_JAVA_OPTS]\" >> '" + log + "'",
                "case $BENCH_PEER_FLOWS in flows:1000) v=4;; normal:5) v=2;; '') v=8;; *) v=1;; esac",
                "echo \"peer pvio enqueue size=64 mpps=$v.000 gbps=1.000 runs=1\"",
                ""));
        Files.setPosixFilePermissions(peer, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path jar = dir.resolve("a.jar");
        Files.writeString(jar, "");
        Path out = dir.resolve("out.txt");
        Process p = new ProcessBuilder("bash", new File("bench-ab.sh").getAbsolutePath(), "--peer", peer.toString(),
                "--mode", "enqueue", "--size", "64", "--rounds", "2", jar + "@FLOWS=1000~-Dx=1", jar + "@NORMAL=5", jar.toString())
                .redirectOutput(out.toFile()).redirectError(dir.resolve("err.txt").toFile()).start();
        assertTrue("bench-ab.sh did not finish", p.waitFor(60, TimeUnit.SECONDS));
        String o = Files.readString(out, StandardCharsets.UTF_8);
        assertEquals(o + Files.readString(dir.resolve("err.txt")), 0, p.exitValue());
        List<String> seen = Files.readAllLines(log);
        assertEquals(List.of("jar=a.jar flows=flows:1000 opts=[ -Dx=1]", "jar=a.jar flows=normal:5 opts=[]",
                "jar=a.jar flows= opts=[]"), seen.subList(0, 3));
        assertEquals(seen.subList(0, 3), seen.subList(3, 6)); // every round runs every variant, in order
        assertTrue(o, o.contains("enqueue       4.000  4.000-4.000   1.00  " + jar + "@FLOWS=1000~-Dx=1\n"));
        assertTrue(o, o.contains("enqueue       2.000  2.000-2.000   0.50  " + jar + "@NORMAL=5\n"));
        assertTrue(o, o.contains("enqueue       8.000  8.000-8.000   2.00  " + jar + "\n"));
    }
}
