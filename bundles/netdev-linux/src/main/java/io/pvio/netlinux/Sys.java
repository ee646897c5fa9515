package io.pvio.netlinux;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Platform;

/**
 * The Linux calls of this bundle, direct-mapped through JNA. Pointers are passed as {@code long} addresses
 * of memory this bundle owns (mmap'd rings, packet buffers, scratch buffers): no per-call allocation. The
 * data-path calls (read, write, sendto) do not throw; their errno is {@link Native#getLastError()}.
 */
final class Sys {
    static final int AF_INET = 2;
    static final int AF_PACKET = 17;
    static final int SOCK_DGRAM = 2;
    static final int SOCK_RAW = 3;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int SOCK_NONBLOCK = 0x800;
    static final int ETH_P_ALL = 0x0003;
    static final int SOL_PACKET = 263;
    static final int PACKET_ADD_MEMBERSHIP = 1;
    static final int PACKET_RX_RING = 5;
    static final int PACKET_STATISTICS = 6;
    static final int PACKET_VERSION = 10;
    static final int PACKET_TX_RING = 13;
    static final int PACKET_QDISC_BYPASS = 20;
    static final int PACKET_IGNORE_OUTGOING = 23;
    static final int PACKET_MR_PROMISC = 1;
    static final int TPACKET_V2 = 1;
    static final int TPACKET_V3 = 2;
    static final int PROT_READ = 1;
    static final int PROT_WRITE = 2;
    static final int MAP_SHARED = 1;
    static final int MAP_LOCKED = 0x2000;
    static final int MSG_DONTWAIT = 0x40;
    static final int O_RDWR = 2;
    static final int O_NONBLOCK = 0x800;
    static final int O_CLOEXEC = 0x80000;
    static final long TUNSETIFF = 0x400454caL;
    static final long SIOCGIFFLAGS = 0x8913;
    static final long SIOCSIFFLAGS = 0x8914;
    static final long SIOCGIFMTU = 0x8921;
    static final long SIOCGIFHWADDR = 0x8927;
    static final long SIOCSIFHWADDR = 0x8924;
    static final long SIOCETHTOOL = 0x8946;
    static final int ETHTOOL_GSET = 0x1;
    static final int ETHTOOL_GDRVINFO = 0x3;
    static final short ARPHRD_ETHER = 1;
    static final short IFF_UP = 0x1;
    static final short IFF_TAP = 0x0002;
    static final short IFF_NO_PI = 0x1000;
    static final int EINTR = 4;
    static final int EAGAIN = 11;
    static final int ENOBUFS = 105;
    static final int IFNAMSIZ = 16;
    static final int IFREQ_SIZE = 40;

    static {
        if (!Platform.isLinux()) {
            throw new UnsupportedOperationException("netdev-linux needs Linux");
        }
        Native.register(Sys.class, Platform.C_LIBRARY_NAME);
    }

    private Sys() {
    }

    static native int socket(int domain, int type, int protocol) throws LastErrorException;

    static native int setsockopt(int fd, int level, int name, long value, int len) throws LastErrorException;

    static native int getsockopt(int fd, int level, int name, long value, long lenAddr) throws LastErrorException;

    static native int bind(int fd, long addr, int len) throws LastErrorException;

    static native int ioctl(int fd, long request, long arg) throws LastErrorException;

    static native long mmap(long addr, long length, int prot, int flags, int fd, long offset) throws LastErrorException;

    static native int munmap(long addr, long length) throws LastErrorException;

    static native int open(String path, int flags) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    static native int if_nametoindex(String name);

    static native String strerror(int errnum);

    // data path: no exceptions, errno through Native.getLastError()
    static native long sendto(int fd, long buf, long len, int flags, long addr, int addrLen);

    static native long read(int fd, long buf, long count);

    static native long write(int fd, long buf, long count);

    /** "strerror (errno)" of a failed call. */
    static String err(LastErrorException e) {
        return strerror(e.getErrorCode());
    }

    static void closeQuietly(int fd) {
        if (fd >= 0) {
            try {
                close(fd);
            } catch (LastErrorException e) {
                // nothing to do: the descriptor is gone either way
            }
        }
    }
}
