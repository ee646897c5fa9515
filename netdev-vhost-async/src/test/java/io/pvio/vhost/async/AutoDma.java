package io.pvio.vhost.async;

import io.pvio.vhost.ring.Virtqueue;

/** For tests of other packages: binds a queue's tracker to a {@link ManualDma} that copies when polled. */
public final class AutoDma {
    private AutoDma() {
    }

    /** Every copy of {@code vq} (any length) goes to a DMA channel that performs it at its next poll. */
    public static void attach(Virtqueue vq) {
        ManualDma dma = new ManualDma(256);
        dma.auto = true;
        DmaChannel ch = new DmaChannel(dma, "0000:00:04.0", "manual");
        vq.lock();
        try {
            vq.tracker().attach(ch, ch.register(vq.tracker()), 0);
        } finally {
            vq.unlock();
        }
    }
}
