package io.pvio.posix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

/** Direct-mapped libc calls. Every call that can fail throws LastErrorException carrying errno. */
final class LibC {
    static final int AF_UNIX = 1;
    static final int SOCK_STREAM = 1;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int SOL_SOCKET = 1;
    static final int SCM_RIGHTS = 1;
    static final int MSG_NOSIGNAL = 0x4000;
    static final int MSG_CTRUNC = 0x8;
    static final int MSG_CMSG_CLOEXEC = 0x40000000;
    static final int MSG_DONTWAIT = 0x40;
    static final int SHUT_RDWR = 2;
    static final int EFD_CLOEXEC = 0x80000;
    static final int EFD_NONBLOCK = 0x800;
    static final int MFD_CLOEXEC = 1;
    static final int PROT_READ = 1;
    static final int PROT_WRITE = 2;
    static final int MAP_SHARED = 1;
    static final short POLLIN = 1;
    static final short POLLERR = 8;
    static final short POLLHUP = 16;
    static final short POLLNVAL = 32;
    static final short POLLOUT = 4;
    static final int F_GETFL = 3;
    static final int F_SETFL = 4;
    static final int F_ADD_SEALS = 1033;
    static final int F_GET_SEALS = 1034;
    static final int F_SEAL_SEAL = 1;
    static final int F_SEAL_SHRINK = 2;
    static final int F_SEAL_GROW = 4;
    static final int MFD_ALLOW_SEALING = 2;
    static final int O_NONBLOCK = 0x800;
    static final int SO_SNDTIMEO = 21;
    static final int EINTR = 4;
    static final int EAGAIN = 11;
    static final int EBADF = 9;
    static final int ENOENT = 2;
    static final int ECONNREFUSED = 111;
    static final int SOCK_NONBLOCK = 0x800;

    static {
        Native.register(Platform.C_LIBRARY_NAME);
    }

    private LibC() {
    }

    static native int socket(int domain, int type, int protocol) throws LastErrorException;

    static native int bind(int fd, Pointer addr, int len) throws LastErrorException;

    static native int listen(int fd, int backlog) throws LastErrorException;

    static native int accept4(int fd, Pointer addr, Pointer len, int flags) throws LastErrorException;

    static native int connect(int fd, Pointer addr, int len) throws LastErrorException;

    static native long sendmsg(int fd, Pointer msg, int flags) throws LastErrorException;

    static native long recvmsg(int fd, Pointer msg, int flags) throws LastErrorException;

    static native int shutdown(int fd, int how) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    static native long read(int fd, Pointer buf, long count) throws LastErrorException;

    static native long write(int fd, Pointer buf, long count) throws LastErrorException;

    static native int eventfd(int initval, int flags) throws LastErrorException;

    static native int memfd_create(String name, int flags) throws LastErrorException;

    static native int ftruncate(int fd, long length) throws LastErrorException;

    static native Pointer mmap(Pointer addr, long length, int prot, int flags, int fd, long offset)
            throws LastErrorException;

    static native int munmap(Pointer addr, long length) throws LastErrorException;

    static native int poll(Pointer fds, long nfds, int timeout) throws LastErrorException;

    static native int sched_setaffinity(int pid, long size, Pointer mask) throws LastErrorException;

    static native int fcntl(int fd, int cmd, long arg) throws LastErrorException;

    static native int dup(int fd) throws LastErrorException;

    static native int fstat(int fd, Pointer buf) throws LastErrorException;

    static native String strerror(int errnum);
}
