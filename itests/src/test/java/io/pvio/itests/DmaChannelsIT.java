package io.pvio.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import io.pvio.control.Control;
import io.pvio.dma.DmaDevice;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceEvent;
import org.osgi.framework.ServiceListener;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/**
 * Issue 3: DMA channels of dma-ioat and dma-cpu configured through ConfigAdmin factory configurations
 * (default channels off), as DmaDevice services: properties, refused duplicates, ring-size changes, a bundle
 * stop with copies in flight, fault injection, and swapping the two providers.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class DmaChannelsIT extends PvioFramework {

    @Before
    public void providers() throws Exception {
        bundleNamed(CPU_BSN).stop();
        bundleNamed(IOAT_BSN).start();
        deleteAllChannelConfigs();
    }

    @After
    public void cleanUp() throws Exception {
        bundleNamed(CPU_BSN).stop();
        bundleNamed(IOAT_BSN).start();
        deleteAllChannelConfigs();
    }

    private DmaDevice dev(ServiceReference<DmaDevice> ref) {
        DmaDevice d = ctx().getService(ref);
        assertNotNull("service gone: " + props(ref), d);
        return d;
    }

    private static void assertCopiesWork(DmaDevice d, int n) throws InterruptedException {
        CopyLoad l = new CopyLoad(d, "check", 64, 256, 0);
        l.runToCompletion(n);
        assertEquals(l.summary(), n, l.completedOk);
        assertEquals(l.summary(), 0, l.corrupt + l.handleMismatch + l.completedError);
    }

    @Test
    public void configuredChannelsAreServicesWithTheirProperties() throws Exception {
        assertEquals("no channel without a configuration (defaults are off)", List.of(), dmaRefs(null));
        channelConfig(IOAT_PID, "00:04.0", "ring.size", 128);
        channelConfig(IOAT_PID, "0000:00:04.3");
        channelConfig(IOAT_PID, "0000:00:04.5", "ring.size", 4096);

        ServiceReference<DmaDevice> r0 = awaitChannel("0000:00:04.0", "ioat");
        ServiceReference<DmaDevice> r3 = awaitChannel("0000:00:04.3", "ioat");
        ServiceReference<DmaDevice> r5 = awaitChannel("0000:00:04.5", "ioat");
        assertEquals(props(r0), 128, r0.getProperty(DmaDevice.RING_SIZE_PROPERTY));
        assertEquals("default ring size " + props(r3), 256, r3.getProperty(DmaDevice.RING_SIZE_PROPERTY));
        assertEquals(props(r5), 4096, r5.getProperty(DmaDevice.RING_SIZE_PROPERTY));
        assertEquals(3, dmaRefs(null).size());
        for (ServiceReference<DmaDevice> r : List.of(r0, r3, r5)) {
            DmaDevice d = dev(r);
            assertTrue(d + " started", d.isStarted());
            assertEquals(r.getProperty(DmaDevice.ADDRESS_PROPERTY), d.info().address());
            assertEquals("ioat", d.info().driver());
            assertEquals(r.getProperty(DmaDevice.RING_SIZE_PROPERTY), d.info().ringSize());
            assertCopiesWork(d, 2000);
            ctx().ungetService(r);
        }
        // a configuration with a bad address or ring size registers nothing
        Configuration bad = channelConfig(IOAT_PID, "00:04.9");
        Configuration badRing = channelConfig(IOAT_PID, "00:04.6", "ring.size", 100);
        awaitComponentActive(bad.getPid());
        awaitComponentActive(badRing.getPid());
        assertEquals(List.of(), dmaRefs("(" + DmaDevice.ADDRESS_PROPERTY + "=0000:00:04.6)"));
        assertEquals(3, dmaRefs(null).size());
    }

    /** Waits until SCR has activated the IOAT channel component for configuration {@code pid}. */
    private void awaitComponentActive(String pid) throws InterruptedException {
        ServiceComponentRuntime scr = service(ServiceComponentRuntime.class);
        Bundle ioat = bundleNamed(IOAT_BSN);
        await("component of configuration " + pid + " active", () -> {
            for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs(ioat)) {
                for (ComponentConfigurationDTO c : scr.getComponentConfigurationDTOs(d)) {
                    if (pid.equals(c.properties.get(Constants.SERVICE_PID))
                            && c.state == ComponentConfigurationDTO.ACTIVE) {
                        return true;
                    }
                }
            }
            return false;
        });
    }

    @Test
    public void aSecondConfigurationOfTheSameAddressIsRefused() throws Exception {
        Configuration first = channelConfig(IOAT_PID, "00:04.1", "ring.size", 64);
        ServiceReference<DmaDevice> r = awaitChannel("0000:00:04.1", "ioat");
        Configuration second = channelConfig(IOAT_PID, "0000:00:04.1", "ring.size", 512);
        awaitComponentActive(second.getPid());
        List<ServiceReference<DmaDevice>> refs = dmaRefs("(" + DmaDevice.ADDRESS_PROPERTY + "=0000:00:04.1)");
        assertEquals("only the first configuration's channel: " + refs, 1, refs.size());
        assertEquals(r.getProperty(Constants.SERVICE_ID), refs.get(0).getProperty(Constants.SERVICE_ID));
        assertEquals(64, refs.get(0).getProperty(DmaDevice.RING_SIZE_PROPERTY));

        // the owner goes: the address is free, but the refused configuration is not retried by itself
        first.delete();
        awaitNoChannel(dmaFilter("0000:00:04.1", "ioat"));
        // ... until it is updated
        updateConfig(second, "ring.size", 512);
        ServiceReference<DmaDevice> r2 = awaitChannel("0000:00:04.1", "ioat");
        assertEquals(512, r2.getProperty(DmaDevice.RING_SIZE_PROPERTY));
        assertCopiesWork(dev(r2), 1000);
        ctx().ungetService(r2);
    }

    @Test
    public void aRingSizeChangeReRegistersTheChannel() throws Exception {
        Configuration c = channelConfig(IOAT_PID, "00:04.2", "ring.size", 256);
        ServiceReference<DmaDevice> old = awaitChannel("0000:00:04.2", "ioat");
        DmaDevice oldDev = dev(old);
        assertEquals(256, oldDev.info().ringSize());
        updateConfig(c, "ring.size", 1024);
        await("old service unregistered", () -> old.getBundle() == null);
        ServiceReference<DmaDevice> now = awaitChannel("0000:00:04.2", "ioat");
        assertEquals(props(now), 1024, now.getProperty(DmaDevice.RING_SIZE_PROPERTY));
        assertNotEquals(old.getProperty(Constants.SERVICE_ID), now.getProperty(Constants.SERVICE_ID));
        DmaDevice d = dev(now);
        assertEquals(1024, d.info().ringSize());
        assertFalse("the replaced channel is stopped", oldDev.isStarted());
        assertTrue("the replaced channel takes no copy", oldDev.copy(0, 0, 8, 0) < 0);
        assertCopiesWork(d, 3000);
        ctx().ungetService(now);
    }

    /**
     * Stopping dma-ioat with copies in flight: user A copies until the service's UNREGISTERING event and
     * drains there (what a DS user does in its unbind); user B's channel is stalled with 256 copies and B
     * queued 32 more without a doorbell, then stopped reading, so the bundle's stop() must clear the stall,
     * ring the doorbell and wait for all 288. After Bundle.stop() returns every copy submitted to either
     * channel has completed intact.
     */
    @Test
    public void stoppingTheBundleLosesNoCopyInFlight() throws Exception {
        channelConfig(IOAT_PID, "00:04.0", "ring.size", 256);
        Configuration cb = channelConfig(IOAT_PID, "00:04.1", "ring.size", 512);
        ServiceReference<DmaDevice> ra = awaitChannel("0000:00:04.0", "ioat");
        ServiceReference<DmaDevice> rb = awaitChannel("0000:00:04.1", "ioat");
        DmaDevice a = dev(ra);
        DmaDevice b = dev(rb);
        CopyLoad la = new CopyLoad(a, "a", 1024, 512, 0);
        CopyLoad lb = new CopyLoad(b, "b", 1024, 512, 256); // at most 256 outstanding while it runs
        Map<Object, CopyLoad> byId = new HashMap<>();
        byId.put(ra.getProperty(Constants.SERVICE_ID), la);
        byId.put(rb.getProperty(Constants.SERVICE_ID), lb);
        List<String> events = new ArrayList<>();
        List<Throwable> listenerFailures = new ArrayList<>();
        ServiceListener unbind = ev -> {
            if (ev.getType() != ServiceEvent.UNREGISTERING) {
                return;
            }
            CopyLoad l = byId.get(ev.getServiceReference().getProperty(Constants.SERVICE_ID));
            if (l == null) {
                return;
            }
            synchronized (events) {
                events.add("unregistering " + ev.getServiceReference().getProperty(DmaDevice.ADDRESS_PROPERTY)
                        + " started=" + (l == la ? a : b).isStarted());
            }
            try {
                l.quiesce(l == la);
            } catch (Throwable t) {
                synchronized (listenerFailures) {
                    listenerFailures.add(t);
                }
            }
        };
        ctx().addServiceListener(unbind, "(objectClass=" + DmaDevice.class.getName() + ")");
        try {
            la.start();
            await("A copying", () -> la.completedOk > 20_000);
            updateConfig(cb, "fault.stall", true);
            await("B's channel stalled", () -> stat(b, "stalled") == 1);
            lb.start();
            await("B's 256 copies stuck in the stalled channel",
                    () -> lb.submitted >= 256 && stat(b, "in_flight") == 256);
            assertEquals("B makes no progress while stalled", 0, lb.completedOk);
            // B stops reading completions now: its 256 stalled copies and 32 more, queued without a
            // doorbell, are in flight when the bundle stops (which must clear the stall, ring and wait)
            lb.quiesce(false);
            assertEquals(lb.summary(), 32, lb.leftWithoutDoorbell);
            assertEquals(lb.summary(), 288, lb.inFlightAtHandover);
            assertEquals("still stalled: " + lb.summary(), 0, lb.completedOk);

            bundleNamed(IOAT_BSN).stop();

            assertEquals(listenerFailures.toString(), List.of(), listenerFailures);
            assertEquals(events.toString(), 2, events.size());
            assertTrue("services unregistered before their channels stop: " + events,
                    events.stream().allMatch(e -> e.endsWith("started=true")));
            assertFalse(a.isStarted());
            assertFalse(b.isStarted());
            // A drained itself while the service went away
            assertEquals(la.summary(), 0, la.inFlightAtHandover);
            // B's copies, rung or not, were completed by stop(): they are all readable now
            assertEquals("B's completions are all readable after stop: " + lb.summary(), 288, stat(b, "in_flight"));
            lb.collect();
            System.out.println("after dma-ioat stop: A " + la.summary() + "; B " + lb.summary());
            for (CopyLoad l : List.of(la, lb)) {
                assertNull(l.summary(), l.failure);
                assertEquals("nothing lost: " + l.summary(), 0, l.outstanding());
                assertEquals("every copy OK: " + l.summary(), l.submitted, l.completedOk);
                assertEquals("nothing half-written or mixed up: " + l.summary(), 0,
                        l.corrupt + l.handleMismatch + l.completedError + l.errorButWritten);
            }
            assertTrue("a stopped channel takes no copy", a.copy(0, 0, 8, 0) < 0);
        } finally {
            ctx().removeServiceListener(unbind);
        }
        // back up with the same configurations (B's stall is still configured: the new channel starts stalled)
        bundleNamed(IOAT_BSN).start();
        ServiceReference<DmaDevice> ra2 = awaitChannel("0000:00:04.0", "ioat");
        ServiceReference<DmaDevice> rb2 = awaitChannel("0000:00:04.1", "ioat");
        assertCopiesWork(dev(ra2), 5000);
        updateConfig(cb, "fault.stall", false);
        DmaDevice b2 = dev(rb2);
        await("B's new channel not stalled", () -> stat(b2, "stalled") == 0);
        assertCopiesWork(b2, 5000);
    }

    private static long stat(DmaDevice d, String name) {
        Map<String, Long> m = new HashMap<>();
        d.stats(m::put);
        Long v = m.get(name);
        if (v == null) {
            throw new AssertionError(d + " has no counter " + name + ": " + m);
        }
        return v;
    }

    @Test
    public void faultInjectionThroughConfiguration() throws Exception {
        Configuration c = channelConfig(IOAT_PID, "00:04.3", "fault.error.rate", 1.0);
        ServiceReference<DmaDevice> r = awaitChannel("0000:00:04.3", "ioat");
        DmaDevice d = dev(r);
        CopyLoad l = new CopyLoad(d, "errors", 256, 256, 0);
        l.runToCompletion(3000);
        assertEquals("every completion has an error status: " + l.summary(), 3000, l.completedError);
        assertEquals(l.summary(), 0, l.completedOk + l.handleMismatch);
        assertEquals("a failed copy is not performed: " + l.summary(), 0, l.errorButWritten);
        assertEquals(3000, stat(d, "failed"));

        // a fault change is applied to the live channel: same service, now without errors
        updateConfig(c, "fault.error.rate", 0.0);
        CopyLoad ok = new CopyLoad(d, "ok", 256, 256, 0);
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        // the update is asynchronous: run until a batch comes back clean
        do {
            ok = new CopyLoad(d, "ok", 256, 256, 0);
            ok.runToCompletion(500);
        } while (ok.completedError > 0 && System.nanoTime() < deadline);
        assertEquals(ok.summary(), 500, ok.completedOk);
        assertEquals(ok.summary(), 0, ok.corrupt + ok.handleMismatch);
        assertSame(d, ctx().getService(awaitChannel("0000:00:04.3", "ioat")));
        assertEquals("not re-registered", r.getProperty(Constants.SERVICE_ID),
                awaitChannel("0000:00:04.3", "ioat").getProperty(Constants.SERVICE_ID));
        ctx().ungetService(r);

        // a stall through the configuration: copies wait until it is cleared, then all complete intact
        updateConfig(c, "fault.stall", true);
        await("stalled", () -> stat(d, "stalled") == 1);
        CopyLoad s = new CopyLoad(d, "stall", 256, 256, 0).limit(200);
        for (int i = 0; i < 100 && s.submitted < 200; i++) {
            s.step();
        }
        assertEquals(s.summary(), 200, s.submitted);
        Thread.sleep(200); // an absence cannot be awaited: give a broken stall a chance to show
        s.step();
        assertEquals("nothing completes while stalled: " + s.summary(), 0, s.completedOk + s.completedError);
        updateConfig(c, "fault.stall", false);
        s.runToCompletion(200);
        assertEquals(s.summary(), 200, s.completedOk);
        assertEquals(s.summary(), 0, s.corrupt + s.handleMismatch + s.completedError);
    }

    @Test
    public void swappingIoatAndCpuKeepsTheAddresses() throws Exception {
        List<String> addrs = List.of("0000:00:04.0", "0000:00:04.1", "0000:00:04.7");
        for (String a : addrs) {
            channelConfig(IOAT_PID, a, "ring.size", 512);
            channelConfig(CPU_PID, a.substring(5), "ring.size", 512);
        }
        for (String a : addrs) {
            awaitChannel(a, "ioat");
        }
        assertEquals("dma-cpu is stopped: only ioat channels", addrs.size(), dmaRefs(null).size());
        Bundle ioat = bundleNamed(IOAT_BSN);
        Bundle cpu = bundleNamed(CPU_BSN);
        for (int round = 0; round < 4; round++) {
            ioat.stop();
            assertEquals("stop unregisters synchronously", List.of(), dmaRefs("(dma.driver=ioat)"));
            cpu.start();
            checkSwapped(addrs, "cpu");
            cpu.stop();
            assertEquals(List.of(), dmaRefs("(dma.driver=cpu)"));
            ioat.start();
            checkSwapped(addrs, "ioat");
        }
    }

    private void checkSwapped(List<String> addrs, String driver) throws InterruptedException {
        for (String a : addrs) {
            ServiceReference<DmaDevice> r = awaitChannel(a, driver);
            assertEquals(props(r), 512, r.getProperty(DmaDevice.RING_SIZE_PROPERTY));
            DmaDevice d = dev(r);
            assertEquals(driver, d.info().driver());
            assertCopiesWork(d, 1000);
            ctx().ungetService(r);
        }
        assertEquals(addrs.size(), dmaRefs(null).size());
    }

    /** {@code pvio appctl ARGS} through the control bundle's dispatch (what the control socket runs). */
    private Control.Result pvio(String... args) throws InterruptedException {
        List<String> argv = new ArrayList<>(List.of("appctl"));
        argv.addAll(List.of(args));
        return service(Control.class).execute(argv);
    }

    private Control.Result ok(String... args) throws InterruptedException {
        Control.Result r = pvio(args);
        assertEquals(List.of(args) + ": " + r.err(), 0, r.status());
        return r;
    }

    /** The dma/* commands do not come and go with a driver bundle: none started, and the README's swap. */
    @Test
    public void dmaCommandsAnswerWhicheverDriverBundlesRun() throws Exception {
        ok("bundle/stop", IOAT_BSN);
        Control.Result none = pvio("dma/show");
        assertEquals("no driver started: " + none.err(), "no DMA channel\n", none.err());
        assertTrue(ok("dma/set", "00:04.3", "ring.size=512").out().contains("added"));
        assertTrue(ok("dma/del", "00:04.3").out().contains("deleted"));

        ok("bundle/start", IOAT_BSN);
        ok("dma/set", "00:04.0");
        awaitChannel("0000:00:04.0", "ioat");
        assertTrue(ok("dma/show").out().contains("0000:00:04.0  ioat   model"));
        ok("dma/set", "00:04.0", "engine=cpu", "ring.size=512");

        ok("bundle/stop", IOAT_BSN);
        ok("bundle/start", CPU_BSN);
        awaitChannel("0000:00:04.0", "cpu");
        String show = ok("dma/show", "00:04.0").out();
        assertTrue(show, show.contains("0000:00:04.0  cpu    cpu"));
        assertTrue(ok("dma/set", "00:04.0", "engine=cpu", "ring.size=1024").out().contains("updated"));
        await("ring 1024", () -> dmaRefs("(&(dma.driver=cpu)(dma.ring.size=1024))").size() == 1);
        assertTrue(ok("dma/del", "00:04.0", "engine=cpu").out().contains("deleted"));
        awaitNoChannel(null);
        assertTrue(ok("dma/del", "00:04.0").out().contains("deleted"));
    }

    /** dma/set for an engine no started bundle drives: the reply and dma/show say it waits, until one starts. */
    @Test
    public void aChannelWaitsForADriverOfItsEngine() throws Exception {
        String added = ok("dma/set", "00:04.5", "engine=cpu", "ring.size=512").out();
        assertTrue(added, added.contains(" added ") && added.contains("; waiting for a driver of engine 'cpu' (no"
                + " started bundle provides it; io.pvio.dma-cpu does)"));
        String show = ok("dma/show").out();
        assertTrue(show, show.matches("(?s).*0000:00:04\\.5 +cpu +cpu +- +512 waiting +- .*"));
        ok("bundle/start", CPU_BSN);
        awaitChannel("0000:00:04.5", "cpu");
        show = ok("dma/show", "00:04.5").out();
        assertTrue(show, show.matches("(?s).*0000:00:04\\.5 +cpu +cpu +- +512 up .*"));
        assertFalse(show, show.contains("waiting"));
        String updated = ok("dma/set", "00:04.5", "engine=cpu", "ring.size=1024").out();
        assertFalse("a driver runs: " + updated, updated.contains("waiting"));

        ok("bundle/stop", IOAT_BSN);
        assertTrue(ok("dma/set", "00:04.6").out().contains("; waiting for a driver of engine 'model'"));
        assertTrue(ok("dma/show", "00:04.6").out().contains("0000:00:04.6  ioat   model  -                256 waiting"));
        ok("bundle/start", IOAT_BSN);
        awaitChannel("0000:00:04.6", "ioat");
        assertTrue(ok("dma/show", "00:04.6").out().contains(" up "));

        // a driver that runs and refused the configuration: refused, not waiting
        Configuration bad = channelConfig(IOAT_PID, "00:04.7", "ring.size", 100);
        awaitComponentActive(bad.getPid());
        show = ok("dma/show", "00:04.7").out();
        assertTrue(show, show.contains("0000:00:04.7  ioat   model  -                100 refused"));
    }
}
