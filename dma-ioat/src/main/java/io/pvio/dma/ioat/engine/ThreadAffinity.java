package io.pvio.dma.ioat.engine;

import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Pins the calling thread with sched_setaffinity through JNA, when JNA is there (the bundle imports it
 * optionally). Every failure is logged and ignored: pinning is an optimisation.
 */
final class ThreadAffinity {
    private static final Logger LOG = Logger.getLogger("dma_ioat");

    private ThreadAffinity() {
    }

    /** Returns true when the calling thread is now pinned to {@code cpu}. */
    static boolean pin(int cpu, String who) {
        try {
            Linux.pin(cpu);
            LOG.info(who + ": engine thread pinned to core " + cpu);
            return true;
        } catch (LinkageError e) {
            LOG.warning(who + ": engine.cpu=" + cpu + " ignored: JNA is not available (" + e + ")");
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, who + ": engine.cpu=" + cpu + " ignored: sched_setaffinity failed: " + e.getMessage());
        }
        return false;
    }

    /** Holds every JNA reference, so that loading ThreadAffinity never needs JNA. */
    private static final class Linux {
        private static final int MASK_BYTES = 128;

        static {
            com.sun.jna.Native.register(com.sun.jna.Platform.C_LIBRARY_NAME);
        }

        private static native int sched_setaffinity(int pid, long size, com.sun.jna.Pointer mask)
                throws com.sun.jna.LastErrorException;

        static void pin(int cpu) {
            if (cpu < 0 || cpu >= MASK_BYTES * 8) {
                throw new IllegalArgumentException("core " + cpu + " out of range");
            }
            try (com.sun.jna.Memory mask = new com.sun.jna.Memory(MASK_BYTES)) {
                mask.clear();
                mask.setByte(cpu / 8, (byte) (1 << (cpu % 8)));
                sched_setaffinity(0, MASK_BYTES, mask);
            }
        }
    }
}
