package io.pvio.vhost.netdev;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

/** A vhost port's ifindex column, as netdev_dpdk_get_ifindex computes it from the name. */
public class VhostIfindexTest {
    @Test
    public void ifindexIsOvsHashOfTheName() {
        // values of lib/hash.c's hash_bytes (mhash) % 0xfffffe + 1, compiled from OVS 3.1's code
        assertEquals(15199922, VhostPort.ovsIfindex("vhu0"));
        assertEquals(14017250, VhostPort.ovsIfindex("vhost-user-1"));
        assertEquals(1861600, VhostPort.ovsIfindex("dpdkvhostuser0"));
        assertEquals(231512, VhostPort.ovsIfindex("a"));
        assertEquals(15558641, VhostPort.ovsIfindex("abcd"));
        assertEquals(89733, VhostPort.ovsIfindex("abcde"));
    }
}
