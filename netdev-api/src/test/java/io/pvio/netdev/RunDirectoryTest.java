package io.pvio.netdev;

import static org.junit.Assert.assertEquals;

import java.nio.file.Path;
import java.util.Map;
import org.junit.Test;

public class RunDirectoryTest {
    @Test
    public void configurationWinsOverFrameworkProperty() {
        assertEquals(Path.of("/cfg"), RunDirectory.resolve(Map.of("run.dir", "/cfg"), k -> "/fw"));
    }

    @Test
    public void frameworkPropertyWhenNotConfiguredOrBlank() {
        assertEquals(Path.of("/fw"), RunDirectory.resolve(Map.of(), k -> k.equals("pvio.run.dir") ? "/fw" : null));
        assertEquals(Path.of("/fw"), RunDirectory.resolve(Map.of("run.dir", " "), k -> "/fw"));
    }

    @Test
    public void defaultIsPvioRunInTheWorkingDirectory() {
        Path cwd = Path.of("").toAbsolutePath();
        assertEquals(cwd.resolve("pvio-run"), RunDirectory.resolve(null, null));
        assertEquals(cwd.resolve("pvio-run"), RunDirectory.resolve(Map.of(), k -> null));
        assertEquals(cwd.resolve("x"), RunDirectory.resolve(Map.of("run.dir", "a/../x"), null));
    }

    @Test
    public void daemonFilesAreKnownByName() {
        for (String n : new String[] {"conf.db", "conf.db.tmp", "pvio-vswitchd.ctl", "ovs-vswitchd.pid",
            "ovs-vswitchd.4242.ctl", "br0.mgmt", "hb1.mgmt.tmp", "vswitchd.log", "deploy", "felix-cache"}) {
            org.junit.Assert.assertTrue(n, RunDirectory.isDaemonFile(n));
        }
        for (String n : new String[] {"vhu0", "vm1.sock", "mgmt", "br0.mgmt0", "pvio-vswitchd.ctl0"}) {
            org.junit.Assert.assertFalse(n, RunDirectory.isDaemonFile(n));
        }
    }
}
