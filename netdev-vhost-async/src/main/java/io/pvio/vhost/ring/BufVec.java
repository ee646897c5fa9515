package io.pvio.vhost.ring;

/**
 * The guest buffers of the packet being walked (DPDK's buf_vec), whatever the ring layout: each buffer's
 * guest address and length, the memory slice holding all of it (or -1 when it spans slices), and a cursor
 * that yields pieces lying in one buffer and one slice. Lock holder only.
 */
final class BufVec {
    /** Most buffers one packet may span (descriptors of all chains it uses). */
    static final int MAX = 2048;

    final long[] addr = new long[MAX];
    final int[] len = new int[MAX];
    /** Slice holding the whole buffer and its offset in that slice's view, or -1 when it spans slices. */
    final int[] slice = new int[MAX];
    final int[] off = new int[MAX];
    int n;
    private int cur;
    private int curOff;
    /** Result of the last {@link #piece}: slice and view offset. */
    int pieceSlice;
    int pieceOff;
    /** Slice of the last guest address looked up: buffers of one burst are mostly in one. */
    int lastRegion;
    GuestMemory mem;

    /** Uses memory table {@code m} from now on. */
    void setMemory(GuestMemory m) {
        mem = m;
        lastRegion = 0;
    }

    void clear() {
        n = 0;
    }

    /** Cursor to the first byte. */
    void rewind() {
        cur = 0;
        curOff = 0;
    }

    /**
     * Checks buffer [a, a+l) (l > 0) against guest memory: the slice holding all of it, -1 when it is in
     * guest memory across slices, -2 when it is not in guest memory.
     */
    int locate(long a, long l) {
        int r = region(a);
        if (r >= 0 && mem.gpaRoom(r, a) >= l) {
            return r;
        }
        return mem.containsGpa(a, l) ? -1 : -2;
    }

    /** Appends buffer [a, a+l) that {@link #locate} put in slice {@code r}; false when the vector is full. */
    boolean push(long a, long l, int r) {
        if (n == MAX) {
            return false;
        }
        addr[n] = a;
        len[n] = (int) l;
        slice[n] = r;
        off[n] = r >= 0 ? mem.gpaOffset(r, a) : 0;
        n++;
        return true;
    }

    /** {@link GuestMemory#regionOfGpa}, trying the slice of the previous lookup first. */
    int region(long a) {
        GuestMemory m = mem;
        int r = lastRegion;
        if (r < m.slices() && m.inSlice(r, a)) {
            return r;
        }
        r = m.regionOfGpa(a);
        if (r >= 0) {
            lastRegion = r;
        }
        return r;
    }

    /**
     * The next piece at the cursor that lies in one buffer and one mapped slice, at most {@code max} bytes:
     * sets {@link #pieceSlice} and {@link #pieceOff} and returns the piece's length. Does not move the cursor.
     */
    int piece(int max) {
        int c = cur;
        int s = slice[c];
        if (s >= 0) {
            pieceSlice = s;
            pieceOff = off[c] + curOff;
            return Math.min(len[c] - curOff, max);
        }
        long a = addr[c] + curOff;
        int r = region(a);
        pieceSlice = r;
        pieceOff = mem.gpaOffset(r, a);
        return (int) Math.min(Math.min(len[c] - curOff, max), mem.gpaRoom(r, a));
    }

    void advance(int chunk) {
        curOff += chunk;
        if (curOff == len[cur]) {
            cur++;
            curOff = 0;
        }
    }

    void skip(int l) {
        while (l > 0) {
            int chunk = Math.min(len[cur] - curOff, l);
            l -= chunk;
            advance(chunk);
        }
    }
}
