package io.pvio.dma.spi;

import com.sun.jna.Native;
import io.pvio.memory.NativeMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A memfd mapped twice (MAP_SHARED): engines copy between addresses of the first mapping, the test checks
 * the bytes through the second, as a guest sees what a DMA engine wrote into its memory.
 */
public final class MemfdPair implements AutoCloseable {
    private static final class Libc {
        static {
            Native.register("c");
        }

        static native int memfd_create(String name, int flags);

        static native int close(int fd);
    }

    private final int fd;
    private final FileChannel channel;
    /** The mapping the engines use. */
    public final MappedByteBuffer a;
    /** The second mapping, for checks. */
    public final MappedByteBuffer b;
    public final long aAddress;

    public MemfdPair(String name, int size) throws IOException {
        fd = Libc.memfd_create(name, 0);
        if (fd < 0) {
            throw new IOException("memfd_create failed: errno " + Native.getLastError());
        }
        channel = FileChannel.open(Path.of("/proc/self/fd/" + fd), StandardOpenOption.READ, StandardOpenOption.WRITE);
        channel.truncate(0);
        channel.write(ByteBuffer.allocate(size));
        a = channel.map(FileChannel.MapMode.READ_WRITE, 0, size);
        b = channel.map(FileChannel.MapMode.READ_WRITE, 0, size);
        aAddress = NativeMemory.address(a);
        if (aAddress == NativeMemory.address(b)) {
            throw new IOException("the two mappings share an address");
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
        Libc.close(fd);
    }
}
