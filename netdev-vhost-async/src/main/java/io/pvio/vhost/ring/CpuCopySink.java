package io.pvio.vhost.ring;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketPool;

/**
 * Copies on the calling CPU (ByteBuffer bulk copies through the bounds-checked views) and hands used
 * elements at once to the queue's {@link CopySink.Used} (published by the queue after the burst).
 *
 * <p>Small single-segment payloads going to the guest are deferred to the end of the burst
 * ({@link #flush()}), as DPDK's batch copies: the burst's payload stores then follow each other with no ring
 * bookkeeping between them, so the CPU overlaps the cache misses of the guest's lines. A deferred copy
 * reads its packet at flush time: the caller keeps the packets until the burst returns.
 */
public final class CpuCopySink implements CopySink {
    /** Largest payload whose copy is deferred (DPDK's MAX_BATCH_LEN): larger ones are copied in place. */
    static final int MAX_BATCH_COPY = 256;
    private static final int CP_MAX = 128;

    private final CopySink.Used used;
    /** The deferred copies' packets by index in {@link #cpPool} (no reference store per packet: PacketBatch). */
    private final int[] cpIdx = new int[CP_MAX];
    private PacketPool cpPool;
    private final int[] cpSrcOff = new int[CP_MAX];
    private final int[] cpSlice = new int[CP_MAX];
    private final int[] cpDstOff = new int[CP_MAX];
    private final int[] cpLen = new int[CP_MAX];
    private int nCp;
    private GuestMemory cpMem;
    /** The queue's dirty log while it logs, else null (set by the queue, lock held). */
    private DirtyLog log;

    public CpuCopySink(CopySink.Used used) {
        this.used = used;
    }

    /** Marks every copy into the guest in {@code l} from now on (null: none). */
    void setLog(DirtyLog l) {
        log = l;
    }

    @Override
    public void burst() {
        nCp = 0;
    }

    @Override
    public boolean hasRoom(int packets, int elems) {
        return true;
    }

    @Override
    public void toGuestBegin(Packet p) {
    }

    @Override
    public void used(int id, int len) {
        used.used(id, len);
    }

    @Override
    public boolean headerInFrame(Packet p, int hdrLen, int heads) {
        return false;
    }

    @Override
    public void toGuest(Packet seg, int srcOff, GuestMemory m, int slice, int off, int len) {
        if (seg.next() != null || seg.dataLength() > MAX_BATCH_COPY) {
            GuestWrites.copy(m, slice, off, seg.buffer(), srcOff, len, log);
            return;
        }
        PacketPool pool = seg.pool();
        if (nCp == CP_MAX || (nCp > 0 && (cpMem != m || cpPool != pool))) {
            flush();
        }
        int k = nCp++;
        if (cpMem != m) {
            cpMem = m;
        }
        if (cpPool != pool) {
            cpPool = pool;
        }
        cpIdx[k] = seg.index();
        cpSrcOff[k] = srcOff;
        cpSlice[k] = slice;
        cpDstOff[k] = off;
        cpLen[k] = len;
    }

    @Override
    public void toGuestEnd() {
    }

    /**
     * Does the deferred copies, in order. First it stores each copy's first 8 bytes, back to back: the front
     * end has read these lines since we last wrote them, so each store must take its line back from the
     * front end's core; one store per line lets the store queue hold the whole burst's line transfers at
     * once, where the copies' own stores (several per line) would leave only a few in flight.
     */
    @Override
    public void flush() {
        int n = nCp;
        if (n == 0) {
            return;
        }
        GuestMemory m = cpMem;
        PacketPool pool = cpPool;
        for (int k = 0; k < n; k++) {
            if (cpLen[k] >= 8) {
                GuestWrites.firstWord(m, cpSlice[k], cpDstOff[k], pool.packet(cpIdx[k]).buffer(), cpSrcOff[k]);
            }
        }
        for (int k = 0; k < n; k++) {
            GuestWrites.copy(m, cpSlice[k], cpDstOff[k], pool.packet(cpIdx[k]).buffer(), cpSrcOff[k], cpLen[k], log);
        }
        nCp = 0;
    }

    @Override
    public boolean abandon() {
        nCp = 0;
        return false;
    }

    /** The packet is already in the caller's batch, where the walker staged it (SplitDequeue#run). */
    @Override
    public void fromGuestBegin(Packet p) {
    }

    @Override
    public void fromGuest(GuestMemory m, int slice, int off, Packet seg, int dstOff, int len) {
        seg.buffer().put(dstOff, m.view(slice), off, len);
    }

    /** After a failed copy the walker frees the packet, and its descriptor is not consumed. */
    @Override
    public boolean fromGuestEnd(boolean ok) {
        return ok;
    }
}
