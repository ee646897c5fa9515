package io.pvio.netlinux;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import io.pvio.netdev.CustomStats;
import io.pvio.netdev.DataPathClasses;
import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.NetdevException;
import io.pvio.netdev.NetdevStats;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;

/**
 * An {@code internal} or {@code tap} port: a tap device through /dev/net/tun (IFF_TAP|IFF_NO_PI,
 * non-blocking), created when missing, attached when it exists (a persistent tap). A {@code tap} port is
 * brought up; an {@code internal} port is left down, as OVS leaves a bridge's local port: the host brings it
 * up when it puts an address on it ({@code ip link set br0 up}), so that a bridge nobody uses on the host
 * receives nothing from the host's stack (IPv6 router solicitations and the like). One rx and one tx
 * queue; each read or write moves one frame (up to 64 KiB). Statistics are the switch's view (rx = frames
 * the host sent into the tap), as OVS shows internal ports.
 *
 * <p>While the device is down, frames sent to it are dropped without a system call and counted as
 * {@code tx_dropped} (the kernel would take each write only to drop it), as OVS's
 * netdev_linux_tap_batch_send does; the sender reads the device's IFF_UP again at most every
 * {@value #FLAGS_REFRESH_MS} ms (OVS learns it from netlink). A device the sender cannot see (moved to
 * another namespace) is written to.
 */
final class TapNetdev implements Netdev {
    static { // see DataPathClasses
        DataPathClasses.resolve(TapNetdev.class, Packet.class, PacketBatch.class, PacketPool.class);
    }

    private static final int SCRATCH = 65536;
    static final int FLAGS_REFRESH_MS = 100;
    private static final long FLAGS_REFRESH_NS = FLAGS_REFRESH_MS * 1_000_000L;

    private final String name;
    private final String type;
    private final PacketPool pool;
    private final int fd;
    private final Memory scratch = new Memory(SCRATCH); // chained packets are gathered here to be written
    private final long scratchAddr = Pointer.nativeValue(scratch);
    private final Object txLock = new Object();
    // rx thread only: each frame is read here first, so that an empty poll holds no packet buffer and a
    // frame longer than one buffer becomes a chain
    private final Memory rxScratch = new Memory(SCRATCH);
    private final long rxScratchAddr = Pointer.nativeValue(rxScratch);
    private final java.nio.ByteBuffer rxView = rxScratch.getByteBuffer(0, SCRATCH);
    private volatile boolean closed;
    private final AtomicLong rxPackets = new AtomicLong();
    private final AtomicLong rxBytes = new AtomicLong();
    private final AtomicLong rxErrors = new AtomicLong();
    private final AtomicLong rxNoBuffer = new AtomicLong();
    private final AtomicLong txPackets = new AtomicLong();
    private final AtomicLong txBytes = new AtomicLong();
    private final AtomicLong txDropped = new AtomicLong();
    private final AtomicLong txErrors = new AtomicLong();
    private volatile int lastErrno;
    // the sender's view of IFF_UP (send is single-threaded per txq, or under txLock)
    private final int flagsFd; // AF_INET socket for SIOCGIFFLAGS
    private final Memory flagsReq;
    private final long flagsReqAddr;
    private long flagsReadAt;
    private boolean down;
    private final CarrierResets resets;

    TapNetdev(String type, String name, Map<String, String> options, NetdevContext context) throws NetdevException {
        Interfaces.checkName(type, name);
        NetdevLinux.noOptions(type, name, options);
        this.name = name;
        this.type = type;
        this.pool = context.pool();
        int f;
        try {
            f = Sys.open("/dev/net/tun", Sys.O_RDWR | Sys.O_NONBLOCK | Sys.O_CLOEXEC);
        } catch (LastErrorException e) {
            throw new NetdevException("opening \"/dev/net/tun\" failed: " + Sys.err(e), e);
        }
        try {
            Memory req = Interfaces.ifreq(name);
            req.setShort(Sys.IFNAMSIZ, (short) (Sys.IFF_TAP | Sys.IFF_NO_PI));
            Sys.ioctl(f, Sys.TUNSETIFF, Pointer.nativeValue(req));
            if (!type.equals(InternalClass.TYPE)) {
                Interfaces.setUp(name);
            }
        } catch (LastErrorException e) {
            Sys.closeQuietly(f);
            throw new NetdevException(name + ": could not attach tap device (" + Sys.err(e) + ")", e);
        } catch (NetdevException e) {
            Sys.closeQuietly(f);
            throw e;
        }
        this.fd = f;
        try {
            this.flagsFd = Sys.socket(Sys.AF_INET, Sys.SOCK_DGRAM | Sys.SOCK_CLOEXEC, 0);
        } catch (LastErrorException e) {
            Sys.closeQuietly(f);
            throw new NetdevException(name + ": could not open a socket for its flags (" + Sys.err(e) + ")", e);
        }
        this.flagsReq = Interfaces.ifreq(name);
        this.flagsReqAddr = Pointer.nativeValue(flagsReq);
        this.flagsReadAt = System.nanoTime() - FLAGS_REFRESH_NS;
        this.resets = new CarrierResets(Interfaces.carrier(name));
        NetdevLinux.LOG.info(() -> name + ": opened " + type + " port (tap device, ifindex "
                + Interfaces.ifindex(name) + ")");
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String type() {
        return type;
    }

    @Override
    public void setConfig(Map<String, String> options) throws NetdevException {
        NetdevLinux.noOptions(type, name, options);
    }

    @Override
    public Map<String, String> getConfig() {
        return Map.of();
    }

    @Override
    public int nRxq() {
        return 1;
    }

    @Override
    public int nTxq() {
        return 1;
    }

    @Override
    public int rxqRecv(int qid, PacketBatch batch) {
        int n = 0;
        long bytes = 0;
        try {
            while (batch.room() > 0) {
                long r = Sys.read(fd, rxScratchAddr, SCRATCH);
                if (r <= 0) {
                    int e = r < 0 ? Native.getLastError() : 0;
                    if (r < 0 && e != Sys.EAGAIN && e != Sys.EINTR) {
                        rxErrors.incrementAndGet();
                        lastErrno = e;
                    }
                    break;
                }
                Packet p = copyIn((int) r);
                if (p == null) {
                    rxNoBuffer.incrementAndGet(); // the frame is dropped, counted
                    continue;
                }
                batch.add(p);
                n++;
                bytes += r;
            }
        } catch (RuntimeException e) {
            NetdevLinux.LOG.log(Level.SEVERE, name + ": unexpected error on the data path", e);
        }
        if (n > 0) {
            rxPackets.addAndGet(n);
            rxBytes.addAndGet(bytes);
        }
        return n;
    }

    /** The frame in the rx scratch buffer as a packet (a chain when it is longer than one buffer), or null. */
    private Packet copyIn(int len) {
        Packet head = pool.alloc();
        if (head == null) {
            return null;
        }
        int first = Math.min(head.capacity() - head.headroom(), len);
        head.setData(head.headroom(), first);
        head.buffer().put(head.dataOffset(), rxView, 0, first);
        for (int at = first; at < len;) {
            Packet seg = pool.alloc();
            if (seg == null) {
                head.free();
                return null;
            }
            int l = Math.min(seg.capacity(), len - at);
            seg.setSegmentData(0, l);
            seg.buffer().put(0, rxView, at, l);
            head.chain(seg);
            at += l;
        }
        return head;
    }

    @Override
    public int send(int qid, PacketBatch batch, boolean concurrentTxq) {
        if (concurrentTxq) {
            synchronized (txLock) {
                return send0(batch);
            }
        }
        return send0(batch);
    }

    private int send0(PacketBatch batch) {
        long now = System.nanoTime();
        if (now - flagsReadAt >= FLAGS_REFRESH_NS) {
            flagsReadAt = now;
            refreshDown();
        }
        if (down) {
            txDropped.addAndGet(batch.size());
            batch.freeAll();
            return 0;
        }
        int sent = 0;
        long bytes = 0;
        try {
            for (int i = 0; i < batch.size(); i++) {
                Packet p = batch.get(i);
                int len = p.length();
                long addr = p.dataAddress();
                if (p.next() != null) {
                    if (len > SCRATCH) {
                        txDropped.incrementAndGet();
                        continue;
                    }
                    int at = 0;
                    for (Packet s = p; s != null; s = s.next()) {
                        io.pvio.memory.NativeMemory.copy(s.dataAddress(), scratchAddr + at, s.dataLength());
                        at += s.dataLength();
                    }
                    addr = scratchAddr;
                }
                long w = Sys.write(fd, addr, len);
                if (w == len) {
                    sent++;
                    bytes += len;
                } else if (w < 0 && Native.getLastError() == Sys.EAGAIN) {
                    txDropped.incrementAndGet(); // the host is not reading fast enough
                } else {
                    txErrors.incrementAndGet(); // e.g. EIO while the device is down
                    lastErrno = w < 0 ? Native.getLastError() : 0;
                }
            }
        } catch (RuntimeException e) {
            NetdevLinux.LOG.log(Level.SEVERE, name + ": unexpected error on the data path", e);
        }
        batch.freeAll();
        txPackets.addAndGet(sent);
        txBytes.addAndGet(bytes);
        return 0;
    }

    /** Reads IFF_UP; a device this namespace cannot see counts as up (its frames are written). */
    private void refreshDown() {
        boolean d;
        try {
            Sys.ioctl(flagsFd, Sys.SIOCGIFFLAGS, flagsReqAddr);
            d = (flagsReq.getShort(Sys.IFNAMSIZ) & Sys.IFF_UP) == 0;
        } catch (LastErrorException e) {
            d = false;
        }
        if (d != down) {
            down = d;
            boolean nowDown = d;
            NetdevLinux.LOG.fine(() -> name + (nowDown ? ": down, frames sent to it are dropped (tx_dropped)"
                    : ": up, frames sent to it are written"));
        }
    }

    @Override
    public int freePkts(int qid, boolean concurrentTxq) {
        return 0;
    }

    @Override
    public void getStats(NetdevStats s) {
        s.rxPackets = rxPackets.get();
        s.rxBytes = rxBytes.get();
        s.rxErrors = rxErrors.get();
        s.rxDropped = rxNoBuffer.get();
        s.txPackets = txPackets.get();
        s.txBytes = txBytes.get();
        s.txDropped = txDropped.get();
        s.txErrors = txErrors.get();
    }

    @Override
    public void getCustomStats(CustomStats sink) {
        sink.put("rx_no_buffer", rxNoBuffer.get());
    }

    @Override
    public Map<String, String> status() {
        Map<String, String> m = new LinkedHashMap<>(); // ifindex, mtu, mac_in_use are columns, as in OVS
        m.put("link_state", Interfaces.carrier(name) ? "up" : "down");
        m.put("driver_name", "tun");
        m.putAll(Interfaces.drvinfo(name)); // as OVS: driver_name, driver_version, firmware_version
        int e = lastErrno;
        if (e != 0) {
            m.put("last_error", Sys.strerror(e));
        }
        return m;
    }

    @Override
    public String etherAddr() {
        return Interfaces.macOrNull(name);
    }

    @Override
    public void setEtherAddr(String mac) throws NetdevException {
        Interfaces.setMac(name, mac);
    }

    @Override
    public int mtu() {
        return Interfaces.mtuOrZero(name);
    }

    @Override
    public int ifindex() {
        return Interfaces.ifindex(name);
    }

    /** The device's IFF_UP: an internal port is down until the host brings it up. */
    @Override
    public boolean adminUp() {
        return Interfaces.isUp(name);
    }

    /** OpenFlow port-mod up/down: the device's IFF_UP, as OVS turns NETDEV_UP on or off. */
    @Override
    public boolean setAdminUp(boolean up) throws NetdevException {
        Interfaces.setUp(name, up);
        return true;
    }

    @Override
    public boolean carrier() {
        boolean c = !closed && Interfaces.carrier(name);
        resets.see(c);
        return c;
    }

    @Override
    public long carrierResets() {
        carrier();
        return resets.count();
    }

    /**
     * The speed ethtool reports for the tap device (tun's own), for {@code internal} ports too: OVS's
     * userspace datapath opens them with its tap class, which reads it.
     */
    @Override
    public long linkSpeed() {
        return Interfaces.speed(name).bps();
    }

    @Override
    public boolean fullDuplex() {
        return Interfaces.speed(name).fullDuplex();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        Sys.closeQuietly(fd);
        Sys.closeQuietly(flagsFd);
        NetdevLinux.LOG.fine(() -> name + ": closed");
    }

    @Override
    public String toString() {
        return type + ":" + name;
    }
}
