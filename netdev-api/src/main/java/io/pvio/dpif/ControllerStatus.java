package io.pvio.dpif;

/**
 * An OpenFlow controller connection's state as ovs-vswitchd's rconn reports it, for the Controller row's
 * {@code is_connected}, {@code role} and {@code status} columns (OVS's connmgr_get_controller_info).
 *
 * @param connected          whether the connection is up
 * @param state              rconn's state: {@code CONNECTING}, {@code ACTIVE} or {@code BACKOFF}
 * @param lastError          why the last try or connection ended, in OVS's words ("Connection refused",
 *                           "End of file"), or null when none did
 * @param lastConnectMillis  when it last connected ({@link System#currentTimeMillis}), or -1 for never
 * @param lastDisconnectMillis when it last went down after being connected, or -1 for never
 * @since 1.8
 */
public record ControllerStatus(boolean connected, String state, String lastError, long lastConnectMillis,
        long lastDisconnectMillis) {

    /** A controller just set: no try made yet. */
    public static final ControllerStatus NEW = new ControllerStatus(false, "CONNECTING", null, -1, -1);
}
