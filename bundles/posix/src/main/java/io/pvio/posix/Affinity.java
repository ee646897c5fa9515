package io.pvio.posix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;

/** CPU affinity of the calling thread (sched_setaffinity on tid 0). */
public final class Affinity {
    private Affinity() {
    }

    /** Pins the calling thread to {@code cpu}. */
    public static void pinCurrentThread(int cpu) throws PosixException {
        if (cpu < 0 || cpu >= 1024) {
            throw new PosixException("cpu " + cpu + " out of range");
        }
        Memory mask = new Memory(128);
        mask.clear();
        mask.setByte(cpu / 8, (byte) (1 << (cpu % 8)));
        try {
            LibC.sched_setaffinity(0, 128, mask);
        } catch (LastErrorException e) {
            throw PosixException.of("sched_setaffinity(cpu " + cpu + ")", e);
        }
    }
}
