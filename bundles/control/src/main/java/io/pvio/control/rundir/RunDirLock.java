package io.pvio.control.rundir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One daemon per run directory, as ovs-vswitchd locks its pidfile: RUN_DIR/ovs-vswitchd.pid is locked
 * (and holds this process's pid) while the control component runs there; a second one, in this process or
 * another, is refused and told which pid holds it. The lock goes with the process, so a crash frees it.
 */
public final class RunDirLock implements AutoCloseable {
    public static final String PID_FILE = "ovs-vswitchd.pid";
    private final FileLock lock;

    private RunDirLock(FileLock lock) {
        this.lock = lock;
    }

    /** Locks {@code runDir} (created if missing) or throws an IOException naming the holder's pid. */
    public static RunDirLock acquire(Path runDir) throws IOException {
        Files.createDirectories(runDir);
        Path pidFile = runDir.resolve(PID_FILE);
        FileChannel ch = FileChannel.open(pidFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null; // held by this very process
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        if (lock == null) {
            String pid = "";
            try {
                pid = Files.readString(pidFile).trim();
            } catch (IOException ignored) {
                // the message below still says what is wrong
            }
            ch.close();
            throw new IOException(runDir + " is in use by another pvio-vswitchd" + (pid.isEmpty() ? "" : " (pid "
                    + pid + ")") + "; stop it first, or use another run directory");
        }
        ch.truncate(0);
        ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
        return new RunDirLock(lock);
    }

    /** Throws as {@link #acquire} would, without keeping the lock (the launcher, before it starts Felix). */
    public static void check(Path runDir) throws IOException {
        acquire(runDir).close();
    }

    /** Releases the run directory (the pid file stays, unlocked). Idempotent. */
    @Override
    public void close() throws IOException {
        lock.channel().close();
    }
}
