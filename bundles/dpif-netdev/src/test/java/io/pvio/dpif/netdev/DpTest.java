package io.pvio.dpif.netdev;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.fail;

import io.pvio.dummy.netdev.DummyClass;
import io.pvio.dummy.pktgen.PktgenClass;
import io.pvio.netdev.NetdevClass;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.After;
import org.junit.Before;

/** A running datapath with the dummy and pktgen classes bound; checks for leaks at the end. */
public abstract class DpTest {
    /** What the datapath logged (logger dpif_netdev) during the test, as "LEVEL message", oldest first. */
    protected final List<String> log = new CopyOnWriteArrayList<>();
    private final Handler logHandler = new Handler() {
        @Override
        public void publish(LogRecord r) {
            log.add(r.getLevel() + " " + r.getMessage());
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };
    protected DpifNetdev dp;
    protected final DummyClass dummy = new DummyClass();
    protected final PktgenClass pktgen = new PktgenClass();

    /** The CPUs the datapath may put PMDs on ({@link Cpus#PROPERTY}): the tests name cores 0-7 on any machine. */
    protected String cpus() {
        return "0-7";
    }

    @Before
    public void startDatapath() throws Exception {
        Logger.getLogger("dpif_netdev").addHandler(logHandler);
        System.setProperty(Cpus.PROPERTY, cpus());
        try {
            dp = new DpifNetdev();
        } finally {
            System.clearProperty(Cpus.PROPERTY);
        }
        Map<String, Object> props = new HashMap<>();
        props.put(DpifNetdev.POOL_BUFFERS, 4096);
        dp.activate(props);
        bind(dummy);
        bind(pktgen);
    }

    @After
    public void stopDatapath() {
        try {
            if (dp != null) {
                dp.deactivate();
                assertEquals("buffers leaked", 0, dp.pool().inUse());
            }
        } finally {
            Logger.getLogger("dpif_netdev").removeHandler(logHandler);
        }
    }

    protected void bind(NetdevClass c) {
        dp.bindNetdevClass(c, Map.of(NetdevClass.TYPE_PROPERTY, c.type()));
    }

    protected void unbind(NetdevClass c) {
        dp.unbindNetdevClass(c, Map.of(NetdevClass.TYPE_PROPERTY, c.type()));
    }

    /** Waits (bounded, as a safety net, not a timing assertion) until {@code cond} holds. */
    protected static void await(String what, BooleanSupplier cond) {
        await(() -> what, cond);
    }

    /** Like {@link #await(String, BooleanSupplier)}; {@code what} describes the state when it times out. */
    protected static void await(java.util.function.Supplier<String> what, BooleanSupplier cond) {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for: " + what.get());
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted");
            }
        }
    }

    /** Waits until every PMD has completed two more iterations: whatever it had received is processed and counted. */
    protected void settle() {
        long[] before = dp.pmdIterations();
        await("PMD iterations", () -> {
            long[] now = dp.pmdIterations();
            for (int i = 0; i < Math.min(now.length, before.length); i++) {
                if (now[i] < before[i] + 2) {
                    return false;
                }
            }
            return true;
        });
    }

    /** The core of the PMD polling port {@code port}'s queue 0, from pmd-rxq-show. */
    protected int core(String port) {
        int core = -1;
        for (String l : dp.pmdRxqShow().split("\n")) {
            if (l.startsWith("pmd thread numa_id 0 core_id ")) {
                core = Integer.parseInt(l.substring(29, l.length() - 1));
            } else if (l.startsWith(String.format("  port: %-16s  queue-id:  0 ", port))) {
                return core;
            }
        }
        throw new AssertionError(port + " not polled: " + dp.pmdRxqShow());
    }

    static long mac(String s) {
        return io.pvio.dpif.netdev.flow.FlowParser.parseMac(s);
    }

    /** An Ethernet frame of {@code len} bytes. */
    static byte[] eth(String dst, String src, int type, int len) {
        ByteBuffer b = ByteBuffer.allocate(len);
        long d = mac(dst);
        long s = mac(src);
        b.putShort(0, (short) (d >>> 32)).putInt(2, (int) d);
        b.putShort(6, (short) (s >>> 32)).putInt(8, (int) s);
        b.putShort(12, (short) type);
        for (int i = 14; i < len; i++) {
            b.put(i, (byte) i);
        }
        return b.array();
    }

    /** Each {bad flow, a part of its error}: add-flow refuses it with that message. */
    protected void assertRefused(String bridge, String[][] badFlows) {
        for (String[] bad : badFlows) {
            try {
                dp.addFlow(bridge, bad[0]);
                throw new AssertionError(bad[0] + " accepted");
            } catch (io.pvio.dpif.DpifException e) {
                if (!e.getMessage().contains(bad[1])) {
                    throw new AssertionError(bad[0] + ": " + e.getMessage() + " does not say " + bad[1]);
                }
            }
        }
    }
}
