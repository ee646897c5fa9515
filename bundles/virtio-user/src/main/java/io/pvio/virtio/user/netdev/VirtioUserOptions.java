package io.pvio.virtio.user.netdev;

import io.pvio.netdev.NetdevException;
import io.pvio.virtio.user.TxShape;
import io.pvio.virtio.user.VirtioUserConfig;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * Options of a {@code virtio-user} port: {@code path} (required; relative paths are in the run directory),
 * {@code server} (false: connect to a listening back end), {@code queues} (queue pairs, 1),
 * {@code queue_size} (256), {@code mrg_rxbuf} (true), {@code rx_buf_size}, {@code mem_size} (64M; k/M/G
 * suffixes), {@code tx_shape} (push|chain|split|indirect), {@code event_idx} (true), {@code packed} (false:
 * split virtqueues; true: packed, as DPDK's {@code packed_vq=1}).
 */
final class VirtioUserOptions {
    static final Set<String> KNOWN = Set.of("path", "server", "queues", "queue_size", "mrg_rxbuf", "rx_buf_size",
            "mem_size", "tx_shape", "event_idx", "packed");

    private VirtioUserOptions() {
    }

    static VirtioUserConfig parse(String port, Map<String, String> o, Path runDir) throws NetdevException {
        for (String k : o.keySet()) {
            if (!KNOWN.contains(k)) {
                throw new NetdevException(port + ": unknown option '" + k + "' (known: path, server, queues, "
                        + "queue_size, mrg_rxbuf, rx_buf_size, mem_size, tx_shape, event_idx, packed)");
            }
        }
        String path = o.get("path");
        if (path == null || path.isBlank()) {
            throw new NetdevException(port + ": option 'path' (the vhost-user socket) is required");
        }
        Path p = Path.of(path);
        if (!p.isAbsolute() && runDir != null) {
            p = runDir.resolve(p);
        }
        VirtioUserConfig c = new VirtioUserConfig(p).name(port).connectTimeoutMs(0).reconnect(true)
                .sealMemory(true); // as QEMU's memfd guest memory: the back end needs no fault fence per burst
        c.server(bool(port, o, "server", false));
        c.queuePairs(integer(port, o, "queues", 1));
        c.queueSize(integer(port, o, "queue_size", 256));
        c.mrgRxbuf(bool(port, o, "mrg_rxbuf", true));
        c.eventIdx(bool(port, o, "event_idx", true));
        c.packed(bool(port, o, "packed", false));
        if (o.containsKey("rx_buf_size")) {
            c.rxBufSize(integer(port, o, "rx_buf_size", 2048));
        }
        if (o.containsKey("mem_size")) {
            c.memSize(size(port, o.get("mem_size")));
        }
        if (o.containsKey("tx_shape")) {
            TxShape s = TxShape.parse(o.get("tx_shape"));
            if (s == null) {
                throw new NetdevException(port + ": tx_shape must be push, chain, split or indirect, not '"
                        + o.get("tx_shape") + "'");
            }
            c.txShape(s);
        }
        try {
            c.validate();
        } catch (IllegalArgumentException e) {
            throw new NetdevException(port + ": " + e.getMessage());
        }
        return c;
    }

    private static boolean bool(String port, Map<String, String> o, String k, boolean def) throws NetdevException {
        String v = o.get(k);
        if (v == null) {
            return def;
        }
        if (v.equals("true")) {
            return true;
        }
        if (v.equals("false")) {
            return false;
        }
        throw new NetdevException(port + ": option '" + k + "' must be true or false, not '" + v + "'");
    }

    private static int integer(String port, Map<String, String> o, String k, int def) throws NetdevException {
        String v = o.get(k);
        if (v == null) {
            return def;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new NetdevException(port + ": option '" + k + "' must be an integer, not '" + v + "'");
        }
    }

    private static long size(String port, String v) throws NetdevException {
        String t = v.trim();
        long mult = 1;
        char last = t.isEmpty() ? ' ' : Character.toUpperCase(t.charAt(t.length() - 1));
        if (last == 'K' || last == 'M' || last == 'G') {
            mult = last == 'K' ? 1L << 10 : last == 'M' ? 1L << 20 : 1L << 30;
            t = t.substring(0, t.length() - 1);
        }
        try {
            return Math.multiplyExact(Long.parseLong(t), mult);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new NetdevException(port + ": option 'mem_size' must be a size such as 64M, not '" + v + "'");
        }
    }
}
