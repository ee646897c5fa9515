package io.pvio.dma;

/**
 * Reusable output of {@link DmaDevice#completed} and {@link DmaDevice#completedStatus}: the last index
 * reported, whether an error was met, and per copy its status. Preallocate one per user; nothing is
 * allocated when it is filled. One thread at a time (the channel's user).
 */
public final class DmaCompletions {
    private final int[] status;
    private int count;
    private int lastIdx = 0xffff;
    private boolean hasError;

    public DmaCompletions(int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity " + capacity);
        }
        status = new int[capacity];
    }

    public int capacity() {
        return status.length;
    }

    /** Copies reported by the last call. */
    public int count() {
        return count;
    }

    /**
     * Ring index (0..65535) of the last copy reported so far; the copies of the last call are
     * {@code lastIdx - count + 1 .. lastIdx} modulo 65536. 65535 before any report after a start.
     */
    public int lastIdx() {
        return lastIdx;
    }

    /** {@link DmaDevice#completed} stopped before a failed copy. */
    public boolean hasError() {
        return hasError;
    }

    /** Status of the {@code i}-th copy of the last {@link DmaDevice#completedStatus} call. */
    public int status(int i) {
        return status[i];
    }

    /** For providers: a new report begins. */
    public void reset() {
        count = 0;
        hasError = false;
    }

    /** For providers: one more copy completed with {@code st}; false when full. */
    public boolean add(int st) {
        if (count == status.length) {
            return false;
        }
        status[count++] = st;
        return true;
    }

    /** For providers: the index of the last copy reported, and whether an error stopped the report. */
    public void finish(int last, boolean error) {
        lastIdx = last & 0xffff;
        hasError = error;
    }
}
