package io.pvio.netlinux;

import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;

/**
 * A frame generator for the forwarding benchmark, run inside a namespace: {@code IFNAME SECONDS SIZE} sends
 * SIZE-byte frames (to a locally administered unicast MAC, ethertype 0x88b5) as fast as an AF_PACKET
 * transmit ring takes them, for SECONDS; prints its first and last System.nanoTime().
 */
public final class Blast {
    public static void main(String[] a) throws Exception {
        String ifname = a[0];
        long start = System.nanoTime();
        long end = start + Long.parseLong(a[1]) * 1_000_000_000L;
        int size = Integer.parseInt(a[2]) - 4; // without the FCS
        PacketPool pool = new PacketPool("blast", 4096);
        PacketSocket s = new PacketSocket(ifname, Interfaces.ifindex(ifname), Interfaces.mtu(ifname));
        PacketBatch b = new PacketBatch();
        while (System.nanoTime() < end) {
            for (int i = 0; i < PacketBatch.MAX; i++) {
                Packet p = pool.alloc();
                p.setData(p.headroom(), size);
                int o = p.dataOffset();
                p.buffer().putInt(o, 0x02000000).putShort(o + 4, (short) 0x00b1); // dst 02:00:00:00:00:b1
                p.buffer().putInt(o + 6, 0x02000000).putShort(o + 10, (short) 0x00a1); // src 02:00:00:00:00:a1
                p.buffer().putShort(o + 12, (short) 0x88b5);
                b.add(p);
            }
            s.send(b);
        }
        System.out.println(start + " " + System.nanoTime()); // CLOCK_MONOTONIC: comparable across processes
        s.close();
    }
}
