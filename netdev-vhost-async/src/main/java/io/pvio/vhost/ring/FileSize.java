package io.pvio.vhost.ring;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import io.pvio.posix.PosixException;

/**
 * fstat(2)'s st_size, which the posix bundle does not offer yet: a region must lie inside its file, or
 * touching the part of the mapping past the end raises SIGBUS (which no bounds check catches).
 * Linux LP64 (x86_64 and aarch64 both keep st_size at offset 48 of struct stat).
 */
final class FileSize {
    private static final int ST_SIZE_OFFSET = 48;
    private static final int STAT_SIZE = 256;

    static {
        Native.register(Platform.C_LIBRARY_NAME);
    }

    private FileSize() {
    }

    private static native int fstat(int fd, Pointer buf) throws LastErrorException;

    /** Size in bytes of the file behind {@code fd}. */
    static long of(int fd) throws PosixException {
        Memory st = new Memory(STAT_SIZE);
        st.clear();
        try {
            fstat(fd, st);
        } catch (LastErrorException e) {
            throw new PosixException("fstat(" + fd + ")", e.getErrorCode());
        }
        return st.getLong(ST_SIZE_OFFSET);
    }
}
