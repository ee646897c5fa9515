package io.pvio.vhost.ring;

import java.nio.ByteBuffer;

/**
 * The one step through which every payload copy of a virtqueue goes (enqueue: packet buffer to guest
 * buffer; dequeue: guest buffer to packet buffer). Both ranges have been validated by the caller: the
 * views are bounds-checked and the addresses are the native addresses of {@code src[srcOff]} and
 * {@code dst[dstOff]}, valid while the virtqueue's access lock is held.
 *
 * <p>A virtqueue has one copier, used by one thread at a time (the holder of its access lock). Part 1
 * copies synchronously on the CPU ({@link CpuCopier}); an asynchronous copier (DMA) may return before the
 * bytes have landed, which is why the used-ring update is a separate step
 * ({@link Virtqueue#flushUsed()}) that such a copier can defer until its copies complete, in order.
 */
public interface Copier {
    void copy(ByteBuffer src, int srcOff, long srcAddr, ByteBuffer dst, int dstOff, long dstAddr, int len);
}
