package io.pvio.control.protocol;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The control socket's wire format (one request and one reply per connection, big-endian):
 *
 * <pre>
 * request: "PVC1"  u32 argc  argc x (u32 length, UTF-8 bytes)
 * reply:   "PVR1"  s32 status  u32 length, UTF-8 stdout  u32 length, UTF-8 stderr
 * </pre>
 *
 * A request with a bad magic, more than {@link #MAX_ARGS} arguments, more than {@link #MAX_REQUEST} bytes
 * or invalid UTF-8 is refused with {@link ProtocolException} (the server answers it with an error reply).
 */
public final class ControlProtocol {
    public static final String SOCKET_NAME = "pvio-vswitchd.ctl";
    static final int REQUEST_MAGIC = 0x50564331; // "PVC1"
    static final int REPLY_MAGIC = 0x50565231;   // "PVR1"
    public static final int MAX_ARGS = 4096;
    public static final int MAX_REQUEST = 1 << 20;
    public static final int MAX_REPLY = 64 << 20;

    /** A malformed message. */
    public static final class ProtocolException extends IOException {
        private static final long serialVersionUID = 1L;

        public ProtocolException(String message) {
            super(message);
        }
    }

    /** A reply: exit status, standard output and standard error text. */
    public record Reply(int status, String out, String err) {
    }

    private ControlProtocol() {
    }

    public static void writeRequest(OutputStream os, List<String> argv) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bos);
        out.writeInt(REQUEST_MAGIC);
        out.writeInt(argv.size());
        for (String a : argv) {
            byte[] b = a.getBytes(StandardCharsets.UTF_8);
            out.writeInt(b.length);
            out.write(b);
        }
        if (bos.size() > MAX_REQUEST) {
            throw new ProtocolException("request too large (" + bos.size() + " bytes, at most " + MAX_REQUEST + ")");
        }
        os.write(bos.toByteArray());
        os.flush();
    }

    public static List<String> readRequest(InputStream is) throws IOException {
        try {
            return request(new DataInputStream(is));
        } catch (EOFException e) {
            throw new ProtocolException("truncated message");
        }
    }

    private static List<String> request(DataInputStream in) throws IOException {
        int magic = in.readInt();
        if (magic != REQUEST_MAGIC) {
            throw new ProtocolException(String.format("bad request (magic 0x%08x, expected 0x%08x)", magic,
                    REQUEST_MAGIC));
        }
        int argc = in.readInt();
        if (argc < 0 || argc > MAX_ARGS) {
            throw new ProtocolException("bad request (" + Integer.toUnsignedString(argc) + " arguments, at most "
                    + MAX_ARGS + ")");
        }
        long total = 8;
        List<String> argv = new ArrayList<>(Math.min(argc, 64));
        for (int i = 0; i < argc; i++) {
            int len = in.readInt();
            total += 4L + Integer.toUnsignedLong(len);
            if (len < 0 || total > MAX_REQUEST) {
                throw new ProtocolException("request too large (at most " + MAX_REQUEST + " bytes)");
            }
            argv.add(utf8(readFully(in, len)));
        }
        return argv;
    }

    public static void writeReply(OutputStream os, Reply r) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bos);
        out.writeInt(REPLY_MAGIC);
        out.writeInt(r.status());
        for (String s : new String[] {r.out(), r.err()}) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            out.writeInt(b.length);
            out.write(b);
        }
        os.write(bos.toByteArray());
        os.flush();
    }

    public static Reply readReply(InputStream is) throws IOException {
        DataInputStream in = new DataInputStream(is);
        if (in.readInt() != REPLY_MAGIC) {
            throw new ProtocolException("bad reply from the daemon");
        }
        int status = in.readInt();
        String[] text = new String[2];
        long total = 0;
        for (int i = 0; i < 2; i++) {
            int len = in.readInt();
            total += Integer.toUnsignedLong(len);
            if (len < 0 || total > MAX_REPLY) {
                throw new ProtocolException("reply too large");
            }
            text[i] = utf8(readFully(in, len));
        }
        return new Reply(status, text[0], text[1]);
    }

    private static byte[] readFully(DataInputStream in, int len) throws IOException {
        byte[] b = new byte[len];
        try {
            in.readFully(b);
        } catch (EOFException e) {
            throw new ProtocolException("truncated message");
        }
        return b;
    }

    private static String utf8(byte[] b) throws ProtocolException {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw new ProtocolException("argument is not valid UTF-8");
        }
    }
}
