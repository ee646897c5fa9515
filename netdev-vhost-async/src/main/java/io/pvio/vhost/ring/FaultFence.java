package io.pvio.vhost.ring;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Makes HotSpot 17 raise, at a chosen point and without allocating, a fault (SIGBUS) that an earlier access
 * of this thread to a guest mapping left pending (see {@link GuestMemory#deliverPendingFault()}).
 *
 * <p>HotSpot records such a fault as the thread's async condition {@code _async_unsafe_access_error}
 * ({@code JavaThread::set_pending_unsafe_access_error}, which arms nothing) and raises it only where it
 * returns from the VM to Java with asynchronous checks: {@code ~ThreadInVMfromJava} of a {@code JRT_ENTRY}
 * or {@code JRT_BLOCK} runtime call, a safepoint poll that a safepoint or handshake armed, a Java call made
 * by the VM ({@code JavaCallWrapper}). Not on the way back from a native method ({@code
 * check_special_condition_for_native_trans} skips unsafe-access errors): {@code Thread.yield}, {@code
 * LockSupport.park}, {@code Object.hashCode} and every {@code JVM_} native raise nothing. Compiled code
 * reaches such a runtime call only to allocate (the multi-dimensional array allocation, 16 B) or on a path
 * that allocates an exception or deoptimizes (monitor enter is {@code JRT_BLOCK_NO_ASYNC}, monitor exit a
 * leaf, notify of an owned monitor returns before its transition). The template interpreter does: its
 * {@code ldc} of a class constant always calls {@code InterpreterRuntime::ldc}, a {@code JRT_ENTRY} that
 * only loads the class's mirror. So the fence is a static method of a class generated here whose code is
 * longer than {@code HugeMethodLimit} (8000 bytes): HotSpot never compiles (nor inlines) it while
 * {@code DontCompileHugeMethods} is on and tiered compilation too (the defaults), and its {@code ldc} of its
 * own class runs in the interpreter on every call. Otherwise (see {@link #hugeMethodsCompiled}), if the class
 * cannot be defined, or with {@code -Dpvio.vhost.faultFence=allocating} (to compare), the allocating fence is
 * used instead.
 */
final class FaultFence {
    private static final Logger LOG = Logger.getLogger("netdev_dpdk");
    /** The generated class's method, or null when the allocating fence is used. */
    private static final MethodHandle INTERPRETED = interpretedFence();
    /** Read by the allocating fence; not final, so that the JIT cannot fold the allocation away. */
    private static int zero;

    private FaultFence() {
    }

    /** Raises here, as InternalError, a fault this thread's earlier guest-memory access left pending. */
    static void deliver() {
        if (INTERPRETED == null) {
            Object[][] probe = new Object[zero][zero]; // a runtime call (multianewarray2_C) that allocates 16 B
            if (probe.length != 0) {
                throw new AssertionError();
            }
            return;
        }
        try {
            INTERPRETED.invokeExact();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** True when the allocation-free (interpreted) fence is in use. */
    static boolean interpreted() {
        return INTERPRETED != null;
    }

    /** Bytes of the generated method's code: above HotSpot's HugeMethodLimit (8000). */
    static final int CODE_LENGTH = 8192;

    private static MethodHandle interpretedFence() {
        if ("allocating".equals(System.getProperty("pvio.vhost.faultFence"))) {
            LOG.info("-Dpvio.vhost.faultFence=allocating: the guest-memory fault fence allocates 16 B per call");
            return null;
        }
        if (hugeMethodsCompiled()) {
            LOG.info("the JVM compiles huge methods (-XX:-DontCompileHugeMethods, -XX:-TieredCompilation or"
                    + " -XX:CompilationMode=high-only): the guest-memory fault fence allocates 16 B per call");
            return null;
        }
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            Class<?> c = lookup.defineClass(classFile(FaultFence.class.getPackageName().replace('.', '/')
                    + "/InterpretedFaultFence"));
            lookup.ensureInitialized(c); // a direct handle then, without a class-initialization check per call
            return lookup.findStatic(c, "deliver", MethodType.methodType(void.class));
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            LOG.log(Level.WARNING, "cannot define the interpreted guest-memory fault fence (" + e
                    + "): it allocates 16 bytes per call", e);
            return null;
        }
    }

    /**
     * The JVM's options let HotSpot 17 compile methods above HugeMethodLimit: {@code -XX:-DontCompileHugeMethods},
     * or no intermediate tiers ({@code -XX:-TieredCompilation}, {@code -XX:CompilationMode=high-only...}):
     * {@code CompilationPolicy::compile} checks {@code can_be_compiled} only when they are enabled.
     * The last occurrence of an option counts.
     */
    static boolean hugeMethodsCompiled() {
        boolean dontCompileHuge = true;
        boolean tiered = true;
        boolean highOnly = false;
        try {
            List<String> args = ManagementFactory.getRuntimeMXBean().getInputArguments();
            for (String a : args) {
                if (a.equals("-XX:-DontCompileHugeMethods") || a.equals("-XX:+DontCompileHugeMethods")) {
                    dontCompileHuge = a.charAt(4) == '+';
                } else if (a.equals("-XX:-TieredCompilation") || a.equals("-XX:+TieredCompilation")) {
                    tiered = a.charAt(4) == '+';
                } else if (a.startsWith("-XX:CompilationMode=")) {
                    highOnly = a.startsWith("-XX:CompilationMode=high-only");
                }
            }
        } catch (RuntimeException | LinkageError e) { // no management: the defaults hold
            LOG.log(Level.FINE, "cannot read the JVM's options", e);
        }
        return !dontCompileHuge || !tiered || highOnly;
    }

    /**
     * A class file (version 52) of {@code final class <name> { static void deliver() }} whose code is
     * {@code ldc <name>; pop; return}, then nops up to {@link #CODE_LENGTH} bytes (never reached: a
     * StackMapTable frame opens them) and a last {@code return}.
     */
    static byte[] classFile(String name) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(CODE_LENGTH + 256);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(0xCAFEBABE);
            out.writeShort(0); // minor
            out.writeShort(52); // major: Java 8 (StackMapTable required)
            out.writeShort(9); // constant pool count: entries 1..8
            out.writeByte(1); // #1 Utf8 this class's name
            out.writeUTF(name);
            out.writeByte(7); // #2 Class #1
            out.writeShort(1);
            out.writeByte(1); // #3 Utf8
            out.writeUTF("java/lang/Object");
            out.writeByte(7); // #4 Class #3
            out.writeShort(3);
            out.writeByte(1); // #5
            out.writeUTF("deliver");
            out.writeByte(1); // #6
            out.writeUTF("()V");
            out.writeByte(1); // #7
            out.writeUTF("Code");
            out.writeByte(1); // #8
            out.writeUTF("StackMapTable");
            out.writeShort(0x0010 | 0x0020); // ACC_FINAL | ACC_SUPER
            out.writeShort(2); // this_class
            out.writeShort(4); // super_class
            out.writeShort(0); // interfaces
            out.writeShort(0); // fields
            out.writeShort(1); // methods
            out.writeShort(0x0008); // ACC_STATIC
            out.writeShort(5); // name
            out.writeShort(6); // descriptor
            out.writeShort(1); // attributes: Code
            out.writeShort(7);
            int stackMapTable = 2 + 4 + 2 + 1; // name, length, number_of_entries, one same_frame
            out.writeInt(2 + 2 + 4 + CODE_LENGTH + 2 + 2 + stackMapTable);
            out.writeShort(1); // max_stack
            out.writeShort(0); // max_locals
            out.writeInt(CODE_LENGTH);
            out.writeByte(0x12); // ldc #2: the interpreter calls InterpreterRuntime::ldc for a class constant
            out.writeByte(2);
            out.writeByte(0x57); // pop
            out.writeByte(0xb1); // return
            for (int i = 4; i < CODE_LENGTH - 1; i++) {
                out.writeByte(0x00); // nop
            }
            out.writeByte(0xb1); // return
            out.writeShort(0); // exception table
            out.writeShort(1); // attributes: StackMapTable
            out.writeShort(8);
            out.writeInt(stackMapTable - 6);
            out.writeShort(1); // number_of_entries
            out.writeByte(4); // same_frame at offset 4, after the return
            out.writeShort(0); // class attributes
        } catch (IOException e) {
            throw new AssertionError(e); // in memory
        }
        return bytes.toByteArray();
    }
}
