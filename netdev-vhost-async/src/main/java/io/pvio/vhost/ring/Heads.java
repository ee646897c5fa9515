package io.pvio.vhost.ring;

/**
 * The guest buffers an enqueue walker reserved for the packet being placed, in ring order: buffer (head) id,
 * bytes, and ring positions (packed; 1 on a split ring). Sized for the ring; lock holder only.
 */
final class Heads {
    int[] id = new int[0];
    long[] len = new long[0];
    int[] count = new int[0];
    /** Buffers reserved: [0, n). */
    int n;

    /** The ring has {@code num} entries now (a packet takes at most all of them). */
    void resize(int num) {
        id = new int[num];
        len = new long[num];
        count = new int[num];
        n = 0;
    }

    void add(int bufId, long bytes, int positions) {
        id[n] = bufId;
        len[n] = bytes;
        count[n] = positions;
        n++;
    }
}
