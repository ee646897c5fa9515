package io.pvio.netlinux;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import io.pvio.netdev.NetdevException;
import io.pvio.netdev.NetdevStats;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Control-path queries and settings of a kernel interface by name (ioctl and /sys/class/net). */
final class Interfaces {
    private Interfaces() {
    }

    /** Refuses names the kernel would refuse (as OVS's dev_name checks): 1..15 bytes, no '/', ':' or blanks. */
    static void checkName(String type, String name) throws NetdevException {
        byte[] b = name.getBytes(StandardCharsets.UTF_8);
        if (b.length == 0 || b.length >= Sys.IFNAMSIZ || name.equals(".") || name.equals("..")
                || name.chars().anyMatch(c -> c == '/' || c == ':' || Character.isWhitespace(c))) {
            throw new NetdevException(type + " port name '" + name + "' is not a valid interface name"
                    + " (1 to 15 bytes, no '/', ':' or blank)");
        }
    }

    /** The interface's index, or 0 when no interface has that name. */
    static int ifindex(String name) {
        return Sys.if_nametoindex(name);
    }

    /** A zeroed struct ifreq naming {@code name}. */
    static Memory ifreq(String name) {
        Memory m = new Memory(Sys.IFREQ_SIZE);
        m.clear();
        byte[] b = name.getBytes(StandardCharsets.UTF_8);
        m.write(0, b, 0, Math.min(b.length, Sys.IFNAMSIZ - 1));
        return m;
    }

    private static Memory query(String name, long request) throws NetdevException {
        int fd = -1;
        try {
            fd = Sys.socket(Sys.AF_INET, Sys.SOCK_DGRAM | Sys.SOCK_CLOEXEC, 0);
            Memory req = ifreq(name);
            Sys.ioctl(fd, request, com.sun.jna.Pointer.nativeValue(req));
            return req;
        } catch (LastErrorException e) {
            throw new NetdevException(name + ": " + Sys.err(e), e);
        } finally {
            Sys.closeQuietly(fd);
        }
    }

    static int mtu(String name) throws NetdevException {
        return query(name, Sys.SIOCGIFMTU).getInt(Sys.IFNAMSIZ);
    }

    static String mac(String name) throws NetdevException {
        Memory req = query(name, Sys.SIOCGIFHWADDR);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 6; i++) {
            sb.append(i == 0 ? "" : ":").append(String.format("%02x", req.getByte(Sys.IFNAMSIZ + 2 + i) & 0xff));
        }
        return sb.toString();
    }

    /** Sets the interface's MAC ({@code xx:xx:xx:xx:xx:xx}), as {@code ip link set NAME address MAC}. */
    static void setMac(String name, String mac) throws NetdevException {
        int fd = -1;
        try {
            fd = Sys.socket(Sys.AF_INET, Sys.SOCK_DGRAM | Sys.SOCK_CLOEXEC, 0);
            Memory req = ifreq(name);
            req.setShort(Sys.IFNAMSIZ, Sys.ARPHRD_ETHER); // ifr_hwaddr.sa_family
            String[] b = mac.split(":");
            for (int i = 0; i < 6; i++) {
                req.setByte(Sys.IFNAMSIZ + 2 + i, (byte) Integer.parseInt(b[i], 16));
            }
            Sys.ioctl(fd, Sys.SIOCSIFHWADDR, com.sun.jna.Pointer.nativeValue(req));
        } catch (LastErrorException e) {
            throw new NetdevException(name + ": could not set its address to " + mac + " (" + Sys.err(e) + ")", e);
        } catch (RuntimeException e) {
            throw new NetdevException(name + ": '" + mac + "' is not an Ethernet address", e);
        } finally {
            Sys.closeQuietly(fd);
        }
    }

    /** The interface's MAC, or null when it cannot be read (gone, another namespace). */
    static String macOrNull(String name) {
        try {
            return mac(name);
        } catch (NetdevException e) {
            return null;
        }
    }

    /** The interface's MTU, or 0 when it cannot be read. */
    static int mtuOrZero(String name) {
        try {
            return mtu(name);
        } catch (NetdevException e) {
            return 0;
        }
    }

    /** Whether IFF_UP is set (false when the interface cannot be read). */
    static boolean isUp(String name) {
        try {
            return (query(name, Sys.SIOCGIFFLAGS).getShort(Sys.IFNAMSIZ) & Sys.IFF_UP) != 0;
        } catch (NetdevException e) {
            return false;
        }
    }

    /** Sets IFF_UP (as {@code ip link set NAME up}). */
    static void setUp(String name) throws NetdevException {
        setUp(name, true);
    }

    /** Sets or clears IFF_UP (as {@code ip link set NAME up|down}). */
    static void setUp(String name, boolean up) throws NetdevException {
        int fd = -1;
        try {
            fd = Sys.socket(Sys.AF_INET, Sys.SOCK_DGRAM | Sys.SOCK_CLOEXEC, 0);
            Memory req = ifreq(name);
            long p = com.sun.jna.Pointer.nativeValue(req);
            Sys.ioctl(fd, Sys.SIOCGIFFLAGS, p);
            short flags = req.getShort(Sys.IFNAMSIZ);
            req.setShort(Sys.IFNAMSIZ, (short) (up ? flags | Sys.IFF_UP : flags & ~Sys.IFF_UP));
            Sys.ioctl(fd, Sys.SIOCSIFFLAGS, p);
        } catch (LastErrorException e) {
            throw new NetdevException(name + ": could not bring the interface " + (up ? "up" : "down") + " ("
                    + Sys.err(e) + ")", e);
        } finally {
            Sys.closeQuietly(fd);
        }
    }

    /** The kernel's carrier: false when the interface is down, gone or has no link. */
    static boolean carrier(String name) {
        return "1".equals(sys(name, "carrier"));
    }

    /** operstate as {@code ip link} shows it (up, down, lowerlayerdown, unknown...), or "absent". */
    static String operstate(String name) {
        String s = sys(name, "operstate");
        return s == null ? "absent" : s;
    }

    /** The kernel's counters of the interface, as the interface sees them. */
    static void kernelStats(String name, NetdevStats s) {
        s.rxPackets = stat(name, "rx_packets");
        s.txPackets = stat(name, "tx_packets");
        s.rxBytes = stat(name, "rx_bytes");
        s.txBytes = stat(name, "tx_bytes");
        s.rxErrors = stat(name, "rx_errors");
        s.txErrors = stat(name, "tx_errors");
        s.rxDropped = stat(name, "rx_dropped");
        s.txDropped = stat(name, "tx_dropped");
        s.multicast = stat(name, "multicast");
        s.collisions = stat(name, "collisions");
        s.rxLengthErrors = stat(name, "rx_length_errors");
        s.rxCrcErrors = stat(name, "rx_crc_errors");
    }

    private static long stat(String name, String counter) {
        String v = sys(name, "statistics/" + counter);
        try {
            return v == null ? 0 : Long.parseLong(v);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /**
     * OVS's netdev_linux_get_status: driver_name, driver_version and firmware_version from ETHTOOL_GDRVINFO
     * (a tap: tun, 1.6, ""); empty when the interface does not answer.
     */
    static java.util.Map<String, String> drvinfo(String name) {
        Memory info = new Memory(196); // struct ethtool_drvinfo
        if (!ethtool(name, Sys.ETHTOOL_GDRVINFO, info)) {
            return java.util.Map.of();
        }
        return java.util.Map.of("driver_name", info.getString(4, "US-ASCII"), "driver_version",
                info.getString(36, "US-ASCII"), "firmware_version", info.getString(68, "US-ASCII"));
    }

    /** SIOCETHTOOL command {@code cmd} on {@code data} (zeroed first); false when the interface does not answer. */
    private static boolean ethtool(String name, int cmd, Memory data) {
        int fd = -1;
        try {
            data.clear();
            data.setInt(0, cmd);
            fd = Sys.socket(Sys.AF_INET, Sys.SOCK_DGRAM | Sys.SOCK_CLOEXEC, 0);
            Memory req = ifreq(name);
            req.setPointer(Sys.IFNAMSIZ, data); // ifr_data
            Sys.ioctl(fd, Sys.SIOCETHTOOL, com.sun.jna.Pointer.nativeValue(req));
            return true;
        } catch (LastErrorException e) {
            return false;
        } finally {
            Sys.closeQuietly(fd);
        }
    }

    /** A link's current speed in bits per second (0: unknown) and duplex, as OVS's get_features gives them. */
    record Speed(long bps, boolean fullDuplex) {
        static final Speed UNKNOWN = new Speed(0, false);
    }

    /**
     * OVS 3.1's netdev_linux_read_features, current settings: the interface's speed and duplex from
     * ETHTOOL_GSET; {@link Speed#UNKNOWN} when the interface does not answer.
     */
    static Speed speed(String name) {
        Memory cmd = new Memory(44); // struct ethtool_cmd
        if (!ethtool(name, Sys.ETHTOOL_GSET, cmd)) {
            return Speed.UNKNOWN;
        }
        int mbps = (cmd.getShort(12) & 0xffff) | (cmd.getShort(28) & 0xffff) << 16; // speed, speed_hi
        return speed(mbps, cmd.getByte(14) & 0xff);
    }

    /**
     * ethtool's speed (Mb/s) and duplex (0 half, 1 full, 0xff unknown) as OVS 3.1 maps them to its features:
     * 10 Mb/s to 1 Gb/s half or full (anything but 0 is full), 10, 40 and 100 Gb/s and 1 Tb/s full, any
     * other speed (2.5, 25 Gb/s..., unknown) none.
     */
    static Speed speed(int mbps, int duplex) {
        return switch (mbps) {
            case 10, 100, 1000 -> new Speed(mbps * 1_000_000L, duplex != 0);
            case 10_000, 40_000, 100_000, 1_000_000 -> new Speed(mbps * 1_000_000L, true);
            default -> Speed.UNKNOWN;
        };
    }

    /** The driver of a device-backed interface (virtio_net, e1000e...); null for virtual ones. */
    static String driver(String name) {
        try {
            Path drv = Path.of("/sys/class/net", name, "device", "driver");
            if (Files.exists(drv)) {
                return drv.toRealPath().getFileName().toString();
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }

    /** One /sys/class/net/NAME/ATTR value, trimmed, or null when unreadable. */
    static String sys(String name, String attr) {
        try {
            return Files.readString(Path.of("/sys/class/net", name, attr)).trim();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
