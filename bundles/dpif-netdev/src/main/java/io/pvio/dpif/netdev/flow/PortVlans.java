package io.pvio.dpif.netdev.flow;

import java.util.Arrays;

/**
 * A port's VLANs for NORMAL, as OVS's ofproto-dpif bundle (vlan_mode, vlan, trunks) and the rules of
 * ofproto-dpif-xlate.c that use them (input_vid_is_valid, xvlan_input_translate, xbundle_includes_vlan,
 * xvlan_output_translate), with OVS's default vlan-limit of 1: only a frame's outer 802.1Q/802.1ad header
 * counts. Immutable.
 *
 * <p>A VLAN inside the bridge is an int: {@code vid | pcp << 13 | AD} ({@link #AD}: the header's TPID was
 * 0x88a8), 0 for none. The same encoding names what a frame carries ({@link #frameVlan}) and what it must
 * carry on output ({@link #output}); a frame whose header carries a DEI bit keeps it only when it leaves as
 * it came: a frame leaves unchanged when {@code output(input(fv)) == fv}.
 */
public final class PortVlans {
    public static final int ACCESS = 0;
    public static final int TRUNK = 1;
    public static final int NATIVE_TAGGED = 2;
    public static final int NATIVE_UNTAGGED = 3;
    private static final String[] NAMES = {"access", "trunk", "native-tagged", "native-untagged"};

    /** In an encoded VLAN: the header's TPID is 802.1ad's (0x88a8), not 802.1Q's. */
    public static final int AD = 1 << 16;
    /** A frame too short for the VLAN header its EtherType announces (OVS: "partial VLAN tag"). */
    public static final int PARTIAL = -1;

    /** Every port's VLANs until set: a trunk of every VLAN. */
    public static final PortVlans DEFAULT = new PortVlans(TRUNK, -1, null);

    public final int mode;
    /** The access or native VLAN (0 when the mode needs one and no tag was given); -1 for a trunk. */
    public final int vlan;
    /** Bit v set: VLAN v is trunked; null: every VLAN (a trunk without trunks). */
    private final long[] trunks;

    private PortVlans(int mode, int vlan, long[] trunks) {
        this.mode = mode;
        this.vlan = vlan;
        this.trunks = trunks;
    }

    /**
     * The VLANs a Port row asks for (bridge.c port_configure, then bundle_set): {@code mode} null or empty
     * means access with a tag, trunk without; {@code tag} -1 for none.
     *
     * @throws IllegalArgumentException for a mode pvio does not have (dot1q-tunnel) or an unknown one
     */
    public static PortVlans of(String mode, int tag, int[] trunkList) {
        int tagged = tag >= 0 && tag <= 4095 ? tag : -1;
        int m;
        if (mode == null || mode.isEmpty()) {
            m = tagged >= 0 ? ACCESS : TRUNK;
        } else {
            m = Arrays.asList(NAMES).indexOf(mode);
            if (m < 0) {
                throw new IllegalArgumentException(mode.equals("dot1q-tunnel")
                        ? "vlan_mode dot1q-tunnel is not supported by pvio (it has access, trunk, native-tagged,"
                        + " native-untagged)" : "unknown VLAN mode " + mode);
            }
        }
        int vlan = m == TRUNK ? -1 : Math.max(tagged, 0);
        long[] bits = null;
        if (trunkList.length > 0) {
            bits = new long[64];
            for (int v : trunkList) {
                if (v >= 0 && v <= 4095) {
                    bits[v >>> 6] |= 1L << v;
                }
            }
        }
        if (m == ACCESS) {
            bits = null;
        } else if ((m == NATIVE_TAGGED || m == NATIVE_UNTAGGED) && vlan != 0
                && (bits == null || !has(bits, vlan) || has(bits, 0))) {
            // bundle_set: the native VLAN is always trunked, VLAN 0 never
            bits = bits == null ? all() : bits;
            bits[vlan >>> 6] |= 1L << vlan;
            bits[0] &= ~1L;
        }
        if (m == TRUNK && bits == null) {
            return DEFAULT; // a trunk's tag is not used (bundle_set)
        }
        return new PortVlans(m, vlan, bits);
    }

    private static long[] all() {
        long[] b = new long[64];
        Arrays.fill(b, -1L);
        return b;
    }

    private static boolean has(long[] bits, int v) {
        return (bits[v >>> 6] & 1L << v) != 0;
    }

    /** OVS's xbundle_trunks_vlan. */
    private boolean trunks(int vid) {
        return mode != ACCESS && (trunks == null || has(trunks, vid));
    }

    /**
     * The VLAN of the frame whose EtherType (at 12) is {@code type}, from {@code tci} (at 14) when it is
     * tagged and {@code len} (the first segment's bytes) holds the header: 0 for none, {@link #PARTIAL}.
     */
    public static int frameVlan(int type, int tci, int len) {
        if (type != 0x8100 && type != 0x88a8) {
            return 0;
        }
        if (len < 18) {
            return PARTIAL;
        }
        return (tci & 0xefff) | (type == 0x88a8 ? AD : 0) | 1 << 12; // bit 12 (DEI's place): "tagged"
    }

    /** A frame VLAN's vid (0 when untagged or priority-tagged). */
    public static int vid(int frameVlan) {
        return frameVlan & 0xfff;
    }

    /** input_vid_is_valid: whether a frame of VLAN id {@code vid} (0: untagged) may enter by this port. */
    public boolean inputValid(int vid) {
        return switch (mode) {
            case ACCESS -> vid == 0;
            case NATIVE_TAGGED, NATIVE_UNTAGGED -> vid == 0 || trunks(vid);
            default -> trunks(vid);
        };
    }

    /** The drop reason inputValid's false stands for, as OVS logs it (xlate_report_error). */
    public String inputRefusal(int vid, String port) {
        return mode == ACCESS
                ? "dropping VLAN " + vid + " tagged packet received on port " + port + " configured as VLAN " + vlan
                        + " access port"
                : "dropping VLAN " + vid + " packet received on port " + port + " not configured for trunking VLAN "
                        + vid;
    }

    /** xvlan_input_translate: the VLAN inside the bridge of a frame of {@link #frameVlan} {@code fv} (valid). */
    public int input(int fv) {
        int keep = fv & (AD | 0xe000); // TPID and PCP
        return switch (mode) {
            case ACCESS -> keep | vlan;
            case NATIVE_TAGGED, NATIVE_UNTAGGED -> vid(fv) == 0 ? keep | vlan : keep | vid(fv);
            default -> fv == 0 ? 0 : keep | vid(fv);
        };
    }

    /** xbundle_includes_vlan: whether a frame of VLAN {@code vid} inside the bridge may leave by this port. */
    public boolean includes(int vid) {
        return mode == ACCESS ? vid == vlan : trunks(vid);
    }

    /**
     * xvlan_output_translate, then xvlan_put: the header a frame of VLAN {@code inner} (inside the bridge)
     * leaves this port with, as a {@link #frameVlan} (0: none).
     */
    public int output(int inner) {
        if (mode == ACCESS || (mode == NATIVE_UNTAGGED && (inner & 0xfff) == vlan)) {
            return 0;
        }
        return (inner & 0xefff) == 0 ? 0 : inner | 1 << 12; // vid 0 and PCP 0: no header
    }

    /** vlan_mode as the Port row names it. */
    public String modeName() {
        return NAMES[mode];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PortVlans p && p.mode == mode && p.vlan == vlan && Arrays.equals(p.trunks, trunks);
    }

    @Override
    public int hashCode() {
        return mode * 31 + vlan + Arrays.hashCode(trunks);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(modeName());
        if (vlan >= 0) {
            sb.append(" vlan ").append(vlan);
        }
        if (trunks != null) {
            sb.append(" trunks");
            for (int v = 0; v < 4096; v++) {
                if (has(trunks, v)) {
                    int e = v;
                    while (e + 1 < 4096 && has(trunks, e + 1)) {
                        e++;
                    }
                    sb.append(v == e ? " " + v : " " + v + "-" + e);
                    v = e;
                }
            }
        }
        return sb.toString();
    }
}
