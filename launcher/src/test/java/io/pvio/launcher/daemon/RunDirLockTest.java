package io.pvio.launcher.daemon;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.Test;

/** One daemon per run directory: the second is refused and told which process holds it. */
public class RunDirLockTest {
    @Test
    public void aSecondDaemonOnTheSameRunDirectoryIsRefused() throws Exception {
        Path dir = Files.createTempDirectory("pvio-lock");
        FileLock first = Daemon.lockRunDir(dir);
        String pid = Long.toString(ProcessHandle.current().pid());
        assertEquals(pid, Files.readString(dir.resolve("ovs-vswitchd.pid")).trim());
        try {
            Daemon.lockRunDir(dir);
            fail("locked twice");
        } catch (IOException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("in use by another pvio-vswitchd (pid " + pid + ")"));
        }
        first.channel().close();
        FileLock again = Daemon.lockRunDir(dir); // released with its holder
        again.channel().close();
    }
}
