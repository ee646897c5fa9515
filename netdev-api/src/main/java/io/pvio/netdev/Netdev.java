package io.pvio.netdev;

import io.pvio.packet.PacketBatch;
import java.util.Map;

/**
 * An open port of a {@link NetdevClass}: OVS's {@code struct netdev} with its class's callbacks.
 *
 * <h2>Threads</h2>
 * <ul>
 * <li>Each rx queue is polled by one PMD thread at a time: {@link #rxqRecv} needs no lock.</li>
 * <li>A tx queue is used by one thread at a time when {@code concurrentTxq} is false. When it is true,
 *     several PMD threads share the queue and the port serialises {@link #send} and {@link #freePkts}
 *     on it itself.</li>
 * <li>Control callbacks ({@link #setConfig}, stats, status) run on control threads, concurrently with
 *     the data path. {@link #reconfigure} and {@link #close} run while no thread is inside the port's
 *     {@link #rxqRecv}, {@link #send} or {@link #freePkts}.</li>
 * </ul>
 *
 * <h2>Reconfiguration</h2>
 * As OVS's netdev-provider.h: a port whose queue layout must change (a new {@code n_rxq}, a front end that
 * set up more queues) records the wish and calls {@link NetdevContext#requestReconfigure()}
 * (netdev_request_reconfigure). The datapath then pauses the PMD threads, drains their in-flight tx
 * queues, calls {@link #reconfigure()} on every port whose {@link #reconfigureRequired()} is true, re-reads
 * {@link #nRxq()} and {@link #nTxq()} and resumes. So a queue count changes only while no data-path call
 * runs on the port, and the data path never sees a queue index beyond the counts it last read.
 *
 * <h2>Packet ownership</h2>
 * {@link #rxqRecv} hands packets to the caller. {@link #send} takes every packet of the batch, whether it
 * transmits, queues or drops it. A port that transmits asynchronously (copies still running on a DMA
 * engine when {@code send} returns) keeps the packets until {@link #freePkts} finds them complete.
 *
 * <h2>Errors on the data path</h2>
 * {@link #rxqRecv}, {@link #send} and {@link #freePkts} do not throw: a port that meets bad input (a
 * guest's descriptor, a fault on its memory) isolates the queue and counts it. Should one throw anyway, the
 * caller treats every packet it passed to {@code send} as the port's (it clears its batch, frees nothing)
 * and every packet {@code rxqRecv} already added as its own.
 */
public interface Netdev extends AutoCloseable {

    /** Port name, unique in the switch. */
    String name();

    /** The class's type name. */
    String type();

    /**
     * set_config: applies new {@code options} to the running port. Validates them all first: when an option
     * is unknown or malformed, throws with a message for the user and the port runs on exactly as before.
     * The change must not lose a packet that was already accepted.
     */
    void setConfig(Map<String, String> options) throws NetdevException;

    /** get_config: the options in force, as the user would write them. */
    Map<String, String> getConfig();

    /** Number of rx queues the datapath must poll (changes only in {@link #reconfigure()}, or see {@link NetdevContext#changed()}). */
    int nRxq();

    /** Number of tx queues (changes only in {@link #reconfigure()}, or see {@link NetdevContext#changed()}). */
    int nTxq();

    /**
     * netdev_is_reconf_required: true from the port's {@link NetdevContext#requestReconfigure()} until its
     * {@link #reconfigure()} has run. Any thread. Default: never.
     */
    default boolean reconfigureRequired() {
        return false;
    }

    /**
     * reconfigure: applies what the port asked for with {@link NetdevContext#requestReconfigure()} (typically
     * its queue counts). Called on the datapath's control thread while no thread is inside this port's
     * {@link #rxqRecv}, {@link #send} or {@link #freePkts} and no packet is in flight on its tx queues; the
     * datapath re-reads {@link #nRxq()} and {@link #nTxq()} afterwards. Loses no packet already accepted
     * (packets of removed rx queues move to the remaining ones or are counted as dropped). On failure throws,
     * leaving the port as it was (the datapath logs it and runs the port on). Default: nothing to do.
     */
    default void reconfigure() throws NetdevException {
    }

    /**
     * rxq_recv: moves up to {@code batch.room()} received packets of queue {@code qid} into {@code batch}.
     * Returns the number added (0 when there is nothing, or the queue is not ready). Never blocks.
     */
    int rxqRecv(int qid, PacketBatch batch);

    /**
     * The packets left in rx queue {@code qid} after this thread's last {@link #rxqRecv} on it, as OVS's
     * netdev_rxq_recv reports for vhost ports (its {@code qfill}, for pmd-perf-show's vhost qlen): called by
     * the PMD polling the queue, right after a receive, with perf metrics on. -1 when the class does not
     * report it. Default: -1.
     *
     * @since 1.8
     */
    default int rxqRemaining(int qid) {
        return -1;
    }

    /**
     * send: transmits every packet of {@code batch} on tx queue {@code qid} (0 &le; qid &lt; {@link #nTxq()}).
     * The port owns the packets from the call on and the batch is empty when it returns. Packets that cannot
     * be sent (no carrier, ring full, a queue the control path holds) are freed and counted as
     * {@code tx_dropped}: send never waits for the receiver. It waits only in two bounded cases: with
     * {@code concurrentTxq}, for another thread's send or freePkts on the same queue (netdev-dpdk's tx_lock);
     * and, on a port that offloads copies to a DMA engine, while the control path rebinds this queue to
     * another DMA channel (or unbinds it), for the copies in flight on the old channel to drain rather than
     * dropping the burst. That drain is bounded by the port's drain timeout (netdev-vhost-async: 30 s, in
     * practice microseconds); if the engine misses it, the rebind gives up and send resumes on the old channel.
     *
     * @return packets of queue {@code qid} still in flight on an asynchronous engine after this call; when
     *         positive, the caller must call {@link #freePkts} for this queue (on later iterations) until it
     *         returns 0. Synchronous ports return 0.
     */
    int send(int qid, PacketBatch batch, boolean concurrentTxq);

    /**
     * free_pkts: completes the asynchronous transmissions of queue {@code qid} that have finished (makes
     * them visible to the receiver, in order) and returns their packets to their pools. Cheap when nothing
     * is pending; call it only for queues whose last send/freePkts returned a positive count. With
     * {@code concurrentTxq} the count includes the other threads' packets on the queue: each thread that saw
     * a positive count calls until it sees 0.
     *
     * @return packets of queue {@code qid} still in flight
     */
    int freePkts(int qid, boolean concurrentTxq);

    /** get_stats: fills {@code stats} (cleared by the caller) with the port's counters. */
    void getStats(NetdevStats stats);

    /** get_custom_stats: the port's own counters, e.g. per queue. */
    default void getCustomStats(CustomStats sink) {
    }

    /** get_status: the Interface table's {@code status} column. */
    default Map<String, String> status() {
        return Map.of();
    }

    /**
     * get_etheraddr: the port's Ethernet address, {@code xx:xx:xx:xx:xx:xx} (the Interface's
     * {@code mac_in_use}), or null when it has none. Control path. Default: none.
     *
     * @since 1.6
     */
    default String etherAddr() {
        return null;
    }

    /**
     * set_etheraddr: gives the port the Ethernet address {@code mac} ({@code xx:xx:xx:xx:xx:xx}); what the
     * datapath does to a bridge's local port, as ovs-vswitchd sets the bridge's MAC on it. Control path.
     * Default: refused.
     *
     * @since 1.6
     */
    default void setEtherAddr(String mac) throws NetdevException {
        throw new NetdevException(name() + ": its Ethernet address cannot be set");
    }

    /**
     * get_mtu: the port's MTU (the Interface's {@code mtu}). Control path. Default: 1500, Ethernet's, as
     * OVS's classes without a device of their own report it.
     *
     * @since 1.6
     */
    default int mtu() {
        return 1500;
    }

    /**
     * get_ifindex: the kernel's index of the port's interface (the Interface's {@code ifindex}), 0 when it
     * has none, as OVS writes it. Control path. Default: 0.
     *
     * @since 1.6
     */
    default int ifindex() {
        return 0;
    }

    /**
     * get_flags' NETDEV_UP: the port is administratively up (the Interface's {@code admin_state}; OpenFlow's
     * {@code PORT_DOWN} when false). Control path. Default: up.
     *
     * @since 1.6
     */
    default boolean adminUp() {
        return true;
    }

    /**
     * Sets the port administratively up or down, as OVS's netdev_turn_flags_on/off(NETDEV_UP) for an OpenFlow
     * port-mod: a kernel device's IFF_UP ({@code ip link set NAME up|down}). Control path. Returns false when the
     * class has no such flag (the datapath then only stops forwarding to and from the port). Default: false.
     *
     * @throws NetdevException when the device refuses
     * @since 1.7
     */
    default boolean setAdminUp(boolean up) throws NetdevException {
        return false;
    }

    /**
     * get_carrier_resets: how many times the port has seen its carrier change (up to down or down to up)
     * since it was opened: the Interface's {@code link_resets}. A port counts the changes it observes; one that
     * cannot observe them returns 0, as OVS writes for a class without get_carrier_resets. Control path.
     * Default: 0.
     *
     * @since 1.7
     */
    default long carrierResets() {
        return 0;
    }

    /**
     * get_features' current speed, in bits per second, as OVS's netdev_features_to_bps gives it (the
     * Interface's {@code link_speed}): one of the speeds OpenFlow names (10 and 100 Mb/s, 1, 10, 40 and
     * 100 Gb/s, 1 Tb/s), or 0 when the port does not know its speed or runs at another one; OVS leaves
     * {@code link_speed} and {@code duplex} empty then. Control path. Default: 0.
     *
     * @since 1.7
     */
    default long linkSpeed() {
        return 0;
    }

    /**
     * get_features' current duplex: true for full duplex (the Interface's {@code duplex}); meaningful only
     * while {@link #linkSpeed()} is not 0. Control path. Default: false.
     *
     * @since 1.7
     */
    default boolean fullDuplex() {
        return false;
    }

    /** {@link #txOffloads()}: takes packets with a partial L4 checksum ({@code Packet.OL_CSUM_PARTIAL}). */
    int TX_OFFLOAD_CSUM = 1;
    /** {@link #txOffloads()}: takes TCP/IPv4 TSO packets ({@code Packet.OL_TSO_TCPV4}). */
    int TX_OFFLOAD_TSO4 = 2;
    /** {@link #txOffloads()}: takes TCP/IPv6 TSO packets ({@code Packet.OL_TSO_TCPV6}). */
    int TX_OFFLOAD_TSO6 = 4;

    /**
     * The offloads {@link #send} accepts now ({@code TX_OFFLOAD_*}; a vhost port's follow what its guest
     * negotiated, so this may change at any time). The datapath completes in software, before send, every
     * offload a packet asks for that the port does not accept (OVS's netdev_send_prepare). Data path: cheap.
     */
    default int txOffloads() {
        return 0;
    }

    /** get_carrier: true when the link is up (for vhost-user: a front end is connected and ready). */
    boolean carrier();

    /**
     * destruct: releases everything the port holds. In-flight asynchronous transmissions are completed or
     * drained first and every packet the port still owns is freed: after close, none of its packets is in
     * use. The one exception is a DMA engine that does not complete its copies within the port's drain
     * timeout: those packets, and the memory their copies target, stay referenced (logged) and are never
     * reused.
     */
    @Override
    void close();
}
