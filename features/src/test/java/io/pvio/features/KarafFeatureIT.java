package io.pvio.features;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;
import static org.ops4j.pax.exam.CoreOptions.vmOption;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.configureConsole;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.karafDistributionConfiguration;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.keepRuntimeFolder;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.logLevel;

import io.pvio.control.protocol.ControlClient;
import io.pvio.control.protocol.ControlProtocol;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import javax.inject.Inject;
import org.apache.karaf.features.FeaturesService;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.karaf.options.LogLevelOption;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/**
 * Issue 16: pvio in a stock Apache Karaf, as its README tells a user: the feature repository is added and
 * {@code pvio} installed (FeaturesService, what feature:repo-add and feature:install call), then the switch
 * is driven through its control socket in ${karaf.data}/pvio: a bridge with two pktgen ports (exact counts),
 * a vhost-user port bound to a DMA channel while dma-ioat stops and starts, appctl exit stopping pvio and
 * not Karaf, pvio started again with the configuration back, and the feature uninstalled with no pvio thread
 * left. Karaf's remote Maven repositories are emptied: pvio's artifacts come from this build (target/repo, a
 * default repository beside Karaf's system/ directory, so nothing needs to be installed in ~/.m2 first), the
 * third-party bundles from the build's local repository.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class KarafFeatureIT {
    private static final long TIMEOUT_MS = 120_000;
    private static final String IOAT = "io.pvio.dma-ioat";
    private static final String CPU = "io.pvio.dma-cpu";

    @Inject
    private BundleContext ctx;

    @Inject
    private FeaturesService features;

    @Configuration
    public Option[] config() throws IOException {
        String m2 = System.getProperty("pvio.m2");
        Path repo = Path.of(System.getProperty("pvio.repo")).toAbsolutePath();
        String version = System.getProperty("pvio.version");
        // the feature repository where mvn:io.pvio/pvio-features/VERSION/xml/features points
        Path xml = repo.resolve("io/pvio/pvio-features/" + version + "/pvio-features-" + version + "-features.xml");
        Files.createDirectories(xml.getParent());
        Files.copy(Path.of(System.getProperty("pvio.features.xml")), xml, StandardCopyOption.REPLACE_EXISTING);
        String url = "org.ops4j.pax.url.mvn";
        List<Option> o = new ArrayList<>(List.of(
                karafDistributionConfiguration().frameworkUrl(new File(System.getProperty("karaf.distribution"))
                                .toURI().toString())
                        .karafVersion(System.getProperty("karaf.version")).name("Apache Karaf")
                        .unpackDirectory(new File(System.getProperty("pvio.it.dir", "target/exam")))
                        .useDeployFolder(false),
                configureConsole().ignoreLocalConsole().ignoreRemoteShell(), // no ssh port
                // JMX on free ports: other Karaf instances may run on this machine
                editConfigurationFilePut("etc/org.apache.karaf.management.cfg", "rmiRegistryPort", freePort()),
                editConfigurationFilePut("etc/org.apache.karaf.management.cfg", "rmiServerPort", freePort()),
                editConfigurationFilePut("etc/org.apache.karaf.management.cfg", "rmiRegistryHost", "127.0.0.1"),
                editConfigurationFilePut("etc/org.apache.karaf.management.cfg", "rmiServerHost", "127.0.0.1"),
                // nothing fetched: the build's local repository and Karaf's system/ directory only
                editConfigurationFilePut("etc/org.ops4j.pax.url.mvn.cfg", url + ".localRepository", m2),
                editConfigurationFilePut("etc/org.ops4j.pax.url.mvn.cfg", url + ".repositories", ""),
                editConfigurationFilePut("etc/org.ops4j.pax.url.mvn.cfg", url + ".defaultRepositories",
                        "${karaf.home.uri}${karaf.default.repository}@id=system.repository@snapshots, "
                                + repo.toUri() + "@id=pvio.build@snapshots"),
                editConfigurationFilePut("etc/org.ops4j.pax.url.mvn.cfg", url + ".offline", "true"),
                logLevel(LogLevelOption.LogLevel.INFO),
                systemProperty("pvio.version").value(System.getProperty("pvio.version")), // the test runs in Karaf
                vmOption("-Xmx512m")));
        if (Boolean.getBoolean("pvio.it.keep")) {
            o.add(keepRuntimeFolder());
        }
        return o.toArray(new Option[0]);
    }

    private static String freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return Integer.toString(s.getLocalPort());
        }
    }

    // ------------------------------------------------------------------ helpers

    private Path runDir() {
        return Path.of(System.getProperty("karaf.data"), "pvio");
    }

    private ControlProtocol.Reply pvio(String... argv) throws IOException {
        return ControlClient.call(ControlClient.socket(runDir()), List.of(argv));
    }

    /** Runs a command that must succeed; returns its output. */
    private String ok(String... argv) throws IOException {
        ControlProtocol.Reply r = pvio(argv);
        assertEquals(Arrays.toString(argv) + ": " + r.err(), 0, r.status());
        return r.out();
    }

    private static void await(String what, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("not within " + TIMEOUT_MS + " ms: " + what);
            }
            Thread.sleep(50);
        }
    }

    private String outputOrError(String... argv) {
        try {
            ControlProtocol.Reply r = pvio(argv);
            return r.status() == 0 ? r.out() : "error " + r.status() + ": " + r.err();
        } catch (IOException e) {
            return "error: " + e; // never null: awaits compare it
        }
    }

    private void awaitOutput(String expected, String... argv) throws InterruptedException {
        String[] last = {""};
        await(Arrays.toString(argv) + " to print " + expected + " (last: " + last[0] + ")", () -> {
            last[0] = outputOrError(argv);
            return last[0].strip().equals(expected);
        });
    }

    private void awaitSocket() throws InterruptedException {
        await("the control socket in " + runDir(), () -> outputOrError("vsctl", "show").startsWith("ovs_version")
                || !outputOrError("vsctl", "show").startsWith("pvio-vswitchd is not running")
                && !outputOrError("vsctl", "show").startsWith("error"));
    }

    private Bundle bundle(String bsn) {
        for (Bundle b : ctx.getBundles()) {
            if (bsn.equals(b.getSymbolicName())) {
                return b;
            }
        }
        throw new AssertionError("no bundle " + bsn);
    }

    private List<Bundle> pvioBundles() {
        List<Bundle> l = new ArrayList<>();
        for (Bundle b : ctx.getBundles()) {
            if (b.getSymbolicName() != null && b.getSymbolicName().startsWith("io.pvio.")) {
                l.add(b);
            }
        }
        return l;
    }

    /** Threads running pvio code or named as pvio names its threads (this test's thread excepted). */
    private static List<String> pvioThreads() {
        List<String> found = new ArrayList<>();
        for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
            Thread t = e.getKey();
            if (t == Thread.currentThread() || !t.isAlive()) {
                continue;
            }
            String n = t.getName();
            boolean pvio = n.startsWith("pmd-c") || n.startsWith("dpif-netdev") || n.startsWith("dma-ioat")
                    || n.startsWith("pvio-") || n.startsWith("vhost");
            for (StackTraceElement f : e.getValue()) {
                pvio |= f.getClassName().startsWith("io.pvio.") && !f.getClassName().startsWith("io.pvio.features.");
            }
            if (pvio) {
                found.add(n + " " + Arrays.toString(Arrays.copyOf(e.getValue(), Math.min(4, e.getValue().length))));
            }
        }
        return found;
    }

    private static long count(String text, String needle) {
        return text.lines().filter(l -> l.contains(needle)).count();
    }

    /** Two pktgen ports on br0: gen sends {@code n} frames (once enabled) and sink must count exactly n. */
    private void awaitExactCount() throws Exception {
        ok("vsctl", "remove", "Interface", "gen", "options", "enabled");
        awaitOutput("5000", "vsctl", "get", "Interface", "sink", "statistics:rx_valid");
        assertEquals("0\n", ok("vsctl", "get", "Interface", "sink", "statistics:rx_lost"));
        assertTrue(ok("appctl", "pktgen/show", "sink").contains("rx_valid: 5000"));
        awaitOutput(ok("appctl", "memory/show").replaceAll("in use \\d+, available \\d+",
                "in use 0, available 16384").strip(), "appctl", "memory/show");
    }

    // ------------------------------------------------------------------ the test

    @Test
    public void featureInstallRunsTheSwitchAndStopsWithoutTheContainer() throws Exception {
        URI repo = URI.create("mvn:io.pvio/pvio-features/" + System.getProperty("pvio.version") + "/xml/features");
        features.addRepository(repo);
        features.installFeature("pvio");
        assertEquals("dma-cpu is installed, not started", Bundle.RESOLVED, bundle(CPU).getState());
        assertEquals(Bundle.ACTIVE, bundle(IOAT).getState());
        for (String bsn : List.of("io.pvio.netdev-api", "io.pvio.posix", "io.pvio.dpif-netdev", "io.pvio.control",
                "io.pvio.netdev-dummy", "io.pvio.netdev-vhost-async", "io.pvio.virtio-user")) {
            assertEquals(bsn, Bundle.ACTIVE, bundle(bsn).getState());
        }

        // one run directory, ${karaf.data}/pvio, for the datapath and control; locked by this process
        Path karafLog = Path.of(System.getProperty("karaf.data"), "log", "karaf.log");
        await("the datapath on " + runDir(), () -> {
            try {
                return Files.readString(karafLog).lines().anyMatch(l -> l.contains("userspace datapath ready")
                        && l.endsWith("run dir " + runDir()));
            } catch (IOException e) {
                return false;
            }
        });
        awaitSocket();
        await("the datapath bound", () -> !outputOrError("appctl", "memory/show").startsWith("error"));
        assertEquals(Long.toString(ProcessHandle.current().pid()),
                Files.readString(runDir().resolve("ovs-vswitchd.pid")).trim());
        // dma-ioat registers its 8 default channels one ConfigAdmin event at a time; dma-cpu adds none
        await("8 IOAT channels up", () -> outputOrError("appctl", "dma/show").lines()
                .filter(l -> l.contains(" ioat ") && l.contains(" up ")).count() == 8);
        String dma = ok("appctl", "dma/show");
        assertEquals(dma, 0, count(dma, " cpu "));

        // a bridge with two pktgen ports: exact counts
        ok("vsctl", "add-br", "br0");
        ok("ofctl", "del-flows", "br0");
        ok("ofctl", "add-flow", "br0", "in_port=1,actions=output:2");
        ok("vsctl", "add-port", "br0", "gen", "--", "set", "Interface", "gen", "type=pktgen", "ofport_request=1",
                "options:count=5000", "options:enabled=false",
                "--", "add-port", "br0", "sink", "--", "set", "Interface", "sink", "type=pktgen", "ofport_request=2",
                "options:count=1", "options:enabled=false");
        awaitExactCount();

        // container-aware commands: Karaf's framework is not pvio's to stop; logging says what else to type
        ControlProtocol.Reply stop0 = pvio("appctl", "bundle/stop", "0");
        assertEquals(2, stop0.status());
        assertTrue(stop0.err(), stop0.err().contains("container's framework") && stop0.err().contains("system:shutdown"));
        // vlog/set reaches Pax Logging: unixctl's DEBUG records ("request: [...]") appear in karaf.log
        assertEquals("", ok("appctl", "vlog/set", "unixctl:dbg"));
        await("unixctl's DEBUG records in " + karafLog, () -> {
            outputOrError("appctl", "version");
            try {
                return Files.readString(karafLog).lines().anyMatch(l -> l.contains("| DEBUG |")
                        && l.contains("request: [appctl, version]"));
            } catch (IOException e) {
                return false;
            }
        });
        String list = ok("appctl", "vlog/list");
        assertTrue(list, list.contains("pax logging") && list.contains("\nunixctl            DEBUG\n"));
        ok("appctl", "vlog/set", "unixctl:info");
        list = ok("appctl", "vlog/list");
        assertTrue(list, list.contains("\nunixctl            INFO\n"));

        // a vhost-user port in the same run directory, txq0 bound to 00:04.0 while dma-ioat stops and starts
        ok("vsctl", "--no-wait", "set", "Open_vSwitch", ".", "other_config:vhost-async-copy-support=true");
        ok("vsctl", "add-port", "br0", "vhu0", "--", "set", "Interface", "vhu0", "type=dpdkvhostuser",
                "options:vhost-async-attr=\"(txq0,00:04.0,256)\"");
        assertTrue("vhost-user socket in the run directory", Files.exists(runDir().resolve("vhu0")));
        String bound = "async txq0: ioat@0000:00:04.0";
        await("vhu0 txq0 bound", () -> outputOrError("appctl", "netdev-vhost/show", "vhu0").contains(bound));
        ok("appctl", "bundle/stop", IOAT);
        assertEquals(Bundle.RESOLVED, bundle(IOAT).getState());
        await("vhu0 txq0 unbound", () -> !outputOrError("appctl", "netdev-vhost/show", "vhu0").contains(bound));
        await("no IOAT engine thread", () -> pvioThreads().stream().noneMatch(t -> t.startsWith("dma-ioat")));
        ok("appctl", "bundle/start", IOAT);
        await("vhu0 txq0 bound again", () -> outputOrError("appctl", "netdev-vhost/show", "vhu0").contains(bound));
        assertEquals(Bundle.RESOLVED, bundle(CPU).getState());

        // appctl exit stops pvio, not Karaf; pvio comes back with its configuration
        ok("vsctl", "set", "Interface", "gen", "options:enabled=false");
        String before = ok("vsctl", "show");
        String exit = ok("appctl", "exit");
        assertTrue(exit, exit.contains("keeps running") && exit.contains("bundle:start"));
        await("pvio's bundles stopped", () -> pvioBundles().stream().noneMatch(b -> b.getState() == Bundle.ACTIVE));
        assertEquals(Bundle.ACTIVE, ctx.getBundle(0).getState());
        await("no pvio thread after exit: " + pvioThreads(), () -> pvioThreads().isEmpty());
        assertTrue(outputOrError("vsctl", "show"), outputOrError("vsctl", "show").contains("not running"));
        assertFalse("vhu0's socket removed", Files.exists(runDir().resolve("vhu0")));
        for (String id : exit.substring(exit.indexOf("bundle:start") + "bundle:start".length()).strip().split(" ")) {
            ctx.getBundle(Long.parseLong(id)).start();
        }
        assertEquals(Bundle.RESOLVED, bundle(CPU).getState());
        awaitSocket();
        awaitOutput(before.strip(), "vsctl", "show");
        await("vhu0's socket back in the run directory", () -> Files.exists(runDir().resolve("vhu0")));
        awaitExactCount();

        // the feature goes: nothing of pvio is left running
        features.uninstallFeature("pvio");
        assertTrue(pvioBundles().toString(), pvioBundles().isEmpty());
        await("no pvio thread after uninstall: " + pvioThreads(), () -> pvioThreads().isEmpty());
        assertNotNull(ctx.getBundle(0));
        assertFalse(Files.exists(ControlClient.socket(runDir())));
        features.removeRepository(repo);
    }
}
