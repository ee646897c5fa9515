package io.pvio.netlinux;

import io.pvio.dpif.netdev.DpifNetdev;
import io.pvio.netdev.NetdevClass;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.Assume;
import org.junit.Test;

/**
 * Benchmark, not a test (runs only with {@code -Dpvio.bench=true}, as root): frames per second that reach
 * namespace 2 from a generator in namespace 1, forwarded between the veths' outer ends by pvio's system
 * ports (explicit flows) and by the kernel's bridge, at 64 and 1518 B. Prints a table; asserts nothing.
 *
 * <pre>
 * mvn -o -f bundles/netdev-linux/pom.xml test -Dtest=SystemForwardBench -Dpvio.bench=true [-Dpvio.bench.seconds=5]
 * </pre>
 */
public class SystemForwardBench {
    private static final String T = Host.TAG;
    private static final String NS1 = "pvio-fb1-" + T;
    private static final String NS2 = "pvio-fb2-" + T;
    private static final String A = "pfa" + T;
    private static final String B = "pfb" + T;
    private static final String A_IN = A + "i";
    private static final String B_IN = B + "i";

    @Test
    public void forwardingRate() throws Exception {
        Assume.assumeTrue("benchmark: run with -Dpvio.bench=true", Boolean.getBoolean("pvio.bench"));
        Assume.assumeTrue("needs root", Host.isRoot());
        int seconds = Integer.getInteger("pvio.bench.seconds", 5);
        try {
            Host.netns(NS1);
            Host.netns(NS2);
            Host.veth(A, A_IN, NS1, "10.232.0.1/24");
            Host.veth(B, B_IN, NS2, "10.232.0.2/24");
            Host.run("ip", "link", "set", A, "up");
            Host.run("ip", "link", "set", B, "up");
            StringBuilder table = new StringBuilder(String.format("%-6s %-14s %12s %12s %8s%n", "size", "path",
                    "offered pps", "received pps", "ratio"));
            for (int size : new int[] {64, 1518}) {
                double[] kernel = kernelBridge(size, seconds);
                double[] pvio = pvio(size, seconds);
                table.append(String.format("%-6d %-14s %12.0f %12.0f%n", size, "kernel bridge", kernel[0], kernel[1]));
                table.append(String.format("%-6d %-14s %12.0f %12.0f %8.2f%n", size, "pvio system", pvio[0], pvio[1],
                        pvio[1] / kernel[1]));
            }
            System.out.print(table);
        } finally {
            Host.delLink("pfbr" + T);
            Host.delLink(A);
            Host.delLink(B);
            Host.delNetns(NS1);
            Host.delNetns(NS2);
        }
    }

    private static double[] kernelBridge(int size, int seconds) {
        String br = "pfbr" + T;
        Host.run("ip", "link", "add", br, "type", "bridge");
        Host.run("ip", "link", "set", A, "master", br);
        Host.run("ip", "link", "set", B, "master", br);
        Host.run("ip", "link", "set", br, "up");
        try {
            return blast(size, seconds);
        } finally {
            Host.delLink(br);
        }
    }

    private static double[] pvio(int size, int seconds) throws Exception {
        DpifNetdev dp = new DpifNetdev();
        Map<String, Object> props = new HashMap<>();
        props.put(DpifNetdev.RUN_DIR, System.getProperty("java.io.tmpdir") + "/pvio-fb-" + T);
        dp.activate(props);
        SystemClass sys = new SystemClass();
        try {
            dp.bindNetdevClass(sys, Map.of(NetdevClass.TYPE_PROPERTY, sys.type()));
            dp.addBridge("pfbr" + T);
            dp.addPort("pfbr" + T, A, "", Map.of(), 1);
            dp.addPort("pfbr" + T, B, "", Map.of(), 2);
            dp.delFlows("pfbr" + T, null);
            dp.addFlow("pfbr" + T, "in_port=1,actions=output:2");
            long rx0 = counter(NS2, B_IN, "rx_packets");
            long a0 = pmdAllocated();
            long gc0 = gcs();
            double[] r = blast(size, seconds);
            long bytes = pmdAllocated() - a0;
            long gc = gcs() - gc0;
            long rx = counter(NS2, B_IN, "rx_packets") - rx0;
            System.out.printf("system-ports %d B: the PMD allocated %d bytes for %d forwarded frames (%.4f B/pkt,"
                    + " JIT warm-up included), %d GCs%n", size, bytes, rx, rx > 0 ? (double) bytes / rx : 0.0, gc);
            return r;
        } finally {
            dp.deactivate();
            sys.deactivate();
        }
    }

    private static long pmdAllocated() {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean)
                java.lang.management.ManagementFactory.getThreadMXBean();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("pmd-c")) {
                return mx.getThreadAllocatedBytes(t.getId());
            }
        }
        return 0;
    }

    private static long gcs() {
        long n = 0;
        for (java.lang.management.GarbageCollectorMXBean g : java.lang.management.ManagementFactory
                .getGarbageCollectorMXBeans()) {
            n += Math.max(0, g.getCollectionCount());
        }
        return n;
    }

    /** {offered pps (sent by the generator's interface), received pps (at the far end)}. */
    private static double[] blast(int size, int seconds) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        long tx0 = counter(NS1, A_IN, "tx_packets");
        long rx0 = counter(NS2, B_IN, "rx_packets");
        String[] times = Host.inNs(NS1, java, "-cp", System.getProperty("java.class.path"), Blast.class.getName(),
                A_IN, Integer.toString(seconds), Integer.toString(size)).trim().split("\\s+");
        double dt = (Long.parseLong(times[times.length - 1]) - Long.parseLong(times[times.length - 2])) / 1e9;
        try {
            Thread.sleep(200); // what is still in the rings and the forwarding path arrives
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        long tx = counter(NS1, A_IN, "tx_packets") - tx0;
        long rx = counter(NS2, B_IN, "rx_packets") - rx0;
        return new double[] {tx / dt, rx / dt};
    }

    private static long counter(String ns, String dev, String name) {
        return Long.parseLong(Host.inNs(ns, "cat", "/sys/class/net/" + dev + "/statistics/" + name).trim());
    }
}
