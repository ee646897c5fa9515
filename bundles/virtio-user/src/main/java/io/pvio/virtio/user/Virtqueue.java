package io.pvio.virtio.user;

import static io.pvio.virtio.user.VhostUser.NET_HDR_SIZE;
import static io.pvio.virtio.user.VhostUser.VRING_AVAIL_F_NO_INTERRUPT;
import static io.pvio.virtio.user.VhostUser.VRING_DESC_F_INDIRECT;
import static io.pvio.virtio.user.VhostUser.VRING_DESC_F_NEXT;
import static io.pvio.virtio.user.VhostUser.VRING_DESC_F_WRITE;
import static io.pvio.virtio.user.VhostUser.VRING_USED_F_NO_NOTIFY;

import io.pvio.counter.CounterArray;
import io.pvio.packet.Packet;
import io.pvio.posix.EventFd;
import io.pvio.vhostuser.PackedRing;
import io.pvio.vhostuser.SplitRing;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One virtqueue in guest memory, driver side, split or packed (VIRTIO_F_RING_PACKED; fixed when the queue is
 * made). The buffers are cut into fixed slots of {@code k} descriptors with {@code slotBytes} of buffer each,
 * so no per-packet state is allocated: a TX slot is free or in flight, an RX slot is posted or being read.
 *
 * <p>Split: slot {@code s} owns descriptors {@code s*k..s*k+k-1}; its head goes into the avail ring. Packed:
 * a slot's chain takes the next {@code descCount[s]} ring positions with buffer id {@code s}, and the used
 * side advances by that count per used descriptor (the device writes one per chain). The three areas share
 * offsets: descOff (descriptor table / ring), availOff (avail ring / driver event suppression), usedOff (used
 * ring / device event suppression).
 *
 * <p>Single writer: one thread at a time uses a queue's data path. Indices and flags shared with the back
 * end are read with acquire and published with release (VarHandle views of the shared mapping); descriptor
 * and buffer contents are plain writes ordered by that release (split: the avail index; packed: the head
 * descriptor's flags, written last).
 */
final class Virtqueue {
    static final VarHandle U16 = MethodHandles.byteBufferViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    /** An indirect table of a TX slot: the header's descriptor and up to 3 pieces. */
    static final int IND_TABLE_BYTES = SplitRing.descTableBytes(4);

    static final int C_PACKETS = 0;
    static final int C_BYTES = 1;
    static final int C_RING_FULL = 2;
    static final int C_ERRORS = 3;
    static final int C_KICKS = 4;
    static final int C_DROPPED = 5;
    static final int C_NOT_READY = 6;

    final int index;
    final boolean tx;
    final int size;
    final int mask;
    final ByteBuffer mem;
    final long gpaBase;
    final int descOff;
    final int availOff;
    final int usedOff;
    final int k;
    final int nslots;
    /**
     * Packed RX chains of several segments get the virtio-net header alone in their first descriptor, as
     * Linux's big-packet receive buffers: DPDK's vhost batch enqueue takes four aligned available
     * descriptors as four single-descriptor buffers without looking at NEXT, which a short first descriptor
     * keeps it from doing. The chain then spans k + 1 descriptors.
     */
    final boolean rxHeaderDesc;
    final int bufOff;
    final int slotBytes;
    final int segSize;
    final int indOff;
    final TxShape shape;
    final boolean mergeable;
    final boolean packed;
    final int maxFrame;
    final EventFd kickFd;
    final EventFd callFd;
    /** C_* counters; the queue's data-path thread is their single writer. */
    final CounterArray counters = new CounterArray(8);

    /** Set by the control thread once the back end knows the ring (and cleared when it goes). */
    volatile boolean ready;
    /** Negotiated VIRTIO_RING_F_EVENT_IDX (set before {@link #ready}). */
    volatile boolean eventIdx;
    /** Raw mode: the data path leaves this queue to a {@link RawQueue}. */
    volatile boolean raw;

    // driver-private ring state (single writer)
    private int availIdx;
    private int publishedIdx;
    private int lastUsed;
    private final int[] freeSlots;
    private int nfree;
    private final boolean[] owned; // TX: in flight; RX: posted

    // packed only: next available position and wrap counter, next used position to read and its wrap
    // counter, the position at the last publish, descriptors made available since, each slot's chain length
    private int availPos;
    private boolean availWrap;
    private int usedPos;
    private boolean usedWrap;
    private int pubPos;
    private int pending;
    private final int[] descCount;
    // packed chain being written: its length so far and the head's flags (stored last)
    private int chainLen;
    private int headFlags;
    // packed RX: ring positions the current frame's used descriptors span
    private int rxSpan;

    // current RX frame: its slots and contiguous pieces
    private final int[] rxSlots;
    private final int[] pieceOff;
    private final int[] pieceLen;
    private int rxCount;
    private int rxPieces;
    private int rxFrameLen;

    // current TX source (avoids allocating a source object per frame)
    private byte[] srcBytes;
    private int srcBytesOff;
    private ByteBuffer srcBuf;
    private int srcBufPos;
    private Packet srcPkt;

    Virtqueue(int index, ByteBuffer mem, long gpaBase, int descOff, int availOff, int usedOff, int size, int k,
            int bufOff, int slotBytes, int segSize, int indOff, TxShape shape, boolean mergeable, EventFd kickFd,
            EventFd callFd) {
        this(index, mem, gpaBase, descOff, availOff, usedOff, size, k, bufOff, slotBytes, segSize, indOff, shape,
                mergeable, false, kickFd, callFd);
    }

    Virtqueue(int index, ByteBuffer mem, long gpaBase, int descOff, int availOff, int usedOff, int size, int k,
            int bufOff, int slotBytes, int segSize, int indOff, TxShape shape, boolean mergeable, boolean packed,
            EventFd kickFd, EventFd callFd) {
        this.index = index;
        this.tx = (index & 1) == 1;
        this.mem = mem;
        this.gpaBase = gpaBase;
        this.descOff = descOff;
        this.availOff = availOff;
        this.usedOff = usedOff;
        this.size = size;
        this.mask = size - 1;
        this.k = k;
        this.rxHeaderDesc = packed && !tx && k > 1;
        this.nslots = size / (rxHeaderDesc ? k + 1 : k);
        this.bufOff = bufOff;
        this.slotBytes = slotBytes;
        this.segSize = segSize;
        this.indOff = indOff;
        this.shape = shape;
        this.mergeable = mergeable;
        this.packed = packed;
        this.descCount = new int[size / k];
        this.maxFrame = tx ? slotBytes - NET_HDR_SIZE - 256 : Integer.MAX_VALUE;
        this.kickFd = kickFd;
        this.callFd = callFd;
        this.freeSlots = new int[nslots];
        this.owned = new boolean[nslots];
        this.rxSlots = new int[size];
        this.pieceOff = new int[size];
        this.pieceLen = new int[size];
        for (int s = nslots - 1; s >= 0; s--) {
            freeSlots[nfree++] = s;
        }
    }

    /**
     * Bytes a queue of {@code size} descriptors needs for its desc table, avail and used rings (page aligned);
     * also enough for a packed queue's ring and event suppression structures at the same offsets.
     */
    static int ringBytes(int size) {
        return SplitRing.legacyUsedOffset(size, SplitRing.LEGACY_ALIGN)
                + SplitRing.alignUp(SplitRing.usedBytes(size), SplitRing.LEGACY_ALIGN);
    }

    long gpa(int regionOff) {
        return gpaBase + regionOff;
    }

    int slotBase(int slot) {
        return bufOff + slot * slotBytes;
    }

    // ---------------------------------------------------------------- counters --

    void count(int c, long n) {
        counters.add(c, n);
    }

    long counter(int c) {
        return counters.get(c);
    }

    // ---------------------------------------------------------------- ring access --

    void writeDesc(int i, long addr, int len, int flags, int next) {
        int o = descOff + SplitRing.desc(i);
        mem.putLong(o + SplitRing.DESC_ADDR, addr);
        mem.putInt(o + SplitRing.DESC_LEN, len);
        mem.putShort(o + SplitRing.DESC_FLAGS, (short) flags);
        mem.putShort(o + SplitRing.DESC_NEXT, (short) next);
    }

    private void writeTableDesc(int tableOff, int i, long addr, int len, int flags, int next) {
        if (packed) { // packed indirect table: sequential, WRITE the only flag, id ignored
            int o = tableOff + PackedRing.desc(i);
            mem.putLong(o + PackedRing.DESC_ADDR, addr);
            mem.putInt(o + PackedRing.DESC_LEN, len);
            mem.putShort(o + PackedRing.DESC_ID, (short) 0);
            mem.putShort(o + PackedRing.DESC_FLAGS, (short) (flags & PackedRing.DESC_F_WRITE));
            return;
        }
        int o = tableOff + SplitRing.desc(i);
        mem.putLong(o + SplitRing.DESC_ADDR, addr);
        mem.putInt(o + SplitRing.DESC_LEN, len);
        mem.putShort(o + SplitRing.DESC_FLAGS, (short) flags);
        mem.putShort(o + SplitRing.DESC_NEXT, (short) next);
    }

    /**
     * Descriptor {@code j} of slot {@code slot}'s chain, {@code flags} among NEXT, WRITE, INDIRECT. Split:
     * descriptor {@code slot*k+j}, NEXT pointing at the one after it. Packed: the chain's next ring position
     * with id {@code slot}; not visible until {@link #commitChain}.
     */
    private void putDesc(int slot, int j, long addr, int len, int flags) {
        if (!packed) {
            int d = slot * k + j;
            writeDesc(d, addr, len, flags, (flags & VRING_DESC_F_NEXT) != 0 ? d + 1 : 0);
            return;
        }
        int pos = availPos + chainLen;
        boolean wrap = availWrap;
        if (pos >= size) {
            pos -= size;
            wrap = !wrap;
        }
        int o = descOff + PackedRing.desc(pos);
        mem.putLong(o + PackedRing.DESC_ADDR, addr);
        mem.putInt(o + PackedRing.DESC_LEN, len);
        mem.putShort(o + PackedRing.DESC_ID, (short) slot); // read from the chain's last descriptor
        int f = flags | PackedRing.availFlags(wrap);
        if (chainLen == 0) {
            headFlags = f;
        } else {
            mem.putShort(o + PackedRing.DESC_FLAGS, (short) f);
        }
        chainLen++;
    }

    /** Packed: makes the chain written by {@link #putDesc} available (the head's flags, release) and moves on. */
    private void commitChain(int slot) {
        U16.setRelease(mem, descOff + PackedRing.desc(availPos) + PackedRing.DESC_FLAGS, (short) headFlags);
        descCount[slot] = chainLen;
        availPos += chainLen;
        if (availPos >= size) {
            availPos -= size;
            availWrap = !availWrap;
        }
        pending += chainLen;
        chainLen = 0;
    }

    /** Packed: the flags of ring position {@code pos} (acquire: a used descriptor's id and len follow). */
    private int descFlagsAcquire(int pos) {
        return (short) U16.getAcquire(mem, descOff + PackedRing.desc(pos) + PackedRing.DESC_FLAGS) & 0xffff;
    }

    private int descId(int pos) {
        return mem.getShort(descOff + PackedRing.desc(pos) + PackedRing.DESC_ID) & 0xffff;
    }

    private int descLen(int pos) {
        return mem.getInt(descOff + PackedRing.desc(pos) + PackedRing.DESC_LEN);
    }

    /** Packed: moves the used read position {@code n} ring positions on. */
    private void advanceUsed(int n) {
        usedPos += n;
        if (usedPos >= size) {
            usedPos -= size;
            usedWrap = !usedWrap;
        }
    }

    /** Puts {@code head} into the next avail slot (not yet visible: see {@link #publish}). */
    void pushAvail(int head) {
        mem.putShort(availOff + SplitRing.availRing(availIdx & mask), (short) head);
        availIdx = RingMath.add(availIdx, 1);
    }

    int usedIdxAcquire() {
        return (short) U16.getAcquire(mem, usedOff + SplitRing.USED_IDX) & 0xffff;
    }

    int availIdx() {
        return availIdx;
    }

    /**
     * Makes pushed avail entries visible (release) and kicks the back end if it asked for it
     * (VRING_USED_F_NO_NOTIFY clear, or with EVENT_IDX: avail_event crossed).
     */
    void publish() {
        if (packed) {
            publishPacked();
            return;
        }
        if (availIdx == publishedIdx) {
            return;
        }
        int old = publishedIdx;
        U16.setRelease(mem, availOff + SplitRing.AVAIL_IDX, (short) availIdx);
        publishedIdx = availIdx;
        VarHandle.fullFence(); // the idx store must be visible before we read the back end's wishes
        boolean kick;
        if (eventIdx) {
            int ev = mem.getShort(usedOff + SplitRing.availEvent(size)) & 0xffff;
            kick = RingMath.needEvent(ev, availIdx, old);
        } else {
            kick = (mem.getShort(usedOff + SplitRing.USED_FLAGS) & VRING_USED_F_NO_NOTIFY) == 0;
        }
        if (kick && ready) {
            kickFd.signal();
            count(C_KICKS, 1);
        }
    }

    /**
     * Packed: chains are visible once committed; kicks the back end if its device event suppression asks for
     * it (ENABLE, or DESC with a position among those made available since the last publish).
     */
    private void publishPacked() {
        if (pending == 0) {
            return;
        }
        VarHandle.fullFence(); // the head flags must be visible before we read the back end's wishes
        int ev = usedOff;
        int flags = (short) U16.getAcquire(mem, ev + PackedRing.EVENT_FLAGS) & 0xffff;
        int offWrap = mem.getShort(ev + PackedRing.EVENT_OFF_WRAP) & 0xffff;
        boolean kick = pending >= size || PackedRing.needEvent(flags, offWrap, pubPos, availPos, availWrap, size);
        pubPos = availPos;
        pending = 0;
        if (kick && ready) {
            kickFd.signal();
            count(C_KICKS, 1);
        }
    }

    /** Polling mode: ask for no interrupts (flag, and an EVENT_IDX used_event far ahead). */
    private void suppressInterrupts() {
        if (packed) {
            return; // driver event suppression stays DISABLE (init)
        }
        mem.putShort(availOff + SplitRing.usedEvent(size), (short) (lastUsed + 0x7fff));
    }

    /**
     * Resets the ring to its initial state (before the first connection): all TX slots free, all RX slots
     * posted, indices 0.
     */
    void init() {
        for (int i = 0; i < ringBytes(size); i += 8) {
            if (descOff + i + 8 <= mem.capacity()) {
                mem.putLong(descOff + i, 0);
            }
        }
        availIdx = publishedIdx = lastUsed = 0;
        if (packed) {
            availPos = usedPos = pubPos = pending = chainLen = 0;
            availWrap = usedWrap = true;
            mem.putShort(availOff + PackedRing.EVENT_OFF_WRAP, (short) 0);
            U16.setRelease(mem, availOff + PackedRing.EVENT_FLAGS, (short) PackedRing.EVENT_FLAG_DISABLE);
            if (!tx) {
                for (int s = 0; s < nslots; s++) {
                    writeRxChain(s);
                    owned[s] = true;
                }
                nfree = 0;
                pending = 0;
                pubPos = availPos;
            }
            return;
        }
        mem.putShort(availOff + SplitRing.AVAIL_FLAGS, (short) VRING_AVAIL_F_NO_INTERRUPT);
        suppressInterrupts();
        if (!tx) {
            for (int s = 0; s < nslots; s++) {
                writeRxChain(s);
                owned[s] = true;
                pushAvail(s * k);
            }
            nfree = 0;
            U16.setRelease(mem, availOff + SplitRing.AVAIL_IDX, (short) availIdx);
            publishedIdx = availIdx;
        }
    }

    /**
     * The ring base a new back end must start from (SET_VRING_BASE): split, the used index it (or its
     * predecessor) last wrote; packed, the position after the last used descriptor written (found by walking
     * the used descriptors not yet read) with its wrap counter in bit 15.
     */
    int resumeBase() {
        if (!packed) {
            return usedIdxAcquire();
        }
        int pos = usedPos;
        boolean wrap = usedWrap;
        for (int seen = 0; seen < size && PackedRing.isUsed(descFlagsAcquire(pos), wrap); ) {
            int id = descId(pos);
            int n = id < nslots && owned[id] ? descCount[id] : 1;
            seen += n;
            pos += n;
            if (pos >= size) {
                pos -= size;
                wrap = !wrap;
            }
        }
        return PackedRing.offWrap(pos, wrap);
    }

    // ---------------------------------------------------------------- TX --

    /** Reclaims completed TX slots; returns how many are still in flight. */
    int reclaim() {
        if (packed) {
            return reclaimPacked();
        }
        int used = usedIdxAcquire();
        int n = RingMath.distance(used, lastUsed);
        if (n > size) {
            count(C_ERRORS, 1);
            return nslots - nfree;
        }
        for (int i = 0; i < n; i++) {
            int e = usedOff + SplitRing.usedElem(lastUsed & mask);
            int id = mem.getInt(e + SplitRing.USED_ELEM_ID);
            int slot = id / k;
            if (id >= 0 && id % k == 0 && slot < nslots && owned[slot]) {
                owned[slot] = false;
                freeSlots[nfree++] = slot;
            } else {
                count(C_ERRORS, 1);
            }
            lastUsed = RingMath.add(lastUsed, 1);
        }
        if (n > 0) {
            suppressInterrupts();
        }
        return nslots - nfree;
    }

    /** Packed: reads used descriptors at the used position while their flags say used in this lap. */
    private int reclaimPacked() {
        for (int n = 0; n < size && PackedRing.isUsed(descFlagsAcquire(usedPos), usedWrap); n++) {
            int slot = descId(usedPos);
            if (slot < nslots && owned[slot]) {
                owned[slot] = false;
                freeSlots[nfree++] = slot;
                advanceUsed(descCount[slot]);
            } else {
                count(C_ERRORS, 1); // not a buffer in flight: its length is unknown, step over one position
                advanceUsed(1);
            }
        }
        return nslots - nfree;
    }

    int inFlight() {
        return nslots - nfree;
    }

    void sourceBytes(byte[] b, int off) {
        srcBytes = b;
        srcBytesOff = off;
        srcBuf = null;
        srcPkt = null;
    }

    void sourceBuffer(ByteBuffer b, int pos) {
        srcBuf = b;
        srcBufPos = pos;
        srcBytes = null;
        srcPkt = null;
    }

    void sourcePacket(Packet p) {
        srcPkt = p;
        srcBytes = null;
        srcBuf = null;
    }

    private void copyIn(int frameOff, int len, int dst) {
        if (srcBytes != null) {
            mem.put(dst, srcBytes, srcBytesOff + frameOff, len);
        } else if (srcBuf != null) {
            mem.put(dst, srcBuf, srcBufPos + frameOff, len);
        } else {
            Packet s = srcPkt;
            int skip = frameOff;
            while (s != null && skip >= s.dataLength()) {
                skip -= s.dataLength();
                s = s.next();
            }
            while (len > 0 && s != null) {
                int n = Math.min(len, s.dataLength() - skip);
                mem.put(dst, s.buffer(), s.dataOffset() + skip, n);
                dst += n;
                len -= n;
                skip = 0;
                s = s.next();
            }
        }
    }

    /**
     * Enqueues one frame of {@code len} bytes from the current source (not yet published). Returns false when
     * no slot is free (after reclaiming).
     */
    boolean enqueue(int len) {
        if (nfree == 0 && reclaim() == nslots) {
            count(C_RING_FULL, 1);
            return false;
        }
        int slot = freeSlots[--nfree];
        owned[slot] = true;
        try {
            fillSlot(slot, len);
        } catch (RuntimeException e) { // e.g. a source shorter than len: the slot goes back, unpublished
            chainLen = 0;
            owned[slot] = false;
            freeSlots[nfree++] = slot;
            throw e;
        }
        if (packed) {
            commitChain(slot);
        } else {
            pushAvail(slot * k);
        }
        count(C_PACKETS, 1);
        count(C_BYTES, len);
        return true;
    }

    /** Writes header, frame and descriptors of TX slot {@code slot} (not published). */
    private void fillSlot(int slot, int len) {
        int base = slotBase(slot);
        // virtio_net_hdr: no offloads, num_buffers 0
        mem.putLong(base, 0);
        mem.putInt(base + 8, 0);
        switch (shape) {
            case PUSH:
                copyIn(0, len, base + NET_HDR_SIZE);
                putDesc(slot, 0, gpa(base), NET_HDR_SIZE + len, 0);
                break;
            case CHAIN:
                copyIn(0, len, base + 64);
                putDesc(slot, 0, gpa(base), NET_HDR_SIZE, VRING_DESC_F_NEXT);
                putDesc(slot, 1, gpa(base + 64), len, 0);
                break;
            case SPLIT:
            case INDIRECT: {
                int np = Math.min(3, len);
                int piece = len / np;
                int table = indOff + slot * IND_TABLE_BYTES;
                boolean ind = shape == TxShape.INDIRECT;
                if (ind) {
                    writeTableDesc(table, 0, gpa(base), NET_HDR_SIZE, VRING_DESC_F_NEXT, 1);
                } else {
                    putDesc(slot, 0, gpa(base), NET_HDR_SIZE, VRING_DESC_F_NEXT);
                }
                int done = 0;
                for (int j = 0; j < np; j++) {
                    int n = j == np - 1 ? len - done : piece;
                    int at = base + 64 * (j + 1) + done;
                    copyIn(done, n, at);
                    boolean last = j == np - 1;
                    if (ind) {
                        writeTableDesc(table, j + 1, gpa(at), n, last ? 0 : VRING_DESC_F_NEXT, last ? 0 : j + 2);
                    } else {
                        putDesc(slot, j + 1, gpa(at), n, last ? 0 : VRING_DESC_F_NEXT);
                    }
                    done += n;
                }
                if (ind) {
                    putDesc(slot, 0, gpa(table), SplitRing.descTableBytes(np + 1), VRING_DESC_F_INDIRECT);
                }
                break;
            }
            default:
                throw new IllegalStateException();
        }
    }

    // ---------------------------------------------------------------- RX --

    /** Writes RX slot {@code slot}'s chain; packed: also makes it available at the next positions. */
    private void writeRxChain(int slot) {
        int base = slotBase(slot);
        if (rxHeaderDesc) { // the same contiguous bytes, cut after the header
            putDesc(slot, 0, gpa(base), NET_HDR_SIZE, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT);
            putDesc(slot, 1, gpa(base + NET_HDR_SIZE), segSize - NET_HDR_SIZE, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT);
            for (int j = 1; j < k; j++) {
                boolean last = j == k - 1;
                putDesc(slot, j + 1, gpa(base + j * segSize), segSize,
                        VRING_DESC_F_WRITE | (last ? 0 : VRING_DESC_F_NEXT));
            }
        } else {
            for (int j = 0; j < k; j++) {
                boolean last = j == k - 1;
                putDesc(slot, j, gpa(base + j * segSize), segSize,
                        VRING_DESC_F_WRITE | (last ? 0 : VRING_DESC_F_NEXT));
            }
        }
        if (packed) {
            commitChain(slot);
        }
    }

    private int validSlot(int id) {
        if (packed) {
            return id >= 0 && id < nslots && owned[id] ? id : -1;
        }
        if (id < 0 || id % k != 0) {
            return -1;
        }
        int slot = id / k;
        return slot < nslots && owned[slot] ? slot : -1;
    }

    /**
     * Finds the next complete received frame. Returns its length (virtio header excluded) and remembers its
     * pieces for {@link #copyOut}; -1 when none is complete. Malformed completions are counted and their
     * buffers reposted. Call {@link #rxRelease} after each frame returned, {@link #publish} after a burst.
     */
    int rxNext() {
        if (packed) {
            return rxNextPacked();
        }
        for (;;) {
            int used = usedIdxAcquire();
            int avail = RingMath.distance(used, lastUsed);
            if (avail == 0) {
                return -1;
            }
            if (avail > size) {
                count(C_ERRORS, 1); // the back end's used idx is beyond anything we posted
                return -1;
            }
            int e = usedOff + SplitRing.usedElem(lastUsed & mask);
            int slot = validSlot(mem.getInt(e + SplitRing.USED_ELEM_ID));
            int len = mem.getInt(e + SplitRing.USED_ELEM_LEN);
            rxCount = 0;
            rxPieces = 0;
            if (slot < 0) {
                count(C_ERRORS, 1);
                lastUsed = RingMath.add(lastUsed, 1);
                continue;
            }
            if (!mergeable) {
                rxSlots[rxCount++] = slot;
                if (len < NET_HDR_SIZE || len > slotBytes) {
                    count(C_ERRORS, 1);
                    rxRelease();
                    continue;
                }
                pieceOff[0] = slotBase(slot) + NET_HDR_SIZE;
                pieceLen[0] = len - NET_HDR_SIZE;
                rxPieces = 1;
                rxFrameLen = len - NET_HDR_SIZE;
                return rxFrameLen;
            }
            int nb = mem.getShort(slotBase(slot) + 10) & 0xffff;
            if (nb == 0) {
                nb = 1;
            }
            if (nb > nslots || len < NET_HDR_SIZE || len > slotBytes) {
                rxSlots[rxCount++] = slot;
                count(C_ERRORS, 1);
                rxRelease();
                continue;
            }
            if (avail < nb) {
                return -1; // the rest of the frame is not published yet
            }
            boolean bad = false;
            int total = 0;
            for (int j = 0; j < nb; j++) {
                int ej = usedOff + SplitRing.usedElem((lastUsed + j) & mask);
                int sj = j == 0 ? slot : validSlot(mem.getInt(ej + SplitRing.USED_ELEM_ID));
                int lj = mem.getInt(ej + SplitRing.USED_ELEM_LEN);
                if (sj < 0) {
                    bad = true;
                    continue;
                }
                // a slot named twice in one frame is as bad as an unknown one
                for (int x = 0; x < rxCount; x++) {
                    if (rxSlots[x] == sj) {
                        sj = -1;
                    }
                }
                if (sj < 0) {
                    bad = true;
                    continue;
                }
                rxSlots[rxCount++] = sj;
                int skip = j == 0 ? NET_HDR_SIZE : 0;
                if (lj < skip || lj > slotBytes) {
                    bad = true;
                    continue;
                }
                pieceOff[rxPieces] = slotBase(sj) + skip;
                pieceLen[rxPieces++] = lj - skip;
                total += lj - skip;
            }
            if (bad) {
                count(C_ERRORS, 1);
                lastUsed = RingMath.add(lastUsed, nb - rxCount); // entries that named no slot of ours
                rxRelease();
                continue;
            }
            rxFrameLen = total;
            return total;
        }
    }

    /**
     * {@link #rxNext} of a packed queue: the used descriptors from the used position on, each spanning its
     * slot's chain length; a mergeable frame's num_buffers descriptors must all be used before it is returned.
     */
    private int rxNextPacked() {
        for (;;) {
            rxCount = 0;
            rxPieces = 0;
            rxSpan = 0;
            if (!PackedRing.isUsed(descFlagsAcquire(usedPos), usedWrap)) {
                return -1;
            }
            int slot = validSlot(descId(usedPos));
            int len = descLen(usedPos);
            if (slot < 0) {
                count(C_ERRORS, 1); // not a posted buffer: its chain length is unknown, step over one position
                advanceUsed(1);
                continue;
            }
            rxSlots[rxCount++] = slot;
            rxSpan = descCount[slot];
            if (len < NET_HDR_SIZE || len > slotBytes) {
                count(C_ERRORS, 1);
                rxRelease();
                continue;
            }
            int nb = mergeable ? mem.getShort(slotBase(slot) + 10) & 0xffff : 1;
            if (nb == 0) {
                nb = 1;
            }
            if (nb > nslots) {
                count(C_ERRORS, 1);
                rxRelease();
                continue;
            }
            pieceOff[0] = slotBase(slot) + NET_HDR_SIZE;
            pieceLen[0] = len - NET_HDR_SIZE;
            rxPieces = 1;
            int total = len - NET_HDR_SIZE;
            int pos = usedPos + rxSpan;
            boolean wrap = usedWrap;
            if (pos >= size) {
                pos -= size;
                wrap = !wrap;
            }
            boolean bad = false;
            for (int j = 1; j < nb; j++) {
                if (!PackedRing.isUsed(descFlagsAcquire(pos), wrap)) {
                    rxCount = 0; // the rest of the frame is not written yet: nothing consumed
                    rxPieces = 0;
                    rxSpan = 0;
                    return -1;
                }
                int sj = validSlot(descId(pos));
                int lj = descLen(pos);
                for (int x = 0; x < rxCount; x++) {
                    if (rxSlots[x] == sj) {
                        sj = -1; // a slot named twice in one frame
                    }
                }
                int span = 1;
                if (sj < 0 || lj < 0 || lj > slotBytes) {
                    bad = true;
                    if (sj >= 0) {
                        rxSlots[rxCount++] = sj;
                        span = descCount[sj];
                    }
                } else {
                    rxSlots[rxCount++] = sj;
                    span = descCount[sj];
                    pieceOff[rxPieces] = slotBase(sj);
                    pieceLen[rxPieces++] = lj;
                    total += lj;
                }
                rxSpan += span;
                pos += span;
                if (pos >= size) {
                    pos -= size;
                    wrap = !wrap;
                }
            }
            if (bad) {
                count(C_ERRORS, 1);
                rxRelease();
                continue;
            }
            rxFrameLen = total;
            return total;
        }
    }

    /** Copies the current frame into {@code dst} from {@code off}, at most {@code max} bytes; returns bytes copied. */
    int copyOut(byte[] dst, int off, int max) {
        int at = 0;
        for (int i = 0; i < rxPieces && at < max; i++) {
            int n = Math.min(pieceLen[i], max - at);
            mem.get(pieceOff[i], dst, off + at, n);
            at += n;
        }
        return at;
    }

    /**
     * Copies the current frame into a packet chain: {@code head} and further segments from its pool. Returns
     * false (and frees what it allocated beyond {@code head}) when the pool ran dry.
     */
    boolean copyOut(Packet head) {
        Packet seg = head;
        int room = seg.tailroom();
        for (int i = 0; i < rxPieces; i++) {
            int src = pieceOff[i];
            int left = pieceLen[i];
            while (left > 0) {
                if (room == 0) {
                    Packet n = head.pool().alloc();
                    if (n == null) {
                        return false;
                    }
                    n.setSegmentData(0, 0);
                    head.chain(n);
                    seg = n;
                    room = seg.tailroom();
                }
                int c = Math.min(left, room);
                int at = seg.dataOffset() + seg.dataLength();
                seg.buffer().put(at, mem, src, c);
                seg.setSegmentData(seg.dataOffset(), seg.dataLength() + c);
                src += c;
                left -= c;
                room -= c;
            }
        }
        head.setTotals();
        return true;
    }

    /** Reposts the current frame's buffers and consumes its used entries. */
    void rxRelease() {
        if (packed) {
            advanceUsed(rxSpan); // before reposting: the reposted chains may take these very positions
            for (int i = 0; i < rxCount; i++) {
                writeRxChain(rxSlots[i]);
            }
            rxSpan = 0;
            rxCount = 0;
            rxPieces = 0;
            return;
        }
        for (int i = 0; i < rxCount; i++) {
            pushAvail(rxSlots[i] * k);
        }
        lastUsed = RingMath.add(lastUsed, rxCount);
        rxCount = 0;
        rxPieces = 0;
        suppressInterrupts();
    }

    int currentFrameLength() {
        return rxFrameLen;
    }
}
