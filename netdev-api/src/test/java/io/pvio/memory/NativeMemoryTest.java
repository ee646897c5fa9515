package io.pvio.memory;

import static org.junit.Assert.assertEquals;

import io.pvio.dma.PciAddress;
import java.nio.ByteBuffer;
import org.junit.Test;

public class NativeMemoryTest {
    @Test
    public void copiesBetweenDirectBuffersByAddress() {
        ByteBuffer a = ByteBuffer.allocateDirect(4096);
        ByteBuffer b = ByteBuffer.allocateDirect(4096);
        for (int i = 0; i < 1518; i++) {
            a.put(i, (byte) (i * 7));
        }
        NativeMemory.copy(NativeMemory.address(a), NativeMemory.address(b) + 10, 1518);
        for (int i = 0; i < 1518; i++) {
            assertEquals((byte) (i * 7), b.get(10 + i));
        }
        assertEquals(0, b.get(9));
        assertEquals(0, b.get(1528));
    }

    @Test
    public void alignedAllocationIsAligned() {
        ByteBuffer b = NativeMemory.allocateAligned(10000, 4096);
        assertEquals(0, NativeMemory.address(b) & 4095);
        assertEquals(10000, b.capacity());
    }

    @Test
    public void pciAddressesNormalise() {
        assertEquals("0000:00:04.0", PciAddress.normalize("00:04.0"));
        assertEquals("0000:00:04.7", PciAddress.normalize("0000:00:04.7"));
        assertEquals("00ab:1f:1f.1", PciAddress.normalize("AB:1F:1F.1"));
    }

    @Test(expected = IllegalArgumentException.class)
    public void badPciAddressIsRefused() {
        PciAddress.normalize("00:04.8");
    }

    @Test(expected = IllegalArgumentException.class)
    public void pciDeviceAbove31IsRefused() {
        PciAddress.normalize("00:20.0");
    }
}
