package io.pvio.control.server;

import io.pvio.control.protocol.ControlProtocol;
import io.pvio.control.protocol.ControlProtocol.Reply;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The daemon's control socket (OVS's unixctl server): a Unix domain socket that speaks two protocols, told
 * apart by a connection's first byte: OVS's unixctl JSON-RPC ({@link UnixctlJsonRpc}, what ovs-appctl sends)
 * and pvio's own ({@link ControlProtocol}, one request per connection). Requests run on a small pool of
 * threads. Malformed,
 * oversized or stalled requests get an error reply (or a closed connection); nothing else is affected.
 */
public final class ControlServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger("unixctl");
    static final int THREADS = 4;
    static final long READ_TIMEOUT_MS = 10_000;

    /** Runs one request. {@code afterReply} receives work to do once the reply is sent (e.g. exit). */
    @FunctionalInterface
    public interface Handler {
        Reply handle(List<String> argv, java.util.function.Consumer<Runnable> afterReply);
    }

    private final Path path;
    private final Handler handler;
    private final ServerSocketChannel server;
    private final ThreadPoolExecutor workers;
    private final ScheduledExecutorService watchdog;
    private final Thread acceptor;
    private final List<Path> aliases = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile boolean closed;

    private ControlServer(Path path, Handler handler, ServerSocketChannel server) {
        this.path = path;
        this.handler = handler;
        this.server = server;
        this.workers = new ThreadPoolExecutor(THREADS, THREADS, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(64),
                r -> daemon(r, "unixctl-worker"));
        this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "unixctl-watchdog"));
        this.acceptor = daemon(this::acceptLoop, "unixctl-accept");
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /**
     * Binds the socket at {@code path} and starts serving. A stale socket file is removed; a live daemon
     * at the same path is an error.
     */
    public static ControlServer start(Path path, Handler handler) throws IOException {
        Files.createDirectories(path.toAbsolutePath().getParent());
        if (Files.exists(path)) {
            try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                probe.connect(UnixDomainSocketAddress.of(path));
                throw new IOException("another pvio-vswitchd is already listening at " + path);
            } catch (IOException e) {
                if (e.getMessage() != null && e.getMessage().startsWith("another")) {
                    throw e;
                }
                Files.deleteIfExists(path); // stale: nobody listens
            }
        }
        ServerSocketChannel ssc = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        ssc.bind(UnixDomainSocketAddress.of(path));
        ControlServer s = new ControlServer(path, handler, ssc);
        s.acceptor.start();
        LOG.info("listening on " + path);
        return s;
    }

    public Path path() {
        return path;
    }

    /**
     * Also answers at {@code <program>.<pid>.ctl} beside the socket (a symbolic link to it), the name under
     * which ovs-appctl {@code --target=<program>} looks for a daemon whose pidfile {@code <program>.pid} holds
     * that pid. Stale links of earlier processes are removed; the link goes when the server closes.
     */
    public void alsoAs(String program) {
        Path dir = path.toAbsolutePath().getParent();
        String prefix = program + ".";
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String n = f.getFileName().toString();
                if (n.startsWith(prefix) && n.endsWith(".ctl") && Files.isSymbolicLink(f)) {
                    Files.deleteIfExists(f);
                }
            }
            Path link = dir.resolve(prefix + ProcessHandle.current().pid() + ".ctl");
            Files.createSymbolicLink(link, path.getFileName());
            aliases.add(link);
            LOG.info("listening on " + link + " too");
        } catch (IOException e) {
            LOG.warning("cannot name the control socket " + program + ".<pid>.ctl: " + e);
        }
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!closed) {
                    // e.g. EMFILE: back off instead of spinning and flooding the log
                    LOG.warning("accept failed: " + e.getMessage() + "; retrying in 100 ms");
                    java.util.concurrent.locks.LockSupport.parkNanos(100_000_000L);
                }
                continue;
            }
            try {
                workers.execute(() -> serve(ch));
            } catch (RejectedExecutionException e) {
                LOG.warning("too many control connections; dropping one");
                closeQuietly(ch);
            }
        }
    }

    private void serve(SocketChannel ch) {
        Runnable[] after = new Runnable[1];
        ScheduledFuture<?>[] timeout = new ScheduledFuture<?>[1];
        UnixctlJsonRpc.Watchdog guard = new UnixctlJsonRpc.Watchdog() {
            @Override
            public void arm() {
                timeout[0] = watchdog.schedule(() -> {
                    LOG.warning("control client sent no complete request within " + READ_TIMEOUT_MS
                            + " ms; closing");
                    closeQuietly(ch);
                }, READ_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            }

            @Override
            public void disarm() {
                timeout[0].cancel(false);
            }
        };
        try (ch) {
            BufferedInputStream in = new BufferedInputStream(Channels.newInputStream(ch));
            OutputStream out = Channels.newOutputStream(ch);
            guard.arm();
            in.mark(1);
            int first = in.read();
            in.reset();
            guard.disarm();
            if (first < 0) {
                return;
            }
            if (UnixctlJsonRpc.startsJson(first)) {
                UnixctlJsonRpc.serve(in, out, handler, guard, after);
            } else {
                serveBinary(in, out, guard, after);
            }
        } catch (IOException e) {
            LOG.fine("control connection: " + e.getMessage());
        } finally {
            if (timeout[0] != null) {
                timeout[0].cancel(false);
            }
            if (after[0] != null) {
                after[0].run();
            }
        }
    }

    /** pvio's own protocol ({@link ControlProtocol}): one request, one reply. */
    private void serveBinary(InputStream in, OutputStream out, UnixctlJsonRpc.Watchdog guard, Runnable[] after)
            throws IOException {
        List<String> argv;
        guard.arm();
        try {
            argv = ControlProtocol.readRequest(in);
        } catch (ControlProtocol.ProtocolException e) {
            LOG.warning("malformed control request: " + e.getMessage());
            ControlProtocol.writeReply(out, new Reply(2, "", "pvio-vswitchd: " + e.getMessage() + "\n"));
            return;
        } finally {
            guard.disarm();
        }
        LOG.fine("request: " + argv);
        Reply r;
        try {
            r = handler.handle(argv, run -> after[0] = run);
        } catch (RuntimeException e) {
            LOG.log(Level.SEVERE, "command " + argv + " failed", e);
            r = new Reply(2, "", "pvio-vswitchd: internal error: " + e + "\n");
        }
        ControlProtocol.writeReply(out, r);
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // nothing to do
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            LOG.warning("closing " + path + ": " + e.getMessage());
        }
        workers.shutdown();
        watchdog.shutdownNow();
        try {
            if (!workers.awaitTermination(5, TimeUnit.SECONDS)) {
                workers.shutdownNow();
            }
            acceptor.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Path p : aliases) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                LOG.warning("cannot remove " + p + ": " + e.getMessage());
            }
        }
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.warning("cannot remove " + path + ": " + e.getMessage());
        }
        LOG.info("closed " + path);
    }
}
