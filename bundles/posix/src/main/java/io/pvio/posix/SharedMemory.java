package io.pvio.posix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;

/**
 * A MAP_SHARED mapping of a file descriptor (a guest memory region, or a memfd created here). Access
 * goes through {@link #buffer()}, a bounds-checked view: an index outside the mapping throws instead of
 * touching host memory. {@link #address()} is for DMA engines only, after the caller validated the range.
 *
 * <p>{@link #unmap()} must run only when nothing (no thread, no DMA copy) still uses the mapping.
 */
public final class SharedMemory implements AutoCloseable {
    /** Largest mapping a single view can cover. */
    public static final long MAX_SIZE = Integer.MAX_VALUE - 4095L;

    private final Pointer base;
    private final long size;
    private final ByteBuffer view;
    private int fd;
    private volatile boolean unmapped;

    private SharedMemory(Pointer base, long size, int fd) {
        this.base = base;
        this.size = size;
        this.view = base.getByteBuffer(0, size);
        this.fd = fd;
    }

    /**
     * Maps {@code size} bytes of {@code fd} from file offset {@code offset} (a multiple of the page size),
     * read-write, shared. The descriptor stays the caller's.
     */
    public static SharedMemory map(int fd, long size, long offset) throws PosixException {
        if (size <= 0 || size > MAX_SIZE) {
            throw new PosixException("cannot map " + size + " bytes (at most " + MAX_SIZE + ")");
        }
        if (offset < 0 || (offset & 4095) != 0) {
            throw new PosixException("mmap offset " + offset + " is not page aligned");
        }
        try {
            Pointer p = LibC.mmap(null, size, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, fd, offset);
            if (Pointer.nativeValue(p) == -1L) {
                throw new PosixException("mmap of fd " + fd + " failed");
            }
            return new SharedMemory(p, size, -1);
        } catch (LastErrorException e) {
            throw PosixException.of("mmap of fd " + fd + " (" + size + " bytes at offset " + offset + ")", e);
        }
    }

    /** A new memfd of {@code size} bytes, mapped; {@link #fd()} can be sent to a peer. */
    public static SharedMemory createMemfd(String name, long size) throws PosixException {
        return createMemfd(name, size, false);
    }

    /**
     * A new memfd of {@code size} bytes, mapped; with {@code sealed}, its size is sealed (F_SEAL_SHRINK,
     * F_SEAL_GROW, F_SEAL_SEAL, as QEMU's memory-backend-memfd does by default), so that a peer mapping it
     * can never fault on a truncated file.
     *
     * @since 1.2
     */
    public static SharedMemory createMemfd(String name, long size, boolean sealed) throws PosixException {
        int fd;
        try {
            fd = LibC.memfd_create(name, LibC.MFD_CLOEXEC | (sealed ? LibC.MFD_ALLOW_SEALING : 0));
        } catch (LastErrorException e) {
            throw PosixException.of("memfd_create", e);
        }
        try {
            LibC.ftruncate(fd, size);
            if (sealed) {
                LibC.fcntl(fd, LibC.F_ADD_SEALS, LibC.F_SEAL_SHRINK | LibC.F_SEAL_GROW | LibC.F_SEAL_SEAL);
            }
            SharedMemory m = map(fd, size, 0);
            m.fd = fd;
            return m;
        } catch (LastErrorException e) {
            Fd.closeQuietly(fd);
            throw PosixException.of("ftruncate" + (sealed ? " and seal" : "") + " memfd to " + size, e);
        } catch (PosixException e) {
            Fd.closeQuietly(fd);
            throw e;
        }
    }

    /** Bounds-checked view of the whole mapping (absolute indexing; duplicate it to use position/limit). */
    public ByteBuffer buffer() {
        return view;
    }

    public long address() {
        return Pointer.nativeValue(base);
    }

    public long size() {
        return size;
    }

    /** The memfd behind a mapping made by {@link #createMemfd}, else -1. */
    public int fd() {
        return fd;
    }

    public boolean isMapped() {
        return !unmapped;
    }

    /** Unmaps (and closes an owned memfd). Idempotent. */
    public synchronized void unmap() {
        if (!unmapped) {
            unmapped = true;
            try {
                LibC.munmap(base, size);
            } catch (LastErrorException ignored) {
                // nothing useful to do: the range stays mapped until exit
            }
            Fd.closeQuietly(fd);
            fd = -1;
        }
    }

    @Override
    public void close() {
        unmap();
    }
}
