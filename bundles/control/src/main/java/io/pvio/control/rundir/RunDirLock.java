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
import java.nio.file.attribute.BasicFileAttributes;

/**
 * One daemon per run directory, as ovs-vswitchd locks its pidfile: RUN_DIR/ovs-vswitchd.pid is locked
 * (and holds this process's pid) while the control component runs there; a second one, in this process or
 * another, is refused and told which pid holds it. The lock goes with the process, so a crash frees it; a
 * daemon that stops removes its pid file, as ovs-vswitchd does (a crash leaves it, unlocked and stale).
 *
 * <p>Removing the file while another process waits to lock it would let two daemons hold two files of the
 * same name, so {@link #acquire} keeps a lock only on the file the path still names once the lock is taken
 * (OVS's lib/daemon-unix.c checks the same after its fcntl lock), and tries again otherwise.
 */
public final class RunDirLock implements AutoCloseable {
    public static final String PID_FILE = "ovs-vswitchd.pid";
    private final FileLock lock;
    private final Path pidFile;
    /** The locked file's identity (device and inode), to remove only the file this lock holds. */
    private final Object fileKey;

    private RunDirLock(FileLock lock, Path pidFile, Object fileKey) {
        this.lock = lock;
        this.pidFile = pidFile;
        this.fileKey = fileKey;
    }

    /** Locks {@code runDir} (created if missing) or throws an IOException naming the holder's pid. */
    public static RunDirLock acquire(Path runDir) throws IOException {
        Files.createDirectories(runDir);
        Path pidFile = runDir.resolve(PID_FILE);
        for (int attempt = 0; ; attempt++) {
            RunDirLock l = tryAcquire(pidFile);
            if (l != null) {
                return l;
            }
            if (attempt == 100) { // the file replaced under us a hundred times: somebody loops on it
                throw new IOException(pidFile + " keeps being replaced while it is locked");
            }
        }
    }

    /**
     * The lock, or null when the file locked may not be the one the path names: its last holder removed it
     * (and maybe another was made) between this process's look at the path and its lock. The path must name
     * the same file before the open and after the lock. Nothing here may open the file a second time: closing
     * any descriptor of a file drops every fcntl lock this process holds on it.
     */
    private static RunDirLock tryAcquire(Path pidFile) throws IOException {
        Object before = fileKey(pidFile);
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
            throw new IOException(pidFile.getParent() + " is in use by another pvio-vswitchd" + (pid.isEmpty() ? ""
                    : " (pid " + pid + ")") + "; stop it first, or use another run directory");
        }
        Object after = fileKey(pidFile);
        if (before == null || !before.equals(after)) {
            ch.close(); // made by this open (look again) or replaced meanwhile
            return null;
        }
        ch.truncate(0);
        ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
        return new RunDirLock(lock, pidFile, after);
    }

    /** The identity of the file {@code p} names (device and inode on Linux), or null if there is none. */
    private static Object fileKey(Path p) {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class).fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    /** Throws as {@link #acquire} would, without keeping the lock (the launcher, before it starts Felix). */
    public static void check(Path runDir) throws IOException {
        acquire(runDir).release(false);
    }

    /**
     * Releases the run directory and removes the pid file, if it is still the file this lock holds (a
     * daemon that took the run directory after this one keeps its own). Idempotent.
     */
    @Override
    public void close() throws IOException {
        release(true);
    }

    private void release(boolean remove) throws IOException {
        FileChannel ch = lock.channel();
        if (!ch.isOpen()) {
            return;
        }
        try {
            if (remove && fileKey.equals(fileKey(pidFile))) {
                Files.deleteIfExists(pidFile); // before the unlock: nobody else can hold this file yet
            }
        } finally {
            ch.close();
        }
    }
}
