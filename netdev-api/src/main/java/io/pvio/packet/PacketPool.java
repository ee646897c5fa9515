package io.pvio.packet;

import io.pvio.memory.NativeMemory;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A fixed set of off-heap packet buffers (DPDK's mempool of mbufs), all carved from one slab allocated
 * at construction. {@link #alloc()} and {@link Packet#free()} are lock-free, allocation-free and safe from
 * any thread. The free list is LIFO: the buffer allocated next is the one freed last, still in the cache.
 *
 * <p>Accounting is exact: {@link #inUse()} is the number of buffers allocated and not yet freed, so a test
 * can prove that nothing leaked once traffic has stopped.
 */
public final class PacketPool {
    /** DPDK's RTE_PKTMBUF_HEADROOM. */
    public static final int DEFAULT_HEADROOM = 128;
    /** Data room of a default buffer: a 1518-byte frame plus headroom fits in one segment. */
    public static final int DEFAULT_DATA_ROOM = 2048 + DEFAULT_HEADROOM;

    static {
        // JDK 17: every DirectByteBuffer and byte-buffer VarHandle access passes a ScopedMemoryAccess.Scope,
        // an interface loaded only once a memory segment exists. Until it is loaded C2 inlines none of those
        // accessors ("unloaded signature classes"), so each one stays a call in the data path.
        try {
            Class.forName("jdk.internal.misc.ScopedMemoryAccess$Scope", false, null);
        } catch (ClassNotFoundException | LinkageError e) {
            // another JDK: nothing to load
        }
    }

    private final String name;
    private final int headroom;
    private final int bufSize;
    private final Packet[] packets;
    private final IndexStack free;
    private final ByteBuffer slab;
    private final AtomicLong allocFailures = new AtomicLong();
    /** Per-thread caches of free buffers for the bulk operations (DPDK's per-lcore mempool cache). */
    private final ThreadLocal<Cache> cache = ThreadLocal.withInitial(this::newCache);
    private final List<Cache> caches = new CopyOnWriteArrayList<>();
    private final int cacheMax;
    private final ThreadLocal<int[]> refillScratch = ThreadLocal.withInitial(() -> new int[CACHE_MAX / 2]);

    /**
     * @param count    number of buffers
     * @param dataRoom bytes per buffer, headroom included (rounded up to a multiple of 64)
     * @param headroom bytes reserved in front of the data of a freshly allocated buffer
     */
    public PacketPool(String name, int count, int dataRoom, int headroom) {
        if (count <= 0 || dataRoom <= 0 || headroom < 0 || headroom >= dataRoom) {
            throw new IllegalArgumentException("bad pool geometry: count=" + count + " dataRoom=" + dataRoom
                    + " headroom=" + headroom);
        }
        this.name = name;
        this.headroom = headroom;
        this.bufSize = (dataRoom + 63) & ~63;
        long total = (long) bufSize * count;
        if (count > IndexStack.MAX_CAPACITY) {
            throw new IllegalArgumentException("pool " + name + ": at most " + IndexStack.MAX_CAPACITY + " buffers");
        }
        if (total > Integer.MAX_VALUE - 2 * PAGE) {
            throw new IllegalArgumentException("pool " + name + " too large: " + total + " bytes");
        }
        // whole pages, so that the slab can be registered with an IOMMU as it is (DmaMemory)
        this.slab = NativeMemory.allocateAligned((int) ((total + PAGE - 1) & -PAGE), PAGE);
        long base = NativeMemory.address(slab);
        this.packets = new Packet[count];
        this.free = new IndexStack(count);
        for (int i = 0; i < count; i++) {
            ByteBuffer view = slab.slice(i * bufSize, bufSize);
            packets[i] = new Packet(this, i, view, base + (long) i * bufSize);
        }
        for (int i = count - 1; i >= 0; i--) {
            free.push(i); // index 0 on top: a fresh pool hands out its buffers in address order
        }
        // at most 1/16 of the pool per thread, so that caches cannot starve the other threads
        this.cacheMax = Math.min(CACHE_MAX, count / 16) & ~1;
    }

    private static final int PAGE = 4096;

    /**
     * Native address of the slab holding every buffer of this pool (page aligned): what a DMA engine behind
     * an IOMMU must have mapped ({@link io.pvio.dma.DmaMemory}) to copy into or out of its packets. The slab
     * lives as long as the pool.
     */
    public long slabAddress() {
        return NativeMemory.address(slab);
    }

    /** Bytes of the slab at {@link #slabAddress()}: whole pages, at least capacity() * bufferSize(). */
    public long slabSize() {
        return slab.capacity();
    }

    /** Largest per-thread cache of free buffers. */
    public static final int CACHE_MAX = 512;

    /**
     * Free buffers kept by one thread: {@link #allocBulk} takes from it and {@link PacketBatch#freeAll} gives
     * to it without touching the shared stack; it refills and spills half its size at a time in one CAS.
     * Only its owner thread touches {@code idx}; {@code n} is published for the accounting.
     */
    private static final class Cache {
        static final VarHandle N;

        static {
            try {
                N = MethodHandles.lookup().findVarHandle(Cache.class, "n", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        final Thread owner = Thread.currentThread();
        final int[] idx;
        /** What {@link #take} hands out from this cache: up to half of it. */
        final int[] taken;
        private int n; // written by the owner only (setRelease), read by others for the accounting

        Cache(int max) {
            idx = new int[max];
            taken = new int[max / 2];
        }

        int size() {
            return (int) N.getOpaque(this);
        }
    }

    private Cache newCache() {
        Cache c = new Cache(cacheMax);
        caches.add(c);
        reclaimDeadCaches();
        return c;
    }

    /** Returns to the shared stack what the caches of terminated threads held (their end happens-before). */
    private void reclaimDeadCaches() {
        for (Cache c : caches) {
            if (!c.owner.isAlive() && caches.remove(c)) {
                int n = c.size();
                if (n > 0) {
                    free.pushIndices(c.idx, 0, n);
                }
            }
        }
    }

    private int cached() {
        int n = 0;
        for (Cache c : caches) {
            n += c.size();
        }
        return n;
    }

    public PacketPool(String name, int count) {
        this(name, count, DEFAULT_DATA_ROOM, DEFAULT_HEADROOM);
    }

    public String name() {
        return name;
    }

    /** Total number of buffers. */
    public int capacity() {
        return packets.length;
    }

    /** Bytes per buffer (data room, headroom included). */
    public int bufferSize() {
        return bufSize;
    }

    public int defaultHeadroom() {
        return headroom;
    }

    /** Buffers free now (on the shared stack or in a thread's cache). */
    public int available() {
        reclaimDeadCaches();
        return free.size() + cached();
    }

    /** Buffers allocated and not yet freed (exact when no alloc/free is in progress). */
    public int inUse() {
        reclaimDeadCaches();
        return packets.length - free.size() - cached();
    }

    /** Number of {@link #alloc()} calls that found the pool empty. */
    public long allocFailures() {
        return allocFailures.get();
    }

    /** True when {@code p} is one of this pool's buffers. */
    public boolean owns(Packet p) {
        return p.pool() == this;
    }

    /**
     * A packet of {@code len} data bytes: a head with the default headroom, chained with as many segments as
     * the length needs; null (nothing kept) when the pool runs out. Allocation-free.
     *
     * @since 1.2
     */
    public Packet allocChain(int len) {
        Packet h = alloc();
        if (h == null) {
            return null;
        }
        int first = Math.min(len, h.tailroom());
        h.setData(h.headroom(), first);
        int left = len - first;
        while (left > 0) {
            Packet s = alloc();
            if (s == null) {
                h.free();
                return null;
            }
            int l = Math.min(left, s.capacity());
            s.setSegmentData(0, l);
            h.chain(s);
            left -= l;
        }
        return h;
    }

    /**
     * A fresh single-segment packet with default headroom and no data, from the calling thread's cache
     * (refilled from the shared stack half a cache at a time, in one CAS) or else the shared stack; null when
     * both are empty (buffers in other threads' caches are not taken, as with DPDK's per-lcore mempool
     * caches). On a thread that allocates and frees in batches (a PMD) this is no atomic operation at all.
     */
    public Packet alloc() {
        int i = -1;
        if (cacheMax > 0) {
            Cache c = cache.get();
            int have = c.n;
            if (have == 0 && refill(c, 0)) {
                have = c.n;
            }
            if (have > 0) {
                i = c.idx[--have];
                Cache.N.setRelease(c, have);
            }
        }
        if (i < 0) {
            i = free.pop();
            if (i < 0 && cacheMax > 0) {
                reclaimDeadCaches(); // a thread that ended may hold buffers: on exhaustion only
                i = free.pop();
            }
        }
        if (i < 0) {
            allocFailures.incrementAndGet();
            return null;
        }
        Packet p = packets[i];
        p.reset(headroom);
        return p;
    }

    /**
     * Appends {@code n} packets to {@code batch}, which has room for them: all of them, or none (returns
     * false and leaves pool and batch as they were). Stores no reference (see {@link PacketBatch}).
     */
    public boolean allocBulk(PacketBatch batch, int n) {
        if (n < 0 || n > batch.room()) {
            throw new IllegalArgumentException("allocBulk of " + n + " packets into a batch with room for "
                    + batch.room());
        }
        int[] idx = take(n);
        if (idx == null) {
            return false;
        }
        for (int k = 0; k < n; k++) {
            packets[idx[k]].reset(headroom);
            batch.addPooled(this, idx[k]);
        }
        return true;
    }

    /**
     * Allocates {@code n} packets into {@code out[off..off+n)}: all of them, or none (returns false and
     * leaves the pool as it was).
     */
    public boolean allocBulk(Packet[] out, int off, int n) {
        if (n < 0) {
            throw new IllegalArgumentException("allocBulk of " + n + " packets");
        }
        int[] idx = take(n);
        if (idx == null) {
            return false;
        }
        for (int k = 0; k < n; k++) {
            Packet p = packets[idx[k]];
            p.reset(headroom);
            out[off + k] = p;
        }
        return true;
    }

    /**
     * Takes {@code n} free indices, from the calling thread's cache (the one freed last first) or else the
     * shared stack, into a scratch array of this thread's (valid until its next take); null when there are
     * fewer (nothing taken).
     */
    private int[] take(int n) {
        if (cacheMax > 0 && n <= cacheMax / 2) {
            Cache c = cache.get();
            int have = c.n;
            if (have < n && refill(c, have)) {
                have = c.n;
            }
            if (have >= n) {
                int[] out = c.taken;
                for (int k = 0; k < n; k++) {
                    out[k] = c.idx[--have];
                }
                Cache.N.setRelease(c, have);
                return out;
            }
        }
        int[] idx = refillScratch.get();
        if (idx.length < n) {
            idx = new int[n]; // larger than any data-path burst
        }
        if (!free.popIndices(idx, n)) {
            reclaimDeadCaches(); // a thread that ended may hold buffers: once, on exhaustion only
            if (!free.popIndices(idx, n)) {
                allocFailures.incrementAndGet();
                return null;
            }
        }
        return idx;
    }

    /** Tops up {@code c} (holding {@code have}) by half its size from the shared stack; false if it is short. */
    private boolean refill(Cache c, int have) {
        int want = cacheMax / 2;
        if (have + want > c.idx.length) {
            return false;
        }
        int[] tmp = refillScratch.get();
        if (!free.popIndices(tmp, want)) {
            return false;
        }
        // the top of the shared stack (the buffer freed last) ends on top of the cache
        for (int k = 0; k < want; k++) {
            c.idx[have + k] = tmp[want - 1 - k];
        }
        Cache.N.setRelease(c, have + want);
        return true;
    }

    /**
     * Takes single-segment packets whose last reference was dropped (this pool's, by index:
     * {@code indices[0..n)}) into the calling thread's cache, spilling to the shared stack when it is full.
     * Returns false (nothing taken) when this pool keeps no caches.
     */
    boolean releaseToCache(int[] indices, int n) {
        if (cacheMax == 0 || n > cacheMax / 2) {
            return false;
        }
        Cache c = cache.get();
        int have = c.n;
        if (have + n > c.idx.length) {
            // spill the older half (bottom of the cache) in one CAS
            int spill = cacheMax / 2;
            free.pushIndices(c.idx, 0, spill);
            System.arraycopy(c.idx, spill, c.idx, 0, have - spill);
            have -= spill;
        }
        for (int k = 0; k < n; k++) {
            c.idx[have++] = indices[k];
        }
        Cache.N.setRelease(c, have);
        return true;
    }

    /** Buffers on the shared stack (not in any thread's cache). */
    int sharedAvailable() {
        return free.size();
    }

    /** Returns a chain of this pool's buffers, linked with {@link #link}, in one operation. */
    void releaseChain(int first, int last, int n) {
        free.pushChain(first, last, n);
    }

    void link(int index, int below) {
        free.link(index, below);
    }

    /** The pool's packet of index {@code index} ({@link Packet#index()}). */
    public Packet packet(int index) {
        return packets[index];
    }

    /** Every packet of the pool, by index (do not modify). */
    Packet[] packets() {
        return packets;
    }

    void release(Packet p) {
        free.push(p.index()); // double frees are caught by the refcount before they get here
    }

    @Override
    public String toString() {
        return "PacketPool[" + name + " " + inUse() + "/" + capacity() + " in use, " + bufSize + " B]";
    }
}
