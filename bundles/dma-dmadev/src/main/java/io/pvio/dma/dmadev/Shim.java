package io.pvio.dma.dmadev;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.util.Map;

/**
 * The C shim (src/main/native/pvio_dmadev.c), bound with JNA direct mapping. Loaded on first use; when the
 * bundle was built without gcc or DPDK's headers, {@link #loadError()} says so and nothing here may be
 * called. Pointers to the shim's channel state and to off-heap buffers are passed as {@code long}.
 */
final class Shim {
    static final String LIBRARY = "pvio_dmadev";
    private static final Throwable LOAD_ERROR;

    static {
        Throwable error = null;
        try {
            NativeLibrary lib = NativeLibrary.getInstance(LIBRARY,
                    Map.of(Library.OPTION_CLASSLOADER, Shim.class.getClassLoader()));
            Native.register(Shim.class, lib);
        } catch (LinkageError | RuntimeException e) {
            error = e;
        }
        LOAD_ERROR = error;
    }

    private Shim() {
    }

    /** Why the shim could not be loaded, or null. */
    static Throwable loadError() {
        return LOAD_ERROR;
    }

    static native int pvio_eal_init(int argc, Pointer argv);

    static native String pvio_strerror(int err);

    static native int pvio_dma_dev_id(String name);

    static native int pvio_dma_count();

    static native int pvio_dma_info(int dev, long[] out);

    /** A channel pointer, or 0 (errno via {@link Native#getLastError()}). */
    static native long pvio_chan_open(int dev, int nbDesc);

    static native int pvio_chan_start(long chan);

    static native int pvio_chan_stop(long chan);

    static native void pvio_chan_close(long chan);

    static native void pvio_chan_faults(long chan, int errorPpm, int stall);

    static native void pvio_strict_iova(int on);

    static native int pvio_mem_map(long va, long len);

    static native int pvio_mem_unmap(long va, long len);

    static native int pvio_mem_ranges();

    static native int pvio_copy_burst(long chan, long descs, int n, int submit);

    static native void pvio_submit(long chan);

    static native int pvio_completed(long chan, int max, long status, long res);

    static native int pvio_device_pending(long chan);
}
