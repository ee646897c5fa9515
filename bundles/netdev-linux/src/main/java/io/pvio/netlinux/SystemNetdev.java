package io.pvio.netlinux;

import io.pvio.netdev.CustomStats;
import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.NetdevException;
import io.pvio.netdev.NetdevStats;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;

/**
 * A {@code system} port: a kernel interface by name, through {@link PacketSocket}. One rx and one tx queue.
 * The sockets follow the interface: when it disappears they are closed (the port stays, with an error
 * status and no carrier) and when an interface of that name appears again (a new ifindex) or its MTU changes
 * they are reopened, by {@link #poll()} on the class's monitor thread (OVS's netdev-linux follows netlink
 * notifications instead).
 *
 * <p>The data path reads {@link #sock} between raising and clearing its busy marks; the control path
 * replaces it, then waits for the marks to clear before it closes the old rings (Dekker's order over
 * volatiles), so a PMD never touches an unmapped ring.
 */
final class SystemNetdev implements Netdev {
    public static final String TYPE = "system";

    private final String name;
    private final NetdevContext context;
    private final PacketPool pool;
    private volatile PacketSocket sock;
    private volatile int rxBusy;
    private final AtomicInteger txBusy = new AtomicInteger();
    private final Object txLock = new Object();
    private volatile String error;
    private volatile int mtu;
    private volatile boolean closed;
    private final AtomicLong txNoDevice = new AtomicLong();
    private final AtomicLong pmdErrors = new AtomicLong();
    // counters of retired sockets, so that the port's totals survive a reopen (control path, under this)
    private long oldRxTooLong;
    private long oldRxNoBuffer;
    private long oldTxRingFull;
    private long oldTxTooLong;
    private long oldTxSendErrors;
    private long oldKernelDrops;
    private int reopened;
    private final java.util.function.Consumer<SystemNetdev> onClose;
    private final CarrierResets resets;

    SystemNetdev(String name, Map<String, String> options, NetdevContext context,
            java.util.function.Consumer<SystemNetdev> onClose) throws NetdevException {
        Interfaces.checkName(TYPE, name);
        NetdevLinux.noOptions(TYPE, name, options);
        this.name = name;
        this.context = context;
        this.pool = context.pool();
        this.onClose = onClose;
        int idx = Interfaces.ifindex(name);
        if (idx == 0) {
            throw new NetdevException("No such device");
        }
        this.mtu = Interfaces.mtu(name);
        this.sock = new PacketSocket(name, idx, mtu);
        bringUp();
        this.resets = new CarrierResets(Interfaces.carrier(name)); // once up: bringing it up is no reset
        NetdevLinux.LOG.info(() -> name + ": opened system port on ifindex " + idx + ", mtu " + mtu);
    }

    private void bringUp() {
        try { // as OVS, a port's interface is brought up when it joins the bridge
            Interfaces.setUp(name);
        } catch (NetdevException e) {
            NetdevLinux.LOG.warning(() -> e.getMessage());
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public void setConfig(Map<String, String> options) throws NetdevException {
        NetdevLinux.noOptions(TYPE, name, options);
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
        rxBusy = 1;
        try {
            PacketSocket s = sock;
            return s == null ? 0 : s.recv(batch, pool);
        } catch (RuntimeException e) {
            pmdError(e);
            return 0;
        } finally {
            rxBusy = 0;
        }
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
        txBusy.incrementAndGet();
        try {
            PacketSocket s = sock;
            if (s == null) {
                txNoDevice.addAndGet(batch.size());
                batch.freeAll();
            } else {
                s.send(batch);
            }
        } catch (RuntimeException e) {
            pmdError(e);
            batch.freeAll();
        } finally {
            txBusy.decrementAndGet();
        }
        return 0;
    }

    private void pmdError(RuntimeException e) {
        if (pmdErrors.getAndIncrement() == 0) {
            NetdevLinux.LOG.log(Level.SEVERE, name + ": unexpected error on the data path", e);
        }
    }

    @Override
    public int freePkts(int qid, boolean concurrentTxq) {
        return 0;
    }

    /**
     * Monitor (control path): follows the interface. Returns true when the port's state changed.
     */
    synchronized boolean poll() {
        if (closed) {
            return false;
        }
        int idx = Interfaces.ifindex(name);
        PacketSocket s = sock;
        if (idx == 0) {
            if (s != null) {
                retire();
                NetdevLinux.LOG.warning(() -> name + ": interface disappeared; waiting for it to come back");
                error = "No such device";
                return true;
            }
            return false;
        }
        int m;
        try {
            m = Interfaces.mtu(name);
        } catch (NetdevException e) {
            return false; // vanished between the two calls: next poll
        }
        if (s != null && s.ifindex == idx && m == mtu) {
            carrier(); // counts a carrier change (link_resets) no one else read
            return false;
        }
        String why = s == null ? "interface is back" : s.ifindex != idx ? "interface re-created"
                : "MTU changed from " + mtu + " to " + m;
        if (s != null) {
            retire();
        }
        try {
            PacketSocket n = new PacketSocket(name, idx, m);
            mtu = m;
            sock = n;
            error = null;
            reopened++;
            bringUp();
            NetdevLinux.LOG.info(() -> name + ": " + why + ": reopened on ifindex " + idx + ", mtu " + m);
        } catch (NetdevException e) {
            if (!e.getMessage().equals(error)) {
                NetdevLinux.LOG.warning(() -> e.getMessage());
            }
            error = e.getMessage();
        }
        return true;
    }

    /** Takes the sockets away from the data path and closes them once no PMD is inside (control path). */
    private void retire() {
        PacketSocket s = sock;
        if (s == null) {
            return;
        }
        sock = null;
        while (rxBusy != 0 || txBusy.get() != 0) {
            Thread.onSpinWait();
        }
        oldRxTooLong += s.rxTooLong;
        oldRxNoBuffer += s.rxNoBuffer;
        oldTxRingFull += s.txRingFull;
        oldTxTooLong += s.txTooLong;
        oldTxSendErrors += s.txSendErrors;
        oldKernelDrops += s.kernelDrops();
        s.close();
    }

    @Override
    public synchronized void getStats(NetdevStats stats) {
        Interfaces.kernelStats(name, stats);
        PacketSocket s = sock;
        stats.rxDropped += oldKernelDrops + oldRxNoBuffer + (s == null ? 0 : s.kernelDrops() + s.rxNoBuffer);
        stats.rxLengthErrors += oldRxTooLong + (s == null ? 0 : s.rxTooLong);
        stats.txDropped += oldTxRingFull + oldTxTooLong + txNoDevice.get()
                + (s == null ? 0 : s.txRingFull + s.txTooLong);
        stats.txErrors += oldTxSendErrors + (s == null ? 0 : s.txSendErrors);
    }

    @Override
    public synchronized void getCustomStats(CustomStats sink) {
        PacketSocket s = sock;
        sink.put("rx_ring_drops", oldKernelDrops + (s == null ? 0 : s.kernelDrops()));
        sink.put("rx_no_buffer", oldRxNoBuffer + (s == null ? 0 : s.rxNoBuffer));
        sink.put("rx_too_long", oldRxTooLong + (s == null ? 0 : s.rxTooLong));
        sink.put("tx_ring_full", oldTxRingFull + (s == null ? 0 : s.txRingFull));
        sink.put("tx_too_long", oldTxTooLong + (s == null ? 0 : s.txTooLong));
        sink.put("tx_no_device", txNoDevice.get());
        sink.put("tx_send_errors", oldTxSendErrors + (s == null ? 0 : s.txSendErrors));
        sink.put("reopened", reopened);
    }

    @Override
    public Map<String, String> status() {
        Map<String, String> m = new LinkedHashMap<>();
        PacketSocket s = sock;
        String e = error;
        if (e != null) {
            m.put("error", e);
        }
        if (s != null) { // ifindex, mtu, mac_in_use are columns, as in OVS
            m.put("link_state", Interfaces.carrier(name) ? "up" : "down");
            Map<String, String> drvinfo = Interfaces.drvinfo(name); // OVS's three ethtool keys
            String drv = drvinfo.isEmpty() ? Interfaces.driver(name) : null; // sysfs when ethtool does not answer
            if (drv != null) {
                m.put("driver_name", drv);
            }
            m.putAll(drvinfo);
            if (s.txLastErrno != 0) {
                m.put("tx_last_error", Sys.strerror(s.txLastErrno));
            }
        }
        return m;
    }

    @Override
    public String etherAddr() {
        return Interfaces.macOrNull(name);
    }

    @Override
    public int mtu() {
        return Interfaces.mtuOrZero(name);
    }

    @Override
    public int ifindex() {
        return Interfaces.ifindex(name);
    }

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
        boolean c = sock != null && Interfaces.carrier(name);
        resets.see(c);
        return c;
    }

    @Override
    public long carrierResets() {
        carrier();
        return resets.count();
    }

    /** As OVS's system ports: the speed ethtool reports. */
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
        onClose.accept(this);
        retire();
        NetdevLinux.LOG.fine(() -> name + ": closed");
    }

    /** For the monitor: tells the datapath to re-read carrier and queues. */
    void changed() {
        context.changed();
    }

    @Override
    public String toString() {
        return "system:" + name;
    }
}
