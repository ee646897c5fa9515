package io.pvio.packet;

import java.util.Objects;

/**
 * Up to {@link #MAX} packets handed between a port and the datapath (OVS's dp_packet_batch).
 * A batch holds packets, never copies of them; whoever holds the batch owns its packets. Preallocate and
 * reuse.
 *
 * <p>Packets of the batch's pool (the pool of a packet added while none is kept by index, as the first one
 * added to an empty batch) are kept as their pool indices, others as references: storing a reference into
 * an old array costs G1 a StoreLoad fence (its post-write barrier, JDK 17), which waits for every cache miss
 * in flight, once per packet and per batch a packet passes through.
 */
public final class PacketBatch {
    /** NETDEV_MAX_BURST. */
    public static final int MAX = 32;

    /** Packet i is pooled[idx[i]], or others[i] when idx[i] &lt; 0. */
    private final int[] idx = new int[MAX];
    private final Packet[] others = new Packet[MAX];
    private PacketPool pool;
    private Packet[] pooled;
    /** freeAll's scratch: the pool indices of the packets it returns together. */
    private final int[] released = new int[MAX];
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
        int x = idx[Objects.checkIndex(i, count)];
        if (x >= 0) {
            return pooled[x];
        }
        return others[i];
    }

    /** Adds a packet; the batch must not be full. */
    public void add(Packet p) {
        int i = count;
        if (i == MAX) {
            throw new IllegalStateException("batch full");
        }
        count = i + 1;
        put(i, p);
    }

    /** Adds packet {@code index} of {@code pp} (PacketPool's bulk allocation); the batch has room. */
    void addPooled(PacketPool pp, int index) {
        int i = count++;
        if (pp != pool && !bindPool(pp)) {
            others[i] = pp.packet(index);
            idx[i] = -1;
            return;
        }
        idx[i] = index; // not put(), which loads the packet: 0.95 and 0.93 at 64 B in two bench-ab runs
    }

    /** Replaces packet {@code i}. */
    public void set(int i, Packet p) {
        if (idx[Objects.checkIndex(i, count)] < 0) {
            others[i] = null; // the replaced packet was kept by reference
        }
        put(i, p);
    }

    /**
     * Exchanges packets {@code i} and {@code j}. Its stores follow each other with no call between them, so
     * that an asynchronous exception (a late fault of a guest access, which HotSpot raises at a method's
     * return or a loop's back edge) finds every packet of the batch in it once, before the swap or after.
     */
    public void swap(int i, int j) {
        Objects.checkIndex(i, count);
        Objects.checkIndex(j, count);
        int x = idx[i];
        Packet o = others[i];
        idx[i] = idx[j];
        others[i] = others[j];
        idx[j] = x;
        others[j] = o;
    }

    /**
     * Stores packet {@code i} into a slot that holds no reference (slots from count on hold none: truncate
     * clears them). Small enough, as get and add, for C2 to inline without a call-site profile, which the
     * PMD's callers may not have yet when it compiles them.
     */
    private void put(int i, Packet p) {
        if (p.pool() == pool) {
            idx[i] = p.index();
        } else {
            putOther(i, p);
        }
    }

    private void putOther(int i, Packet p) {
        if (bindPool(p.pool())) {
            idx[i] = p.index();
        } else {
            others[i] = p;
            idx[i] = -1;
        }
    }

    /** Makes {@code pp} the batch's pool when no packet of the batch is kept by index. */
    private boolean bindPool(PacketPool pp) {
        for (int i = 0; i < count; i++) {
            if (idx[i] >= 0) {
                return false;
            }
        }
        pool = pp;
        pooled = pp.packets();
        return true;
    }

    /** Keeps the first {@code n} packets (the rest must have been handed on or freed already). */
    public void truncate(int n) {
        if (n < 0 || n > count) {
            throw new IndexOutOfBoundsException(n + " of " + count);
        }
        for (int i = n; i < count; i++) {
            if (idx[i] < 0) {
                others[i] = null;
            }
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
        PacketPool to = null;
        int[] rel = released;
        int m = 0;
        for (int i = 0; i < count; i++) {
            Packet p = get(i);
            if ((to == null || p.pool() == to) && p.dropIfSimple()) {
                to = p.pool();
                rel[m++] = p.index();
            } else {
                p.free();
            }
        }
        clear();
        if (m > 0 && !to.releaseToCache(rel, m)) {
            for (int k = 1; k < m; k++) {
                to.link(rel[k - 1], rel[k]);
            }
            to.releaseChain(rel[0], rel[m - 1], m);
        }
    }

    /** Total bytes of the packets in the batch. */
    public long bytes() {
        long b = 0;
        for (int i = 0; i < count; i++) {
            b += get(i).length();
        }
        return b;
    }
}
