package io.pvio.vhost.ring;

import io.pvio.posix.PosixException;
import io.pvio.posix.SharedMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A front end's memory table (VHOST_USER_SET_MEM_TABLE): up to {@link #MAX_REGIONS} regions, each a
 * shared mapping (or several overlapping slices of one, when larger than a view) of a descriptor the front
 * end sent. Guest physical addresses (descriptor addresses) and
 * front-end virtual addresses (ring addresses) are translated to (view, offset) pairs; every access goes
 * through the regions' bounds-checked little-endian views.
 *
 * <p>Immutable after {@link #map}; {@link #unmap()} only once no virtqueue uses it any more (the owner
 * swaps tables while holding every virtqueue's access lock).
 */
public final class GuestMemory {
    public static final int MAX_REGIONS = 8;
    /** Regions larger than one view are mapped in slices of this many bytes ... */
    static final long SLICE = 1L << 30;
    /** ... each mapped this much longer, so that any ring (at most 512 KiB) lies inside one slice. */
    static final long SLICE_OVERLAP = 1L << 20;
    /**
     * Mappings one table may take (4 TiB of guest memory in 1 GiB slices): a sparse memory file can pass the
     * size check at any size, and the process's mappings are limited (vm.max_map_count, 65530 by default).
     */
    static final int MAX_SLICES = 4096;

    private final int regionCount;
    private final int n;
    private final long[] gpa;
    private final long[] size;
    private final long[] mapped;
    private final long[] uva;
    private final int[] viewOff;
    private final ByteBuffer[] view;
    private final long[] address;
    private final SharedMemory[] maps;
    /** A duplicate of each region's descriptor, to see whether its file still covers the mapping. */
    private final int[] files;
    /** Bytes each region's file must keep: mmap offset + size. */
    private final long[] fileNeed;
    /** Every region's file is sealed against shrinking: no access can fault, {@link #faultFence()} is free. */
    private boolean sealed;
    /** The fence's class is set up here, on the control path (with the first table), not in a first burst. */
    private static final boolean FENCE_INTERPRETED = FaultFence.interpreted();

    private GuestMemory(int regionCount, int n) {
        this.regionCount = regionCount;
        this.n = n;
        gpa = new long[n];
        size = new long[n];
        mapped = new long[n];
        uva = new long[n];
        viewOff = new int[n];
        view = new ByteBuffer[n];
        address = new long[n];
        maps = new SharedMemory[n];
        files = new int[regionCount];
        java.util.Arrays.fill(files, -1);
        fileNeed = new long[regionCount];
    }

    /** One region as the front end describes it. */
    public record Region(long guestPhysAddr, long memorySize, long userspaceAddr, long mmapOffset) {
    }

    /**
     * Validates the regions (no empty, wrapping or overlapping ranges) and maps them. A region larger than
     * one bounds-checked view can cover is mapped in overlapping slices (its mmap offset must then be page
     * aligned). The descriptors stay the caller's.
     *
     * @throws IllegalArgumentException when the table is invalid (nothing is mapped then)
     * @throws PosixException when a mapping fails (nothing stays mapped then)
     */
    public static GuestMemory map(Region[] regions, int[] fds) throws PosixException {
        return map(regions, fds, SLICE, SLICE_OVERLAP);
    }

    static GuestMemory map(Region[] regions, int[] fds, long slice, long overlap) throws PosixException {
        if (regions.length > MAX_REGIONS) {
            throw new IllegalArgumentException(regions.length + " memory regions (at most " + MAX_REGIONS + ")");
        }
        int slices = 0;
        for (int i = 0; i < regions.length; i++) {
            Region r = regions[i];
            if (r.memorySize() <= 0 || r.memorySize() > (1L << 48)) {
                throw new IllegalArgumentException("region " + i + " has size " + r.memorySize());
            }
            if (r.mmapOffset() < 0 || r.mmapOffset() > (1L << 48)) {
                throw new IllegalArgumentException("region " + i + " has mmap offset " + r.mmapOffset());
            }
            if (r.guestPhysAddr() + r.memorySize() < r.guestPhysAddr()
                    || r.userspaceAddr() + r.memorySize() < r.userspaceAddr()
                    || r.guestPhysAddr() < 0 || r.userspaceAddr() < 0) {
                throw new IllegalArgumentException("region " + i + " wraps around the address space");
            }
            for (int j = 0; j < i; j++) {
                Region o = regions[j];
                if (overlap(r.guestPhysAddr(), r.memorySize(), o.guestPhysAddr(), o.memorySize())) {
                    throw new IllegalArgumentException("regions " + j + " and " + i + " overlap in guest physical memory");
                }
                if (overlap(r.userspaceAddr(), r.memorySize(), o.userspaceAddr(), o.memorySize())) {
                    throw new IllegalArgumentException("regions " + j + " and " + i + " overlap in front-end memory");
                }
            }
            if (r.mmapOffset() + r.memorySize() <= slice + overlap) {
                slices++;
            } else {
                if ((r.mmapOffset() & 4095) != 0) {
                    throw new IllegalArgumentException("region " + i + " of " + r.memorySize()
                            + " bytes has an mmap offset that is not page aligned (" + r.mmapOffset() + ")");
                }
                slices += (int) ((r.memorySize() + slice - 1) / slice);
            }
            if (slices > MAX_SLICES) {
                throw new IllegalArgumentException("memory table needs more than " + MAX_SLICES + " mappings of "
                        + (slice >> 20) + " MiB (region " + i + " of " + r.memorySize() + " bytes)");
            }
        }
        if (fds.length < regions.length) {
            throw new IllegalArgumentException(fds.length + " descriptors for " + regions.length + " regions");
        }
        for (int i = 0; i < regions.length; i++) {
            long file = io.pvio.posix.Fd.size(fds[i]);
            Region r = regions[i];
            if (r.mmapOffset() + r.memorySize() > file) {
                throw new IllegalArgumentException("region " + i + " (mmap offset " + r.mmapOffset() + " + size "
                        + r.memorySize() + ") runs past the end of its file (" + file + " bytes)");
            }
        }
        GuestMemory m = new GuestMemory(regions.length, slices);
        m.sealed = true;
        try {
            for (int i = 0; i < regions.length; i++) {
                m.sealed &= io.pvio.posix.Fd.sealedAgainstShrinking(fds[i]);
                m.files[i] = io.pvio.posix.Fd.dup(fds[i]);
                m.fileNeed[i] = regions[i].mmapOffset() + regions[i].memorySize();
            }
            int k = 0;
            for (int i = 0; i < regions.length; i++) {
                Region r = regions[i];
                if (r.mmapOffset() + r.memorySize() <= slice + overlap) {
                    // the offset need not be page aligned: map from 0 and skip it in the view
                    m.slice(k++, fds[i], r.guestPhysAddr(), r.userspaceAddr(), r.memorySize(), r.memorySize(), 0,
                            (int) r.mmapOffset());
                } else {
                    for (long at = 0; at < r.memorySize(); at += slice) {
                        long own = Math.min(slice, r.memorySize() - at);
                        long len = Math.min(slice + overlap, r.memorySize() - at);
                        m.slice(k++, fds[i], r.guestPhysAddr() + at, r.userspaceAddr() + at, own, len,
                                r.mmapOffset() + at, 0);
                    }
                }
            }
        } catch (PosixException | RuntimeException e) {
            m.unmap();
            throw e;
        }
        return m;
    }

    private void slice(int k, int fd, long g, long u, long own, long len, long fileOff, int skip)
            throws PosixException {
        SharedMemory sm = SharedMemory.map(fd, len + skip, fileOff);
        maps[k] = sm;
        gpa[k] = g;
        uva[k] = u;
        size[k] = own;
        mapped[k] = len;
        viewOff[k] = skip;
        view[k] = sm.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        address[k] = sm.address();
    }

    private static boolean overlap(long a, long alen, long b, long blen) {
        return a < b + blen && b < a + alen;
    }

    /** Regions of the front end's table. */
    public int regions() {
        return regionCount;
    }

    /** Mapped slices (a region larger than one view has several); the unit of {@link #view(int)}. */
    public int slices() {
        return n;
    }

    public long totalSize() {
        long t = 0;
        for (int i = 0; i < n; i++) {
            t += size[i];
        }
        return t;
    }

    /** The end of the highest region in guest physical memory (the dirty log must cover up to there). */
    public long gpaEnd() {
        long end = 0;
        for (int i = 0; i < n; i++) {
            end = Math.max(end, gpa[i] + size[i]);
        }
        return end;
    }

    /** Slice holding guest physical address {@code addr}, or -1. */
    public int regionOfGpa(long addr) {
        for (int i = 0; i < n; i++) {
            long d = addr - gpa[i];
            if (d >= 0 && d < size[i]) {
                return i;
            }
        }
        return -1;
    }

    /** True when slice {@code r} holds guest physical {@code addr} (the test of {@link #regionOfGpa}). */
    public boolean inSlice(int r, long addr) {
        long d = addr - gpa[r];
        return d >= 0 && d < size[r];
    }

    /** Slice holding front-end virtual address {@code addr}, or -1. */
    public int regionOfUva(long addr) {
        for (int i = 0; i < n; i++) {
            long d = addr - uva[i];
            if (d >= 0 && d < size[i]) {
                return i;
            }
        }
        return -1;
    }

    /** Bytes mapped in slice {@code r} from guest physical {@code addr} on. */
    public long gpaRoom(int r, long addr) {
        return gpa[r] + mapped[r] - addr;
    }

    /** Offset in {@link #view(int)} of guest physical {@code addr} (which must be in region {@code r}). */
    public int gpaOffset(int r, long addr) {
        return (int) (viewOff[r] + (addr - gpa[r]));
    }

    /** Offset in {@link #view(int)} of front-end virtual {@code addr} (in region {@code r}). */
    public int uvaOffset(int r, long addr) {
        return (int) (viewOff[r] + (addr - uva[r]));
    }

    public long uvaRoom(int r, long addr) {
        return uva[r] + mapped[r] - addr;
    }

    /** Guest physical address of byte {@code off} of {@link #view(int)} of slice {@code r}. */
    public long gpaAt(int r, int off) {
        return gpa[r] + (off - viewOff[r]);
    }

    /**
     * Guest physical address of native address {@code addr} inside one of the mappings (a DMA copy's
     * destination), or -1.
     */
    public long gpaOfAddress(long addr) {
        for (int i = 0; i < n; i++) {
            long d = addr - (address[i] + viewOff[i]);
            if (d >= 0 && d < mapped[i]) {
                return gpa[i] + d;
            }
        }
        return -1;
    }

    /** Bounds-checked little-endian view of region {@code r}'s whole mapping (mmap offset included). */
    public ByteBuffer view(int r) {
        return view[r];
    }

    /** Native address of byte 0 of {@link #view(int)}. */
    public long address(int r) {
        return address[r];
    }

    /**
     * True when the guest physical range [addr, addr+len) lies in guest memory (it may span adjacent
     * regions).
     */
    public boolean containsGpa(long addr, long len) {
        if (len < 0) {
            return false;
        }
        while (len > 0) {
            int r = regionOfGpa(addr);
            if (r < 0) {
                return false;
            }
            long room = gpaRoom(r, addr);
            if (room >= len) {
                return true;
            }
            addr += room;
            len -= room;
        }
        return true;
    }

    public String describe() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(String.format("  slice %d: gpa 0x%x size 0x%x uva 0x%x (view skips %d)%n", i, gpa[i], size[i],
                    uva[i], viewOff[i]));
        }
        return sb.toString();
    }

    /**
     * Null while every region's file still covers its mapping, else what shrank. A front end that truncates
     * a memory file after handing it over makes every access past the new end raise SIGBUS (which Java
     * reports as an asynchronous InternalError): the owner stops using the table when this says so.
     */
    public String shrunk() {
        for (int i = 0; i < files.length; i++) {
            if (files[i] < 0) {
                continue;
            }
            try {
                long file = io.pvio.posix.Fd.size(files[i]);
                if (file < fileNeed[i]) {
                    return "region " + i + ": file of " + file + " bytes, mapped up to " + fileNeed[i];
                }
            } catch (io.pvio.posix.PosixException e) {
                return "region " + i + ": " + e.getMessage();
            }
        }
        return null;
    }

    /** True when every region's file is sealed against shrinking (F_SEAL_SHRINK), so no access can fault. */
    public boolean sealed() {
        return sealed;
    }

    /**
     * Raises here, as {@link InternalError}, a fault (SIGBUS) that an earlier access to an unsealed mapping
     * of this thread caused, instead of wherever the thread happens to be later. Call it at the end of
     * every error boundary that touched this table (a queue's burst), so that the fault is charged to that
     * queue, never to another port, and never interrupts packet-pool bookkeeping. Free when
     * {@link #sealed()}.
     */
    public void faultFence() {
        if (!sealed) {
            deliverPendingFault();
        }
    }

    /**
     * HotSpot turns a SIGBUS on a mapped file into an InternalError that compiled code raises only at the
     * thread's next transition from the VM with asynchronous checks (a runtime call, a safepoint): not at a
     * native call, and possibly much later. This is such a transition, allocation-free: a call into the
     * interpreter, whose class-constant load is a runtime call ({@link FaultFence}). Nothing happens when no
     * fault is pending.
     */
    public static void deliverPendingFault() {
        FaultFence.deliver();
    }

    /**
     * True when {@link #deliverPendingFault()} allocates (16 B per call): the JVM compiles huge methods
     * ({@code -XX:-DontCompileHugeMethods}, {@code -XX:-TieredCompilation}), or
     * {@code -Dpvio.vhost.faultFence=allocating}.
     */
    public static boolean faultFenceAllocates() {
        return !FENCE_INTERPRETED;
    }

    /**
     * The little-endian 16-bit value at {@code off} of {@code view} (acquire), read without leaving a fault
     * unseen: copied into {@code scratch} (a direct buffer of 2 bytes or more, any order) over {@code mark}, by
     * Unsafe's copy, whose stub stores nothing when its load faults (the fault is then pending, as with any
     * access). Returns {@code mark} when the read faulted or the value is {@code mark}: only then is a
     * {@link #faultFence()} needed to tell, so a poll that reads one index needs no fence otherwise.
     */
    public static int readU16(ByteBuffer view, int off, ByteBuffer scratch, int mark) {
        scratch.put(0, (byte) mark).put(1, (byte) (mark >>> 8));
        scratch.put(0, view, off, 2);
        java.lang.invoke.VarHandle.acquireFence();
        return (scratch.get(0) & 0xff) | (scratch.get(1) & 0xff) << 8;
    }

    /** Unmaps every region and closes the descriptors kept. Only when nothing uses the table any more. */
    public void unmap() {
        for (SharedMemory m : maps) {
            if (m != null) {
                m.unmap();
            }
        }
        for (int i = 0; i < files.length; i++) {
            if (files[i] >= 0) {
                io.pvio.posix.Fd.closeQuietly(files[i]);
                files[i] = -1;
            }
        }
    }
}
