package io.pvio.vhost.user;

import io.pvio.vhostuser.VhostUserProtocol;

/** The back end's side of the vhost-user protocol: the numbers ({@link VhostUserProtocol}) plus what it offers. */
public final class Request extends VhostUserProtocol {
    /** Protocol features this back end offers. */
    public static final long PROTOCOL_OFFERED = (1L << PROTOCOL_F_MQ) | (1L << PROTOCOL_F_LOG_SHMFD)
            | (1L << PROTOCOL_F_RARP) | (1L << PROTOCOL_F_REPLY_ACK);


    private Request() {
    }

    /** "VHOST_USER_GET_FEATURES" as DPDK's logs name requests, or "request n" for an unknown one. */
    public static String name(int request) {
        String n = requestName(request);
        return n.startsWith("REQUEST_") ? "request " + request : "VHOST_USER_" + n;
    }

    /**
     * Requests that always reply (REPLY_ACK does not add an ack to them): with data, or SET_LOG_BASE with an
     * empty payload (what QEMU waits for; DPDK replies so).
     */
    public static boolean repliesWithData(int request) {
        return request == GET_FEATURES || request == GET_PROTOCOL_FEATURES || request == GET_VRING_BASE
                || request == GET_QUEUE_NUM || request == SET_LOG_BASE;
    }
}
