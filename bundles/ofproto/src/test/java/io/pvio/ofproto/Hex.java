package io.pvio.ofproto;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;

/** Test helpers: hex messages, and Open vSwitch's own decoder ({@code ovs-ofctl ofp-print}). */
public final class Hex {
    private Hex() {
    }

    public static ByteBuffer buf(String hex) {
        return ByteBuffer.wrap(HexFormat.of().parseHex(hex.replaceAll("\\s", "")));
    }

    public static ByteBuffer buf(byte[] b) {
        return ByteBuffer.wrap(b);
    }

    public static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    /** Whether Debian's openvswitch-common (ovs-ofctl) is installed. */
    public static boolean haveOvsOfctl() {
        return Files.isExecutable(Path.of("/usr/bin/ovs-ofctl"));
    }

    /** {@code ovs-ofctl ofp-print HEX}: how Open vSwitch reads the message (stdout and stderr). */
    public static String ofpPrint(byte[] msg) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("ovs-ofctl", "ofp-print", hex(msg)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("ovs-ofctl ofp-print did not finish");
        }
        return out;
    }
}
