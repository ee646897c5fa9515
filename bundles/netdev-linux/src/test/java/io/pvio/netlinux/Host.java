package io.pvio.netlinux;

import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Runs the host's tools (ip, busybox, ethtool) for the tests; every name it makes carries a random tag. */
final class Host {
    /** A tag for this run's interface and namespace names (short: interface names have 15 bytes). */
    static final String TAG = Integer.toHexString(0x1000 + ThreadLocalRandom.current().nextInt(0xefff));

    private Host() {
    }

    static boolean isRoot() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("Uid:")) {
                    return l.split("\\s+")[2].equals("0");
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    /** Runs a command; fails the test with its output when it exits non-zero. Returns stdout+stderr. */
    static String run(String... cmd) {
        Result r = exec(cmd);
        if (r.rc != 0) {
            fail(String.join(" ", cmd) + " exited " + r.rc + ": " + r.out);
        }
        return r.out;
    }

    record Result(int rc, String out) {
    }

    static Result exec(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail(String.join(" ", cmd) + " did not end");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new AssertionError("cannot run " + String.join(" ", cmd) + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted");
        }
    }

    /** Runs a command in network namespace {@code ns}. */
    static String inNs(String ns, String... cmd) {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        c.addAll(List.of(cmd));
        return run(c.toArray(String[]::new));
    }

    static Result execInNs(String ns, String... cmd) {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        c.addAll(List.of(cmd));
        return exec(c.toArray(String[]::new));
    }

    /**
     * A veth pair: {@code outer} stays in the root namespace (for pvio), {@code inner} goes into {@code ns} with
     * {@code addr}. The inner end's transmit checksum offload is turned off, which also turns TSO off: an
     * AF_PACKET port sees frames as the wire would (OVS's userspace datapath asks the same of veths).
     */
    static void veth(String outer, String inner, String ns, String addr) {
        run("ip", "link", "add", outer, "type", "veth", "peer", "name", inner, "netns", ns);
        inNs(ns, "ip", "addr", "add", addr, "dev", inner);
        inNs(ns, "ip", "link", "set", inner, "up");
        inNs(ns, "ethtool", "-K", inner, "tx", "off");
    }

    static void netns(String ns) {
        run("ip", "netns", "add", ns);
        inNs(ns, "ip", "link", "set", "lo", "up");
    }

    static void delNetns(String ns) {
        exec("ip", "netns", "del", ns);
    }

    static void delLink(String name) {
        exec("ip", "link", "del", name);
    }

    /** busybox ping: true when {@code count} echo requests all got their reply. */
    static boolean ping(String ns, String addr, int count) {
        Result r = execInNs(ns, "busybox", "ping", "-c", Integer.toString(count), "-W", "2", addr);
        return r.rc == 0 && r.out.contains(count + " packets received");
    }

    /** Waits (a bound as a safety net, not a timing assertion) until {@code cond} holds. */
    static void await(String what, BooleanSupplier cond) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for: " + what);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted");
            }
        }
    }
}
