package io.pvio.virtio.user;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One vhost-user message: header fields, payload bytes and attached file descriptors. Control path only
 * (allocates). Used by raw mode to send arbitrary (also malformed) messages and to read replies.
 *
 * <p>{@link #size} is what the header announces; normally {@code payload.length}, but a hostile test may
 * set it to anything (the payload bytes actually sent are always {@code payload}).
 */
public final class VhostUserMessage {
    public final int request;
    public final int flags;
    public final int size;
    public final byte[] payload;
    /** Descriptors to attach (sending: stay the caller's) or received (the receiver must close them). */
    public final int[] fds;

    public VhostUserMessage(int request, int flags, int size, byte[] payload, int[] fds) {
        this.request = request;
        this.flags = flags;
        this.size = size;
        this.payload = payload == null ? new byte[0] : payload;
        this.fds = fds == null ? new int[0] : fds;
    }

    public VhostUserMessage(int request, int flags, byte[] payload, int... fds) {
        this(request, flags, payload == null ? 0 : payload.length, payload, fds);
    }

    /** A request with a u64 payload. */
    public static VhostUserMessage u64(int request, int flags, long value) {
        return new VhostUserMessage(request, flags, le(8).putLong(0, value).array());
    }

    /** A request with a vhost_vring_state payload (index, num). */
    public static VhostUserMessage vringState(int request, int flags, int index, int num) {
        return new VhostUserMessage(request, flags, le(8).putInt(0, index).putInt(4, num).array());
    }

    /** SET_VRING_ADDR with arbitrary front-end virtual addresses. */
    public static VhostUserMessage vringAddr(int flags, int index, int addrFlags, long descUva, long usedUva,
            long availUva, long logGpa) {
        ByteBuffer b = le(40);
        b.putInt(0, index).putInt(4, addrFlags).putLong(8, descUva).putLong(16, usedUva).putLong(24, availUva)
                .putLong(32, logGpa);
        return new VhostUserMessage(VhostUser.SET_VRING_ADDR, flags, b.array());
    }

    static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Payload read as a little-endian u64 (0 when shorter than 8 bytes). */
    public long payloadU64() {
        return payload.length >= 8 ? le(8).put(0, payload, 0, 8).getLong(0) : 0;
    }

    /** Payload's u32 at {@code off} (little-endian). */
    public int payloadU32(int off) {
        return ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN).getInt(off);
    }

    public boolean isReply() {
        return (flags & VhostUser.FLAG_REPLY) != 0;
    }

    @Override
    public String toString() {
        return VhostUser.requestName(request) + "[flags=0x" + Integer.toHexString(flags) + " size=" + size
                + " fds=" + Arrays.toString(fds) + "]";
    }
}
