package io.pvio.vhost.ring;

import io.pvio.posix.Fd;
import io.pvio.posix.PosixException;
import io.pvio.posix.SharedMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The front end's dirty page log (VHOST_USER_SET_LOG_BASE, live migration): one bit per 4 KiB page of
 * guest-physical memory, page p at bit p%64 of little-endian 64-bit word p/64 (QEMU's vhost_log_chunk_t,
 * which QEMU reads and clears with an atomic exchange while the guest runs).
 *
 * <p>{@link #mark} sets bits with atomic ORs through a bounds-checked view, and must be called after the
 * write it reports (QEMU may clear the bit and copy the page at any moment): the OR's full fence orders the
 * write before the bit. A page outside the log is counted ({@link #outside()}), never written. Any thread may
 * mark; {@link #unmap()} only once no thread can (the owner swaps logs holding every virtqueue's lock).
 */
public final class DirtyLog {
    /** log2 of the page size the log tracks (VHOST_LOG_PAGE). */
    public static final int PAGE_SHIFT = 12;

    private final SharedMemory map;
    private final ByteBuffer view;
    private final int base;
    private final long size;
    private final long words;
    private final AtomicLong outside = new AtomicLong();
    /** Ranges marked (plain increments from several threads: approximate, for appctl). */
    private long marks;

    private DirtyLog(SharedMemory map, int base, long size) {
        this.map = map;
        this.view = map.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        this.base = base;
        this.size = size;
        this.words = size >>> 3;
    }

    /**
     * Maps {@code size} bytes of {@code fd} from {@code offset} (the descriptor stays the caller's). The file
     * must be sealed against shrinking (as QEMU's log memfd is): a shrunk log would make a mark fault inside
     * an atomic store, which HotSpot does not survive.
     *
     * @throws IllegalArgumentException for a size, offset or file that cannot hold a log
     * @throws PosixException when the mapping fails
     */
    public static DirtyLog map(int fd, long size, long offset) throws PosixException {
        if (size >= 0 && (size < 8 || (size & 7) != 0)) {
            throw new IllegalArgumentException("log size " + Long.toUnsignedString(size)
                    + " is not a positive multiple of 8 bytes");
        }
        if (offset < 0 || (offset & 7) != 0) {
            throw new IllegalArgumentException("log offset " + Long.toUnsignedString(offset)
                    + " is not a multiple of 8 bytes");
        }
        long pageOff = offset & ~4095L;
        int skip = (int) (offset - pageOff);
        if (size < 0 || size > SharedMemory.MAX_SIZE - skip) {
            throw new IllegalArgumentException("log of " + Long.toUnsignedString(size) + " bytes is larger than "
                    + (SharedMemory.MAX_SIZE - skip) + " bytes (guest memory of 64 TiB)");
        }
        long file = Fd.size(fd);
        if (offset + size > file) {
            throw new IllegalArgumentException("log (offset " + offset + " + size " + size
                    + ") runs past the end of its file (" + file + " bytes)");
        }
        if (!Fd.sealedAgainstShrinking(fd)) {
            throw new IllegalArgumentException("log file is not sealed against shrinking (F_SEAL_SHRINK)");
        }
        return new DirtyLog(SharedMemory.map(fd, size + skip, pageOff), skip, size);
    }

    /** Bytes of log. */
    public long size() {
        return size;
    }

    /** Guest-physical addresses below this one have a bit in the log. */
    public long covers() {
        return words << (6 + PAGE_SHIFT);
    }

    /** Bytes of log guest-physical memory up to (excluding) {@code end} needs (as QEMU sizes it, in words). */
    public static long bytesFor(long end) {
        long pages = (end + (1L << PAGE_SHIFT) - 1) >>> PAGE_SHIFT;
        return ((pages + 63) >>> 6) << 3;
    }

    /**
     * Marks every page of guest-physical [gpa, gpa+len) dirty (nothing for len &le; 0). Call it after the
     * write.
     */
    public void mark(long gpa, long len) {
        if (len <= 0) {
            return;
        }
        marks++;
        long first = gpa >>> PAGE_SHIFT;
        long last = (gpa + len - 1) >>> PAGE_SHIFT;
        if (gpa < 0 || last < first) {
            outside.incrementAndGet(); // wraps around the address space
            return;
        }
        for (long w = first >>> 6; w <= last >>> 6; w++) {
            if (w >= words) {
                outside.incrementAndGet();
                return;
            }
            long lo = w == first >>> 6 ? first & 63 : 0;
            long hi = w == last >>> 6 ? last & 63 : 63;
            long bits = (-1L >>> (63 - hi + lo)) << lo;
            Le.U64.getAndBitwiseOr(view, base + (int) (w << 3), bits);
        }
    }

    /** True when the page of {@code gpa} is marked (tests and appctl; a racy read). */
    public boolean marked(long gpa) {
        long p = gpa >>> PAGE_SHIFT;
        long w = p >>> 6;
        if (gpa < 0 || w >= words) {
            return false;
        }
        return ((long) Le.U64.getVolatile(view, base + (int) (w << 3)) & (1L << (p & 63))) != 0;
    }

    /** Ranges marked so far (approximate when several threads mark). */
    public long marks() {
        return marks;
    }

    /** Marks that fell outside the log (a log smaller than guest memory, a memory table grown past it). */
    public long outside() {
        return outside.get();
    }

    /** Unmaps the log. Only once nothing can mark it any more. */
    public void unmap() {
        map.unmap();
    }
}
