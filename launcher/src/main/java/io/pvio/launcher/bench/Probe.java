package io.pvio.launcher.bench;

import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What the bench reads about its own JVM: threads by name (Java id, Linux tid, last CPU, allowed CPUs),
 * per-thread allocated bytes and CPU time (com.sun.management.ThreadMXBean), GC counts, the machine's CPU
 * time (/proc/stat) and this process's (/proc/self/stat). Control path only; allocation here is fine.
 */
final class Probe {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** A Linux thread of this process. */
    record Task(int tid, String comm, int lastCpu, String allowed) {
    }

    private Probe() {
    }

    /** Java thread id of the live thread named {@code name}, or -1. */
    static long javaId(String name) {
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals(name)) {
                return t.getId();
            }
        }
        return -1;
    }

    /** Names of live Java threads starting with {@code prefix}, sorted. */
    static List<String> threadNames(String prefix) {
        List<String> out = new ArrayList<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith(prefix)) {
                out.add(t.getName());
            }
        }
        out.sort(null);
        return out;
    }

    static long allocatedBytes(long javaId) {
        if (javaId < 0 || !THREADS.isThreadAllocatedMemorySupported()) {
            return -1;
        }
        if (!THREADS.isThreadAllocatedMemoryEnabled()) {
            THREADS.setThreadAllocatedMemoryEnabled(true);
        }
        return THREADS.getThreadAllocatedBytes(javaId);
    }

    static long cpuNanos(long javaId) {
        return javaId < 0 ? -1 : THREADS.getThreadCpuTime(javaId);
    }

    /** Collections by every collector since the JVM started. */
    static long gcCount() {
        long n = 0;
        for (GarbageCollectorMXBean g : ManagementFactory.getGarbageCollectorMXBeans()) {
            n += Math.max(0, g.getCollectionCount());
        }
        return n;
    }

    static String gcNames() {
        List<String> n = new ArrayList<>();
        for (GarbageCollectorMXBean g : ManagementFactory.getGarbageCollectorMXBeans()) {
            n.add(g.getName());
        }
        return String.join(", ", n);
    }

    /** Threads of this process whose name (comm, at most 15 characters) starts with one of the prefixes. */
    static List<Task> tasks(String... prefixes) {
        List<Task> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(Path.of("/proc/self/task"))) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Task t = task(p);
                if (t == null) {
                    continue;
                }
                for (String pre : prefixes) {
                    if (t.comm().startsWith(pre)) {
                        out.add(t);
                        break;
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: no placement information
        }
        out.sort((a, b) -> a.comm().equals(b.comm()) ? Integer.compare(a.tid(), b.tid()) : a.comm().compareTo(b.comm()));
        return out;
    }

    private static Task task(Path dir) {
        try {
            String comm = Files.readString(dir.resolve("comm")).strip();
            String stat = Files.readString(dir.resolve("stat"));
            // fields after "(comm)" start at field 3; field 39 is the CPU the thread last ran on
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
            int cpu = f.length > 36 ? Integer.parseInt(f[36]) : -1;
            String allowed = "?";
            for (String line : Files.readAllLines(dir.resolve("status"))) {
                if (line.startsWith("Cpus_allowed_list:")) {
                    allowed = line.substring(line.indexOf(':') + 1).strip();
                }
            }
            return new Task(Integer.parseInt(dir.getFileName().toString()), comm, cpu, allowed);
        } catch (IOException | RuntimeException e) {
            return null; // the thread ended meanwhile
        }
    }

    /** Pins Linux thread {@code tid} to {@code cpu} with taskset(1); returns null or the error. */
    static String pin(int tid, int cpu) {
        try {
            Process p = new ProcessBuilder("taskset", "-p", "-c", Integer.toString(cpu), Integer.toString(tid))
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "taskset did not finish";
            }
            return p.exitValue() == 0 ? null : out;
        } catch (IOException e) {
            return "taskset: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** Jiffies: [total, busy] of the whole machine (first line of /proc/stat). */
    static long[] machineJiffies() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long total = 0;
            for (int i = 1; i < Math.min(f.length, 9); i++) {
                total += Long.parseLong(f[i]);
            }
            long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
            return new long[] {total, total - idle};
        } catch (IOException | RuntimeException e) {
            return new long[] {0, 0};
        }
    }

    /** utime + stime of this process, in jiffies. */
    static long selfJiffies() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    static int onlineCpus() {
        return Runtime.getRuntime().availableProcessors();
    }

    /** "AMD EPYC" and the nominal MHz from /proc/cpuinfo (0 when unknown). */
    static Map<String, String> cpuInfo() {
        Map<String, String> m = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                int c = line.indexOf(':');
                if (c < 0) {
                    continue;
                }
                String k = line.substring(0, c).strip();
                if ((k.equals("model name") || k.equals("cpu MHz")) && !m.containsKey(k)) {
                    m.put(k, line.substring(c + 1).strip());
                }
            }
        } catch (IOException e) {
            // unknown
        }
        return m;
    }
}
