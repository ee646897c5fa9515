package io.pvio.bench;

import com.sun.jna.Native;
import com.sun.jna.Platform;
import io.pvio.memory.NativeMemory;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Address-to-address copy of one packet (the CPU copy the DMA engine replaces): the candidates are a
 * ByteBuffer bulk put between direct buffers (bounds-checked), Unsafe.copyMemory (NativeMemory.copy)
 * and libc memcpy through a JNA direct mapping. Source and destination rotate through 4 MiB so that the
 * copies are not all served from L1.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class CopyBench {
    private static final int SPAN = 4 << 20;
    private static final int STRIDE = 2048;

    static final class LibC {
        static {
            Native.register(Platform.C_LIBRARY_NAME);
        }

        static native long memcpy(long dst, long src, long n);
    }

    @Param({"64", "512", "1518"})
    int size;

    private ByteBuffer src;
    private ByteBuffer dst;
    private long srcAddr;
    private long dstAddr;
    private int off;

    @Setup
    public void setUp() {
        src = ByteBuffer.allocateDirect(SPAN);
        dst = ByteBuffer.allocateDirect(SPAN);
        for (int i = 0; i < SPAN; i += 8) {
            src.putLong(i, i * 31L);
        }
        srcAddr = NativeMemory.address(src);
        dstAddr = NativeMemory.address(dst);
        LibC.memcpy(dstAddr, srcAddr, 64);
    }

    private int next() {
        off += STRIDE;
        if (off + STRIDE > SPAN) {
            off = 0;
        }
        return off;
    }

    @Benchmark
    public ByteBuffer byteBufferBulkPut() {
        int o = next();
        return dst.put(o, src, o, size);
    }

    @Benchmark
    public long unsafeCopyMemory() {
        int o = next();
        NativeMemory.copy(srcAddr + o, dstAddr + o, size);
        return o;
    }

    @Benchmark
    public long jnaMemcpy() {
        int o = next();
        return LibC.memcpy(dstAddr + o, srcAddr + o, size);
    }
}
