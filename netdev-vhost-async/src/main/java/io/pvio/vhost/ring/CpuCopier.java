package io.pvio.vhost.ring;

import java.nio.ByteBuffer;

/** Synchronous copy on the calling CPU through the bounds-checked views (ByteBuffer bulk put). */
public final class CpuCopier implements Copier {
    public static final CpuCopier INSTANCE = new CpuCopier();

    private CpuCopier() {
    }

    @Override
    public void copy(ByteBuffer src, int srcOff, long srcAddr, ByteBuffer dst, int dstOff, long dstAddr, int len) {
        dst.put(dstOff, src, srcOff, len);
    }
}
