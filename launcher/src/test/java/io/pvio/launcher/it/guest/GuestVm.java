package io.pvio.launcher.it.guest;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A QEMU/Linux guest (TCG, Debian's kernel, the {@link GuestImage} initramfs) with one virtio-net device on a
 * vhost-user socket, driven through its serial console: {@link #run} sends {@code ID COMMAND} to the guest's
 * command loop and waits for {@code ##rc ID STATUS}; what the guest printed in between is the output.
 * Commands run one after the other in one shell (variables and background jobs persist until a reboot).
 *
 * <p>Guest memory is a shared memfd (vhost-user needs it); the device has {@code vectors=0} because QEMU 7.2
 * under TCG crashes with MSI-X on vhost-user. The serial console (QEMU's stdio) is copied to
 * {@code DIR/NAME.serial.log}, QEMU's own messages go to {@code DIR/NAME.qemu.log}.
 *
 * <p>Not thread-safe: one test thread drives a guest.
 */
public final class GuestVm implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger("guest_vm");
    /** Boot under TCG on a busy 2-core machine takes far longer than the 6 s of an idle one. */
    public static final long BOOT_TIMEOUT_MS = Long.getLong("pvio.guest.boot.timeout.ms", 300_000);
    public static final long COMMAND_TIMEOUT_MS = Long.getLong("pvio.guest.command.timeout.ms", 180_000);

    /** Which side of the vhost-user socket QEMU is. */
    public enum Role {
        /** QEMU listens on the socket ({@code server=on}); pvio's {@code dpdkvhostuserclient} connects. */
        SERVER,
        /** QEMU connects to the socket pvio listens on (its {@code dpdkvhostuser} port), again after a loss. */
        CLIENT
    }

    /** A command's exit status and its output (standard output and error, CR removed). */
    public record Result(int status, String output) {
    }

    private final String name;
    private final GuestImage image;
    private final Path dir;
    private final Role role;
    private final Path socket;
    private final String mac;
    private final String address;
    private final List<String> extraArgs = new ArrayList<>();
    private String memory = "256M";
    private final StringBuilder serial = new StringBuilder();
    private final Path serialLog;
    private Process qemu;
    private OutputStream console;
    private int seq;
    private int boots;

    /**
     * @param address the eth0 address with prefix (e.g. 10.17.0.1/24) configured at every boot, or null
     */
    public GuestVm(String name, GuestImage image, Path dir, Role role, Path socket, String mac, String address) {
        this.name = name;
        this.image = image;
        this.dir = dir;
        this.role = role;
        this.socket = socket;
        this.mac = mac;
        this.address = address;
        this.serialLog = dir.resolve(name + ".serial.log");
    }

    /** Guest RAM for the next start, in QEMU's size syntax (default 256M). */
    public GuestVm withMemory(String size) {
        memory = size;
        return this;
    }

    /** More QEMU arguments for the next start (e.g. {@code -incoming}); the defaults stay. */
    public GuestVm withArgs(String... args) {
        extraArgs.addAll(List.of(args));
        return this;
    }

    public String name() {
        return name;
    }

    public Path socket() {
        return socket;
    }

    /** QEMU's pid, for tests that act on the process. */
    public long pid() {
        return qemu.pid();
    }

    public boolean isAlive() {
        return qemu != null && qemu.isAlive();
    }

    /** Starts QEMU without waiting for the boot (so that several guests boot together); see {@link #awaitBoot}. */
    public void start() throws IOException {
        if (isAlive()) {
            throw new IllegalStateException(name + " is running");
        }
        List<String> cmd = new ArrayList<>(List.of(GuestImage.qemu(), "-name", name,
                "-accel", System.getProperty("pvio.guest.accel", "tcg"), "-m", memory, "-smp", "1",
                "-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none", "-serial", "stdio",
                "-kernel", image.kernel.toString(), "-initrd", image.initramfs.toString(),
                "-append", "console=ttyS0 quiet panic=-1",
                "-object", "memory-backend-memfd,id=mem,size=" + memory + ",share=on", "-numa", "node,memdev=mem",
                "-chardev", "socket,id=vhost0,path=" + socket + (role == Role.SERVER ? ",server=on,wait=off" : ",reconnect=1"),
                "-netdev", "vhost-user,id=net0,chardev=vhost0",
                "-device", "virtio-net-pci,netdev=net0,mac=" + mac + ",vectors=0"));
        cmd.addAll(extraArgs);
        Files.createDirectories(dir);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectError(ProcessBuilder.Redirect.appendTo(dir.resolve(name + ".qemu.log").toFile()));
        synchronized (serial) {
            serial.append("\n---- ").append(name).append(" start ----\n");
        }
        LOG.info(name + ": " + String.join(" ", cmd));
        qemu = pb.start();
        console = qemu.getOutputStream();
        Process p = qemu;
        Thread reader = new Thread(() -> copySerial(p), name + "-serial");
        reader.setDaemon(true);
        reader.start();
    }

    /** Waits for the shell of a boot begun after serial position {@code from}, then configures eth0. */
    private void awaitBoot(int from) throws IOException, InterruptedException {
        await(Pattern.compile(Pattern.quote(GuestImage.READY)), from, BOOT_TIMEOUT_MS, "boot");
        boots++;
        if (address != null) {
            ok("ip link set eth0 up && ip addr add " + address + " dev eth0");
        }
    }

    /** Waits for the boot that {@link #start} began. */
    public void awaitBoot() throws IOException, InterruptedException {
        awaitBoot(lastStart());
    }

    /** Starts QEMU and waits for its shell. */
    public void boot() throws IOException, InterruptedException {
        start();
        awaitBoot();
    }

    /** How many times a shell came up (boots and reboots). */
    public int boots() {
        return boots;
    }

    /**
     * Runs one shell command line (no newline) in the guest and returns its status and output; an
     * AssertionError when there is no status within {@link #COMMAND_TIMEOUT_MS} or QEMU exits meanwhile.
     */
    public Result run(String command) throws IOException, InterruptedException {
        return run(command, COMMAND_TIMEOUT_MS);
    }

    public Result run(String command, long timeoutMs) throws IOException, InterruptedException {
        if (command.indexOf('\n') >= 0) {
            throw new IllegalArgumentException("one line only: " + command);
        }
        int id = ++seq;
        int from = mark();
        send(id + " " + command + "\n");
        Matcher m = await(Pattern.compile("\r?\n##rc " + id + " (\\d+)\r?\n|##shell exited"), from, timeoutMs,
                command);
        if (m.group(1) == null) {
            throw new AssertionError(name + ": the guest's shell quit on `" + command + "`\n" + tail());
        }
        String out;
        synchronized (serial) {
            out = serial.substring(from, from + m.start()).replace("\r", "");
        }
        return new Result(Integer.parseInt(m.group(1)), out);
    }

    /** Runs a command that must exit 0; returns its output. */
    public String ok(String command) throws IOException, InterruptedException {
        Result r = run(command);
        if (r.status() != 0) {
            throw new AssertionError(name + ": `" + command + "` exited " + r.status() + ":\n" + r.output());
        }
        return r.output();
    }

    /** SIGKILL to QEMU (no shutdown of anything: pvio sees the socket drop), and waits for it to be gone. */
    public void kill9() throws InterruptedException {
        if (qemu != null) {
            qemu.destroyForcibly();
            qemu.waitFor(60, TimeUnit.SECONDS);
        }
    }

    /** Reboots the guest from inside ({@code reboot -f}: a machine reset, the virtio device is reset). */
    public void reboot() throws IOException, InterruptedException {
        int from = mark();
        send("0 reboot -f\n");
        awaitBoot(from);
    }

    /** Powers the guest off from inside, SIGKILL if it does not exit within a minute. */
    public void stop() throws IOException, InterruptedException {
        if (!isAlive()) {
            return;
        }
        try {
            send("0 poweroff -f\n");
        } catch (IOException gone) {
            // QEMU is exiting already
        }
        if (!qemu.waitFor(60, TimeUnit.SECONDS)) {
            LOG.warning(name + ": no poweroff within 60 s, killing QEMU");
            kill9();
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        if (isAlive()) {
            kill9();
        }
    }

    /** The last lines of the serial console, for failure messages. */
    public String tail() {
        synchronized (serial) {
            return serial.substring(Math.max(0, serial.length() - 3000));
        }
    }

    private int mark() {
        synchronized (serial) {
            return serial.length();
        }
    }

    private int lastStart() {
        synchronized (serial) {
            return serial.lastIndexOf("\n---- " + name + " start ----\n");
        }
    }

    private void send(String text) throws IOException {
        console.write(text.getBytes(StandardCharsets.UTF_8));
        console.flush();
    }

    private Matcher await(Pattern p, int from, long timeoutMs, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        synchronized (serial) {
            while (true) {
                Matcher m = p.matcher(serial.subSequence(from, serial.length()));
                if (m.find()) {
                    return m;
                }
                if (!qemu.isAlive()) {
                    throw new AssertionError(name + ": QEMU exited (" + qemu.exitValue() + ") while waiting for "
                            + what + "; see " + dir.resolve(name + ".qemu.log") + "\n" + tail());
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError(name + ": no answer to " + what + " within " + timeoutMs + " ms\n"
                            + tail());
                }
                serial.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 1000)));
            }
        }
    }

    private void copySerial(Process p) {
        byte[] buf = new byte[4096];
        try (InputStream in = p.getInputStream();
             OutputStream log = Files.newOutputStream(serialLog, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                log.write(buf, 0, n);
                log.flush();
                synchronized (serial) {
                    serial.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
                    serial.notifyAll();
                }
            }
        } catch (IOException e) {
            LOG.fine(name + ": serial closed: " + e);
        }
        synchronized (serial) {
            serial.notifyAll();
        }
    }
}
