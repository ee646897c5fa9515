package io.pvio.vhost.ring;

import io.pvio.packet.Packet;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;

/**
 * Every store the CPU makes into guest memory on the data path: buffer copies, virtio-net headers, used
 * elements, used index and flags. Dirty-page logging (live migration): buffer writes name their memory
 * slice and view offset ({@link GuestMemory#view}) and mark what they wrote in the queue's log (null: not
 * logging) right after the store; ring writes take the ring view and offset, and the queue marks them at
 * the ring's log address ({@link #ringWritten}) once a publication's stores are done.
 */
public final class GuestWrites {

    private GuestWrites() {
    }

    /** Copies {@code len} bytes of {@code src} at {@code srcOff} to guest piece (slice, off); marks them in {@code log}. */
    public static void copy(GuestMemory m, int slice, int off, ByteBuffer src, int srcOff, int len, DirtyLog log) {
        m.view(slice).put(off, src, srcOff, len);
        if (log != null) {
            log.mark(m.gpaAt(slice, off), len);
        }
    }

    /** Stores the first 8 bytes of a copy ahead of the copy itself (same bytes, see CpuCopySink; the copy marks). */
    static void firstWord(GuestMemory m, int slice, int off, ByteBuffer src, int srcOff) {
        Le.U64.set(m.view(slice), off, (long) Le.U64.get(src, srcOff));
    }

    /** The 12-byte virtio-net header of {@code p} at guest piece (slice, off) ({@link NetHeader#put}); marked. */
    public static void header(GuestMemory m, int slice, int off, Packet p, int heads, DirtyLog log) {
        NetHeader.put(m.view(slice), off, p, heads);
        if (log != null) {
            log.mark(m.gpaAt(slice, off), 12);
        }
    }

    /** One split-ring used element {le32 id; le32 len} at {@code used[off]}. */
    static void usedElem(ByteBuffer used, int off, int id, int len) {
        Le.putLong(used, off, (long) len << 32 | (id & 0xffffffffL));
    }

    /**
     * used->idx at {@code used[off]}, after every earlier store (release). A fence and a plain store, not
     * setRelease: HotSpot 17 aborts the JVM (assembler_x86.cpp ShouldNotReachHere) on a SIGBUS in a
     * release/volatile store outside C2-compiled code, which a truncated memory file causes; a faulting plain
     * store is survivable.
     */
    static void usedIdx(ByteBuffer used, int off, int idx) {
        VarHandle.releaseFence();
        Le.U16.set(used, off, (short) idx);
    }

    /** Packed: a used descriptor's id and len at {@code ring[off]} (its flags follow separately). */
    static void packedUsed(ByteBuffer ring, int off, int id, int len) {
        Le.putInt(ring, off + io.pvio.vhostuser.PackedRing.DESC_LEN, len);
        Le.putShort(ring, off + io.pvio.vhostuser.PackedRing.DESC_ID, (short) id);
    }

    /** Packed: a descriptor's flags at {@code ring[off]}, plain. */
    static void descFlags(ByteBuffer ring, int off, int flags) {
        Le.putShort(ring, off, (short) flags);
    }

    /**
     * Packed: a descriptor's flags at {@code ring[off]} after every earlier store (release; a fence and a
     * plain store, as {@link #usedIdx}).
     */
    static void descFlagsRelease(ByteBuffer ring, int off, int flags) {
        VarHandle.releaseFence();
        Le.U16.set(ring, off, (short) flags);
    }

    /** Packed: an event suppression structure's flags (the device's, written by the back end). */
    static void eventFlags(ByteBuffer area, int off, int flags) {
        Le.putShort(area, off, (short) flags);
    }

    /** used->flags at {@code used[off]}. */
    static void usedFlags(ByteBuffer used, int off, int flags) {
        Le.putShort(used, off, (short) flags);
    }

    /** Marks {@code len} bytes of used ring written at guest physical {@code gpa} (the ring's log address). */
    static void ringWritten(DirtyLog log, long gpa, int len) {
        if (log != null) {
            log.mark(gpa, len);
        }
    }
}
