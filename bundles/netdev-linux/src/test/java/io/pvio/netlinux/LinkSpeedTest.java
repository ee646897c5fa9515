package io.pvio.netlinux;

import static org.junit.Assert.assertEquals;

import io.pvio.netlinux.Interfaces.Speed;
import org.junit.Test;

/** ethtool's speed and duplex as OVS 3.1's netdev_linux_read_features and netdev_features_to_bps map them. */
public class LinkSpeedTest {

    @Test
    public void theSpeedsOpenFlowNamesWithTheirDuplex() {
        assertEquals(new Speed(10_000_000L, false), Interfaces.speed(10, 0));
        assertEquals(new Speed(100_000_000L, true), Interfaces.speed(100, 1));
        assertEquals("DUPLEX_UNKNOWN is full, as OVS reads it", new Speed(1_000_000_000L, true),
                Interfaces.speed(1000, 0xff));
        assertEquals("10 Gb/s and up: full whatever ethtool says", new Speed(10_000_000_000L, true),
                Interfaces.speed(10_000, 0));
        assertEquals(new Speed(40_000_000_000L, true), Interfaces.speed(40_000, 1));
        assertEquals(new Speed(100_000_000_000L, true), Interfaces.speed(100_000, 1));
        assertEquals(new Speed(1_000_000_000_000L, true), Interfaces.speed(1_000_000, 1));
    }

    @Test
    public void anyOtherSpeedIsUnknown() {
        for (int mbps : new int[] {0, 2500, 5000, 25_000, 50_000, 200_000, 0xffff, -1}) {
            assertEquals(Integer.toString(mbps), Speed.UNKNOWN, Interfaces.speed(mbps, 1));
        }
    }
}
