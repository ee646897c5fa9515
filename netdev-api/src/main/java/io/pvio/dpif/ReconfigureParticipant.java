package io.pvio.dpif;

import java.util.concurrent.CompletionStage;

/**
 * A part of the switch that keeps something per bridge of the datapath (ofproto: each bridge's OpenFlow
 * management socket), registered as an OSGi service. The control plane calls {@link #reconfigured} after it
 * applied a change to the datapath's configuration and before it reports the change done (the vsctl reply;
 * {@code cur_cfg} for OVSDB), as ovs-vswitchd's bridge_reconfigure() has ofproto create or destroy each
 * bridge's {@code .mgmt} listener before it raises {@code cur_cfg}. Optional: with no participant, a change is
 * done once the datapath took it.
 *
 * @since 1.4
 */
@org.osgi.annotation.versioning.ConsumerType
public interface ReconfigureParticipant {

    /**
     * The datapath's bridges may have changed: bring what this participant keeps per bridge in line with
     * {@link Dpif#bridges()} now. Returns at once; the stage completes when that is done (a socket made for a
     * new bridge accepts connections, one of a deleted bridge is gone). The caller waits for it, bounded,
     * while holding the control plane's lock: the work must not call back into the control plane.
     */
    CompletionStage<?> reconfigured();
}
