package io.pvio.netlinux;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.zip.CRC32;

/**
 * A TCP stream's two ends, run by the tests inside namespaces ({@code ip netns exec NS java ...}).
 * {@code server PORT}: accepts one connection, reads it to the end, prints "BYTES CRC32".
 * {@code client ADDR PORT BYTES}: sends BYTES bytes of a fixed pseudo-random pattern, prints "BYTES CRC32".
 */
public final class TcpPeer {
    public static void main(String[] a) throws Exception {
        CRC32 crc = new CRC32();
        long n = 0;
        byte[] buf = new byte[65536];
        if (a[0].equals("server")) {
            try (ServerSocket ss = new ServerSocket()) {
                ss.setReuseAddress(true);
                ss.bind(new InetSocketAddress(Integer.parseInt(a[1])));
                System.out.println("listening");
                System.out.flush();
                ss.setSoTimeout(120_000);
                try (Socket s = ss.accept(); InputStream in = s.getInputStream()) {
                    s.setSoTimeout(120_000);
                    int r;
                    while ((r = in.read(buf)) > 0) {
                        crc.update(buf, 0, r);
                        n += r;
                    }
                }
            }
        } else {
            long total = Long.parseLong(a[3]);
            long x = 0x9E3779B97F4A7C15L;
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(a[1], Integer.parseInt(a[2])), 30_000);
                OutputStream out = s.getOutputStream();
                while (n < total) {
                    int len = (int) Math.min(buf.length, total - n);
                    for (int i = 0; i < len; i++) {
                        x ^= x << 13;
                        x ^= x >>> 7;
                        x ^= x << 17;
                        buf[i] = (byte) x;
                    }
                    out.write(buf, 0, len);
                    crc.update(buf, 0, len);
                    n += len;
                }
                s.shutdownOutput();
            }
        }
        System.out.println(n + " " + Long.toHexString(crc.getValue()));
    }
}
