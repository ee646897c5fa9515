package io.pvio.launcher.it.guest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.Assume;

/**
 * The guest's boot files: the host's installed Debian kernel and an initramfs built from busybox-static and
 * that kernel's virtio-net modules. The initramfs is built once into {@code target/guest} and reused
 * (its name carries the kernel version and a hash of its contents' recipe).
 *
 * <p>The guest's {@code /init} loads the modules, then reads commands from ttyS0 (echo off): it prints
 * {@code ##ready}, then for each line {@code ID COMMAND} evaluates COMMAND and prints {@code ##rc ID STATUS} on
 * a line of its own. A loop that exits (a syntax error) prints {@code ##shell exited} and starts again.
 */
public final class GuestImage {
    private static final Logger LOG = Logger.getLogger("guest_image");
    /** The modules a virtio-net guest needs; their dependencies come from modules.dep. */
    private static final List<String> ROOT_MODULES = List.of("virtio_pci", "virtio_net");
    static final String READY = "##ready";
    private static final String INIT = String.join("\n",
            "#!/bin/busybox sh",
            "/bin/busybox --install -s /bin",
            "mount -t proc proc /proc",
            "mount -t sysfs sys /sys",
            "mount -t devtmpfs dev /dev",
            "for m in $(cat /lib/modules/order); do insmod /lib/modules/$m.ko || echo \"insmod $m failed\"; done",
            "dmesg -n 1",
            "ip link set lo up",
            "while true; do",
            // a command loop, not an interactive shell (busybox ash on a tty without job control quits at
            // random after background jobs); busybox setsid would fork and return at once: not used
            "  sh -c 'stty -echo; echo \"" + READY + "\"; while read -r id line; do eval \"$line\"; "
                    + "printf \"\\n##rc %s %d\\n\" \"$id\" $?; done' </dev/ttyS0 >/dev/ttyS0 2>&1",
            "  echo \"##shell exited $?\" >/dev/ttyS0",
            "  sleep 1",
            "done",
            "");

    private static GuestImage built;

    public final String kernelVersion;
    public final Path kernel;
    public final Path initramfs;

    private GuestImage(String kernelVersion, Path kernel, Path initramfs) {
        this.kernelVersion = kernelVersion;
        this.kernel = kernel;
        this.initramfs = initramfs;
    }

    /**
     * The image, built on first use. Without QEMU, a kernel with its modules, or busybox-static, the calling
     * test is skipped with the reason, except when the environment has {@code CI=true}: then it fails.
     */
    public static synchronized GuestImage get(Path targetDir) throws IOException, InterruptedException {
        if (built == null) {
            String missing = missingTools();
            if (missing != null) {
                if ("true".equals(System.getenv("CI"))) {
                    throw new AssertionError("CI=true and the guest tests cannot run: " + missing);
                }
                Assume.assumeTrue("skipped (set CI=true to fail instead): " + missing, false);
            }
            built = build(targetDir.resolve("guest"));
        }
        return built;
    }

    /** Null when everything the guests need is installed, else what is missing. */
    static String missingTools() throws IOException {
        if (findOnPath(qemu()).isEmpty()) {
            return qemu() + " not found (Debian: apt-get install qemu-system-x86)";
        }
        if (findKernel().isEmpty()) {
            return "no /boot/vmlinuz-VERSION with /lib/modules/VERSION (Debian: apt-get install linux-image-amd64)";
        }
        Path busybox = Path.of("/bin/busybox");
        if (!Files.isReadable(busybox) || !isStaticElf(busybox)) {
            return "no static /bin/busybox (Debian: apt-get install busybox-static)";
        }
        return null;
    }

    static String qemu() {
        return System.getProperty("pvio.guest.qemu", "qemu-system-x86_64");
    }

    static Optional<Path> findOnPath(String exe) {
        if (exe.contains("/")) {
            return Files.isExecutable(Path.of(exe)) ? Optional.of(Path.of(exe)) : Optional.empty();
        }
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path p = Path.of(dir, exe);
            if (Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** The newest /boot/vmlinuz-V whose /lib/modules/V/modules.dep exists (or -Dpvio.guest.kernel=V). */
    static Optional<String> findKernel() throws IOException {
        String wanted = System.getProperty("pvio.guest.kernel");
        if (wanted != null) {
            return Optional.of(wanted);
        }
        Path boot = Path.of("/boot");
        if (!Files.isDirectory(boot)) {
            return Optional.empty();
        }
        try (Stream<Path> s = Files.list(boot)) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith("vmlinuz-"))
                    .map(n -> n.substring("vmlinuz-".length()))
                    .filter(v -> Files.isReadable(Path.of("/boot/vmlinuz-" + v))
                            && Files.exists(Path.of("/lib/modules", v, "modules.dep")))
                    .max(Comparator.naturalOrder());
        }
    }

    /** An ELF file without a PT_INTERP program header needs no dynamic loader. */
    static boolean isStaticElf(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file));
        if (b.limit() < 64 || b.getInt(0) != 0x7f454c46 || b.get(4) != 2) {
            return false;
        }
        b.order(b.get(5) == 1 ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
        long phoff = b.getLong(32);
        int phentsize = Short.toUnsignedInt(b.getShort(54));
        int phnum = Short.toUnsignedInt(b.getShort(56));
        for (int i = 0; i < phnum; i++) {
            long at = phoff + (long) i * phentsize;
            if (at + 4 > b.limit()) {
                return false;
            }
            if (b.getInt((int) at) == 3) {
                return false;
            }
        }
        return true;
    }

    private static GuestImage build(Path dir) throws IOException, InterruptedException {
        String version = findKernel().orElseThrow();
        Path modDir = Path.of("/lib/modules", version);
        List<Path> modules = moduleOrder(modDir, ROOT_MODULES);
        String recipe = INIT + modules;
        Path out = dir.resolve("initramfs-" + version + "-" + Integer.toHexString(recipe.hashCode()) + ".cpio.gz");
        Files.createDirectories(dir);
        if (Files.exists(out) && Files.size(out) > 0) {
            LOG.info("reusing " + out);
            return new GuestImage(version, Path.of("/boot/vmlinuz-" + version), out);
        }
        Path tmp = Files.createTempFile(dir, "initramfs", ".tmp");
        try (OutputStream os = new GZIPOutputStream(Files.newOutputStream(tmp))) {
            Cpio cpio = new Cpio(os);
            for (String d : List.of("bin", "dev", "proc", "sys", "tmp", "lib", "lib/modules")) {
                cpio.dir(d);
            }
            cpio.charDevice("dev/console", 5, 1);
            cpio.file("bin/busybox", Files.readAllBytes(Path.of("/bin/busybox")), 0755);
            cpio.file("init", INIT.getBytes(StandardCharsets.UTF_8), 0755);
            StringBuilder order = new StringBuilder();
            for (Path m : modules) {
                String name = moduleName(m);
                cpio.file("lib/modules/" + name + ".ko", uncompressed(m), 0644);
                order.append(name).append('\n');
            }
            cpio.file("lib/modules/order", order.toString().getBytes(StandardCharsets.UTF_8), 0644);
            cpio.trailer();
        }
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        LOG.info("built " + out + " (kernel " + version + ", modules " + modules + ")");
        return new GuestImage(version, Path.of("/boot/vmlinuz-" + version), out);
    }

    /** The module files of {@code roots} and their dependencies, each after what it depends on. */
    static List<Path> moduleOrder(Path modDir, List<String> roots) throws IOException {
        Map<String, String> pathOf = new HashMap<>();
        Map<String, List<String>> depsOf = new HashMap<>();
        for (String line : Files.readAllLines(modDir.resolve("modules.dep"))) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String path = line.substring(0, colon);
            String name = moduleName(Path.of(path));
            pathOf.put(name, path);
            List<String> deps = new ArrayList<>();
            for (String d : line.substring(colon + 1).trim().split("\\s+")) {
                if (!d.isEmpty()) {
                    deps.add(moduleName(Path.of(d)));
                }
            }
            depsOf.put(name, deps);
        }
        Set<String> builtin = new LinkedHashSet<>();
        Path builtinList = modDir.resolve("modules.builtin");
        if (Files.exists(builtinList)) {
            for (String line : Files.readAllLines(builtinList)) {
                builtin.add(moduleName(Path.of(line.trim())));
            }
        }
        LinkedHashSet<String> order = new LinkedHashSet<>();
        for (String root : roots) {
            visit(root, pathOf, depsOf, builtin, order);
        }
        List<Path> files = new ArrayList<>();
        for (String name : order) {
            files.add(modDir.resolve(pathOf.get(name)));
        }
        return files;
    }

    private static void visit(String name, Map<String, String> pathOf, Map<String, List<String>> depsOf,
            Set<String> builtin, LinkedHashSet<String> order) {
        if (order.contains(name) || builtin.contains(name)) {
            return;
        }
        if (!pathOf.containsKey(name)) {
            throw new IllegalStateException("module " + name + " is neither in modules.dep nor built in");
        }
        // modules.dep lists every dependency, transitive ones included: a post-order walk still sorts them
        for (String dep : depsOf.get(name)) {
            visit(dep, pathOf, depsOf, builtin, order);
        }
        order.add(name);
    }

    static String moduleName(Path p) {
        String n = p.getFileName().toString();
        int ko = n.indexOf(".ko");
        return (ko < 0 ? n : n.substring(0, ko)).replace('-', '_');
    }

    /** A module file as insmod takes it: .ko as is, .ko.gz / .ko.xz / .ko.zst decompressed. */
    static byte[] uncompressed(Path module) throws IOException, InterruptedException {
        String n = module.getFileName().toString();
        if (n.endsWith(".ko")) {
            return Files.readAllBytes(module);
        }
        if (n.endsWith(".gz")) {
            try (InputStream in = new GZIPInputStream(Files.newInputStream(module))) {
                return in.readAllBytes();
            }
        }
        List<String> cmd;
        if (n.endsWith(".xz")) {
            cmd = findOnPath("xz").isPresent() ? List.of("xz", "-dc", module.toString())
                    : List.of("/bin/busybox", "xzcat", module.toString());
        } else if (n.endsWith(".zst")) {
            cmd = List.of("zstd", "-dc", module.toString());
        } else {
            throw new IOException("unknown module compression: " + module);
        }
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        byte[] data;
        try (InputStream in = p.getInputStream()) {
            data = in.readAllBytes();
        }
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " failed");
        }
        return data;
    }

    /** The "newc" cpio format the kernel unpacks into its initramfs. */
    static final class Cpio {
        private final OutputStream out;
        private int ino = 1;

        Cpio(OutputStream out) {
            this.out = out;
        }

        void dir(String name) throws IOException {
            entry(name, 0040755, 2, 0, 0, new byte[0]);
        }

        void file(String name, byte[] data, int perm) throws IOException {
            entry(name, 0100000 | perm, 1, 0, 0, data);
        }

        void charDevice(String name, int major, int minor) throws IOException {
            entry(name, 0020600, 1, major, minor, new byte[0]);
        }

        void trailer() throws IOException {
            ino = 0;
            entry("TRAILER!!!", 0, 1, 0, 0, new byte[0]);
        }

        private void entry(String name, int mode, int nlink, int rdevMajor, int rdevMinor, byte[] data)
                throws IOException {
            byte[] nameBytes = (name + "\0").getBytes(StandardCharsets.UTF_8);
            ByteArrayOutputStream h = new ByteArrayOutputStream();
            h.writeBytes("070701".getBytes(StandardCharsets.US_ASCII));
            int[] fields = {ino == 0 ? 0 : ino++, mode, 0, 0, nlink, 0, data.length, 0, 0, rdevMajor, rdevMinor,
                    nameBytes.length, 0};
            for (int f : fields) {
                h.writeBytes(String.format("%08x", f).getBytes(StandardCharsets.US_ASCII));
            }
            h.writeBytes(nameBytes);
            pad(h, h.size());
            out.write(h.toByteArray());
            out.write(data);
            out.write(new byte[(4 - data.length % 4) % 4]);
        }

        private static void pad(ByteArrayOutputStream h, int size) {
            h.writeBytes(new byte[(4 - size % 4) % 4]);
        }
    }
}
