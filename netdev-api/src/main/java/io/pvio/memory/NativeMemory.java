package io.pvio.memory;

import java.lang.reflect.Field;
import java.nio.Buffer;
import java.nio.ByteBuffer;

/**
 * Address-level access to native memory: the one place that turns a direct buffer into an address and
 * copies between addresses.
 *
 * <p>Addresses handed to {@link #copy} must have been obtained from a live, bounds-checked view (a packet
 * buffer, a guest memory region after translation). Nothing here checks them: a wrong address crashes the
 * JVM, which is why only DMA engines and already-validated copy paths may call {@link #copy}.
 */
public final class NativeMemory {
    private static final sun.misc.Unsafe UNSAFE;
    private static final long BUFFER_ADDRESS;

    static {
        try {
            Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            UNSAFE = (sun.misc.Unsafe) f.get(null);
            BUFFER_ADDRESS = UNSAFE.objectFieldOffset(Buffer.class.getDeclaredField("address"));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private NativeMemory() {
    }

    /** The native address of byte 0 of a direct buffer (independent of its position). */
    public static long address(ByteBuffer direct) {
        if (!direct.isDirect()) {
            throw new IllegalArgumentException("not a direct buffer");
        }
        return UNSAFE.getLong(direct, BUFFER_ADDRESS);
    }

    /** memcpy(dst, src, length). Unchecked: see the class comment. */
    public static void copy(long srcAddress, long dstAddress, long length) {
        UNSAFE.copyMemory(null, srcAddress, null, dstAddress, length);
    }

    /** Allocates a zeroed, page-aligned direct buffer of {@code size} bytes (control path only). */
    public static ByteBuffer allocateAligned(int size, int alignment) {
        ByteBuffer raw = ByteBuffer.allocateDirect(size + alignment);
        long addr = address(raw);
        int shift = (int) ((alignment - (addr & (alignment - 1))) & (alignment - 1));
        return raw.position(shift).limit(shift + size).slice();
    }
}
