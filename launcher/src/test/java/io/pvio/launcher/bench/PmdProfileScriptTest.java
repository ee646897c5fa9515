package io.pvio.launcher.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/**
 * launcher/pmd-profile.sh --summarize on a collapsed profile written as async-profiler writes one (threads,
 * frames root first, a count per stack): only the PMD thread's samples count, each goes to the part of its
 * innermost pvio frame, and a JDK or VM frame inside is named with that pvio caller. The profiling run itself
 * (async-profiler attached to a real vswitchd) is exercised by hand, see docs/performance.md.
 */
public class PmdProfileScriptTest extends ScriptTest {
    @Test
    public void samplesGoToTheInnermostPvioFrameOfThePmdThread() throws Exception {
        Path f = dir.resolve("p.collapsed");
        Files.write(f, List.of(
                "[pmd-c01 tid=7];java/lang/Thread.run;io/pvio/dpif/netdev/PmdThread.run;"
                        + "io/pvio/dpif/netdev/flow/FlowTable.rank 30",
                "[pmd-c01 tid=7];java/lang/Thread.run;io/pvio/dpif/netdev/PmdThread.run;"
                        + "io/pvio/vhost/ring/CpuCopySink.fromGuest;jdk/internal/misc/Unsafe.copyMemory;"
                        + "jlong_disjoint_arraycopy 50",
                "[pmd-c01 tid=7];java/lang/Thread.run;io/pvio/dpif/netdev/PmdThread.run;"
                        + "io/pvio/vhost/ring/Virtqueue.dequeue;io/pvio/vhost/ring/InterpretedFaultFence.deliver;"
                        + "InterpreterRuntime::ldc 15",
                "[pmd-c01 tid=7];[unknown];__vdso_clock_gettime 5",
                "[C2 CompilerThre tid=9];C2Compiler::compile_method 400",
                "[main tid=1];java/lang/Thread.run;io/pvio/launcher/Main.main 100"));
        Run r = summarize(f, "--top", "3");
        assertEquals(r.out() + r.err(), 0, r.exit());
        String o = r.out();
        String t = o.replaceAll(" +", " ");
        assertTrue(o, t.contains("part of pvio (PMD thread, 100 samples) share\n"
                + "vhost: frame copies 50.0%\n"
                + "datapath: flow lookup and counters 30.0%\n"
                + "vhost: guest-memory fault fence 15.0%\n"
                + "JVM, kernel and other (no pvio frame) 5.0%\n"));
        assertTrue(o, t.contains("innermost frame (<- its innermost pvio caller)\n"
                + " 50.0% jlong_disjoint_arraycopy <- io/pvio/vhost/ring/CpuCopySink.fromGuest\n"
                + " 30.0% io/pvio/dpif/netdev/flow/FlowTable.rank\n"
                + " 15.0% InterpreterRuntime::ldc <- io/pvio/vhost/ring/InterpretedFaultFence.deliver\n"));
        assertFalse(o, o.contains("clock_gettime")); // beyond --top 3
    }

    @Test
    public void aProfileWithoutThePmdThreadIsAnError() throws Exception {
        Path f = dir.resolve("q.collapsed");
        Files.write(f, List.of("[main tid=1];java/lang/Thread.run;io/pvio/launcher/Main.main 100"));
        Run r = summarize(f);
        assertEquals(1, r.exit());
        assertTrue(r.err(), r.err().contains("no samples of a pmd thread"));
    }

    /**
     * The profiled round's vswitchd records debug info at every instruction: the variant handed to bench-ab.sh
     * carries -XX:+DebugNonSafepoints after the user's options (a stand-in bench-ab.sh records its arguments;
     * no vswitchd starts, so the script stops with its error).
     */
    @Test
    public void theProfiledJvmKeepsDebugInfoAtEveryInstruction() throws Exception {
        Path copy = dir.resolve("pmd-profile.sh");
        Files.copy(Path.of("pmd-profile.sh"), copy);
        Path args = dir.resolve("ab-args");
        Path ab = Files.writeString(dir.resolve("bench-ab.sh"), "printf '%s\\n' \"$@\" > '" + args + "'\n");
        assertTrue(ab.toFile().setExecutable(true));
        Path jar = Files.createFile(dir.resolve("x.jar"));
        Path lib = Files.createFile(dir.resolve("libasyncProfiler.so"));
        Map<String, String> env = Map.of("ASYNC_PROFILER_LIB", lib.toString());

        Run r = script(copy.toString(), 60, List.of("--seconds", "4", jar + "@FLOWS=100000"), env);
        assertEquals(r.out() + r.err(), 2, r.exit());
        assertTrue(r.err(), r.err().contains("vswitchd did not start"));
        List<String> a = Files.readAllLines(args);
        assertEquals(a.toString(), jar + "@FLOWS=100000~-XX:+UnlockDiagnosticVMOptions~-XX:+DebugNonSafepoints",
                a.get(a.size() - 1));
        assertTrue(a.toString(), a.containsAll(List.of("--rounds", "1", "--seconds", "4")));

        script(copy.toString(), 60, List.of(jar.toString()), env);
        a = Files.readAllLines(args);
        assertEquals(jar + "@-XX:+UnlockDiagnosticVMOptions~-XX:+DebugNonSafepoints", a.get(a.size() - 1));
    }

    private Run summarize(Path profile, String... more) throws Exception {
        List<String> a = new ArrayList<>(List.of("--summarize", profile.toString()));
        a.addAll(List.of(more));
        return script("pmd-profile.sh", 30, a);
    }
}
