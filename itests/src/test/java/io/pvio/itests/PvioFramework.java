package io.pvio.itests;

import static org.junit.Assert.assertNotNull;
import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.cleanCaches;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.junitBundles;
import static org.ops4j.pax.exam.CoreOptions.options;
import static org.ops4j.pax.exam.CoreOptions.systemPackage;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import io.pvio.dma.DmaDevice;
import io.pvio.unixctl.UnixctlCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * The bundle set of pvio.jar (copied to target/bundles by the pom, the same list as launcher/pom.xml) in a
 * native Felix, with the default DMA channels turned off: each test configures its own channels.
 * Helpers for services, bundles, ConfigAdmin and bounded waits.
 */
public abstract class PvioFramework {
    /** Upper bound of every wait for a condition (a bound, not a speed requirement). */
    protected static final long TIMEOUT_MS = 30_000;
    protected static final String IOAT_PID = "io.pvio.dma.ioat";
    protected static final String CPU_PID = "io.pvio.dma.cpu";
    protected static final String IOAT_BSN = "io.pvio.dma-ioat";
    protected static final String CPU_BSN = "io.pvio.dma-cpu";
    protected static final String DMADEV_PID = "io.pvio.dma.dmadev";
    protected static final String DMADEV_BSN = "io.pvio.dma-dmadev";

    @Configuration
    public Option[] config() throws IOException {
        Path dir = Path.of(System.getProperty("pvio.bundles.dir", "target/bundles"));
        Path runDir = Files.createDirectories(Path.of(System.getProperty("pvio.it.dir", "target/it")))
                .resolve(getClass().getSimpleName() + "-" + System.currentTimeMillis() % 100_000);
        List<Option> opts = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> p.toString().endsWith(".jar")).sorted().forEach(p -> {
                boolean start = !p.getFileName().toString().equals("dma-cpu.jar");
                opts.add(bundle(p.toUri().toString()).start(start));
            });
        }
        if (opts.size() < 10) {
            throw new IllegalStateException("bundle set incomplete in " + dir + ": " + opts.size() + " jars");
        }
        String rd = runDir.toAbsolutePath().toString();
        opts.add(junitBundles());
        opts.add(cleanCaches());
        opts.add(systemPackage("sun.misc"));
        opts.add(frameworkProperty("pvio.run.dir").value(rd));
        opts.add(systemProperty("pvio.run.dir").value(rd));
        opts.add(frameworkProperty("pvio.dma.ioat.defaults").value("false"));
        opts.add(frameworkProperty("pvio.dma.cpu.defaults").value("false"));
        opts.add(frameworkProperty("gosh.args").value("--nointeractive"));
        opts.add(systemProperty("jna.tmpdir").value(runDir.resolve("jna").toAbsolutePath().toString()));
        opts.add(systemProperty("org.ops4j.pax.logging.DefaultServiceLog.level").value("WARN"));
        return options(opts.toArray(new Option[0]));
    }

    protected BundleContext ctx() {
        return FrameworkUtil.getBundle(getClass()).getBundleContext();
    }

    /**
     * The service {@code c}, held by the test bundle (not released: a ServiceFactory service such as
     * ConfigurationAdmin is disposed when its last user releases it).
     */
    protected <T> T service(Class<T> c) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        for (;;) {
            ServiceReference<T> ref = ctx().getServiceReference(c);
            T s = ref == null ? null : ctx().getService(ref);
            if (s != null) {
                return s;
            }
            assertNotNull("no " + c.getName() + " service within " + TIMEOUT_MS + " ms",
                    System.nanoTime() < deadline ? "" : null);
            Thread.sleep(10);
        }
    }

    protected static void await(String what, BooleanSupplier cond) throws InterruptedException {
        await(() -> what, cond);
    }

    /** Waits (bounded) for {@code cond}; {@code what} is evaluated only on time-out, for the message. */
    protected static void await(java.util.function.Supplier<String> what, BooleanSupplier cond)
            throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out (" + TIMEOUT_MS + " ms) waiting for " + what.get());
            }
            Thread.sleep(10);
        }
    }

    /** Runs an appctl command in-process (its UnixctlCommand service); errors come back as text. */
    protected String appctl(String command, String... args) {
        try {
            Collection<ServiceReference<UnixctlCommand>> refs = ctx().getServiceReferences(UnixctlCommand.class,
                    "(" + UnixctlCommand.COMMAND_PROPERTY + "=" + command + ")");
            if (refs.isEmpty()) {
                return command + ": no such command\n";
            }
            UnixctlCommand c = ctx().getService(refs.iterator().next());
            try {
                return c.run(List.of(args));
            } finally {
                ctx().ungetService(refs.iterator().next());
            }
        } catch (Exception e) {
            return command + ": " + e + "\n";
        }
    }

    protected Bundle bundleNamed(String symbolicName) {
        return Arrays.stream(ctx().getBundles()).filter(b -> symbolicName.equals(b.getSymbolicName())).findFirst()
                .orElseThrow(() -> new AssertionError("bundle " + symbolicName + " not installed"));
    }

    // ------------------------------------------------------------------ DMA channels

    /** The DmaDevice services matching {@code filter} (an LDAP filter, or null for all). */
    protected List<ServiceReference<DmaDevice>> dmaRefs(String filter) {
        try {
            return new ArrayList<>(ctx().getServiceReferences(DmaDevice.class, filter));
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(e);
        }
    }

    protected static String dmaFilter(String address, String driver) {
        return "(&(" + DmaDevice.ADDRESS_PROPERTY + "=" + address + ")(" + DmaDevice.DRIVER_PROPERTY + "=" + driver
                + "))";
    }

    /** Waits for exactly one DmaDevice service of {@code driver} at {@code address}; returns its reference. */
    protected ServiceReference<DmaDevice> awaitChannel(String address, String driver) throws InterruptedException {
        String f = dmaFilter(address, driver);
        await("one DmaDevice " + f, () -> dmaRefs(f).size() == 1);
        return dmaRefs(f).get(0);
    }

    protected void awaitNoChannel(String filter) throws InterruptedException {
        await("no DmaDevice service " + (filter == null ? "" : filter), () -> dmaRefs(filter).isEmpty());
    }

    protected ConfigurationAdmin configAdmin() throws InterruptedException {
        return service(ConfigurationAdmin.class);
    }

    /**
     * A new factory configuration of {@code factoryPid} (location "?": any bundle, so it survives a bundle
     * update or a swap) with {@code address} and the extra properties {@code kv} (key, value, ...).
     */
    protected org.osgi.service.cm.Configuration channelConfig(String factoryPid, String address, Object... kv)
            throws IOException, InterruptedException {
        org.osgi.service.cm.Configuration c = configAdmin().createFactoryConfiguration(factoryPid, "?");
        Hashtable<String, Object> p = new Hashtable<>();
        p.put("address", address);
        for (int i = 0; i < kv.length; i += 2) {
            p.put((String) kv[i], kv[i + 1]);
        }
        c.update(p);
        return c;
    }

    /** Updates {@code c} with its current properties changed by {@code kv} (key, value; a null value removes). */
    protected static void updateConfig(org.osgi.service.cm.Configuration c, Object... kv) throws IOException {
        Dictionary<String, Object> old = c.getProperties();
        Hashtable<String, Object> p = new Hashtable<>();
        for (java.util.Enumeration<String> e = old.keys(); e.hasMoreElements();) {
            String k = e.nextElement();
            p.put(k, old.get(k));
        }
        for (int i = 0; i < kv.length; i += 2) {
            if (kv[i + 1] == null) {
                p.remove(kv[i]);
            } else {
                p.put((String) kv[i], kv[i + 1]);
            }
        }
        c.update(p);
    }

    /** Deletes every configuration of both DMA factories and waits until no DmaDevice service is left. */
    protected void deleteAllChannelConfigs() throws Exception {
        ConfigurationAdmin cm = configAdmin();
        for (String f : List.of(IOAT_PID, CPU_PID, DMADEV_PID)) {
            org.osgi.service.cm.Configuration[] cs = cm
                    .listConfigurations("(" + ConfigurationAdmin.SERVICE_FACTORYPID + "=" + f + ")");
            if (cs != null) {
                for (org.osgi.service.cm.Configuration c : cs) {
                    c.delete();
                }
            }
        }
        awaitNoChannel(null);
    }

    /** Service properties of {@code ref} as a map, for messages. */
    protected static String props(ServiceReference<?> ref) {
        Map<String, Object> m = new java.util.TreeMap<>();
        for (String k : ref.getPropertyKeys()) {
            Object v = ref.getProperty(k);
            m.put(k, v instanceof Object[] ? Arrays.toString((Object[]) v) : v);
        }
        return m.toString();
    }
}
