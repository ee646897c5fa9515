package io.pvio.ofproto.codec;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Builds one OpenFlow message, big-endian; {@link #finish} writes the length into the header. */
public final class OfWriter {
    private byte[] buf = new byte[256];
    private int len;

    /** Starts a message with its 8-byte header (length filled in by {@link #finish}). */
    public static OfWriter message(int version, int type, int xid) {
        OfWriter w = new OfWriter();
        w.u8(version).u8(type).u16(0).u32(xid & 0xffff_ffffL);
        return w;
    }

    private void room(int n) {
        if (len + n > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + n));
        }
    }

    public int length() {
        return len;
    }

    public OfWriter u8(int v) {
        room(1);
        buf[len++] = (byte) v;
        return this;
    }

    public OfWriter u16(int v) {
        return u8(v >>> 8).u8(v);
    }

    public OfWriter u32(long v) {
        return u16((int) (v >>> 16) & 0xffff).u16((int) v & 0xffff);
    }

    public OfWriter u64(long v) {
        return u32(v >>> 32).u32(v & 0xffff_ffffL);
    }

    public OfWriter mac(long mac) {
        for (int s = 40; s >= 0; s -= 8) {
            u8((int) (mac >>> s));
        }
        return this;
    }

    public OfWriter zeros(int n) {
        room(n);
        len += n; // the array is zero beyond len: it only grows
        return this;
    }

    public OfWriter bytes(byte[] b, int off, int n) {
        room(n);
        System.arraycopy(b, off, buf, len, n);
        len += n;
        return this;
    }

    /** A NUL-padded ASCII string field of {@code n} bytes (truncated to n-1 characters). */
    public OfWriter string(String s, int n) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        int k = Math.min(b.length, n - 1);
        bytes(b, 0, k);
        return zeros(n - k);
    }

    /** Overwrites a u16 at {@code at} (a length field written before its contents). */
    public OfWriter putU16(int at, int v) {
        buf[at] = (byte) (v >>> 8);
        buf[at + 1] = (byte) v;
        return this;
    }

    public OfWriter padTo8() {
        return zeros((8 - len % 8) % 8);
    }

    /** The bytes written, for a part of a message (no header). */
    public byte[] finishBody() {
        return Arrays.copyOf(buf, len);
    }

    /** The message with its length field set. */
    public byte[] finish() {
        if (len > Of.MAX_LEN) {
            throw new IllegalStateException("OpenFlow message of " + len + " bytes");
        }
        putU16(2, len);
        return Arrays.copyOf(buf, len);
    }
}
