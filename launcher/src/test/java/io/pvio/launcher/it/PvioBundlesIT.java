package io.pvio.launcher.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.cleanCaches;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.junitBundles;
import static org.ops4j.pax.exam.CoreOptions.options;
import static org.ops4j.pax.exam.CoreOptions.systemPackage;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import io.pvio.control.Control;
import io.pvio.dpif.Dpif;
import io.pvio.dpif.PortInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import javax.inject.Inject;
import org.junit.After;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.util.tracker.ServiceTracker;

/**
 * Every bundle of pvio.jar (the same jars, from target/classes/bundles) in a native Felix: DS components,
 * the control plane driving the datapath, exact packet counts and buffer accounting across a netdev bundle
 * restart.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class PvioBundlesIT {
    private static final long TIMEOUT_MS = 30_000;

    @Inject
    private BundleContext ctx;

    @Configuration
    public Option[] config() throws IOException {
        Path dir = Path.of(System.getProperty("pvio.bundles.dir", "target/classes/bundles"));
        Path runDir = Files.createDirectories(Path.of(System.getProperty("pvio.it.dir", "target/it")))
                .resolve("pax-" + System.nanoTime());
        List<Option> opts = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> p.toString().endsWith(".jar")).sorted().forEach(p -> {
                boolean start = !p.getFileName().toString().equals("dma-cpu.jar");
                opts.add(bundle(p.toUri().toString()).start(start));
            });
        }
        opts.add(junitBundles());
        opts.add(cleanCaches());
        opts.add(systemPackage("sun.misc"));
        opts.add(frameworkProperty("pvio.run.dir").value(runDir.toAbsolutePath().toString()));
        opts.add(systemProperty("pvio.run.dir").value(runDir.toAbsolutePath().toString()));
        opts.add(frameworkProperty("gosh.args").value("--nointeractive"));
        opts.add(systemProperty("jna.tmpdir").value(runDir.resolve("jna").toAbsolutePath().toString()));
        opts.add(systemProperty("org.ops4j.pax.logging.DefaultServiceLog.level").value("WARN"));
        return options(opts.toArray(new Option[0]));
    }

    private <T> T service(Class<T> c) throws InterruptedException {
        ServiceTracker<T, T> t = new ServiceTracker<>(ctx, c, null);
        t.open();
        try {
            T s = t.waitForService(TIMEOUT_MS);
            assertNotNull("no " + c.getName() + " service", s);
            return s;
        } finally {
            t.close();
        }
    }

    private static void await(String what, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out (" + TIMEOUT_MS + " ms) waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    private Control.Result run(String... argv) throws InterruptedException {
        Control.Result r = service(Control.class).execute(Arrays.asList(argv));
        assertEquals(String.join(" ", argv) + ": " + r.err(), 0, r.status());
        return r;
    }

    private static long stat(Dpif d, String port, String name) {
        PortInfo pi = d.port(port);
        if (pi == null || pi.statistics() == null) {
            return -1;
        }
        return pi.statistics().getOrDefault(name, -1L);
    }

    @After
    public void cleanUp() throws InterruptedException {
        service(Control.class).execute(List.of("vsctl", "--if-exists", "del-br", "br0"));
    }

    @Test
    public void everyDsComponentIsActive() throws InterruptedException {
        ServiceComponentRuntime scr = service(ServiceComponentRuntime.class);
        service(Control.class);
        List<Bundle> pvio = new ArrayList<>();
        for (Bundle b : ctx.getBundles()) {
            if (b.getSymbolicName() != null && b.getSymbolicName().startsWith("io.pvio.")) {
                pvio.add(b);
                if (!b.getSymbolicName().equals("io.pvio.dma-cpu")) {
                    assertEquals(b.getSymbolicName() + " state", Bundle.ACTIVE, b.getState());
                }
            }
        }
        assertTrue("pvio bundles found: " + pvio, pvio.size() >= 7);
        List<String> bad = new ArrayList<>();
        await("every component of every started pvio bundle satisfied", () -> {
            bad.clear();
            int n = 0;
            for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs(pvio.toArray(new Bundle[0]))) {
                for (ComponentConfigurationDTO c : scr.getComponentConfigurationDTOs(d)) {
                    n++;
                    if (c.state != ComponentConfigurationDTO.ACTIVE && c.state != ComponentConfigurationDTO.SATISFIED) {
                        bad.add(d.name + " state " + c.state);
                    }
                }
            }
            return bad.isEmpty() && n > 0;
        });
        assertEquals(List.of(), bad);
    }

    @Test
    public void packetsFlowWithExactCountsAndNoLeak() throws InterruptedException {
        Dpif dpif = service(Dpif.class);
        final long n = 200_000;
        run("vsctl", "add-br", "br0");
        run("ofctl", "del-flows", "br0");
        run("ofctl", "add-flow", "br0", "in_port=1,actions=output:2");
        run("vsctl", "add-port", "br0", "gen", "--", "set", "Interface", "gen", "type=pktgen", "ofport_request=1",
                "options:count=" + n, "options:enabled=false",
                "--", "add-port", "br0", "sink", "--", "set", "Interface", "sink", "type=pktgen", "ofport_request=2",
                "options:count=1", "options:enabled=false");
        run("vsctl", "remove", "Interface", "gen", "options", "enabled");
        await("sink to receive " + n + " packets", () -> stat(dpif, "sink", "received") == n);
        assertEquals(n, stat(dpif, "gen", "generated"));
        assertEquals(n, stat(dpif, "sink", "rx_valid"));
        assertEquals(0, stat(dpif, "sink", "rx_lost"));
        assertEquals(0, stat(dpif, "sink", "rx_corrupt"));
        assertEquals(n, stat(dpif, "sink", "tx_packets"));
        run("vsctl", "del-port", "gen", "--", "del-port", "sink");
        await("every buffer back in the pool", () -> dpif.pool().inUse() == 0);
    }

    @Test
    public void restartingNetdevDummyClosesAndReopensPortsWithoutLeaking() throws Exception {
        Dpif dpif = service(Dpif.class);
        run("vsctl", "add-br", "br0");
        run("ofctl", "del-flows", "br0");
        run("ofctl", "add-flow", "br0", "in_port=1,actions=output:2");
        run("vsctl", "add-port", "br0", "gen", "--", "set", "Interface", "gen", "type=pktgen", "ofport_request=1",
                "--", "add-port", "br0", "sink", "--", "set", "Interface", "sink", "type=pktgen", "ofport_request=2",
                "options:count=1");
        await("traffic", () -> stat(dpif, "sink", "received") > 10_000);
        Bundle dummy = Arrays.stream(ctx.getBundles()).filter(b -> "io.pvio.netdev-dummy".equals(b.getSymbolicName()))
                .findFirst().orElseThrow();
        dummy.stop();
        await("ports waiting for their class", () -> "waiting".equals(dpif.port("gen").state())
                && "waiting".equals(dpif.port("sink").state()));
        await("every buffer back in the pool while the class is gone", () -> dpif.pool().inUse() == 0);
        dummy.start();
        await("ports up again", () -> "up".equals(dpif.port("gen").state()) && "up".equals(dpif.port("sink").state()));
        await("traffic after the restart", () -> stat(dpif, "sink", "received") > 10_000);
        assertEquals(0, stat(dpif, "sink", "rx_corrupt"));
        run("vsctl", "del-br", "br0");
        await("every buffer back in the pool", () -> dpif.pool().inUse() == 0);
        assertEquals(List.of(), dpif.ports(null));
    }

    @Test
    public void aRestartedDatapathGetsTheWholeDatabaseBack() throws Exception {
        run("vsctl", "set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0x1");
        run("vsctl", "add-br", "br0");
        run("ofctl", "del-flows", "br0");
        run("ofctl", "add-flow", "br0", "in_port=1,actions=output:2");
        run("vsctl", "add-port", "br0", "gen", "--", "set", "Interface", "gen", "type=pktgen", "ofport_request=1",
                "options:size=128", "--", "add-port", "br0", "sink", "--", "set", "Interface", "sink", "type=pktgen",
                "ofport_request=2", "options:count=1");
        Bundle dp = Arrays.stream(ctx.getBundles()).filter(b -> "io.pvio.dpif-netdev".equals(b.getSymbolicName()))
                .findFirst().orElseThrow();
        dp.stop();
        Control.Result refused = service(Control.class).execute(List.of("ofctl", "dump-flows", "br0"));
        assertEquals(1, refused.status());
        dp.start();
        Dpif dpif = service(Dpif.class);
        await("ports back", () -> dpif.port("gen") != null && "up".equals(dpif.port("gen").state())
                && dpif.port("sink") != null);
        assertEquals("128", dpif.port("gen").options().get("size"));
        assertEquals(2, dpif.port("sink").ofport());
        assertEquals("0x1", dpif.otherConfig().get("pmd-cpu-mask"));
        List<String> flows = dpif.dumpFlows("br0");
        assertEquals(flows.toString(), 1, flows.size());
        assertTrue(flows.toString(), flows.get(0).contains("in_port=1"));
        await("traffic through the restored flow", () -> stat(dpif, "sink", "rx_valid") > 1000);
        run("vsctl", "del-br", "br0", "--", "remove", "Open_vSwitch", ".", "other_config", "pmd-cpu-mask");
        await("every buffer back in the pool", () -> dpif.pool().inUse() == 0);
    }
}
