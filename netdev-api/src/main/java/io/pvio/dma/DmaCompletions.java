package io.pvio.dma;

/**
 * Reusable output of {@link DmaDevice#completedOps}: per completed copy, its two handles and status.
 * Preallocate one per user; nothing is allocated when it is filled.
 */
public final class DmaCompletions {
    private final long[] srcHandles;
    private final long[] dstHandles;
    private final int[] status;
    private int count;

    public DmaCompletions(int capacity) {
        srcHandles = new long[capacity];
        dstHandles = new long[capacity];
        status = new int[capacity];
    }

    public int capacity() {
        return status.length;
    }

    public int count() {
        return count;
    }

    public long srcHandle(int i) {
        return srcHandles[i];
    }

    public long dstHandle(int i) {
        return dstHandles[i];
    }

    /** {@link DmaDevice#STATUS_OK} or an error status. */
    public int status(int i) {
        return status[i];
    }

    /** For providers: empties the list. */
    public void clear() {
        count = 0;
    }

    /** For providers: appends one completion; returns false when full. */
    public boolean add(long srcHandle, long dstHandle, int st) {
        if (count == status.length) {
            return false;
        }
        srcHandles[count] = srcHandle;
        dstHandles[count] = dstHandle;
        status[count] = st;
        count++;
        return true;
    }
}
