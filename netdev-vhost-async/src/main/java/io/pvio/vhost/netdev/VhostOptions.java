package io.pvio.vhost.netdev;

import io.pvio.netdev.NetdevException;
import io.pvio.vhost.user.ControlThread.Mode;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.logging.Logger;

/** The options of a vhost-user Interface, validated completely before anything is created. */
record VhostOptions(String serverPath, String asyncAttr, Map<String, String> given) {
    static final String SERVER_PATH = "vhost-server-path";
    static final String ASYNC_ATTR = "vhost-async-attr";
    private static final Logger LOG = Logger.getLogger("netdev_dpdk");

    static VhostOptions parse(String port, Mode mode, Map<String, String> options) throws NetdevException {
        Map<String, String> opts = options == null ? Map.of() : options;
        String path = null;
        String attr = null;
        for (Map.Entry<String, String> e : opts.entrySet()) {
            String k = e.getKey();
            String v = e.getValue();
            switch (k) {
                case SERVER_PATH:
                    if (mode != Mode.CLIENT) {
                        throw new NetdevException(port + ": option " + SERVER_PATH
                                + " is only valid for type dpdkvhostuserclient (a dpdkvhostuser port listens on"
                                + " <run dir>/" + port + ")");
                    }
                    if (v == null || v.isBlank()) {
                        throw new NetdevException(port + ": option " + SERVER_PATH + " is empty");
                    }
                    if (v.getBytes(StandardCharsets.UTF_8).length >= 108) {
                        throw new NetdevException(port + ": " + SERVER_PATH + " '" + v
                                + "' is too long for a Unix socket (at most 107 bytes)");
                    }
                    path = v;
                    break;
                case ASYNC_ATTR:
                    attr = v; // kept verbatim for the asynchronous copy configuration
                    break;
                case "n_rxq":
                case "n_txq":
                    LOG.info(port + ": option " + k + "=" + v
                            + " ignored: a vhost-user port has as many queues as its front end enables");
                    break;
                default:
                    throw new NetdevException(port + ": unknown option '" + k + "' (a " + typeOf(mode)
                            + " port accepts " + (mode == Mode.CLIENT ? SERVER_PATH + ", " : "") + ASYNC_ATTR
                            + ", n_rxq, n_txq)");
            }
        }
        if (mode == Mode.CLIENT && path == null) {
            throw new NetdevException(port + ": type dpdkvhostuserclient needs option " + SERVER_PATH
                    + " (the front end's socket)");
        }
        return new VhostOptions(path, attr, new TreeMap<>(opts));
    }

    static String typeOf(Mode mode) {
        return mode == Mode.CLIENT ? "dpdkvhostuserclient" : "dpdkvhostuser";
    }
}
