package io.pvio.control.server;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.pvio.control.protocol.ControlClient;
import io.pvio.control.protocol.ControlProtocol;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * The control socket's unixctl JSON-RPC, driven by the real ovs-appctl (Debian's openvswitch-common) and by
 * hand-written messages; pvio's own protocol on the same socket keeps working.
 */
public class UnixctlJsonRpcTest {
    static final String OVS_APPCTL = "/usr/bin/ovs-appctl";
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();
    private ControlServer server;
    private Path sock;
    private final AtomicInteger exits = new AtomicInteger();
    private final List<List<String>> seen = new java.util.concurrent.CopyOnWriteArrayList<>();

    record Out(int status, String out, String err) {
    }

    @Before
    public void start() throws IOException {
        sock = tmp.getRoot().toPath().resolve("pvio-vswitchd.ctl");
        server = ControlServer.start(sock, (argv, after) -> {
            seen.add(argv);
            int ci = argv.size() > 2 && argv.get(1).equals("--") ? 2 : 1;
            String cmd = argv.get(ci);
            switch (cmd) {
                case "echo":
                    return new ControlProtocol.Reply(0, String.join(" ", argv.subList(ci + 1, argv.size())), "");
                case "fail":
                    return new ControlProtocol.Reply(2, "", "it failed");
                case "exit":
                    after.accept(exits::incrementAndGet);
                    return new ControlProtocol.Reply(0, "", "");
                default:
                    return new ControlProtocol.Reply(2, "", "\"" + cmd + "\" is not a valid command");
            }
        });
    }

    @After
    public void stop() {
        server.close();
    }

    static Out run(Path dir, List<String> env, String... args) throws Exception {
        assertTrue("the real ovs-appctl is needed (apt-get install openvswitch-common)",
                Files.isExecutable(Path.of(OVS_APPCTL)));
        List<String> cmd = new ArrayList<>(List.of(OVS_APPCTL));
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        for (String kv : env) {
            pb.environment().put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
        }
        Path out = Files.createTempFile(dir, "out", ".txt");
        Path err = Files.createTempFile(dir, "err", ".txt");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("ovs-appctl " + cmd + " did not finish");
        }
        return new Out(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    private Out appctl(String... args) throws Exception {
        List<String> a = new ArrayList<>(List.of("-t", sock.toString()));
        a.addAll(Arrays.asList(args));
        return run(tmp.getRoot().toPath(), List.of(), a.toArray(new String[0]));
    }

    @Test
    public void theRealOvsAppctlGetsResultsAndOvsExitCodes() throws Exception {
        Out ok = appctl("echo", "a b", "ünï", "");
        assertEquals(ok.err(), 0, ok.status());
        assertEquals("a b ünï \n", ok.out()); // a newline is added, as unixctl_command_reply does
        assertEquals(List.of("appctl", "--", "echo", "a b", "ünï", ""), seen.get(seen.size() - 1));

        Out failed = appctl("fail");
        assertEquals(2, failed.status());
        assertEquals("", failed.out());
        assertEquals("it failed\novs-appctl: " + sock + ": server returned an error\n", failed.err());

        Out unknown = appctl("no/such-command");
        assertEquals(2, unknown.status());
        assertTrue(unknown.err(), unknown.err().startsWith("\"no/such-command\" is not a valid command\n"));
    }

    @Test
    public void ovsAppctlFindsTheDaemonByItsPidfile() throws Exception {
        Path dir = tmp.getRoot().toPath();
        server.alsoAs("ovs-vswitchd");
        long pid = ProcessHandle.current().pid();
        Path link = dir.resolve("ovs-vswitchd." + pid + ".ctl");
        assertTrue(Files.isSymbolicLink(link));
        // the pidfile as the launcher keeps it: this process's pid, locked by this process (fcntl)
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(dir.resolve("ovs-vswitchd.pid"),
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
                java.nio.channels.FileLock lock = ch.lock()) {
            ch.write(ByteBuffer.wrap((pid + "\n").getBytes(StandardCharsets.US_ASCII)));
            Out o = run(dir, List.of("OVS_RUNDIR=" + dir), "echo", "found");
            assertEquals(o.err(), 0, o.status());
            assertEquals("found\n", o.out());
            o = run(dir, List.of("OVS_RUNDIR=" + dir), "--target=ovs-vswitchd", "echo", "again");
            assertEquals("again\n", o.out());
        }
        // no lock holder: ovs-appctl says the pidfile is stale and exits 1, as with a dead ovs-vswitchd
        Out stale = run(dir, List.of("OVS_RUNDIR=" + dir), "echo", "x");
        assertEquals(1, stale.status());
        assertTrue(stale.err(), stale.err().contains("cannot read pidfile"));
        server.close();
        assertFalse("the link goes with the server", Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    public void exitRunsAfterTheReply() throws Exception {
        Out o = appctl("exit");
        assertEquals(0, o.status());
        assertEquals("", o.out());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (exits.get() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(1, exits.get());
    }

    /** Sends {@code text} and returns everything the server writes until it closes the connection. */
    private String raw(String text, boolean shutdownOutput) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(sock));
            ch.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
            if (shutdownOutput) {
                ch.shutdownOutput();
            }
            InputStream in = Channels.newInputStream(ch);
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            in.transferTo(bos);
            return bos.toString(StandardCharsets.UTF_8);
        }
    }

    @Test
    public void severalRequestsOnOneConnectionEachGetTheirReply() throws IOException {
        String r = raw("{\"id\":7,\"method\":\"echo\",\"params\":[\"x\"]} \n{\"id\":\"s\",\"method\":\"fail\","
                + "\"params\":[]}", true);
        assertEquals("{\"id\":7,\"result\":\"x\\n\",\"error\":null}{\"id\":\"s\",\"result\":null,"
                + "\"error\":\"it failed\\n\"}", r);
    }

    @Test
    public void badRequestsGetAnErrorOrAClosedConnectionAndTheServerLivesOn() throws Exception {
        assertEquals("{\"id\":1,\"result\":null,\"error\":\"\\\"echo\\\" command has non-string argument\\n\"}",
                raw("{\"id\":1,\"method\":\"echo\",\"params\":[\"a\",2]}", true));
        // not JSON, a notification, a reply, an unknown member, params not an array: closed without a reply
        assertEquals("", raw("{\"id\":1,\"method\":", true));
        assertEquals("", raw("{\"id\":1,\"method\":\"echo\",\"params\":[]]", true));
        assertEquals("", raw("{\"id\":null,\"method\":\"echo\",\"params\":[]}", true));
        assertEquals("", raw("{\"id\":1,\"result\":\"x\",\"error\":null}", true));
        assertEquals("", raw("{\"id\":1,\"method\":\"echo\",\"params\":[],\"x\":1}", true));
        assertEquals("", raw("{\"id\":1,\"method\":\"echo\",\"params\":\"a\"}", true));
        assertEquals("", raw("{\"id\":1,\"method\":\"echo\",\"params\":" + "[".repeat(100) + "]".repeat(100) + "}",
                true));
        // a request larger than the limit is cut off
        assertEquals("", raw("{\"id\":1,\"method\":\"echo\",\"params\":[\"" + "x".repeat(2 * ControlProtocol.MAX_REQUEST)
                + "\"]}", true));
        // a client that stops mid-request is not waited for forever; meanwhile others are served
        try (SocketChannel idle = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            idle.connect(UnixDomainSocketAddress.of(sock));
            idle.write(ByteBuffer.wrap("{\"id\":1,".getBytes(StandardCharsets.UTF_8)));
            assertEquals("still\n", appctl("echo", "still").out());
        }
        // pvio's binary protocol on the same socket
        ControlProtocol.Reply b = ControlClient.call(sock, List.of("appctl", "echo", "bin"));
        assertEquals("bin", b.out());
        assertEquals(List.of("appctl", "echo", "bin"), seen.get(seen.size() - 1));
        assertEquals("ok\n", appctl("echo", "ok").out());
    }
}
