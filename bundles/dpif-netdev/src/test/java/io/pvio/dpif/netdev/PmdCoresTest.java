package io.pvio.dpif.netdev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.junit.Assume.assumeTrue;

import io.pvio.dpif.DpifException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.After;
import org.junit.Test;

/**
 * pmd-cpu-mask as OVS reads it: bits for cores the machine lacks are ignored, and each PMD thread runs pinned
 * to its core's CPU. The machine here is cores 0-1 ({@link Cpus#PROPERTY}).
 */
public class PmdCoresTest extends DpTest {
    @Override
    protected String cpus() {
        return "0-1";
    }

    @After
    public void clearPinProperty() {
        System.clearProperty("pvio.dpif.pin-pmds");
    }

    @Test
    public void coresTheMachineLacksAreIgnored() throws Exception {
        dp.setOtherConfig(Map.of("pmd-cpu-mask", "0x6"));
        assertEquals(List.of("pmd-c01"), dp.pmdThreadNames());
        assertTrue(log.toString(), log.contains(
                "WARNING pmd-cpu-mask 0x6: core 2 not on this machine (cores 0-1), no PMD thread for it"));
        dp.setOtherConfig(Map.of("pmd-cpu-mask", "0xff"));
        assertEquals(List.of("pmd-c00", "pmd-c01"), dp.pmdThreadNames());
        try {
            dp.setOtherConfig(Map.of("pmd-cpu-mask", "0xc"));
            fail("a mask of absent cores only was taken");
        } catch (DpifException e) {
            assertEquals("pmd-cpu-mask '0xc' selects no core of this machine (cores 0-1)", e.getMessage());
        }
        assertEquals(List.of("pmd-c00", "pmd-c01"), dp.pmdThreadNames()); // the mask in force is kept
        assertEquals("0xff", dp.otherConfig().get("pmd-cpu-mask"));
    }

    @Test
    public void eachPmdRunsOnItsCore() throws Exception {
        assumeTrue("needs CPUs 0 and 1", Cpus.machine().get(1));
        dp.setOtherConfig(Map.of("pmd-cpu-mask", "0x3"));
        await("pmd-c00 pinned", () -> "0".equals(allowedCpus("pmd-c00")));
        await("pmd-c01 pinned", () -> "1".equals(allowedCpus("pmd-c01")));
    }

    @Test
    public void pinningCanBeLeftToTheKernel() throws Exception {
        assumeTrue("needs CPUs 0 and 1", Cpus.machine().get(1));
        System.setProperty("pvio.dpif.pin-pmds", "false");
        dp.setOtherConfig(Map.of("pmd-cpu-mask", "0x2"));
        await("pmd-c01 started", () -> allowedCpus("pmd-c01") != null);
        String process = Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(l -> l.startsWith("Cpus_allowed_list:")).findFirst().orElseThrow().substring(18).strip();
        assertEquals(process, allowedCpus("pmd-c01"));
    }

    @Test
    public void cpuLists() {
        assertEquals("0-1", Cpus.format(Cpus.parse("0-1\n")));
        assertEquals("0,2-5,8", Cpus.format(Cpus.parse("0,2-3,4-5,8")));
        assertEquals("7", Cpus.format(Cpus.parse(" 7 ")));
        assertNull(Cpus.parse("a"));
        assertNull(Cpus.parse("3-1"));
        assertNull(Cpus.parse("1-2-3"));
        assertNull(Cpus.parse("-1"));
    }

    /** Cpus_allowed_list of this process's thread named {@code comm}, or null if there is none. */
    private static String allowedCpus(String comm) {
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                try {
                    if (!Files.readString(t.resolve("comm")).strip().equals(comm)) {
                        continue;
                    }
                    for (String l : Files.readAllLines(t.resolve("status"))) {
                        if (l.startsWith("Cpus_allowed_list:")) {
                            return l.substring(l.indexOf(':') + 1).strip();
                        }
                    }
                } catch (IOException e) {
                    // the thread ended meanwhile
                }
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return null;
    }
}
