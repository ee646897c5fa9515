package io.pvio.launcher.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The switch a bench case builds. br0 is pvio's side (generator or sink pktgen, dpdkvhostuser ports), br1
 * is the "guest": the Java virtio-user front end, with its own pktgen. Two PMD threads (pmd-cpu-mask=0x3):
 * dpif-netdev assigns rx queues round-robin over the ports sorted by name, so the names carry a letter
 * prefix that puts every back-end rx queue on PMD core 0 and every front-end rx queue on PMD core 1.
 *
 * <pre>
 * enqueue  a-gen -> c-vhu ==vhost-user==> b-fe -> d-sink
 * dequeue  b-gen -> d-fe  ==vhost-user==> a-vhu -> c-sink
 * pvp      a-gen -> e-vhu0 ==> b-fe0 -> d-fe1 ==> c-vhu1 -> f-sink   (the guest forwards fe0 -> fe1)
 * </pre>
 */
final class Scenario {
    /** One port: which bridge, type, options, OpenFlow number, and which PMD core its rx queue is meant for. */
    record Port(String name, String bridge, String type, Map<String, String> options, int ofport, int core) {
    }

    final String direction;
    final List<Port> ports = new ArrayList<>();
    final Map<String, List<String>> flows = new LinkedHashMap<>();
    /** The vhost ports and, per port, the async attribute (queue and channel) used in the async modes. */
    final Map<String, String> asyncAttr = new LinkedHashMap<>();
    String gen;
    String sink;

    private static Map<String, String> fe(String path, BenchOptions o) {
        return Map.of("path", path, "queue_size", Integer.toString(o.queueSize));
    }

    private Scenario(String direction) {
        this.direction = direction;
    }

    /** One case: the generator shaped by {@code o}'s rate, burst and payload; front-end rings by its queue size. */
    static Scenario of(String direction, int size, BenchOptions o) {
        double rateMpps = o.rateMpps;
        Scenario s = new Scenario(direction);
        Map<String, String> genOpts = new LinkedHashMap<>();
        genOpts.put("size", Integer.toString(size));
        genOpts.put("enabled", "false");
        genOpts.put("payload", o.payload.equals("pattern") ? "pattern" : "none");
        if (rateMpps > 0) {
            genOpts.put("rate", Long.toString(Math.round(rateMpps * 1e6)));
            genOpts.put("burst", Integer.toString(o.burst));
        }
        Map<String, String> sinkOpts = Map.of("enabled", "false", "read_payload",
                Boolean.toString(o.payload.equals("read")));
        switch (direction) {
            case "enqueue" -> {
                s.port("a-gen", "br0", "pktgen", genOpts, 1, 0);
                s.port("b-fe", "br1", "virtio-user", fe("c-vhu", o), 1, 1);
                s.port("c-vhu", "br0", "dpdkvhostuser", Map.of(), 2, 0);
                s.port("d-sink", "br1", "pktgen", sinkOpts, 2, 1);
                s.flow("br0", "in_port=1,actions=output:2");
                s.flow("br1", "in_port=1,actions=output:2");
                s.asyncAttr.put("c-vhu", "(txq0,00:04.0,256)");
                s.gen = "a-gen";
                s.sink = "d-sink";
            }
            case "dequeue" -> {
                s.port("a-vhu", "br0", "dpdkvhostuser", Map.of(), 1, 0);
                s.port("b-gen", "br1", "pktgen", genOpts, 1, 1);
                s.port("c-sink", "br0", "pktgen", sinkOpts, 2, 0);
                s.port("d-fe", "br1", "virtio-user", fe("a-vhu", o), 2, 1);
                s.flow("br1", "in_port=1,actions=output:2");
                s.flow("br0", "in_port=1,actions=output:2");
                s.asyncAttr.put("a-vhu", "(rxq0,00:04.0,256)");
                s.gen = "b-gen";
                s.sink = "c-sink";
            }
            case "pvp" -> {
                s.port("a-gen", "br0", "pktgen", genOpts, 1, 0);
                s.port("b-fe0", "br1", "virtio-user", fe("e-vhu0", o), 1, 1);
                s.port("c-vhu1", "br0", "dpdkvhostuser", Map.of(), 3, 0);
                s.port("d-fe1", "br1", "virtio-user", fe("c-vhu1", o), 2, 1);
                s.port("e-vhu0", "br0", "dpdkvhostuser", Map.of(), 2, 0);
                s.port("f-sink", "br0", "pktgen", sinkOpts, 4, 1);
                s.flow("br0", "in_port=1,actions=output:2");
                s.flow("br0", "in_port=3,actions=output:4");
                s.flow("br1", "in_port=1,actions=output:2");
                s.asyncAttr.put("e-vhu0", "(txq0,00:04.0,256)");
                s.asyncAttr.put("c-vhu1", "(rxq0,00:04.1,256)");
                s.gen = "a-gen";
                s.sink = "f-sink";
            }
            default -> throw new IllegalArgumentException("unknown direction " + direction);
        }
        // idle pairs after the case's ports (names sort after them), alternating so that every idle back end
        // lands on core 0 with the busy one and every idle front end on core 1
        int of = 100;
        for (int i = 0; i < o.idlePorts; i++) {
            String vhu = String.format("i%03da-vhu", i);
            s.port(vhu, "br0", "dpdkvhostuser", Map.of(), of++, 0);
            s.port(String.format("i%03db-fe", i), "br1", "virtio-user", fe(vhu, o), of++, 1);
            s.asyncAttr.put(vhu, String.format("(txq0,00:04.%d,256)", i % 8));
        }
        return s;
    }

    private void port(String name, String bridge, String type, Map<String, String> options, int ofport, int core) {
        ports.add(new Port(name, bridge, type, options, ofport, core));
    }

    private void flow(String bridge, String flow) {
        flows.computeIfAbsent(bridge, b -> new ArrayList<>()).add(flow);
    }

    /** The vsctl words of one transaction that adds every port (async attributes when {@code async}). */
    List<String> addPorts(boolean async) {
        List<String> argv = new ArrayList<>(List.of("vsctl"));
        for (Port p : ports) {
            if (argv.size() > 1) {
                argv.add("--");
            }
            argv.addAll(List.of("add-port", p.bridge(), p.name(), "--", "set", "Interface", p.name(),
                    "type=" + p.type(), "ofport_request=" + p.ofport()));
            for (Map.Entry<String, String> e : p.options().entrySet()) {
                argv.add("options:" + e.getKey() + "=" + e.getValue());
            }
            if (async && asyncAttr.containsKey(p.name())) {
                argv.add("options:vhost-async-attr=\"" + asyncAttr.get(p.name()) + "\"");
            }
        }
        return argv;
    }

    List<String> vhostPorts() {
        return new ArrayList<>(asyncAttr.keySet());
    }
}
