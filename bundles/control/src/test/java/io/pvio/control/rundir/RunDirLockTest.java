package io.pvio.control.rundir;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.Test;

/** One daemon per run directory: the second is refused and told which process holds it. */
public class RunDirLockTest {
    @Test
    public void aSecondHolderOfTheSameRunDirectoryIsRefused() throws Exception {
        Path dir = Files.createTempDirectory("pvio-lock");
        RunDirLock first = RunDirLock.acquire(dir);
        String pid = Long.toString(ProcessHandle.current().pid());
        assertEquals(pid, Files.readString(dir.resolve(RunDirLock.PID_FILE)).trim());
        for (int i = 0; i < 2; i++) {
            try {
                if (i == 0) {
                    RunDirLock.acquire(dir);
                } else {
                    RunDirLock.check(dir);
                }
                fail("locked twice");
            } catch (IOException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("in use by another pvio-vswitchd (pid " + pid
                        + ")"));
            }
        }
        first.close();
        RunDirLock.check(dir); // released with its holder; check keeps nothing
        RunDirLock.acquire(dir).close();
    }

    @Test
    public void aMissingRunDirectoryIsCreated() throws Exception {
        Path dir = Files.createTempDirectory("pvio-lock").resolve("a/b");
        try (RunDirLock l = RunDirLock.acquire(dir)) {
            assertTrue(Files.exists(dir.resolve(RunDirLock.PID_FILE)));
        }
    }

    /** As ovs-vswitchd: a daemon that stops removes its pid file; the launcher's check leaves it. */
    @Test
    public void closeRemovesThePidFileAndCheckDoesNot() throws Exception {
        Path dir = Files.createTempDirectory("pvio-lock");
        Path pid = dir.resolve(RunDirLock.PID_FILE);
        RunDirLock.check(dir);
        assertTrue(Files.exists(pid));
        RunDirLock l = RunDirLock.acquire(dir);
        l.close();
        assertFalse(Files.exists(pid));
        l.close(); // idempotent
        RunDirLock.acquire(dir).close(); // and the run directory can be taken again
    }

    /** A pid file that is no longer the one locked (removed and made again by somebody else) is not removed. */
    @Test
    public void closeLeavesAnotherHoldersPidFile() throws Exception {
        Path dir = Files.createTempDirectory("pvio-lock");
        Path pid = dir.resolve(RunDirLock.PID_FILE);
        RunDirLock l = RunDirLock.acquire(dir);
        Files.delete(pid);
        try (RunDirLock other = RunDirLock.acquire(dir)) { // the path now names another file: free to lock
            l.close();
            assertEquals(Long.toString(ProcessHandle.current().pid()), Files.readString(pid).trim());
            try {
                RunDirLock.check(dir);
                fail("the second holder's lock was lost");
            } catch (IOException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("in use by another pvio-vswitchd"));
            }
        }
        assertFalse(Files.exists(pid));
    }
}
