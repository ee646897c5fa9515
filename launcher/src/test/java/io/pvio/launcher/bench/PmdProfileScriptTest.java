package io.pvio.launcher.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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

    private Run summarize(Path profile, String... more) throws Exception {
        List<String> a = new ArrayList<>(List.of("--summarize", profile.toString()));
        a.addAll(List.of(more));
        return script("pmd-profile.sh", 30, a);
    }
}
