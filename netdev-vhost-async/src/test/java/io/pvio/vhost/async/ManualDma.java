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
    final long[] hdl;
    final int[] status;
    long head; // enqueued
    long rung; // doorbell up to
    long done; // executed
    long reported;
    boolean auto;
    int failNext; // the next N executed copies fail (and are not performed)

    ManualDma(int size) {
        this.size = size;
        src = new long[size];
        dst = new long[size];
        len = new int[size];
        hdl = new long[size];
        status = new int[size];
    }

    @Override
    public DmaInfo info() {
        return new DmaInfo("0000:00:04.0", "manual", size, size, size, 0);
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
    public boolean enqueueCopy(long s, long d, int l, long sh, long dh) {
        if (head - reported == size) {
            return false;
        }
        int i = (int) (head % size);
        src[i] = s;
        dst[i] = d;
        len[i] = l;
        hdl[i] = sh;
        head++;
        return true;
    }

    @Override
    public void fence() {
    }

    @Override
    public void performOps() {
        rung = head;
    }

    /** Executes up to n rung copies. */
    void run(int n) {
        while (n-- > 0 && done < rung) {
            int i = (int) (done % size);
            if (failNext > 0) {
                failNext--;
                status[i] = STATUS_ERROR;
            } else {
                NativeMemory.copy(src[i], dst[i], len[i]);
                status[i] = STATUS_OK;
            }
            done++;
        }
    }

    @Override
    public int completedOps(int max, DmaCompletions out) {
        if (auto) {
            run(Integer.MAX_VALUE);
        }
        out.clear();
        int n = 0;
        while (reported < done && n < max && n < out.capacity()) {
            int i = (int) (reported % size);
            out.add(hdl[i], 0, status[i]);
            reported++;
            n++;
        }
        return n;
    }

    @Override
    public int inFlight() {
        return (int) (head - reported);
    }

    @Override
    public int freeSlots() {
        return size - inFlight();
    }

    @Override
    public void stats(CustomStats sink) {
    }
}
