package io.pvio.vhost.async;

import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaDevice;
import io.pvio.dma.DmaInfo;
import io.pvio.memory.NativeMemory;
import io.pvio.netdev.CustomStats;

/** A DMA channel the test drives by hand: copies run only when the test says (or on every poll when auto). */
final class ManualDma implements DmaDevice {
    final int size;
    final long[] src;
    final long[] dst;
    final int[] len;
    final int[] status;
    long head; // enqueued
    long rung; // submitted up to
    long done; // executed
    long reported;
    boolean auto;
    int failNext; // the next N executed copies fail (and are not performed)
    int failSubmits; // the next N submits throw (as a late fault of the caller's own guest access would)

    ManualDma(int size) {
        this.size = size;
        src = new long[size];
        dst = new long[size];
        len = new int[size];
        status = new int[size];
    }

    @Override
    public DmaInfo info() {
        return new DmaInfo("0000:00:04.0", "manual", "manual", "-", CAPA_MEM_TO_MEM | CAPA_OPS_COPY
                | CAPA_HANDLES_ERRORS, size, size, size, 0);
    }

    @Override
    public void configure(int ringSize) {
    }

    @Override
    public void start() {
    }

    @Override
    public void stop() {
    }

    @Override
    public boolean isStarted() {
        return true;
    }

    @Override
    public int copy(long s, long d, int l, int flags) {
        if (head - reported == size) {
            return ENOSPC;
        }
        int i = (int) (head % size);
        src[i] = s;
        dst[i] = d;
        len[i] = l;
        int idx = (int) (head & 0xffff);
        head++;
        if ((flags & FLAG_SUBMIT) != 0) {
            submit();
        }
        return idx;
    }

    @Override
    public void submit() {
        if (failSubmits > 0) {
            failSubmits--;
            throw new InternalError("a fault occurred in a recent unsafe memory access operation");
        }
        rung = head;
    }

    /** Executes up to n submitted copies. */
    void run(int n) {
        while (n-- > 0 && done < rung) {
            int i = (int) (done % size);
            if (failNext > 0) {
                failNext--;
                status[i] = STATUS_ERROR_UNKNOWN;
            } else {
                NativeMemory.copy(src[i], dst[i], len[i]);
                status[i] = STATUS_SUCCESSFUL;
            }
            done++;
        }
    }

    @Override
    public int completed(int max, DmaCompletions out) {
        if (auto) {
            run(Integer.MAX_VALUE);
        }
        out.reset();
        int n = 0;
        boolean error = false;
        while (reported < done && n < max) {
            if (status[(int) (reported % size)] != STATUS_SUCCESSFUL) {
                error = true;
                break;
            }
            reported++;
            n++;
        }
        out.finish((int) (reported - 1), error);
        return n;
    }

    @Override
    public int completedStatus(int max, DmaCompletions out) {
        if (auto) {
            run(Integer.MAX_VALUE);
        }
        out.reset();
        int n = 0;
        while (reported < done && n < max && out.add(status[(int) (reported % size)])) {
            reported++;
            n++;
        }
        out.finish((int) (reported - 1), false);
        return n;
    }

    @Override
    public int burstCapacity() {
        return size - inFlight();
    }

    @Override
    public int inFlight() {
        return (int) (head - reported);
    }

    @Override
    public void stats(CustomStats sink) {
    }
}
