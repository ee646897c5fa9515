package io.pvio.netlinux;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import io.pvio.netdev.DataPathClasses;
import io.pvio.netdev.NetdevException;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The AF_PACKET sockets of one {@code system} port bound to one ifindex: a TPACKET_V3 receive ring
 * (promiscuous, PACKET_IGNORE_OUTGOING) and a TPACKET_V2 transmit ring (PACKET_QDISC_BYPASS), both
 * mmap'd. The ring headers' status words are shared with the kernel: read with acquire, handed back with
 * release. {@link #recv} runs on one thread at a time, {@link #send} too (the port serialises them).
 */
final class PacketSocket implements AutoCloseable {
    static { // see DataPathClasses
        DataPathClasses.resolve(PacketSocket.class, Packet.class, PacketBatch.class, PacketPool.class);
    }

    private static final VarHandle INT = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());

    // TPACKET_V3 receive ring: blocks of packets, retired to user space when full or after RX_TIMEOUT_MS
    static final int RX_BLOCK_SIZE = 1 << 17;
    static final int RX_BLOCKS = 32;
    private static final int RX_FRAME_HINT = 2048;
    private static final int RX_TIMEOUT_MS = 1;
    private static final int TP_STATUS_KERNEL = 0;
    private static final int TP_STATUS_USER = 1;
    private static final int TP_STATUS_VLAN_VALID = 0x10;
    private static final int TP_STATUS_VLAN_TPID_VALID = 0x40;
    // struct tpacket_block_desc / tpacket3_hdr offsets
    private static final int BLK_STATUS = 8;
    private static final int BLK_NUM_PKTS = 12;
    private static final int BLK_FIRST = 16;
    private static final int H3_NEXT = 0;
    private static final int H3_SNAPLEN = 12;
    private static final int H3_LEN = 16;
    private static final int H3_STATUS = 20;
    private static final int H3_MAC = 24;
    private static final int H3_VLAN_TCI = 32;
    private static final int H3_VLAN_TPID = 36;

    // TPACKET_V2 transmit ring: fixed frames, data at TX_DATA (TPACKET2_HDRLEN - sizeof(sockaddr_ll))
    static final int TX_FRAMES = 512;
    private static final int TX_DATA = 32;
    private static final int TP_STATUS_AVAILABLE = 0;
    private static final int TP_STATUS_SEND_REQUEST = 1;
    private static final int TP_STATUS_SENDING = 2;
    private static final int TP_STATUS_WRONG_FORMAT = 4;
    private static final int H2_LEN = 4;

    final int ifindex;
    /** Largest frame accepted either way: MTU + Ethernet header + two VLAN tags. */
    final int maxFrame;
    private int rxFd = -1;
    private int txFd = -1;
    private long rxAddr;
    private long txAddr;
    private ByteBuffer rx;
    private ByteBuffer tx;
    private final int txFrameSize;
    private final long rxLen;
    private final long txLen;

    // receive cursor (recv thread only)
    private int block;
    private int pktLeft;
    private int pktOff;
    private boolean held;
    // transmit cursor (send thread only)
    private int txHead;

    // counters (single writer each; read by the control path for stats)
    volatile long rxTooLong;
    volatile long rxNoBuffer;
    volatile long txRingFull;
    volatile long txTooLong;
    volatile long txWrongFormat;
    volatile long txSendErrors;
    volatile int txLastErrno;
    private long kernelDrops;

    PacketSocket(String name, int ifindex, int mtu) throws NetdevException {
        this.ifindex = ifindex;
        this.maxFrame = mtu + 14 + 8;
        this.txFrameSize = TX_DATA + maxFrame <= 2048 ? 2048 : align(TX_DATA + maxFrame, 4096);
        this.rxLen = (long) RX_BLOCK_SIZE * RX_BLOCKS;
        this.txLen = (long) txFrameSize * TX_FRAMES;
        if (maxFrame > RX_BLOCK_SIZE - 256) {
            throw new NetdevException(name + ": MTU " + mtu + " is larger than the receive ring's blocks allow");
        }
        try {
            openRx(name);
            openTx(name);
        } catch (NetdevException | RuntimeException e) {
            close();
            throw e;
        }
    }

    private static int align(int v, int a) {
        return (v + a - 1) & -a;
    }

    private void openRx(String name) throws NetdevException {
        Memory m = new Memory(32);
        try {
            rxFd = Sys.socket(Sys.AF_PACKET, Sys.SOCK_RAW | Sys.SOCK_CLOEXEC, 0);
            setInt(rxFd, Sys.PACKET_VERSION, Sys.TPACKET_V3, m);
            m.clear();
            m.setInt(0, RX_BLOCK_SIZE);
            m.setInt(4, RX_BLOCKS);
            m.setInt(8, RX_FRAME_HINT);
            m.setInt(12, (int) (rxLen / RX_FRAME_HINT));
            m.setInt(16, RX_TIMEOUT_MS);
            Sys.setsockopt(rxFd, Sys.SOL_PACKET, Sys.PACKET_RX_RING, Pointer.nativeValue(m), 28);
            rxAddr = map(rxFd, rxLen);
            rx = new Pointer(rxAddr).getByteBuffer(0, rxLen).order(ByteOrder.nativeOrder());
            try {
                setInt(rxFd, Sys.PACKET_IGNORE_OUTGOING, 1, m);
            } catch (LastErrorException e) {
                NetdevLinux.LOG.fine(() -> name + ": PACKET_IGNORE_OUTGOING unavailable (" + Sys.err(e) + ")");
            }
            bind(rxFd, Sys.ETH_P_ALL, m);
            m.clear();
            m.setInt(0, ifindex);
            m.setShort(4, (short) Sys.PACKET_MR_PROMISC);
            Sys.setsockopt(rxFd, Sys.SOL_PACKET, Sys.PACKET_ADD_MEMBERSHIP, Pointer.nativeValue(m), 16);
        } catch (LastErrorException e) {
            throw new NetdevException(name + ": could not open its AF_PACKET receive ring (" + Sys.err(e) + ")", e);
        }
    }

    private void openTx(String name) throws NetdevException {
        Memory m = new Memory(32);
        try {
            txFd = Sys.socket(Sys.AF_PACKET, Sys.SOCK_RAW | Sys.SOCK_CLOEXEC, 0);
            setInt(txFd, Sys.PACKET_VERSION, Sys.TPACKET_V2, m);
            setInt(txFd, Sys.PACKET_QDISC_BYPASS, 1, m);
            m.clear();
            int blockSize = Math.max(txFrameSize, 4096); // a multiple of the page size and of the frame size
            m.setInt(0, blockSize);
            m.setInt(4, (int) (txLen / blockSize));
            m.setInt(8, txFrameSize);
            m.setInt(12, TX_FRAMES);
            Sys.setsockopt(txFd, Sys.SOL_PACKET, Sys.PACKET_TX_RING, Pointer.nativeValue(m), 16);
            txAddr = map(txFd, txLen);
            tx = new Pointer(txAddr).getByteBuffer(0, txLen).order(ByteOrder.nativeOrder());
            bind(txFd, 0, m); // protocol 0: this socket receives nothing
        } catch (LastErrorException e) {
            throw new NetdevException(name + ": could not open its AF_PACKET transmit ring (" + Sys.err(e) + ")", e);
        }
    }

    private static long map(int fd, long len) {
        long a = Sys.mmap(0, len, Sys.PROT_READ | Sys.PROT_WRITE, Sys.MAP_SHARED, fd, 0);
        if (a == -1L) {
            throw new LastErrorException(Native.getLastError());
        }
        return a;
    }

    private static void setInt(int fd, int opt, int value, Memory m) {
        m.setInt(0, value);
        Sys.setsockopt(fd, Sys.SOL_PACKET, opt, Pointer.nativeValue(m), 4);
    }

    private void bind(int fd, int protocol, Memory m) {
        m.clear();
        m.setShort(0, (short) Sys.AF_PACKET);
        m.setShort(2, Short.reverseBytes((short) protocol)); // network order
        m.setInt(4, ifindex);
        Sys.bind(fd, Pointer.nativeValue(m), 20);
    }

    /** rxq_recv: moves up to {@code batch.room()} frames from the ring into packets of {@code pool}. */
    int recv(PacketBatch batch, PacketPool pool) {
        ByteBuffer r = rx;
        int n = 0;
        while (batch.room() > 0) {
            if (!held) {
                int bo = block * RX_BLOCK_SIZE;
                if (((int) INT.getAcquire(r, bo + BLK_STATUS) & TP_STATUS_USER) == 0) {
                    break;
                }
                held = true;
                pktLeft = r.getInt(bo + BLK_NUM_PKTS);
                pktOff = bo + r.getInt(bo + BLK_FIRST);
            }
            if (pktLeft > 0) {
                Packet p = frame(r, pktOff, pool);
                if (p != null) {
                    batch.add(p);
                    n++;
                }
                pktLeft--;
                pktOff += r.getInt(pktOff + H3_NEXT);
            }
            if (pktLeft <= 0) { // block consumed: give it back to the kernel
                INT.setRelease(r, block * RX_BLOCK_SIZE + BLK_STATUS, TP_STATUS_KERNEL);
                held = false;
                block = block + 1 == RX_BLOCKS ? 0 : block + 1;
            }
        }
        return n;
    }

    /** One received frame as a packet (a chain when longer than a buffer), or null when dropped (counted). */
    private Packet frame(ByteBuffer r, int h, PacketPool pool) {
        int snap = r.getInt(h + H3_SNAPLEN);
        int len = r.getInt(h + H3_LEN);
        int status = r.getInt(h + H3_STATUS);
        int data = h + (r.getShort(h + H3_MAC) & 0xffff);
        boolean vlan = (status & TP_STATUS_VLAN_VALID) != 0;
        int total = len + (vlan ? 4 : 0);
        if (snap != len || total > maxFrame || len < 14) {
            rxTooLong++; // offloaded super-frame (GSO) or truncated: cannot be forwarded as is
            return null;
        }
        Packet head = pool.alloc();
        if (head == null) {
            rxNoBuffer++;
            return null;
        }
        int room = head.capacity() - head.headroom();
        if (vlan) { // the kernel took the tag out (VLAN offload): put it back, as OVS does
            if (total > room) {
                head.free();
                rxTooLong++;
                return null;
            }
            head.setData(head.headroom(), total);
            ByteBuffer b = head.buffer();
            int o = head.dataOffset();
            b.put(o, r, data, 12);
            int tpid = (status & TP_STATUS_VLAN_TPID_VALID) != 0 ? r.getShort(h + H3_VLAN_TPID) & 0xffff : 0x8100;
            b.put(o + 12, (byte) (tpid >>> 8)).put(o + 13, (byte) tpid);
            int tci = r.getInt(h + H3_VLAN_TCI);
            b.put(o + 14, (byte) (tci >>> 8)).put(o + 15, (byte) tci);
            b.put(o + 16, r, data + 12, len - 12);
            return head;
        }
        int first = Math.min(room, len);
        head.setData(head.headroom(), first);
        head.buffer().put(head.dataOffset(), r, data, first);
        for (int at = first; at < len;) {
            Packet seg = pool.alloc();
            if (seg == null) {
                head.free();
                rxNoBuffer++;
                return null;
            }
            int l = Math.min(seg.capacity(), len - at);
            seg.setSegmentData(0, l);
            seg.buffer().put(0, r, data + at, l);
            head.chain(seg);
            at += l;
        }
        return head;
    }

    /**
     * send: copies every packet of {@code batch} into free frames of the ring, asks the kernel to transmit
     * them, frees the packets. Returns the number of packets that found no frame or were too long (dropped).
     */
    int send(PacketBatch batch) {
        ByteBuffer t = tx;
        int queued = 0;
        int dropped = 0;
        for (int i = 0; i < batch.size(); i++) {
            Packet p = batch.get(i);
            int len = p.length();
            if (len > maxFrame || len > txFrameSize - TX_DATA) {
                txTooLong++;
                dropped++;
                continue;
            }
            int fo = txHead * txFrameSize;
            int st = (int) INT.getAcquire(t, fo);
            if (st == TP_STATUS_SEND_REQUEST || st == TP_STATUS_SENDING) {
                txRingFull++;
                dropped++;
                continue;
            }
            if (st == TP_STATUS_WRONG_FORMAT) {
                txWrongFormat++;
            }
            int at = fo + TX_DATA;
            for (Packet s = p; s != null; s = s.next()) {
                t.put(at, s.buffer(), s.dataOffset(), s.dataLength());
                at += s.dataLength();
            }
            t.putInt(fo + H2_LEN, len);
            INT.setRelease(t, fo, TP_STATUS_SEND_REQUEST);
            txHead = txHead + 1 == TX_FRAMES ? 0 : txHead + 1;
            queued++;
        }
        if (queued > 0 && Sys.sendto(txFd, 0, 0, Sys.MSG_DONTWAIT, 0, 0) < 0) {
            int e = Native.getLastError();
            if (e != Sys.EAGAIN && e != Sys.ENOBUFS && e != Sys.EINTR) {
                txSendErrors++;
                txLastErrno = e;
            }
        }
        batch.freeAll();
        return dropped;
    }

    /** Frames the kernel dropped because the receive ring was full, since the socket was opened (control path). */
    synchronized long kernelDrops() {
        if (rxFd < 0) {
            return kernelDrops;
        }
        Memory m = new Memory(16);
        m.setInt(12, 12);
        try { // struct tpacket_stats_v3 { tp_packets, tp_drops, tp_freeze_q_cnt }; reading resets it
            long a = Pointer.nativeValue(m);
            Sys.getsockopt(rxFd, Sys.SOL_PACKET, Sys.PACKET_STATISTICS, a, a + 12);
            kernelDrops += m.getInt(4) & 0xffffffffL;
        } catch (LastErrorException e) {
            // the counter stays where it was
        }
        return kernelDrops;
    }

    /** Closes the sockets and unmaps the rings: only once no thread is inside recv or send. */
    @Override
    public synchronized void close() {
        if (rxAddr != 0) {
            Sys.munmap(rxAddr, rxLen);
            rxAddr = 0;
        }
        if (txAddr != 0) {
            Sys.munmap(txAddr, txLen);
            txAddr = 0;
        }
        Sys.closeQuietly(rxFd);
        Sys.closeQuietly(txFd);
        rxFd = txFd = -1;
    }
}
