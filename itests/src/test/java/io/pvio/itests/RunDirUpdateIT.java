package io.pvio.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.pvio.control.Control;
import io.pvio.dpif.Dpif;
import io.pvio.netdev.RunDirectory;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.ServiceEvent;
import org.osgi.framework.ServiceListener;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/**
 * Updates of the run directory's configuration (io.pvio.run) as Karaf makes them: its feature's
 * {@code <config>}, then Felix fileinstall updating the same values plus {@code felix.fileinstall.filename}.
 * Such an update leaves the datapath, the control socket and the OpenFlow sockets running (Felix SCR used to
 * restart all three); a moved run.dir still moves them.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class RunDirUpdateIT extends PvioFramework {
    private static final String BRIDGE = "brrdup0";
    private static final List<String> COMPONENTS = List.of("io.pvio.dpif.netdev.DpifNetdev",
            "io.pvio.control.component.ControlComponent", "io.pvio.ofproto.component.OfprotoComponent");

    /** Unregistrations of Dpif and Control services seen while the test runs, by interface name. */
    private final Map<String, AtomicInteger> unregistered = new ConcurrentHashMap<>();
    private final ServiceListener counter = e -> {
        if (e.getType() == ServiceEvent.UNREGISTERING) {
            for (String c : (String[]) e.getServiceReference().getProperty("objectClass")) {
                unregistered.computeIfAbsent(c, k -> new AtomicInteger()).incrementAndGet();
            }
        }
    };
    private Configuration run;

    @Before
    public void listen() throws Exception {
        run = configAdmin().getConfiguration(RunDirectory.PID, "?");
    }

    @After
    public void cleanUp() throws Exception {
        ctx().removeServiceListener(counter);
        run.delete(); // a real change: back to the launcher's pvio.run.dir before the framework stops
        await("Dpif and Control services without run.dir", () -> {
            ServiceReference<Dpif> d = ctx().getServiceReference(Dpif.class);
            ServiceReference<Control> c = ctx().getServiceReference(Control.class);
            return d != null && c != null && d.getProperty(RunDirectory.KEY) == null
                    && c.getProperty(RunDirectory.KEY) == null;
        });
    }

    @Test
    public void identicalUpdateKeepsEverythingRunningAndAMoveMovesIt() throws Exception {
        Path base = Files.createTempDirectory(Path.of(System.getProperty("pvio.it.dir", "target/it")), "rundir")
                .toAbsolutePath();
        Path a = base.resolve("a");
        Path b = base.resolve("b");

        // Karaf's <config>: a real change from the launcher's pvio.run.dir, so everything moves to a
        update(a, null);
        awaitRunningAt(a);
        Control control = service(Control.class);
        Control.Result added = control.execute(List.of("vsctl", "add-br", BRIDGE));
        assertEquals(added.err(), 0, added.status());
        Path mgmt = a.resolve(BRIDGE + ".mgmt");
        await("OpenFlow socket " + mgmt, () -> Files.exists(mgmt));

        try (SocketChannel of = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            of.connect(UnixDomainSocketAddress.of(mgmt));
            DataInputStream ofIn = new DataInputStream(Channels.newInputStream(of));
            assertEquals("echo before the update", 1, echo(of, ofIn, 1));
            ctx().addServiceListener(counter);

            // fileinstall: the same run.dir plus its bookkeeping
            update(a, "file:/opt/karaf/etc/io.pvio.run.cfg");
            awaitSeenBySCR("file:/opt/karaf/etc/io.pvio.run.cfg");
            try {
                assertEquals("echo after an identical update", 2, echo(of, ofIn, 2));
            } catch (IOException e) {
                throw new AssertionError("an identical update closed the OpenFlow connection (ofproto restarted)", e);
            }
            assertEquals("appctl over the control socket at " + a, "pvio", appctlVersion(a).substring(0, 4));

            // a real move
            update(b, "file:/opt/karaf/etc/io.pvio.run.cfg");
            awaitRunningAt(b);
            assertFalse("control socket left at " + a, Files.exists(a.resolve("pvio-vswitchd.ctl")));
            try {
                echo(of, ofIn, 3);
                throw new AssertionError("the OpenFlow socket at " + a + " still answers after the move");
            } catch (IOException expected) { // EOF or broken pipe: ofproto closed it
                // ofproto restarted with the new run directory
            }
        }
        assertEquals("Dpif services unregistered: only the move restarts the datapath", 1,
                count(Dpif.class.getName()));
        assertEquals("Control services unregistered: only the move restarts the control socket", 1,
                count(Control.class.getName()));
    }

    private int count(String c) {
        AtomicInteger n = unregistered.get(c);
        return n == null ? 0 : n.get();
    }

    private void update(Path runDir, String fileinstallFilename) throws IOException {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put(RunDirectory.KEY, runDir.toString());
        if (fileinstallFilename != null) {
            p.put("felix.fileinstall.filename", fileinstallFilename);
        }
        run.update(p);
    }

    /** The datapath (its run.dir property), the control socket and the control service all at {@code dir}. */
    private void awaitRunningAt(Path dir) throws Exception {
        await(() -> "Dpif service with run.dir " + dir, () -> {
            ServiceReference<Dpif> r = ctx().getServiceReference(Dpif.class);
            return r != null && dir.toString().equals(r.getProperty(RunDirectory.KEY));
        });
        await(() -> "Control service with run.dir " + dir, () -> {
            ServiceReference<Control> r = ctx().getServiceReference(Control.class);
            return r != null && dir.toString().equals(r.getProperty(RunDirectory.KEY));
        });
        await(() -> "control socket answering at " + dir, () -> {
            try {
                return appctlVersion(dir).startsWith("pvio");
            } catch (IOException e) {
                return false;
            }
        });
    }

    /**
     * Waits until SCR gave every component the update carrying {@code filename} (their component
     * configuration's properties show it): past this point, SCR has called each one's modified method.
     */
    private void awaitSeenBySCR(String filename) throws Exception {
        ServiceComponentRuntime scr = service(ServiceComponentRuntime.class);
        for (String name : COMPONENTS) {
            await(() -> name + " configured with felix.fileinstall.filename " + filename, () -> {
                for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs()) {
                    if (d.name.equals(name)) {
                        for (ComponentConfigurationDTO c : scr.getComponentConfigurationDTOs(d)) {
                            if (c.state == ComponentConfigurationDTO.ACTIVE
                                    && filename.equals(c.properties.get("felix.fileinstall.filename"))) {
                                return true;
                            }
                        }
                    }
                }
                return false;
            });
        }
    }

    /** ovs-appctl's {@code version} over the JSON-RPC control socket at {@code dir}: the result string. */
    private static String appctlVersion(Path dir) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(dir.resolve("pvio-vswitchd.ctl")));
            ch.write(ByteBuffer.wrap("{\"method\":\"version\",\"params\":[],\"id\":0}"
                    .getBytes(StandardCharsets.UTF_8)));
            ch.shutdownOutput();
            String reply = new String(Channels.newInputStream(ch).readAllBytes(), StandardCharsets.UTF_8);
            int i = reply.indexOf("\"result\":\"");
            assertTrue("no result in " + reply, i >= 0);
            return reply.substring(i + 10);
        }
    }

    /**
     * Sends an OpenFlow 1.0 hello (first time) and echo request with {@code xid}; returns the xid of the
     * echo reply. An IOException (EOF, broken pipe) when ofproto closed the connection.
     */
    private static int echo(SocketChannel of, DataInputStream in, int xid) throws IOException {
        ByteBuffer m = ByteBuffer.allocate(16);
        if (xid == 1) {
            m.put((byte) 1).put((byte) 0).putShort((short) 8).putInt(0); // OFPT_HELLO
        }
        m.put((byte) 1).put((byte) 2).putShort((short) 8).putInt(xid); // OFPT_ECHO_REQUEST
        m.flip();
        while (m.hasRemaining()) {
            of.write(m);
        }
        for (;;) {
            in.readUnsignedByte(); // version
            int type = in.readUnsignedByte();
            int len = in.readUnsignedShort();
            int rxid = in.readInt();
            assertTrue("OpenFlow message length " + len, len >= 8);
            in.skipNBytes(len - 8);
            if (type == 3) { // OFPT_ECHO_REPLY
                return rxid;
            }
        }
    }
}
