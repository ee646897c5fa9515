package io.pvio.vhostuser;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.Test;

/** {@link PackedRing} against the virtio 1.1+ packed virtqueue layout and Linux's uapi virtio_ring.h. */
public class PackedRingTest {

    /** The spec's numbers, written out: struct pvirtq_desc, pvirtq_event_suppress, the flag bits. */
    @Test
    public void fieldOffsetsAndBitsAreTheSpecs() {
        assertEquals(16, PackedRing.DESC_SIZE);
        assertEquals(0, PackedRing.DESC_ADDR);
        assertEquals(8, PackedRing.DESC_LEN);
        assertEquals(12, PackedRing.DESC_ID);
        assertEquals(14, PackedRing.DESC_FLAGS);
        assertEquals(1, PackedRing.DESC_F_NEXT);
        assertEquals(2, PackedRing.DESC_F_WRITE);
        assertEquals(4, PackedRing.DESC_F_INDIRECT);
        assertEquals(0x80, PackedRing.DESC_F_AVAIL);
        assertEquals(0x8000, PackedRing.DESC_F_USED);
        assertEquals(4, PackedRing.EVENT_SIZE);
        assertEquals(0, PackedRing.EVENT_OFF_WRAP);
        assertEquals(2, PackedRing.EVENT_FLAGS);
        assertEquals(0, PackedRing.EVENT_FLAG_ENABLE);
        assertEquals(1, PackedRing.EVENT_FLAG_DISABLE);
        assertEquals(2, PackedRing.EVENT_FLAG_DESC);
        assertEquals(16, PackedRing.DESC_ALIGN);
        assertEquals(4, PackedRing.EVENT_ALIGN);
        assertEquals(32768, PackedRing.MAX_SIZE);
        assertEquals(34, PackedRing.VIRTIO_F_RING_PACKED);
        assertEquals(35, PackedRing.VIRTIO_F_IN_ORDER);
        for (int size : new int[] {1, 3, 256, 1000, 32768}) {
            assertEquals(16 * size, PackedRing.descRingBytes(size));
            assertEquals(16 * (size - 1), PackedRing.desc(size - 1));
        }
    }

    /** 2.8.1: the driver writes AVAIL=wrap, USED=!wrap; the device writes AVAIL=USED=wrap. */
    @Test
    public void ownershipBits() {
        for (boolean w : new boolean[] {true, false}) {
            int avail = PackedRing.availFlags(w);
            int used = PackedRing.usedFlags(w);
            assertTrue(PackedRing.isAvail(avail, w));
            assertFalse("available is not used", PackedRing.isUsed(avail, w));
            assertFalse("available in the other lap", PackedRing.isAvail(avail, !w));
            assertTrue(PackedRing.isUsed(used, w));
            assertFalse("used is not available", PackedRing.isAvail(used, w));
            assertFalse("used in the other lap", PackedRing.isUsed(used, !w));
            // other flag bits do not matter
            assertTrue(PackedRing.isAvail(avail | PackedRing.DESC_F_NEXT | PackedRing.DESC_F_WRITE, w));
        }
        assertEquals(0x80, PackedRing.availFlags(true));
        assertEquals(0x8000, PackedRing.availFlags(false));
        assertEquals(0x8080, PackedRing.usedFlags(true));
        assertEquals(0, PackedRing.usedFlags(false));
        // a zeroed ring holds nothing available for the first lap (wrap counter 1)
        assertFalse(PackedRing.isAvail(0, true));
    }

    @Test
    public void offWrap() {
        assertEquals(0x8005, PackedRing.offWrap(5, true));
        assertEquals(0x7fff, PackedRing.offWrap(0x7fff, false));
        assertEquals(5, PackedRing.eventOff(0x8005));
        assertTrue(PackedRing.eventWrap(0x8005));
        assertFalse(PackedRing.eventWrap(0x7fff));
    }

    /** needEvent's modes, and DESC's window [old, now) across a wrap. */
    @Test
    public void needEventModes() {
        int size = 8;
        assertTrue(PackedRing.needEvent(PackedRing.EVENT_FLAG_ENABLE, 0, 0, 1, true, size));
        assertFalse(PackedRing.needEvent(PackedRing.EVENT_FLAG_DISABLE, 0, 0, 1, true, size));
        assertTrue("reserved mode 3 notifies", PackedRing.needEvent(3, 0, 0, 1, true, size));
        int d = PackedRing.EVENT_FLAG_DESC;
        assertTrue(PackedRing.needEvent(d, PackedRing.offWrap(2, true), 1, 4, true, size));
        assertFalse(PackedRing.needEvent(d, PackedRing.offWrap(4, true), 1, 4, true, size));
        assertFalse(PackedRing.needEvent(d, PackedRing.offWrap(0, true), 1, 4, true, size));
        // moved from 6 (lap with wrap 1) to 2 (next lap, wrap 0): positions 6, 7, 0, 1 passed
        assertTrue(PackedRing.needEvent(d, PackedRing.offWrap(7, true), 6, 2, false, size));
        assertTrue(PackedRing.needEvent(d, PackedRing.offWrap(1, false), 6, 2, false, size));
        assertFalse(PackedRing.needEvent(d, PackedRing.offWrap(2, false), 6, 2, false, size));
        assertFalse(PackedRing.needEvent(d, PackedRing.offWrap(5, true), 6, 2, false, size));
    }

    /**
     * The same numbers as the C compiler sees them in the kernel's headers (offsetof, sizeof, the flag and
     * feature macros), and needEvent in DESC mode against vring_need_event with the unfolding Linux and DPDK
     * apply, for every position, event and wrap of small rings.
     */
    @Test
    public void matchesLinuxUapiHeader() throws Exception {
        Path header = Path.of("/usr/include/linux/virtio_ring.h");
        assumeTrue("no " + header, Files.isReadable(header));
        assumeTrue("no C compiler", run(List.of("cc", "--version")) != null);
        Path dir = Files.createTempDirectory("packedring");
        int[] sizes = {4, 5, 8};
        try {
            Path src = dir.resolve("l.c");
            Files.writeString(src, String.join("\n",
                    "#include <stdio.h>",
                    "#include <stddef.h>",
                    "#include <linux/virtio_config.h>",
                    "#include <linux/virtio_ring.h>",
                    "int main(void) {",
                    "  printf(\"%zu %zu %zu %zu %zu\\n\", sizeof(struct vring_packed_desc),",
                    "    offsetof(struct vring_packed_desc, addr), offsetof(struct vring_packed_desc, len),",
                    "    offsetof(struct vring_packed_desc, id), offsetof(struct vring_packed_desc, flags));",
                    "  printf(\"%zu %zu %zu\\n\", sizeof(struct vring_packed_desc_event),",
                    "    offsetof(struct vring_packed_desc_event, off_wrap), offsetof(struct vring_packed_desc_event, flags));",
                    "  printf(\"%d %d %d %d %d\\n\", VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_DESC_F_INDIRECT,",
                    "    VRING_PACKED_DESC_F_AVAIL, VRING_PACKED_DESC_F_USED);",
                    "  printf(\"%d %d %d %d\\n\", VRING_PACKED_EVENT_FLAG_ENABLE, VRING_PACKED_EVENT_FLAG_DISABLE,",
                    "    VRING_PACKED_EVENT_FLAG_DESC, VRING_PACKED_EVENT_F_WRAP_CTR);",
                    "  printf(\"%d %d\\n\", VIRTIO_F_RING_PACKED, VIRTIO_F_IN_ORDER);",
                    "  unsigned sizes[] = {4, 5, 8};",
                    "  for (int i = 0; i < 3; i++) {",
                    "    int n = sizes[i];",
                    "    for (int ow = 0; ow < 2 * n; ow++)",
                    "      for (int old = 0; old < n; old++)",
                    "        for (int now = 0; now < n; now++)",
                    "          for (int wrap = 0; wrap < 2; wrap++) {",
                    "            __u16 off = ow % n, ew = ow / n;",
                    "            __u16 event = ew == wrap ? off : (__u16)(off - n);",
                    "            __u16 o = now <= old ? (__u16)(old - n) : old;",
                    "            putchar(vring_need_event(event, now, o) ? '1' : '0');",
                    "          }",
                    "    putchar('\\n');",
                    "  }",
                    "  return 0;",
                    "}", ""));
            Path exe = dir.resolve("l");
            assertEquals(List.of(""), run(List.of("cc", "-o", exe.toString(), src.toString())));
            List<String> out = run(List.of(exe.toString()));
            assertEquals(PackedRing.DESC_SIZE + " " + PackedRing.DESC_ADDR + " " + PackedRing.DESC_LEN + " "
                    + PackedRing.DESC_ID + " " + PackedRing.DESC_FLAGS, out.get(0));
            assertEquals(PackedRing.EVENT_SIZE + " " + PackedRing.EVENT_OFF_WRAP + " " + PackedRing.EVENT_FLAGS,
                    out.get(1));
            assertEquals(PackedRing.DESC_F_NEXT + " " + PackedRing.DESC_F_WRITE + " " + PackedRing.DESC_F_INDIRECT
                    + " " + PackedRing.DESC_F_AVAIL_SHIFT + " " + PackedRing.DESC_F_USED_SHIFT, out.get(2));
            assertEquals(PackedRing.EVENT_FLAG_ENABLE + " " + PackedRing.EVENT_FLAG_DISABLE + " "
                    + PackedRing.EVENT_FLAG_DESC + " " + PackedRing.EVENT_WRAP_SHIFT, out.get(3));
            assertEquals(PackedRing.VIRTIO_F_RING_PACKED + " " + PackedRing.VIRTIO_F_IN_ORDER, out.get(4));
            for (int i = 0; i < sizes.length; i++) {
                int n = sizes[i];
                StringBuilder want = new StringBuilder();
                for (int ow = 0; ow < 2 * n; ow++) {
                    for (int old = 0; old < n; old++) {
                        for (int now = 0; now < n; now++) {
                            for (int wrap = 0; wrap < 2; wrap++) {
                                int offWrap = PackedRing.offWrap(ow % n, ow / n == 1);
                                want.append(PackedRing.needEvent(PackedRing.EVENT_FLAG_DESC, offWrap, old, now,
                                        wrap == 1, n) ? '1' : '0');
                            }
                        }
                    }
                }
                assertEquals("needEvent, size " + n, out.get(5 + i), want.toString());
            }
        } finally {
            try (var s = Files.walk(dir)) {
                s.sorted((a, b) -> b.compareTo(a)).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** Runs a command: its output lines, a single "failed: ..." line when it failed, null when it cannot start. */
    private static List<String> run(List<String> cmd) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            return null;
        }
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            return List.of("failed: " + text);
        }
        return List.of(text.split("\n", -1)).subList(0, text.isEmpty() ? 1 : (int) text.chars().filter(c -> c == '\n').count());
    }
}
