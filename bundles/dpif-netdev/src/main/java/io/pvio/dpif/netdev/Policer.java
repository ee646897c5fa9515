package io.pvio.dpif.netdev;

import io.pvio.packet.PacketBatch;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A port's ingress or egress policer, as OVS-DPDK's (netdev_dpdk_policer_run: DPDK's srTCM, color blind, EBS 0): a
 * bucket of CBS bytes, full at the start, filled at CIR bytes per second; a received packet whose length
 * without its Ethernet header fits in the bucket is kept and takes its length out, any other is dropped.
 * The PMDs polling the port's rx queues (or sending on it) share it: a spin lock per batch, as OVS's policer_lock.
 * Allocation-free.
 */
final class Policer {
    private static final long NS = 1_000_000_000L;
    /** Buckets above this many bytes (72 Gbit) are capped: the bucket is kept in byte-nanoseconds. */
    static final long MAX_BURST_BYTES = Long.MAX_VALUE / NS;
    private static final VarHandle LOCK;

    static {
        try {
            LOCK = MethodHandles.lookup().findVarHandle(Policer.class, "lock", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The rate in bytes per second and the bucket in bytes, as given. */
    final long cirBytes;
    final long cbsBytes;
    private final long cir; // bytes per second
    private final long cbs; // bucket size, bytes * 1e9
    private long tokens; // bytes * 1e9, guarded by lock
    private long lastNs; // guarded by lock
    @SuppressWarnings("unused") private volatile int lock;

    /** A full bucket of {@code cbsBytes} filled at {@code cirBytes} a second (both above 0). */
    Policer(long cirBytes, long cbsBytes, long nowNs) {
        this.cirBytes = cirBytes;
        this.cbsBytes = cbsBytes;
        this.cir = cirBytes;
        this.cbs = Math.min(cbsBytes, MAX_BURST_BYTES) * NS;
        this.tokens = cbs;
        this.lastNs = nowNs;
    }

    /** Whether this policer has the rate and bucket {@code cirBytes}, {@code cbsBytes}. */
    boolean is(long cirBytes, long cbsBytes) {
        return this.cirBytes == cirBytes && this.cbsBytes == cbsBytes;
    }

    /**
     * Polices the batch received at {@code nowNs}: the packets kept stay first, in order; the dropped ones are
     * freed and their bytes added to {@code droppedBytes}. Returns how many were dropped.
     */
    int run(PacketBatch b, long nowNs, java.util.concurrent.atomic.AtomicLong droppedBytes) {
        int n = b.size();
        int kept = 0;
        while (!LOCK.compareAndSet(this, 0, 1)) {
            Thread.onSpinWait();
        }
        try {
            long elapsed = nowNs - lastNs;
            if (elapsed > 0) {
                lastNs = nowNs;
                long room = cbs - tokens;
                tokens = elapsed >= room / cir + 1 ? cbs : tokens + elapsed * cir;
            }
            for (int i = 0; i < n; i++) {
                long need = Math.max(0, b.get(i).length() - 14) * NS; // without the Ethernet header, as OVS
                if (tokens >= need) {
                    tokens -= need;
                    if (kept != i) {
                        b.swap(kept, i);
                    }
                    kept++;
                }
            }
        } finally {
            LOCK.setRelease(this, 0);
        }
        long bytes = 0;
        for (int i = kept; i < n; i++) {
            bytes += b.get(i).length();
            b.get(i).free();
        }
        if (bytes > 0) {
            droppedBytes.addAndGet(bytes);
        }
        b.truncate(kept);
        return n - kept;
    }
}
