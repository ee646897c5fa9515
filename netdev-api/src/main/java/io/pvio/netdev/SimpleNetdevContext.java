package io.pvio.netdev;

import io.pvio.packet.PacketPool;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * A fixed {@link NetdevContext} for running a netdev class outside a datapath (tools, benchmarks, tests):
 * one pool, one run directory, no {@code other_config}, one PMD; {@link #changed()} runs the given action.
 */
public class SimpleNetdevContext implements NetdevContext {
    private final PacketPool pool;
    private final Path runDir;
    private final Runnable onChange;

    public SimpleNetdevContext(PacketPool pool, Path runDir, Runnable onChange) {
        this.pool = Objects.requireNonNull(pool, "pool");
        this.runDir = Objects.requireNonNull(runDir, "runDir");
        this.onChange = Objects.requireNonNull(onChange, "onChange");
    }

    @Override
    public PacketPool pool() {
        return pool;
    }

    @Override
    public Path runDir() {
        return runDir;
    }

    @Override
    public Map<String, String> otherConfig() {
        return Map.of();
    }

    @Override
    public int pmdCount() {
        return 1;
    }

    @Override
    public void changed() {
        onChange.run();
    }
}
