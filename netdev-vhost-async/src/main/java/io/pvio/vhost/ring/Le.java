package io.pvio.vhost.ring;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The little-endian VarHandles for guest memory and rings (virtio's byte order, whatever a view's order), and
 * plain accesses through them, bounds-checked as ByteBuffer's. VarHandles because C2 inlines them whatever it
 * has profiled: a ByteBuffer accessor is a virtual call that it inlines only with a type profile of the call
 * site, which a data path compiled before any guest came has not.
 */
final class Le {
    static final VarHandle U16 = MethodHandles.byteBufferViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle U32 = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle U64 = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private Le() {
    }

    static short getShort(ByteBuffer b, int off) {
        return (short) U16.get(b, off);
    }

    static int getInt(ByteBuffer b, int off) {
        return (int) U32.get(b, off);
    }

    static long getLong(ByteBuffer b, int off) {
        return (long) U64.get(b, off);
    }

    static void putShort(ByteBuffer b, int off, short v) {
        U16.set(b, off, v);
    }

    static void putInt(ByteBuffer b, int off, int v) {
        U32.set(b, off, v);
    }

    static void putLong(ByteBuffer b, int off, long v) {
        U64.set(b, off, v);
    }
}
