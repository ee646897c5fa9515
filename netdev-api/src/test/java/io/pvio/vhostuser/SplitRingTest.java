package io.pvio.vhostuser;

import static org.junit.Assert.assertEquals;
import static org.junit.Assume.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.Test;

/** {@link SplitRing} against the virtio 1.x split ring layout (2.7) and Linux's uapi virtio_ring.h. */
public class SplitRingTest {

    /** The spec's numbers, written out: struct virtq_desc, virtq_avail, virtq_used, virtq_used_elem. */
    @Test
    public void fieldOffsetsAreTheSpecs() {
        assertEquals(16, SplitRing.DESC_SIZE);
        assertEquals(0, SplitRing.DESC_ADDR);
        assertEquals(8, SplitRing.DESC_LEN);
        assertEquals(12, SplitRing.DESC_FLAGS);
        assertEquals(14, SplitRing.DESC_NEXT);
        assertEquals(0, SplitRing.AVAIL_FLAGS);
        assertEquals(2, SplitRing.AVAIL_IDX);
        assertEquals(4, SplitRing.AVAIL_RING);
        assertEquals(0, SplitRing.USED_FLAGS);
        assertEquals(2, SplitRing.USED_IDX);
        assertEquals(4, SplitRing.USED_RING);
        assertEquals(0, SplitRing.USED_ELEM_ID);
        assertEquals(4, SplitRing.USED_ELEM_LEN);
        assertEquals(8, SplitRing.USED_ELEM_SIZE);
        assertEquals(16, SplitRing.DESC_ALIGN);
        assertEquals(2, SplitRing.AVAIL_ALIGN);
        assertEquals(4, SplitRing.USED_ALIGN);
    }

    /** Table "Virtqueue Part": desc 16*size, avail 6+2*size, used 6+8*size; event fields last. */
    @Test
    public void sizesForAQueueSize() {
        for (int size : new int[] {1, 2, 256, 1024, 32768}) {
            assertEquals(16 * size, SplitRing.descTableBytes(size));
            assertEquals(6 + 2 * size, SplitRing.availBytes(size));
            assertEquals(6 + 8 * size, SplitRing.usedBytes(size));
            assertEquals(4 + 2 * size, SplitRing.usedEvent(size));
            assertEquals(4 + 8 * size, SplitRing.availEvent(size));
            assertEquals(4 + 2 * (size - 1), SplitRing.availRing(size - 1));
            assertEquals(4 + 8 * (size - 1), SplitRing.usedElem(size - 1));
            assertEquals(16 * (size - 1), SplitRing.desc(size - 1));
        }
    }

    /** vring_init's legacy layout: used ring at align_up(16*num + 2*(3+num), align). */
    @Test
    public void legacyLayout() {
        assertEquals(8192, SplitRing.legacyUsedOffset(256, 4096)); // 4096 + 518, rounded up
        assertEquals(4096, SplitRing.legacyUsedOffset(128, 4096)); // 2048 + 262
        assertEquals(16 * 4 + 14, SplitRing.legacyUsedOffset(4, 2));
        assertEquals(SplitRing.alignUp(16 * 1024 + 2 * (3 + 1024), 64), SplitRing.legacyUsedOffset(1024, 64));
    }

    /**
     * The same numbers as the C compiler sees them in the kernel's header (offsetof, sizeof, vring_init,
     * vring_size), when a compiler and the header are installed.
     */
    @Test
    public void matchesLinuxUapiHeader() throws Exception {
        Path header = Path.of("/usr/include/linux/virtio_ring.h");
        assumeTrue("no " + header, Files.isReadable(header));
        assumeTrue("no C compiler", run(List.of("cc", "--version")) != null);
        Path dir = Files.createTempDirectory("splitring");
        try {
            Path src = dir.resolve("l.c");
            Files.writeString(src, String.join("\n",
                    "#include <stdio.h>",
                    "#include <stddef.h>",
                    "#include <stdint.h>",
                    "#include <linux/virtio_ring.h>",
                    "static char p[1 << 20] __attribute__((aligned(4096)));",
                    "int main(void) {",
                    "  struct vring vr;",
                    "  printf(\"%zu %zu %zu %zu %zu\\n\", sizeof(struct vring_desc), offsetof(struct vring_desc, addr),",
                    "    offsetof(struct vring_desc, len), offsetof(struct vring_desc, flags),",
                    "    offsetof(struct vring_desc, next));",
                    "  printf(\"%zu %zu %zu\\n\", offsetof(struct vring_avail, flags), offsetof(struct vring_avail, idx),",
                    "    offsetof(struct vring_avail, ring));",
                    "  printf(\"%zu %zu %zu %zu %zu %zu\\n\", offsetof(struct vring_used, flags),",
                    "    offsetof(struct vring_used, idx), offsetof(struct vring_used, ring),",
                    "    sizeof(struct vring_used_elem), offsetof(struct vring_used_elem, id),",
                    "    offsetof(struct vring_used_elem, len));",
                    "  printf(\"%d %d %d\\n\", VRING_DESC_ALIGN_SIZE, VRING_AVAIL_ALIGN_SIZE, VRING_USED_ALIGN_SIZE);",
                    "  unsigned sizes[] = {2, 256, 1024};",
                    "  for (int i = 0; i < 3; i++) {",
                    "    unsigned n = sizes[i];",
                    "    vring_init(&vr, n, p, 4096);",
                    "    printf(\"%u %td %td %td %td %u\\n\", n, (char *)vr.avail - p, (char *)vr.used - p,",
                    "      (char *)&vring_used_event(&vr) - (char *)vr.avail,",
                    "      (char *)&vring_avail_event(&vr) - (char *)vr.used, vring_size(n, 4096));",
                    "  }",
                    "  return 0;",
                    "}", ""));
            Path exe = dir.resolve("l");
            assertEquals(List.of(""), run(List.of("cc", "-o", exe.toString(), src.toString())));
            List<String> out = run(List.of(exe.toString()));
            assertEquals(SplitRing.DESC_SIZE + " " + SplitRing.DESC_ADDR + " " + SplitRing.DESC_LEN + " "
                    + SplitRing.DESC_FLAGS + " " + SplitRing.DESC_NEXT, out.get(0));
            assertEquals(SplitRing.AVAIL_FLAGS + " " + SplitRing.AVAIL_IDX + " " + SplitRing.AVAIL_RING, out.get(1));
            assertEquals(SplitRing.USED_FLAGS + " " + SplitRing.USED_IDX + " " + SplitRing.USED_RING + " "
                    + SplitRing.USED_ELEM_SIZE + " " + SplitRing.USED_ELEM_ID + " " + SplitRing.USED_ELEM_LEN,
                    out.get(2));
            assertEquals(SplitRing.DESC_ALIGN + " " + SplitRing.AVAIL_ALIGN + " " + SplitRing.USED_ALIGN, out.get(3));
            int line = 4;
            for (int n : new int[] {2, 256, 1024}) {
                int used = SplitRing.legacyUsedOffset(n, SplitRing.LEGACY_ALIGN);
                assertEquals(n + " " + SplitRing.descTableBytes(n) + " " + used + " " + SplitRing.usedEvent(n) + " "
                        + SplitRing.availEvent(n) + " " + (used + SplitRing.usedBytes(n)), out.get(line++));
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
