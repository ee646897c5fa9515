package io.pvio.vhost.netdev;

import io.pvio.netdev.NetdevException;
import io.pvio.vhost.user.ControlThread.Mode;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.logging.Logger;

/** The options of a vhost-user Interface, validated completely before anything is created. */
record VhostOptions(String serverPath, String asyncAttr, int txRetriesMax, Map<String, String> given) {
    static final String SERVER_PATH = "vhost-server-path";
    static final String ASYNC_ATTR = "vhost-async-attr";
    static final String TX_RETRIES_MAX = "tx-retries-max";
    /** OVS's VHOST_ENQ_RETRY_MIN, _MAX and _DEF. */
    static final int TX_RETRIES_MIN = 0;
    static final int TX_RETRIES_LIMIT = 32;
    static final int TX_RETRIES_DEFAULT = 8;
    private static final Logger LOG = Logger.getLogger("netdev_dpdk");

    /**
     * Keys OVS users set on vhost ports that OVS's vhost classes do not read (OVS ignores them): accepted
     * and ignored with a log line, with the reason. Any other unknown key is refused.
     */
    private static final Map<String, String> IGNORED = Map.of(
            "n_rxq", "a vhost-user port has as many queues as its front end enables",
            "n_txq", "a vhost-user port has as many queues as its front end enables",
            "n_rxq_desc", "it sizes a physical dpdk port's rings; a vhost-user ring's size is the front end's",
            "n_txq_desc", "it sizes a physical dpdk port's rings; a vhost-user ring's size is the front end's",
            "dq-zero-copy", "OVS removed dequeue zero-copy; pvio copies (or offloads copies to DMA channels)",
            "vhost-max-queue-pairs", "a vhost-user port has as many queue pairs as its front end enables (at most 8)");

    static VhostOptions parse(String port, Mode mode, Map<String, String> options) throws NetdevException {
        Map<String, String> opts = options == null ? Map.of() : options;
        String path = null;
        String attr = null;
        int retries = TX_RETRIES_DEFAULT;
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
                case TX_RETRIES_MAX:
                    retries = txRetriesMax(port, v);
                    break;
                default:
                    String why = IGNORED.get(k);
                    if (why == null) {
                        throw new NetdevException(port + ": unknown option '" + k + "' (a " + typeOf(mode)
                                + " port accepts " + (mode == Mode.CLIENT ? SERVER_PATH + ", " : "") + ASYNC_ATTR
                                + ", " + TX_RETRIES_MAX + "; ignored as by OVS: " + String.join(", ",
                                new TreeMap<>(IGNORED).keySet()) + ")");
                    }
                    LOG.info(port + ": option " + k + "=" + v + " ignored: " + why);
                    break;
            }
        }
        if (mode == Mode.CLIENT && path == null) {
            throw new NetdevException(port + ": type dpdkvhostuserclient needs option " + SERVER_PATH
                    + " (the front end's socket)");
        }
        return new VhostOptions(path, attr, retries, new TreeMap<>(opts));
    }

    /**
     * As OVS's netdev_dpdk_vhost_client_set_config: a value that is not a number in 0..32 means the default
     * (8); pvio also says so in the log.
     */
    private static int txRetriesMax(String port, String v) {
        int n;
        try {
            n = Integer.parseInt(v == null ? "" : v.trim());
        } catch (NumberFormatException e) {
            n = -1;
        }
        if (n < TX_RETRIES_MIN || n > TX_RETRIES_LIMIT) {
            LOG.warning(String.format("%s: %s '%s' is not a number in %d..%d: using the default, %d", port,
                    TX_RETRIES_MAX, v, TX_RETRIES_MIN, TX_RETRIES_LIMIT, TX_RETRIES_DEFAULT));
            return TX_RETRIES_DEFAULT;
        }
        return n;
    }

    static String typeOf(Mode mode) {
        return mode == Mode.CLIENT ? "dpdkvhostuserclient" : "dpdkvhostuser";
    }
}
