package io.pvio.control.apply;

import io.pvio.dpif.Dpif;
import io.pvio.dpif.DpifException;
import io.pvio.dpif.PortInfo;
import io.pvio.packet.PacketPool;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** A datapath that records its state and refuses ports whose options contain bad=... */
public class FakeDpif implements Dpif {
    public final Map<String, String> otherConfig = new TreeMap<>();
    public final TreeSet<String> bridges = new TreeSet<>();
    /** port name → "bridge type options" */
    public final TreeMap<String, String> ports = new TreeMap<>();
    public final Map<String, List<String>> flows = new TreeMap<>();
    public final List<String> calls = new ArrayList<>();
    /** port name → its ofport (one number space per bridge, as in dpif-netdev) */
    public final Map<String, Integer> ofports = new TreeMap<>();
    /** port name → its options, as given */
    public final Map<String, Map<String, String>> options = new TreeMap<>();
    /** Types with no netdev class: their ports wait, as DpifNetdev's do. */
    public final Set<String> absentTypes = new TreeSet<>();

    @Override
    public PacketPool pool() {
        return null;
    }

    @Override
    public Map<String, String> otherConfig() {
        return otherConfig;
    }

    @Override
    public void setOtherConfig(Map<String, String> oc) throws DpifException {
        calls.add("setOtherConfig " + oc);
        if (oc.containsKey("bad")) {
            throw new DpifException("bad other_config");
        }
        otherConfig.clear();
        otherConfig.putAll(oc);
    }

    @Override
    public Set<String> bridges() {
        return bridges;
    }

    @Override
    public void addBridge(String name) throws DpifException {
        calls.add("addBridge " + name);
        if (!bridges.add(name)) {
            throw new DpifException("bridge " + name + " exists");
        }
        flows.put(name, new ArrayList<>(List.of("priority=0,actions=normal")));
    }

    @Override
    public void delBridge(String name) throws DpifException {
        calls.add("delBridge " + name);
        if (!bridges.remove(name)) {
            throw new DpifException("no bridge " + name);
        }
        ports.entrySet().removeIf(e -> {
            boolean gone = e.getValue().startsWith(name + " ");
            if (gone) {
                ofports.remove(e.getKey());
                options.remove(e.getKey());
                affinities.remove(e.getKey());
            }
            return gone;
        });
        flows.remove(name);
    }

    @Override
    public void addPort(String bridge, String port, String type, Map<String, String> options, int ofport)
            throws DpifException {
        calls.add("addPort " + port);
        if (options.containsKey("bad")) {
            throw new DpifException(port + ": unknown option 'bad'");
        }
        if (!bridges.contains(bridge) || ports.containsKey(port)) {
            throw new DpifException("cannot add " + port);
        }
        int n = port.equals(bridge) ? 65534 : ofport; // the local port is OFPP_LOCAL, as in dpif-netdev
        java.util.Set<Integer> used = new java.util.HashSet<>();
        ports(bridge).forEach(p -> used.add(p.ofport()));
        if (n > 0 && used.contains(n)) {
            throw new DpifException("ofport " + n + " is already used");
        }
        if (n < 1) {
            n = 1;
            while (used.contains(n)) {
                n++;
            }
        }
        ofports.put(port, n);
        this.options.put(port, Map.copyOf(options));
        ports.put(port, bridge + " " + type + " " + new TreeMap<>(options));
    }

    @Override
    public void delPort(String port) throws DpifException {
        calls.add("delPort " + port);
        if (ports.remove(port) == null) {
            throw new DpifException("no port " + port);
        }
        ofports.remove(port);
        options.remove(port);
        affinities.remove(port);
    }

    @Override
    public void setInterface(String port, String type, Map<String, String> options) throws DpifException {
        calls.add("setInterface " + port);
        if (options.containsKey("bad")) {
            throw new DpifException(port + ": unknown option 'bad'");
        }
        String old = ports.get(port);
        this.options.put(port, Map.copyOf(options));
        ports.put(port, old.substring(0, old.indexOf(' ')) + " " + type + " " + new TreeMap<>(options));
    }

    /** port name → its pmd-rxq-affinity (Dpif#setRxqAffinity); one with an "x" is refused. */
    public final Map<String, String> affinities = new TreeMap<>();

    @Override
    public void setRxqAffinity(String port, String affinity) throws DpifException {
        if (!ports.containsKey(port)) {
            throw new DpifException("no port " + port);
        }
        if (java.util.Objects.equals(affinity, affinities.get(port))) {
            return; // as DpifNetdev: the same value changes nothing
        }
        calls.add("setRxqAffinity " + port + " " + affinity);
        if (affinity != null && affinity.contains("x")) {
            throw new DpifException(port + ": pmd-rxq-affinity '" + affinity + "' is not a list of <rxq>:<core> pairs"
                    + " (Invalid argument)");
        }
        if (affinity == null) {
            affinities.remove(port);
        } else {
            affinities.put(port, affinity);
        }
    }

    @Override
    public List<PortInfo> ports(String bridge) {
        List<PortInfo> out = new ArrayList<>();
        for (String name : ports.keySet()) {
            PortInfo p = port(name);
            if (bridge == null || p.bridge().equals(bridge)) {
                out.add(p);
            }
        }
        return out;
    }

    /** Bridge name to the address set on it. */
    public final Map<String, String> bridgeMacs = new java.util.HashMap<>();

    @Override
    public void setBridgeAddress(String bridge, String mac) {
        bridgeMacs.put(bridge, mac);
    }

    /** Bridge name to its other_config:datapath-id (Dpif#setDatapathId), when not 0. */
    public final Map<String, Long> dpids = new java.util.HashMap<>();

    @Override
    public void setDatapathId(String bridge, long dpid) {
        if (dpid == 0) {
            dpids.remove(bridge);
        } else {
            dpids.put(bridge, dpid);
        }
    }

    @Override
    public String bridgeAddress(String bridge) {
        return bridgeMacs.containsKey(bridge) ? bridgeMacs.get(bridge) : PortInfo.formatMac(Dpif.super.datapathId(bridge));
    }

    @Override
    public long datapathId(String bridge) {
        if (dpids.containsKey(bridge)) {
            return dpids.get(bridge);
        }
        return bridgeMacs.containsKey(bridge) ? PortInfo.macBits(bridgeMacs.get(bridge)) : Dpif.super.datapathId(bridge);
    }

    /** A port's link_speed (bps), duplex (1 full) and link_resets; none, half and 0 when absent. */
    public final Map<String, long[]> links = new TreeMap<>();

    @Override
    public PortInfo port(String name) {
        String v = ports.get(name);
        if (v == null) {
            return null;
        }
        String[] f = v.split(" ", 3);
        if (absentTypes.contains(f[1])) {
            return new PortInfo(name, f[0], f[1], options.get(name), ofports.get(name), "waiting",
                    "could not open network device " + name + " (no netdev class '" + f[1] + "' is registered;"
                    + " waiting for a bundle that provides it)", Map.of(), Map.of());
        }
        int of = ofports.get(name);
        long[] link = links.getOrDefault(name, new long[3]);
        return new PortInfo(name, f[0], f[1], options.get(name), of, "up", null, Map.of("rx_packets", 7L), Map.of(),
                PortInfo.formatMac(0xaa55_aa55_0000L | of), 1500, 0, true, // as OVS's dummy ports
                link[0], link[1] != 0, link[2]);

    }

    @Override
    public void addFlow(String bridge, String flow) throws DpifException {
        flows.get(bridge).add(flow);
    }

    @Override
    public int delFlows(String bridge, String match) throws DpifException {
        int n = flows.get(bridge).size();
        flows.get(bridge).clear();
        return n;
    }

    @Override
    public List<String> dumpFlows(String bridge) throws DpifException {
        return flows.get(bridge);
    }

    @Override
    public List<String> flows(String bridge) throws DpifException {
        return List.copyOf(flows.get(bridge));
    }

    /** Per port: its ingress policing, "rate burst"; a call that changes nothing is not recorded (as dpif-netdev). */
    public final Map<String, String> policing = new java.util.HashMap<>();

    @Override
    public void setIngressPolicing(String port, long rateKbps, long burstKb) {
        String v = rateKbps + " " + burstKb;
        if (!v.equals(policing.getOrDefault(port, "0 0"))) {
            policing.put(port, v);
            calls.add("setIngressPolicing " + port + " " + v);
        }
    }

    /** Per port: its VLANs as set, "mode tag [trunks]"; a call that changes nothing is not recorded. */
    public final Map<String, String> vlans = new java.util.HashMap<>();

    @Override
    public void setPortVlans(String port, String mode, int tag, int[] trunks) throws DpifException {
        if ("dot1q-tunnel".equals(mode)) {
            throw new DpifException("port " + port + ": vlan_mode dot1q-tunnel is not supported");
        }
        String v = mode + " " + tag + " " + java.util.Arrays.toString(trunks);
        if (!v.equals(vlans.getOrDefault(port, " -1 []"))) {
            vlans.put(port, v);
            calls.add("setPortVlans " + port + " " + v);
        }
    }

    /**
     * Per bridge: its controllers and fail mode as last set, "[targets] secure|standalone"; a call that changes
     * nothing is not recorded (as dpif-netdev).
     */
    public final Map<String, String> control = new java.util.HashMap<>();

    @Override
    public void setControllers(String bridge, List<String> targets, boolean secure) {
        String v = targets + (secure ? " secure" : " standalone");
        if (!v.equals(control.getOrDefault(bridge, "[] standalone"))) {
            control.put(bridge, v);
            calls.add("setControllers " + bridge + " " + v);
        }
    }

    /** What the OpenFlow side recorded, by target (every bridge alike). */
    public final Map<String, io.pvio.dpif.ControllerStatus> controllerStates = new java.util.HashMap<>();

    @Override
    public Map<String, io.pvio.dpif.ControllerStatus> controllerStatus(String bridge) {
        return Map.copyOf(controllerStates);
    }
}
