package io.pvio.launcher.it.guest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The initramfs recipe: module order, the cpio format, the static-busybox check. */
public class GuestImageTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void modulesComeAfterTheirDependenciesAndBuiltInsAreLeftOut() throws Exception {
        Path dir = tmp.newFolder("6.1.0-test").toPath();
        Files.writeString(dir.resolve("modules.dep"), String.join("\n",
                "kernel/drivers/net/virtio_net.ko.xz: kernel/drivers/net/net_failover.ko.xz kernel/net/core/failover.ko.xz"
                        + " kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko",
                "kernel/drivers/net/net_failover.ko.xz: kernel/net/core/failover.ko.xz",
                "kernel/net/core/failover.ko.xz:",
                "kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci-modern-dev.ko"
                        + " kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko",
                "kernel/drivers/virtio/virtio_pci-modern-dev.ko:",
                "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko",
                ""));
        Files.writeString(dir.resolve("modules.builtin"), "kernel/drivers/virtio/virtio_ring.ko\n");
        List<Path> order = GuestImage.moduleOrder(dir, List.of("virtio_pci", "virtio_net"));
        List<String> names = order.stream().map(GuestImage::moduleName).toList();
        assertEquals(List.of("virtio_pci_modern_dev", "virtio", "virtio_pci", "failover", "net_failover",
                "virtio_net"), names);
        assertEquals(dir.resolve("kernel/net/core/failover.ko.xz"), order.get(3));
    }

    @Test(expected = IllegalStateException.class)
    public void aMissingModuleIsAClearError() throws Exception {
        Path dir = tmp.newFolder("empty").toPath();
        Files.writeString(dir.resolve("modules.dep"), "kernel/net/core/failover.ko:\n");
        GuestImage.moduleOrder(dir, List.of("virtio_net"));
    }

    /** What the Java writer produces, the system's cpio lists: names, sizes and device nodes. */
    @Test
    public void cpioArchiveIsNewcFormat() throws Exception {
        assumeTrue("cpio not installed", GuestImage.findOnPath("cpio").isPresent());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        GuestImage.Cpio cpio = new GuestImage.Cpio(bytes);
        cpio.dir("dev");
        cpio.charDevice("dev/console", 5, 1);
        cpio.file("init", "#!/bin/sh\n".getBytes(StandardCharsets.UTF_8), 0755);
        cpio.file("odd", new byte[5], 0644);
        cpio.trailer();
        Path archive = tmp.newFile("a.cpio").toPath();
        Files.write(archive, bytes.toByteArray());
        Process p = new ProcessBuilder("cpio", "-itv", "-F", archive.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(out, 0, p.exitValue());
        List<String> lines = out.lines().filter(l -> !l.endsWith("blocks") && !l.endsWith("block")).toList();
        assertEquals(out, 4, lines.size());
        assertTrue(out, lines.get(0).startsWith("drwxr-xr-x") && lines.get(0).endsWith(" dev"));
        assertTrue(out, lines.get(1).startsWith("crw-------") && lines.get(1).contains("5,") && lines.get(1).endsWith(" dev/console"));
        assertTrue(out, lines.get(2).startsWith("-rwxr-xr-x") && lines.get(2).contains(" 10 ") && lines.get(2).endsWith(" init"));
        assertTrue(out, lines.get(3).startsWith("-rw-r--r--") && lines.get(3).contains(" 5 ") && lines.get(3).endsWith(" odd"));
    }

    @Test
    public void dynamicExecutablesAreNotStatic() throws Exception {
        Path sh = Path.of("/bin/sh").toRealPath();
        assumeTrue(Files.isReadable(sh));
        assertFalse(sh + " is dynamically linked", GuestImage.isStaticElf(sh));
        Path text = tmp.newFile("not-elf").toPath();
        Files.writeString(text, "#!/bin/sh\n".repeat(10));
        assertFalse(GuestImage.isStaticElf(text));
    }
}
