package io.pvio.dma.dmadev;

import com.sun.jna.Native;
import io.pvio.dma.DmaCompletions;
import io.pvio.dma.DmaDevice;
import io.pvio.dma.DmaException;
import io.pvio.dma.spi.DmaEngine;
import io.pvio.memory.NativeMemory;
import io.pvio.netdev.CustomStats;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.Set;
import java.util.logging.Logger;

/**
 * A DPDK dmadev device (virtual channel 0) as a pvio DMA engine, through the C shim.
 *
 * <p>{@link #copy} only writes a descriptor (src, dst, length, flags: 24 bytes) into an off-heap staging
 * array and returns the ring index the device will give it (indexes are consecutive from 0 after a start,
 * and every staged copy fits: the count in flight never exceeds the device's burst capacity read at start).
 * {@link #submit} hands the whole burst to the device in one native call (rte_dma_copy for each, then
 * rte_dma_submit), and each completion poll is one native call: a JNA call costs more than a copy's worth of
 * descriptor writes, so never one per copy.
 *
 * <p>Visibility: the device's completion (read by the shim's rte_dma_completed_status) follows its writes;
 * the JNA call returns to the polling thread after it, so reported bytes are visible to the poller.
 */
public final class DmadevEngine implements DmaEngine {
    private static final Logger LOG = Logger.getLogger("dma_dmadev");
    private static final VarHandle SEQ = MethodHandles.arrayElementVarHandle(long[].class);
    private static final int DESC = 24;
    /** Devices with a channel in this bundle: a device has one virtual channel, so one channel. */
    private static final Set<String> IN_USE = new HashSet<>();

    // seq indexes: read by other threads (inFlight, stats) with opaque loads
    private static final int ENQUEUED = 0;
    private static final int REPORTED = 1;
    private static final int BURSTS = 2;
    private static final int POLLS = 3;
    private static final int LOST = 4;

    private final String device;
    private final int dev;
    private final long capa;
    private final int minDesc;
    private final int maxDesc;
    private final long[] seq = new long[5];
    private final ByteBuffer res = ByteBuffer.allocateDirect(16).order(ByteOrder.nativeOrder());
    private final long resAddr = NativeMemory.address(res);

    private volatile long chan; // the shim's channel, 0 when closed
    private int ringSize;
    private ByteBuffer staging;
    private long stagingAddr;
    private ByteBuffer status;
    private long statusAddr;
    private int staged;
    private int capacity;
    private volatile int errorPpm;
    private volatile boolean stall;

    /**
     * The engine of dmadev device {@code device} (a name such as {@code dma_skeleton0} or a PCI address
     * such as {@code 0000:00:04.0}); EAL must be up.
     *
     * @throws DmaException when the device does not exist
     */
    public DmadevEngine(String device) throws DmaException {
        String why = Eal.unavailable();
        if (why != null || !Eal.isUp()) {
            throw new DmaException("dmadev engine unavailable: " + (why != null ? why : "EAL is not started"));
        }
        int id = Shim.pvio_dma_dev_id(device);
        if (id < 0) {
            throw new DmaException("no dmadev device '" + device + "' (" + Shim.pvio_dma_count()
                    + " dmadev device(s) probed with EAL arguments '" + System.getProperty(Eal.ARGS_PROPERTY)
                    + "': allow-list the DMA function with -a or add a --vdev)");
        }
        long[] info = new long[5];
        int ret = Shim.pvio_dma_info(id, info);
        if (ret < 0) {
            throw new DmaException("rte_dma_info_get(" + device + "): " + Shim.pvio_strerror(ret));
        }
        this.device = device;
        this.dev = id;
        this.capa = info[0];
        this.maxDesc = (int) Math.min(4096, Integer.highestOneBit((int) Math.min(info[2], 1 << 30)));
        int min = (int) Math.max(64, info[3]);
        this.minDesc = Integer.bitCount(min) == 1 ? min : Integer.highestOneBit(min) << 1;
    }

    @Override
    public String kind() {
        return "dmadev";
    }

    @Override
    public String device() {
        return device;
    }

    /** The device's dev_capa: whether failed copies are reported (HANDLES_ERRORS) is the device's. */
    @Override
    public long capabilities() {
        return capa;
    }

    @Override
    public int minRingSize() {
        return minDesc;
    }

    @Override
    public int maxRingSize() {
        return maxDesc;
    }

    @Override
    public synchronized void open(int size) throws DmaException {
        if (chan != 0) {
            throw new IllegalStateException(device + ": open while open");
        }
        synchronized (IN_USE) {
            if (!IN_USE.add(device)) {
                throw new DmaException("dmadev device " + device + " already has a channel (one per device)");
            }
        }
        long c = Shim.pvio_chan_open(dev, size);
        if (c == 0) {
            int errno = Native.getLastError();
            synchronized (IN_USE) {
                IN_USE.remove(device);
            }
            throw new DmaException(device + ": rte_dma_configure/vchan_setup with " + size + " descriptors failed: "
                    + Shim.pvio_strerror(errno));
        }
        ringSize = size;
        staging = ByteBuffer.allocateDirect(size * DESC).order(ByteOrder.nativeOrder());
        stagingAddr = NativeMemory.address(staging);
        status = ByteBuffer.allocateDirect(size * 4).order(ByteOrder.nativeOrder());
        statusAddr = NativeMemory.address(status);
        Shim.pvio_chan_faults(c, errorPpm, stall ? 1 : 0);
        chan = c;
    }

    @Override
    public synchronized void start() throws DmaException {
        int cap = Shim.pvio_chan_start(chan);
        if (cap < 0) {
            throw new DmaException(device + ": rte_dma_start failed: " + Shim.pvio_strerror(cap));
        }
        capacity = Math.min(cap, ringSize);
        staged = 0;
        SEQ.setRelease(seq, ENQUEUED, 0L);
        SEQ.setRelease(seq, REPORTED, 0L);
    }

    @Override
    public synchronized void stop() {
        long c = chan;
        if (c == 0) {
            return;
        }
        submit();
        if (stall) {
            LOG.warning(device + ": stop clears the stall fault so that the submitted copies complete");
            stall = false;
            Shim.pvio_chan_faults(c, errorPpm, 0);
        }
        long spins = 0;
        while (Shim.pvio_device_pending(c) > 0) {
            if (++spins % 1000 == 0) {
                Thread.yield();
            }
        }
        Shim.pvio_chan_stop(c);
    }

    @Override
    public synchronized void close() {
        long c = chan;
        if (c != 0) {
            chan = 0;
            Shim.pvio_chan_close(c);
            synchronized (IN_USE) {
                IN_USE.remove(device);
            }
        }
    }

    @Override
    public int copy(long src, long dst, int length, int flags) {
        long enq = seq[ENQUEUED];
        if (enq - (long) SEQ.getOpaque(seq, REPORTED) >= capacity) {
            return DmaDevice.ENOSPC;
        }
        int off = staged * DESC;
        staging.putLong(off, src);
        staging.putLong(off + 8, dst);
        staging.putInt(off + 16, length);
        staging.putInt(off + 20, flags & DmaDevice.FLAG_FENCE);
        staged++;
        SEQ.setOpaque(seq, ENQUEUED, enq + 1);
        if ((flags & DmaDevice.FLAG_SUBMIT) != 0) {
            submit();
        }
        return (int) (enq & 0xffff);
    }

    @Override
    public void submit() {
        int n = staged;
        if (n == 0) {
            return;
        }
        staged = 0;
        int accepted = Shim.pvio_copy_burst(chan, stagingAddr, n, 1);
        SEQ.setOpaque(seq, BURSTS, seq[BURSTS] + 1);
        if (accepted != n) {
            // cannot happen while the capacity read at start holds; the indexes would no longer match
            SEQ.setOpaque(seq, LOST, seq[LOST] + (n - accepted));
            LOG.severe(device + ": the device refused " + (n - accepted) + " of " + n + " copies within its capacity");
        }
    }

    @Override
    public int completed(int max, DmaCompletions out) {
        int n = Shim.pvio_completed(chan, Math.min(max, ringSize), 0L, resAddr);
        return finish(n, out);
    }

    @Override
    public int completedStatus(int max, DmaCompletions out) {
        int n = Shim.pvio_completed(chan, Math.min(Math.min(max, out.capacity()), ringSize), statusAddr, resAddr);
        for (int i = 0; i < n; i++) {
            out.add(status.getInt(i * 4));
        }
        return finish(n, out);
    }

    private int finish(int n, DmaCompletions out) {
        SEQ.setOpaque(seq, POLLS, seq[POLLS] + 1);
        if (n > 0) {
            SEQ.setOpaque(seq, REPORTED, seq[REPORTED] + n);
        }
        out.finish((int) res.getLong(0), res.getLong(8) != 0);
        return n;
    }

    @Override
    public int burstCapacity() {
        return (int) (capacity - (seq[ENQUEUED] - seq[REPORTED]));
    }

    @Override
    public int inFlight() {
        return (int) ((long) SEQ.getOpaque(seq, ENQUEUED) - (long) SEQ.getOpaque(seq, REPORTED));
    }

    /** Fault hooks of the shim: a rate of copies fail on purpose (not performed); a stall reports nothing. */
    @Override
    public void setFaults(double errorRate, boolean stalled) {
        errorPpm = (int) Math.round(errorRate * 1_000_000);
        stall = stalled;
        long c = chan;
        if (c != 0) {
            Shim.pvio_chan_faults(c, errorPpm, stalled ? 1 : 0);
        }
    }

    /** native_bursts (copy_burst calls), native_polls (completion calls), lost (see {@link #submit}). */
    @Override
    public void stats(CustomStats sink) {
        sink.put("native_bursts", (long) SEQ.getOpaque(seq, BURSTS));
        sink.put("native_polls", (long) SEQ.getOpaque(seq, POLLS));
        sink.put("lost", (long) SEQ.getOpaque(seq, LOST));
    }

    /** Strict IOVA (all channels): copies outside {@link #mapMemory} ranges fail with STATUS_INVALID_ADDR. */
    public static void setStrictIova(boolean on) {
        Shim.pvio_strict_iova(on ? 1 : 0);
    }

    /** Registers memory for DMA at IOVA = VA (VFIO when in use, and the strict mode's table). */
    public static void mapMemory(long va, long len) throws DmaException {
        int r = Shim.pvio_mem_map(va, len);
        if (r < 0) {
            throw new DmaException("DMA map of " + len + " bytes at 0x" + Long.toHexString(va) + " failed: "
                    + Shim.pvio_strerror(r));
        }
    }

    /** Ranges registered in the shim now (mapped for DMA). */
    public static int mappedRanges() {
        return Shim.pvio_mem_ranges();
    }

    public static void unmapMemory(long va, long len) throws DmaException {
        int r = Shim.pvio_mem_unmap(va, len);
        if (r < 0) {
            throw new DmaException("DMA unmap of " + len + " bytes at 0x" + Long.toHexString(va) + " failed: "
                    + Shim.pvio_strerror(r));
        }
    }
}
