package io.pvio.vhost.ring;

import io.pvio.posix.SharedMemory;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * Which operation makes HotSpot raise a fault that compiled code left pending? The evidence behind
 * {@link FaultFence} (not a unit test: it reports what this JVM does, each candidate in a JVM of its own).
 * Run: {@code java -cp <test classpath> io.pvio.vhost.ring.FaultDeliverySurvey}. HotSpot 17.0.15: only
 * {@code multianewarray} (16 B) and {@code fence} (the interpreted fence, 0 B) raise it every time (code
 * not yet compiled by C2 may raise it at an interpreter or C1 counter overflow: hence five faults each).
 */
public final class FaultDeliverySurvey {
    private static final List<String> CANDIDATES = List.of("multianewarray", "fence", "Thread.yield",
            "Thread.onSpinWait", "LockSupport.parkNanos", "identityHashCode", "Thread.holdsLock",
            "synchronized-inflated", "notify-owned-inflated", "arraycopy-generic", "System.nanoTime");
    private static final Object MONITOR = new Object();
    private static int zero;
    private static int sink;
    private static Object src = new Object[4];
    private static Object dst = new Object[4];
    private static String candidate;

    private FaultDeliverySurvey() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            String java = ProcessHandle.current().info().command().orElse("java");
            for (String c : CANDIDATES) {
                new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                        FaultDeliverySurvey.class.getName(), c).inheritIO().start().waitFor();
            }
            return;
        }
        candidate = args[0];
        synchronized (MONITOR) {
            MONITOR.wait(1); // inflates its monitor
        }
        System.out.printf("%-22s %s%n", candidate, survey());
    }

    /** Five faults: how many the candidate raised, left pending (raised later, elsewhere), or the read raised. */
    private static String survey() throws Exception {
        long size = 1 << 20;
        int[] counts = new int[3];
        try (SharedMemory file = SharedMemory.createMemfd("survey", size);
                RandomAccessFile f = new RandomAccessFile("/proc/self/fd/" + file.fd(), "rw")) {
            ByteBuffer v = file.buffer();
            for (int attempt = 0; attempt < 5; attempt++) {
                f.setLength(size);
                for (int i = 0; i < 30_000; i++) {
                    if (readThenCandidate(v) != 0) {
                        throw new AssertionError();
                    }
                }
                f.setLength(4096);
                int r;
                try {
                    r = readThenCandidate(v);
                    if (r == 0) {
                        GuestMemory.deliverPendingFault(); // left pending: raised here (or before)
                    }
                } catch (InternalError e) {
                    r = 0;
                }
                counts[r]++;
            }
        }
        return (counts[2] == 5 ? "RAISES IT" : counts[0] > 0 ? "no" : "?") + " (raised " + counts[2]
                + ", left pending " + counts[0] + ", raised by the read " + counts[1] + " of 5)";
    }

    /** 0: nothing raised; 1: the read raised the fault; 2: the candidate did. Compiled after the warm-up. */
    private static int readThenCandidate(ByteBuffer v) {
        try {
            int s = 0;
            for (int i = 0; i < 64; i++) {
                s += v.get(4096 * i + 8);
            }
            sink += s;
        } catch (InternalError e) {
            return 1;
        }
        try {
            candidate();
        } catch (InternalError e) {
            return 2;
        }
        return 0;
    }

    private static void candidate() {
        switch (candidate) {
            case "multianewarray" -> sink += new Object[zero][zero].length;
            case "fence" -> GuestMemory.deliverPendingFault();
            case "Thread.yield" -> Thread.yield();
            case "Thread.onSpinWait" -> Thread.onSpinWait();
            case "LockSupport.parkNanos" -> LockSupport.parkNanos(1);
            case "identityHashCode" -> sink += System.identityHashCode(new Object());
            case "Thread.holdsLock" -> sink += Thread.holdsLock(MONITOR) ? 1 : 0;
            case "synchronized-inflated" -> {
                synchronized (MONITOR) {
                    sink++;
                }
            }
            case "notify-owned-inflated" -> {
                synchronized (MONITOR) {
                    MONITOR.notify();
                }
            }
            case "arraycopy-generic" -> System.arraycopy(src, 0, dst, 0, 4);
            case "System.nanoTime" -> sink += (int) System.nanoTime();
            default -> throw new IllegalArgumentException(candidate);
        }
    }
}
