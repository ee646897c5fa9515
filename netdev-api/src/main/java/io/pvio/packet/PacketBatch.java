package io.pvio.packet;

/**
 * Up to {@link #MAX} packets handed between a port and the datapath (OVS's dp_packet_batch).
 * A batch holds references only; whoever holds the batch owns its packets. Preallocate and reuse.
 */
public final class PacketBatch {
    /** NETDEV_MAX_BURST. */
    public static final int MAX = 32;

    private final Packet[] pkts = new Packet[MAX];
    private int count;

    public int size() {
        return count;
    }

    public boolean isEmpty() {
        return count == 0;
    }

    public boolean isFull() {
        return count == MAX;
    }

    /** Free slots. */
    public int room() {
        return MAX - count;
    }

    public Packet get(int i) {
        if (i >= count) {
            throw new IndexOutOfBoundsException(i + " >= " + count);
        }
        return pkts[i];
    }

    /** Adds a packet; the batch must not be full. */
    public void add(Packet p) {
        if (count == MAX) {
            throw new IllegalStateException("batch full");
        }
        pkts[count++] = p;
    }

    /** Replaces packet {@code i}. */
    public void set(int i, Packet p) {
        if (i >= count) {
            throw new IndexOutOfBoundsException(i + " >= " + count);
        }
        pkts[i] = p;
    }

    /** Keeps the first {@code n} packets (the rest must have been handed on or freed already). */
    public void truncate(int n) {
        if (n < 0 || n > count) {
            throw new IndexOutOfBoundsException(n + " of " + count);
        }
        for (int i = n; i < count; i++) {
            pkts[i] = null;
        }
        count = n;
    }

    /** Forgets every packet without freeing: their ownership has moved elsewhere. */
    public void clear() {
        truncate(0);
    }

    /**
     * Frees every packet and empties the batch. Single-segment packets of one pool holding their last
     * reference go back to the pool together, in one operation.
     */
    public void freeAll() {
        PacketPool pool = null;
        int m = 0;
        for (int i = 0; i < count; i++) {
            Packet p = pkts[i];
            pkts[i] = null;
            if ((pool == null || p.pool() == pool) && p.dropIfSimple()) {
                pool = p.pool();
                pkts[m++] = p; // the simple ones of the first pool, compacted at the front
            } else {
                p.free();
            }
        }
        if (m > 0 && !pool.releaseToCache(pkts, m)) {
            for (int k = 1; k < m; k++) {
                pool.link(pkts[k - 1], pkts[k]);
            }
            pool.releaseChain(pkts[0].index(), pkts[m - 1].index(), m);
        }
        for (int k = 0; k < m; k++) {
            pkts[k] = null;
        }
        count = 0;
    }

    /** Total bytes of the packets in the batch. */
    public long bytes() {
        long b = 0;
        for (int i = 0; i < count; i++) {
            b += pkts[i].length();
        }
        return b;
    }
}
