package io.pvio.launcher.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.junit.Assume.assumeTrue;

import io.pvio.launcher.it.guest.PvioDaemon;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.After;
import org.junit.Test;

/**
 * A dpdkvhostuser port of a real {@code pvio vswitchd} whose front end, DPDK's testpmd (virtio-user, txonly),
 * comes with 2 queue pairs, then again with 1: the port asks for reconfiguration, dpif-netdev pauses its PMD
 * and the port adopts the new count in {@code reconfigure()} (logged as "reconfigured (1 rxq, 1 txq -> 2 rxq,
 * 2 txq)"), the PMD polls both rx queues, and every packet testpmd transmitted reaches the sink port.
 */
public class VhostMultiQueueE2EIT {
    private static final long TIMEOUT_S = 60;
    private PvioDaemon pvio;
    private Process testpmd;
    private String prefix;
    private Path pmdLog;

    @After
    public void tearDown() throws Exception {
        stopTestpmd();
        if (pvio != null) {
            pvio.close();
        }
    }

    private void startTestpmd(int queues) throws Exception {
        prefix = "pvio-mq-" + ProcessHandle.current().pid() + "-" + queues;
        pmdLog = pvio.runDir().resolve("testpmd-" + queues + ".log");
        testpmd = new ProcessBuilder("stdbuf", "-oL", "/usr/bin/dpdk-testpmd", "--lcores", "0@0,1@1", "--no-pci",
                "--no-huge", "-m", "256", "--file-prefix=" + prefix, "--no-telemetry",
                "--vdev", "net_virtio_user0,path=" + pvio.runDir().resolve("vq") + ",queues=" + queues,
                "--", "-i", "--total-num-mbufs=8192", "--nb-cores=1", "--rxq=" + queues, "--txq=" + queues,
                "--forward-mode=txonly", "--txpkts=64")
                .redirectErrorStream(true).redirectOutput(pmdLog.toFile()).start();
        await("testpmd's prompt", () -> {
            assertTrue("testpmd exited: " + Files.readString(pmdLog), testpmd.isAlive());
            return Files.readString(pmdLog).contains("testpmd>");
        });
    }

    private void command(String c) throws Exception {
        testpmd.getOutputStream().write((c + "\n").getBytes());
        testpmd.getOutputStream().flush();
    }

    /** Stops forwarding and returns the packets testpmd transmitted (its totals at "stop"). */
    private long stopForwarding() throws Exception {
        int from = Files.readString(pmdLog).length();
        command("stop");
        await("testpmd to stop", () -> Files.readString(pmdLog).substring(from).contains("Done."));
        Matcher m = Pattern.compile("TX-packets:\\s+(\\d+)").matcher(Files.readString(pmdLog).substring(from));
        long v = -1;
        while (m.find()) {
            v = Long.parseLong(m.group(1));
        }
        return v;
    }

    private void stopTestpmd() throws Exception {
        if (testpmd == null) {
            return;
        }
        try {
            command("quit");
        } catch (java.io.IOException e) {
            // exited already
        }
        if (!testpmd.waitFor(30, TimeUnit.SECONDS)) {
            testpmd.destroyForcibly();
        }
        testpmd = null;
        for (String d : new String[] {"/var/run/dpdk/", "/tmp/dpdk/"}) {
            File[] kids = new File(d + prefix).listFiles();
            if (kids != null) {
                Arrays.stream(kids).forEach(File::delete);
            }
            new File(d + prefix).delete();
        }
    }

    private long stat(String port, String key) throws Exception {
        PvioDaemon.Out o = pvio.pvio("vsctl", "get", "Interface", port, "statistics:" + key);
        return o.status() == 0 ? Long.parseLong(o.out().strip()) : -1;
    }

    interface Cond {
        boolean get() throws Exception;
    }

    private static void await(String what, Cond c) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
        while (!c.get()) {
            assertTrue("timed out waiting for " + what, System.nanoTime() < end);
            Thread.sleep(100);
        }
    }

    /** One traffic phase: testpmd with {@code queues} pairs transmits; every packet reaches the sink. */
    private void phase(int queues, String reconfigured) throws Exception {
        long rxBefore = stat("vq", "rx_packets");
        long sinkBefore = stat("sink", "tx_packets");
        startTestpmd(queues);
        command("start");
        await("the port reconfigured to " + queues + " queue pair(s)", () -> pvio.log().contains(reconfigured)
                && pvio.ok("vsctl", "get", "Interface", "vq", "link_state").strip().equals("up"));
        String rxqs = pvio.ok("appctl", "dpif-netdev/pmd-rxq-show");
        for (int q = 0; q < 2; q++) {
            boolean polled = Pattern.compile("port: vq\\s+queue-id:\\s+" + q + " ").matcher(rxqs).find();
            assertEquals(rxqs, q < queues, polled);
        }
        // traffic on every rx queue of the port
        for (int q = 0; q < queues; q++) {
            Pattern used = Pattern.compile("vring " + (2 * q + 1) + " \\(rx_qid " + q + "\\): [^\\n]*used_idx (\\d+)");
            await("rx queue " + q + " to receive", () -> {
                Matcher m = used.matcher(pvio.ok("appctl", "netdev-vhost/show", "vq"));
                return m.find() && Long.parseLong(m.group(1)) > 0;
            });
        }
        await("some traffic", () -> stat("vq", "rx_packets") > rxBefore + 10_000);
        long sent = stopForwarding();
        assertTrue("testpmd's totals: " + Files.readString(pmdLog), sent > 0);
        await("pvio to receive the " + sent + " packets testpmd sent",
                () -> stat("vq", "rx_packets") - rxBefore >= sent);
        assertEquals("packets received from testpmd", sent, stat("vq", "rx_packets") - rxBefore);
        await("the sink to count them", () -> stat("sink", "tx_packets") - sinkBefore >= sent);
        assertEquals("packets forwarded to the sink", sent, stat("sink", "tx_packets") - sinkBefore);
        System.out.printf("MEASURED vhost multiqueue e2e: testpmd %d queue pair(s) TX-packets=%d, vq rx_packets"
                + " +%d, sink tx_packets +%d%n", queues, sent, stat("vq", "rx_packets") - rxBefore,
                stat("sink", "tx_packets") - sinkBefore);
        stopTestpmd();
    }

    @Test
    public void testpmdWithTwoThenOneQueuePairs() throws Exception {
        boolean installed = new File("/usr/bin/dpdk-testpmd").canExecute();
        if (!installed && "true".equals(System.getenv("CI"))) {
            fail("dpdk-testpmd is not installed (CI=true): install the Debian package dpdk");
        }
        assumeTrue("dpdk-testpmd is not installed: skipping", installed);
        Path base = Files.createDirectories(Path.of(System.getProperty("pvio.it.dir", "target/it")));
        pvio = new PvioDaemon(Files.createTempDirectory(base, "mq-").toAbsolutePath());
        pvio.start();
        pvio.ok("vsctl", "add-br", "brmq");
        pvio.ok("vsctl", "add-port", "brmq", "sink", "--", "set", "Interface", "sink", "type=pktgen",
                "ofport_request=1", "options:count=1", "options:enabled=false",
                "--", "add-port", "brmq", "vq", "--", "set", "Interface", "vq", "type=dpdkvhostuser",
                "ofport_request=2");
        pvio.ok("ofctl", "del-flows", "brmq");
        pvio.ok("ofctl", "add-flow", "brmq", "in_port=2,actions=output:1");
        phase(2, "vq: reconfigured (1 rxq, 1 txq -> 2 rxq, 2 txq)");
        phase(1, "vq: reconfigured (2 rxq, 2 txq -> 1 rxq, 1 txq)");
        pvio.ok("vsctl", "del-port", "brmq", "vq", "--", "del-port", "brmq", "sink");
        assertEquals("packet buffers in use after the ports closed: " + pvio.ok("appctl", "memory/show"), 0,
                pvio.buffersInUse());
    }
}
