package io.pvio.dma.cpu;

import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaDevice;
import io.pvio.dma.spi.DmaEngine;
import io.pvio.memory.NativeMemory;
import io.pvio.netdev.CustomStats;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * An engine without hardware: {@link #submit()} copies every enqueued descriptor on the calling thread, in
 * order, with {@link NativeMemory#copy}; {@link #completed} then reports them as successful. Copies are
 * visible to the caller at once (same thread). No fault injection.
 */
public final class CpuEngine implements DmaEngine {
    private static final VarHandle SEQ = MethodHandles.arrayElementVarHandle(long[].class);
    private static final int TAIL = 0;
    private static final int HEAD = 1;
    private static final int DOORBELLS = 2;

    // the ring: per slot src, dst, length; one user
    private long[] src;
    private long[] dst;
    private int[] len;
    private int mask;
    private long performed; // copied
    private final long[] seq = new long[3]; // tail (enqueued), head (reported), doorbells: read by stats

    @Override
    public String kind() {
        return "cpu";
    }

    @Override
    public String device() {
        return "-";
    }

    @Override
    public long capabilities() {
        return DmaDevice.CAPA_MEM_TO_MEM | DmaDevice.CAPA_OPS_COPY | DmaDevice.CAPA_SVA;
    }

    @Override
    public int minRingSize() {
        return 64;
    }

    @Override
    public int maxRingSize() {
        return 4096;
    }

    @Override
    public void open(int ringSize) {
        src = new long[ringSize];
        dst = new long[ringSize];
        len = new int[ringSize];
        mask = ringSize - 1;
    }

    @Override
    public void start() {
        performed = 0;
        SEQ.setRelease(seq, TAIL, 0L);
        SEQ.setRelease(seq, HEAD, 0L);
    }

    @Override
    public void stop() {
        submit();
    }

    @Override
    public void close() {
        src = null;
        dst = null;
        len = null;
    }

    @Override
    public int copy(long s, long d, int length, int flags) {
        long tail = seq[TAIL];
        if (tail - seq[HEAD] > mask) {
            return DmaDevice.ENOSPC;
        }
        int i = (int) tail & mask;
        src[i] = s;
        dst[i] = d;
        len[i] = length;
        SEQ.setRelease(seq, TAIL, tail + 1);
        if ((flags & DmaDevice.FLAG_SUBMIT) != 0) {
            submit();
        }
        return (int) (tail & 0xffff);
    }

    /** Copies run one after another on one thread: every fence is already honoured. */
    @Override
    public void submit() {
        long tail = seq[TAIL];
        if (performed == tail) {
            return;
        }
        for (long s = performed; s != tail; s++) {
            int i = (int) s & mask;
            if (len[i] > 0) {
                NativeMemory.copy(src[i], dst[i], len[i]);
            }
        }
        performed = tail;
        SEQ.setOpaque(seq, DOORBELLS, seq[DOORBELLS] + 1);
    }

    @Override
    public int completed(int max, DmaCompletions out) {
        long head = seq[HEAD];
        int n = (int) Math.min(max, performed - head);
        n = Math.max(n, 0);
        head += n;
        SEQ.setRelease(seq, HEAD, head);
        out.finish((int) (head - 1), false);
        return n;
    }

    @Override
    public int completedStatus(int max, DmaCompletions out) {
        long head = seq[HEAD];
        int n = 0;
        while (n < max && head != performed && out.add(DmaDevice.STATUS_SUCCESSFUL)) {
            head++;
            n++;
        }
        SEQ.setRelease(seq, HEAD, head);
        out.finish((int) (head - 1), false);
        return n;
    }

    @Override
    public int burstCapacity() {
        return mask + 1 - inFlight();
    }

    @Override
    public int inFlight() {
        return (int) ((long) SEQ.getOpaque(seq, TAIL) - (long) SEQ.getOpaque(seq, HEAD));
    }

    @Override
    public void setFaults(double errorRate, boolean stall) {
        if (errorRate != 0 || stall) {
            throw new UnsupportedOperationException("the cpu engine injects no faults");
        }
    }

    /** doorbells. */
    @Override
    public void stats(CustomStats sink) {
        sink.put("doorbells", (long) SEQ.getOpaque(seq, DOORBELLS));
    }
}
