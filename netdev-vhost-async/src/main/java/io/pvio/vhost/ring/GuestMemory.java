package io.pvio.vhost.ring;

import io.pvio.posix.PosixException;
import io.pvio.posix.SharedMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A front end's memory table (VHOST_USER_SET_MEM_TABLE): up to {@link #MAX_REGIONS} regions, each a
 * shared mapping of a descriptor the front end sent. Guest physical addresses (descriptor addresses) and
 * front-end virtual addresses (ring addresses) are translated to (view, offset) pairs; every access goes
 * through the regions' bounds-checked little-endian views.
 *
 * <p>Immutable after {@link #map}; {@link #unmap()} only once no virtqueue uses it any more (the owner
 * swaps tables while holding every virtqueue's access lock).
 */
public final class GuestMemory {
    public static final int MAX_REGIONS = 8;

    private final int n;
    private final long[] gpa;
    private final long[] size;
    private final long[] uva;
    private final int[] viewOff;
    private final ByteBuffer[] view;
    private final long[] address;
    private final SharedMemory[] maps;

    private GuestMemory(int n) {
        this.n = n;
        gpa = new long[n];
        size = new long[n];
        uva = new long[n];
        viewOff = new int[n];
        view = new ByteBuffer[n];
        address = new long[n];
        maps = new SharedMemory[n];
    }

    /** One region as the front end describes it. */
    public record Region(long guestPhysAddr, long memorySize, long userspaceAddr, long mmapOffset) {
    }

    /**
     * Validates the regions (no empty, wrapping or overlapping ranges, mappable size) and maps them.
     * The descriptors stay the caller's.
     *
     * @throws IllegalArgumentException when the table is invalid (nothing is mapped then)
     * @throws PosixException when a mapping fails (nothing stays mapped then)
     */
    public static GuestMemory map(Region[] regions, int[] fds) throws PosixException {
        if (regions.length > MAX_REGIONS) {
            throw new IllegalArgumentException(regions.length + " memory regions (at most " + MAX_REGIONS + ")");
        }
        for (int i = 0; i < regions.length; i++) {
            Region r = regions[i];
            if (r.memorySize() <= 0) {
                throw new IllegalArgumentException("region " + i + " has size " + r.memorySize());
            }
            if (r.mmapOffset() < 0 || r.memorySize() + r.mmapOffset() > SharedMemory.MAX_SIZE
                    || r.memorySize() + r.mmapOffset() < 0) {
                throw new IllegalArgumentException("region " + i + " of " + r.memorySize() + " bytes at mmap offset "
                        + r.mmapOffset() + " cannot be mapped (at most " + SharedMemory.MAX_SIZE + " bytes)");
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
        }
        GuestMemory m = new GuestMemory(regions.length);
        try {
            for (int i = 0; i < regions.length; i++) {
                Region r = regions[i];
                // the offset need not be page aligned: map from 0 and skip it in the view
                SharedMemory sm = SharedMemory.map(fds[i], r.memorySize() + r.mmapOffset(), 0);
                m.maps[i] = sm;
                m.gpa[i] = r.guestPhysAddr();
                m.size[i] = r.memorySize();
                m.uva[i] = r.userspaceAddr();
                m.viewOff[i] = (int) r.mmapOffset();
                m.view[i] = sm.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
                m.address[i] = sm.address();
            }
        } catch (PosixException | RuntimeException e) {
            m.unmap();
            throw e;
        }
        return m;
    }

    private static boolean overlap(long a, long alen, long b, long blen) {
        return a < b + blen && b < a + alen;
    }

    public int regions() {
        return n;
    }

    public long totalSize() {
        long t = 0;
        for (int i = 0; i < n; i++) {
            t += size[i];
        }
        return t;
    }

    /** Region holding guest physical address {@code addr}, or -1. */
    public int regionOfGpa(long addr) {
        for (int i = 0; i < n; i++) {
            long d = addr - gpa[i];
            if (d >= 0 && d < size[i]) {
                return i;
            }
        }
        return -1;
    }

    /** Region holding front-end virtual address {@code addr}, or -1. */
    public int regionOfUva(long addr) {
        for (int i = 0; i < n; i++) {
            long d = addr - uva[i];
            if (d >= 0 && d < size[i]) {
                return i;
            }
        }
        return -1;
    }

    /** Bytes of region {@code r} from guest physical {@code addr} to its end. */
    public long gpaRoom(int r, long addr) {
        return gpa[r] + size[r] - addr;
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
        return uva[r] + size[r] - addr;
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
            sb.append(String.format("  region %d: gpa 0x%x size 0x%x uva 0x%x mmap_offset 0x%x%n", i, gpa[i], size[i],
                    uva[i], viewOff[i]));
        }
        return sb.toString();
    }

    /** Unmaps every region. Only when nothing uses the table any more. */
    public void unmap() {
        for (SharedMemory m : maps) {
            if (m != null) {
                m.unmap();
            }
        }
    }
}
