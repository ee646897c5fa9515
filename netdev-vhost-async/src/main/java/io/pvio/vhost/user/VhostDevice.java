package io.pvio.vhost.user;

import io.pvio.counter.Counter;
import io.pvio.dma.DmaRegions;
import io.pvio.posix.EventFd;
import io.pvio.posix.Fd;
import io.pvio.posix.PosixException;
import io.pvio.vhost.ring.DirtyLog;
import io.pvio.vhost.ring.GuestMemory;
import io.pvio.vhost.ring.Virtqueue;
import io.pvio.vhost.ring.VirtioFeatures;
import io.pvio.vhost.user.MessageTable.Lock;
import io.pvio.vhost.user.MessageTable.Row;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The back-end state of one vhost-user device: negotiated features, the memory table and the
 * virtqueues, driven by the front end's messages ({@link #handle}) on the port's control thread.
 * Virtqueue {@code 2*q} is the guest's receive queue of pair q (pvio transmits into it), {@code 2*q+1} its
 * transmit queue (pvio receives from it).
 */
public final class VhostDevice {
    public static final int MAX_QUEUE_PAIRS = 8;
    public static final int MAX_VQS = 2 * MAX_QUEUE_PAIRS;

    private static final Logger LOG = Logger.getLogger("netdev_dpdk");
    private static final Logger DPDK = Logger.getLogger("dpdk");

    /** What the device tells its port. Called on the control thread. */
    public interface Listener {
        /** Carrier, running state or queue layout may have changed. */
        void changed();
    }

    private final String name;
    private final Listener listener;
    private final Virtqueue[] vqs = new Virtqueue[MAX_VQS];
    /** Where guest memory is registered for DMA behind an IOMMU, or null. */
    private final DmaRegions dma;
    private final MessageTable table = table();

    private volatile boolean connected;
    private volatile boolean running;
    private volatile long features;
    private volatile long protocolFeatures;
    /** Features offered to the front end of the current connection; the next one gets {@link #nextOffered}. */
    private volatile long offered = VirtioFeatures.OFFERED;
    private volatile long nextOffered = VirtioFeatures.OFFERED;
    private boolean featuresSet;
    private volatile GuestMemory mem;
    private volatile int queuePairs = 1;
    /** Written by the control thread only. */
    private final Counter messages = new Counter();
    private final Counter badMessages = new Counter();
    private volatile String lastError;
    /** The dirty page log (SET_LOG_BASE), or null; replaced and unmapped by the control thread. */
    private volatile DirtyLog log;
    /** MAC (48 bits) of a RARP to inject into the switch (SEND_RARP), or -1. */
    private final AtomicLong rarp = new AtomicLong(-1);
    private volatile long rarpsInjected;

    public VhostDevice(String name, Listener listener) {
        this(name, listener, null);
    }

    /** With {@code dma}: every slice of guest memory is registered there while mapped. */
    public VhostDevice(String name, Listener listener, DmaRegions dma) {
        this.name = name;
        this.listener = listener;
        this.dma = dma;
        for (int i = 0; i < MAX_VQS; i++) {
            vqs[i] = new Virtqueue(name, i);
        }
    }

    public String name() {
        return name;
    }

    /** Virtqueue {@code i} (0 &le; i &lt; {@link #MAX_VQS}); always the same object for the port's life. */
    public Virtqueue vq(int i) {
        return vqs[i];
    }

    public boolean connected() {
        return connected;
    }

    /** True while the front end has memory and at least one ready ring (DPDK's "device running"). */
    public boolean running() {
        return running;
    }

    /** Carrier: connected with at least one ring enabled and ready. */
    public boolean carrier() {
        return connected && running;
    }

    /**
     * Features to offer from the next connection on (the current front end keeps what it negotiated, as
     * OVS applies {@code userspace-tso-enable} to vhost ports). Must be within {@link VirtioFeatures#OFFERED}
     * and {@link VirtioFeatures#OFFLOADS}.
     */
    public void setNextOffered(long f) {
        if ((f & ~(VirtioFeatures.OFFERED | VirtioFeatures.OFFLOADS)) != 0) {
            throw new IllegalArgumentException(String.format("features 0x%x cannot be offered", f));
        }
        nextOffered = f;
    }

    /** Features offered to the current front end. */
    public long offered() {
        return offered;
    }

    public long features() {
        return features;
    }

    public long protocolFeatures() {
        return protocolFeatures;
    }

    /** Queue pairs the front end has set up (at least 1). */
    public int queuePairs() {
        return queuePairs;
    }

    public long messages() {
        return messages.get();
    }

    public long badMessages() {
        return badMessages.get();
    }

    public String lastError() {
        return lastError;
    }

    public GuestMemory memory() {
        return mem;
    }

    /** The dirty page log the front end gave (SET_LOG_BASE), or null. */
    public DirtyLog log() {
        return log;
    }

    /**
     * Data path (the port's receive queue 0): the MAC of a RARP SEND_RARP asked for, as 48 bits (first
     * byte highest), or -1; each request is returned once.
     */
    public long takeRarp() {
        return rarp.get() < 0 ? -1 : rarp.getAndSet(-1);
    }

    /** Gives back a RARP {@link #takeRarp} returned and could not send (a newer request wins). */
    public void requeueRarp(long mac) {
        rarp.compareAndSet(-1, mac);
    }

    /** Counts a RARP injected into the switch (the receive queue 0's thread). */
    public void countRarp() {
        rarpsInjected = rarpsInjected + 1;
    }

    public long rarpsInjected() {
        return rarpsInjected;
    }

    /** A front end connected. */
    public void connect() {
        offered = nextOffered;
        connected = true;
        listener.changed();
    }

    /**
     * The front end went away (or reset the device): stops every ring, then unmaps its memory once no
     * data-path thread is inside it.
     */
    public void disconnect() {
        boolean was = connected;
        connected = false;
        resetState();
        if (was) {
            listener.changed();
        }
    }

    private void resetState() {
        for (Virtqueue vq : vqs) {
            vq.lock();
        }
        GuestMemory old = mem;
        boolean idle = true;
        try {
            for (Virtqueue vq : vqs) {
                vq.reset(); // drains the queue's DMA copies first
                idle &= vq.asyncIdle();
            }
            mem = null;
            features = 0;
            protocolFeatures = 0;
            featuresSet = false;
        } finally {
            for (Virtqueue vq : vqs) {
                vq.unlock();
            }
        }
        if (old != null) {
            unmap(old, idle); // no data-path thread can be inside it: they only enter under a vq lock
        }
        DirtyLog oldLog = log;
        log = null;
        if (oldLog != null) {
            oldLog.unmap(); // the queues have forgotten it (reset), their copies were retired
        }
        rarp.set(-1);
        updateRunning();
    }

    /** Unmaps a replaced memory table, unless a DMA engine may still write into it (then it is leaked). */
    private void unmap(GuestMemory old, boolean idle) {
        if (idle) {
            dmaUnmap(old);
            old.unmap();
        } else {
            LOG.severe(String.format("vHost device '%s': DMA copies into the old guest memory did not complete;"
                    + " its mapping is kept (leaked) rather than unmapped under the engine", name));
        }
    }

    /** After mmap, before any queue sees the table: each slice for DMA at IOVA = VA (DPDK: async_dma_map). */
    private void dmaMap(GuestMemory m) {
        if (dma != null) {
            for (int r = 0; r < m.slices(); r++) {
                try {
                    dma.map(m.address(r), m.view(r).capacity(),
                            "vHost device '" + name + "' guest memory slice " + r);
                } catch (IllegalArgumentException e) { // cannot happen with distinct mmaps: logged, not fatal
                    LOG.severe(e.getMessage());
                }
            }
        }
    }

    /** Once no DMA copy touches the table, before munmap. */
    private void dmaUnmap(GuestMemory m) {
        if (dma != null) {
            for (int r = 0; r < m.slices(); r++) {
                dma.unmap(m.address(r), m.view(r).capacity());
            }
        }
    }

    /** A message from the front end. */
    public static final class Message {
        public int request;
        public int flags;
        public ByteBuffer payload;
        public int size;
        public final int[] fds = new int[64];
        public int nfds;

        /** Closes the descriptors not taken by the handler (taken ones are set to -1). */
        void closeFds() {
            for (int i = 0; i < nfds; i++) {
                Fd.closeQuietly(fds[i]);
                fds[i] = -1;
            }
            nfds = 0;
        }
    }

    /**
     * Handles one message. Returns the reply payload for requests that reply with data, else null.
     * Descriptors that came with the message are taken or closed.
     *
     * @throws VhostUserException when the message is refused
     */
    public ByteBuffer handle(Message m) throws VhostUserException {
        messages.increment();
        try {
            return dispatch(m);
        } catch (VhostUserException e) {
            badMessages.increment();
            lastError = Request.name(m.request) + ": " + e.getMessage();
            throw e;
        } finally {
            m.closeFds();
        }
    }

    /** Every request this back end accepts, one row each (DPDK's vhost_message_handlers). */
    private MessageTable table() {
        return new MessageTable(
                Row.exact(Request.GET_FEATURES, 0, 0, Lock.NONE, (m, vq) -> u64(offered)),
                Row.exact(Request.SET_FEATURES, 8, 0, Lock.NONE, this::setFeatures),
                Row.exact(Request.SET_OWNER, 0, 0, Lock.NONE, (m, vq) -> null),
                Row.exact(Request.RESET_OWNER, 0, 0, Lock.ALL, (m, vq) -> {
                    resetState();
                    return null;
                }),
                new Row(Request.SET_MEM_TABLE, 8 + 32, 8 + 32 * GuestMemory.MAX_REGIONS, 1, GuestMemory.MAX_REGIONS,
                        Lock.ALL, this::setMemTable),
                Row.exact(Request.SET_LOG_BASE, 16, 1, Lock.ALL, this::setLogBase),
                new Row(Request.SET_LOG_FD, 0, 8, 1, 1, Lock.NONE, this::setLogFd),
                Row.exact(Request.SET_VRING_NUM, 8, 0, Lock.QUEUE, this::setVringNum),
                Row.exact(Request.SET_VRING_ADDR, 40, 0, Lock.QUEUE, this::setVringAddr),
                Row.exact(Request.SET_VRING_BASE, 8, 0, Lock.QUEUE, this::setVringBase),
                Row.exact(Request.GET_VRING_BASE, 8, 0, Lock.QUEUE, this::getVringBase),
                new Row(Request.SET_VRING_KICK, 8, 8, 0, 1, Lock.QUEUE, this::setVringFd),
                new Row(Request.SET_VRING_CALL, 8, 8, 0, 1, Lock.QUEUE, this::setVringFd),
                new Row(Request.SET_VRING_ERR, 8, 8, 0, 1, Lock.QUEUE, this::setVringFd),
                Row.exact(Request.GET_PROTOCOL_FEATURES, 0, 0, Lock.NONE, (m, vq) -> u64(Request.PROTOCOL_OFFERED)),
                Row.exact(Request.SET_PROTOCOL_FEATURES, 8, 0, Lock.NONE, this::setProtocolFeatures),
                Row.exact(Request.GET_QUEUE_NUM, 0, 0, Lock.NONE, (m, vq) -> u64(MAX_QUEUE_PAIRS)),
                Row.exact(Request.SET_VRING_ENABLE, 8, 0, Lock.NONE, this::setVringEnable),
                Row.exact(Request.SEND_RARP, 8, 0, Lock.NONE, this::sendRarp));
    }

    /** The message table (package-private for its tests). */
    MessageTable messageTable() {
        return table;
    }

    private ByteBuffer dispatch(Message m) throws VhostUserException {
        Row row = table.check(m);
        if (row.lock() != Lock.QUEUE) {
            return row.handler().handle(m, null);
        }
        Virtqueue vq = vring(MessageTable.ring(m));
        ByteBuffer reply;
        vq.lock();
        try {
            reply = row.handler().handle(m, vq);
        } finally {
            vq.unlock();
        }
        if (m.request == Request.SET_VRING_KICK
                && !VirtioFeatures.has(features, VirtioFeatures.VHOST_USER_F_PROTOCOL_FEATURES)) {
            setEnabled(vq, true); // without protocol features a ring is enabled when it starts
        }
        updateRunning();
        return reply;
    }

    /**
     * A split ring's size is a power of two (VIRTIO 1.0 2.4); a packed ring may have any size up to 2^15
     * (VIRTIO 1.1 2.7), as DPDK's vhost_user_set_vring_num checks with the features negotiated so far.
     */
    private ByteBuffer setVringNum(Message m, Virtqueue vq) throws VhostUserException {
        int num = m.payload.getInt(4);
        if (num <= 0 || num > Virtqueue.MAX_SIZE) {
            throw new VhostUserException("ring size " + Integer.toUnsignedString(num) + " is not in 1.."
                    + Virtqueue.MAX_SIZE, false);
        }
        if (!VirtioFeatures.has(features, VirtioFeatures.F_RING_PACKED) && Integer.bitCount(num) != 1) {
            throw new VhostUserException("ring size " + num + " of a split ring is not a power of two (only"
                    + " packed rings, VIRTIO_F_RING_PACKED, may have any size)", false);
        }
        vq.setNum(num);
        return null;
    }

    /** VHOST_VRING_F_LOG of vhost_vring_addr.flags: log_guest_addr is valid, used-ring writes are logged. */
    static final int VRING_F_LOG = 1;

    private ByteBuffer setVringAddr(Message m, Virtqueue vq) throws VhostUserException {
        ByteBuffer p = m.payload;
        int flags = p.getInt(4);
        if ((flags & ~VRING_F_LOG) != 0) {
            throw new VhostUserException(String.format("unknown vring address flags 0x%x", flags), false);
        }
        long logAddr = -1;
        if ((flags & VRING_F_LOG) != 0) {
            logAddr = p.getLong(32);
            checkUsedLog(vq, logAddr);
        }
        vq.setAddr(p.getLong(8), p.getLong(16), p.getLong(24), logAddr);
        if (logAddr >= 0 || vq.logging()) {
            DPDK.info(String.format("VHOST_CONFIG: (%s) vring %d used ring %s", name, vq.index(),
                    logAddr >= 0 ? String.format("logged at 0x%x", logAddr) : "not logged"));
        }
        return null;
    }

    /** The used ring's log address: aligned, in guest memory and in the log when there are ones. */
    private void checkUsedLog(Virtqueue vq, long addr) throws VhostUserException {
        long len = io.pvio.vhostuser.SplitRing.usedBytes(Math.max(1, vq.size()));
        if ((addr & 3) != 0 || addr < 0 || addr + len < addr) {
            throw new VhostUserException(String.format("used ring log address 0x%x is not 4-byte aligned", addr),
                    false);
        }
        GuestMemory m = mem;
        if (m != null && !m.containsGpa(addr, len)) {
            throw new VhostUserException(String.format("used ring log address 0x%x+%d outside guest memory", addr,
                    len), false);
        }
        DirtyLog l = log;
        if (l != null && addr + len > l.covers()) {
            throw new VhostUserException(String.format("used ring log address 0x%x+%d outside the dirty log"
                    + " (it covers up to 0x%x)", addr, len, l.covers()), false);
        }
    }

    /**
     * SET_LOG_BASE: maps the log (mmap_size, mmap_offset and the descriptor), hands it to every queue, unmaps
     * the previous one; replies with an empty payload, as DPDK (QEMU waits for that reply).
     */
    private ByteBuffer setLogBase(Message m, Virtqueue unused) throws VhostUserException {
        long size = m.payload.getLong(0);
        long offset = m.payload.getLong(8);
        GuestMemory cur = mem;
        if (cur != null && Long.compareUnsigned(size, DirtyLog.bytesFor(cur.gpaEnd())) < 0) {
            throw new VhostUserException(String.format("dirty log of %s bytes is too small for guest memory up to"
                    + " 0x%x (%d bytes needed)", Long.toUnsignedString(size), cur.gpaEnd(),
                    DirtyLog.bytesFor(cur.gpaEnd())), false);
        }
        DirtyLog fresh;
        try {
            fresh = DirtyLog.map(m.fds[0], size, offset);
        } catch (IllegalArgumentException | PosixException e) {
            throw new VhostUserException("bad dirty log: " + e.getMessage(), false);
        }
        for (Virtqueue vq : vqs) {
            vq.lock();
        }
        DirtyLog old = log;
        try {
            log = fresh;
            for (Virtqueue vq : vqs) {
                vq.setLog(fresh);
            }
        } finally {
            for (Virtqueue vq : vqs) {
                vq.unlock();
            }
        }
        if (old != null) {
            old.unmap(); // no data-path thread marks without a queue lock
        }
        DPDK.info(String.format("VHOST_CONFIG: (%s) log mmap size: %d, offset: %d", name, size, offset));
        return ByteBuffer.allocate(0);
    }

    /** SET_LOG_FD: a descriptor to signal log updates on; DPDK closes it unused, so does this back end. */
    private ByteBuffer setLogFd(Message m, Virtqueue unused) {
        DPDK.info(String.format("VHOST_CONFIG: (%s) log fd %d received and closed (not used)", name, m.fds[0]));
        return null; // the descriptor is closed with the message's
    }

    /**
     * SEND_RARP (after a migration, for a guest without GUEST_ANNOUNCE): the next receive on queue 0 hands the
     * switch a RARP broadcast from the guest's MAC, so that the network learns where it is now (DPDK's
     * broadcast_rarp).
     */
    private ByteBuffer sendRarp(Message m, Virtqueue unused) {
        long mac = 0;
        for (int i = 0; i < 6; i++) {
            mac = mac << 8 | (m.payload.get(i) & 0xff);
        }
        DPDK.info(String.format("VHOST_CONFIG: (%s) SEND_RARP for MAC %s", name, macString(mac)));
        rarp.set(mac);
        return null;
    }

    /** "52:54:00:12:34:56" of a 48-bit MAC. */
    public static String macString(long mac) {
        StringBuilder sb = new StringBuilder();
        for (int i = 5; i >= 0; i--) {
            sb.append(String.format("%02x", (mac >>> (8 * i)) & 0xff)).append(i > 0 ? ":" : "");
        }
        return sb.toString();
    }

    /**
     * Split: the next avail index (16 bits). Packed: bits 0-14 the next position, bit 15 its wrap counter;
     * QEMU also sends its used side in bits 16-31, which is the same on a stopped ring and, as DPDK, ignored.
     */
    private ByteBuffer setVringBase(Message m, Virtqueue vq) throws VhostUserException {
        int base = m.payload.getInt(4);
        if (VirtioFeatures.has(features, VirtioFeatures.F_RING_PACKED)) {
            vq.setBase(base & 0xffff);
            return null;
        }
        if (base < 0 || base > 0xffff) {
            throw new VhostUserException("ring base " + Integer.toUnsignedString(base) + " above 65535", false);
        }
        vq.setBase(base);
        return null;
    }

    /**
     * Split: the next avail index. Packed: the next position and wrap counter in bits 0-15 and, as QEMU reads
     * them, the used side (the same once stopped) in bits 16-31.
     */
    private ByteBuffer getVringBase(Message m, Virtqueue vq) {
        int base = vq.stop();
        if (VirtioFeatures.has(features, VirtioFeatures.F_RING_PACKED)) {
            base |= base << 16;
        }
        ByteBuffer r = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        r.putInt(0, vq.index());
        r.putInt(4, base);
        return r;
    }

    private ByteBuffer setProtocolFeatures(Message m, Virtqueue unused) throws VhostUserException {
        long f = m.payload.getLong(0);
        if ((f & ~Request.PROTOCOL_OFFERED) != 0) {
            throw new VhostUserException(String.format("protocol features 0x%x were not offered",
                    f & ~Request.PROTOCOL_OFFERED), false);
        }
        protocolFeatures = f;
        DPDK.info(String.format("VHOST_CONFIG: (%s) negotiated Vhost-user protocol features: 0x%x", name, f));
        return null;
    }

    private ByteBuffer setVringEnable(Message m, Virtqueue unused) throws VhostUserException {
        Virtqueue vq = vring(m.payload.getInt(0));
        int on = m.payload.getInt(4);
        if (on != 0 && on != 1) {
            throw new VhostUserException("SET_VRING_ENABLE with state " + on, false);
        }
        setEnabled(vq, on == 1);
        return null;
    }

    private Virtqueue vring(int idx) throws VhostUserException {
        if (idx < 0 || idx >= MAX_VQS) {
            throw new VhostUserException("vring index " + Integer.toUnsignedString(idx) + " out of range (at most "
                    + (MAX_VQS - 1) + ")", false);
        }
        return vqs[idx];
    }

    private static ByteBuffer u64(long v) {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, v);
        return b;
    }

    private ByteBuffer setFeatures(Message m, Virtqueue unused) throws VhostUserException {
        long f = m.payload.getLong(0);
        long o = offered;
        if ((f & ~o) != 0) {
            throw new VhostUserException(String.format("features 0x%x were not offered (offered 0x%x)", f & ~o, o),
                    false);
        }
        for (Virtqueue vq : vqs) {
            vq.lock();
            try {
                vq.setFeatures(f);
            } finally {
                vq.unlock();
            }
        }
        features = f;
        featuresSet = true;
        DPDK.info(String.format("VHOST_CONFIG: (%s) negotiated Virtio features: %s", name,
                VirtioFeatures.describe(f)));
        return null;
    }

    private ByteBuffer setMemTable(Message m, Virtqueue unused) throws VhostUserException {
        ByteBuffer p = m.payload;
        int n = p.getInt(0);
        if (n < 1 || n > GuestMemory.MAX_REGIONS) {
            throw new VhostUserException(Integer.toUnsignedString(n) + " memory regions (1.." + GuestMemory.MAX_REGIONS
                    + " allowed)", false);
        }
        if (m.size != 8 + 32 * n) {
            throw new VhostUserException("memory table of " + m.size + " bytes for " + n + " regions (expected "
                    + (8 + 32 * n) + ")", false);
        }
        if (m.nfds != n) {
            throw new VhostUserException(m.nfds + " file descriptors for " + n + " memory regions", false);
        }
        GuestMemory.Region[] regions = new GuestMemory.Region[n];
        for (int i = 0; i < n; i++) {
            int o = 8 + 32 * i;
            regions[i] = new GuestMemory.Region(p.getLong(o), p.getLong(o + 8), p.getLong(o + 16), p.getLong(o + 24));
        }
        GuestMemory fresh;
        try {
            fresh = GuestMemory.map(regions, m.fds);
        } catch (IllegalArgumentException | PosixException e) {
            throw new VhostUserException("bad memory table: " + e.getMessage(), false);
        }
        dmaMap(fresh);
        // swap while no data-path thread is inside the old table, then unmap it
        for (Virtqueue vq : vqs) {
            vq.lock();
        }
        GuestMemory old = mem;
        boolean idle = true;
        try {
            mem = fresh;
            for (Virtqueue vq : vqs) {
                vq.setMemory(fresh); // drains the queue's DMA copies into the old table first
                idle &= vq.asyncIdle();
            }
        } finally {
            for (Virtqueue vq : vqs) {
                vq.unlock();
            }
        }
        if (old != null) {
            unmap(old, idle);
        }
        DPDK.info(String.format("VHOST_CONFIG: (%s) guest memory region size: 0x%x in %d region(s)%s", name,
                fresh.totalSize(), n, fresh.sealed() ? ", sealed against shrinking" : ""));
        DirtyLog l = log;
        if (l != null && l.covers() < fresh.gpaEnd()) {
            LOG.warning(String.format("vHost device '%s': the dirty log covers guest memory up to 0x%x, the new"
                    + " memory table reaches 0x%x: writes above are not logged until a larger log comes", name,
                    l.covers(), fresh.gpaEnd()));
        }
        if (LOG.isLoggable(Level.FINE)) {
            LOG.fine(fresh.describe());
        }
        updateRunning();
        return null;
    }

    /** SET_VRING_KICK, _CALL, _ERR, under {@code vq}'s lock: the descriptor, or none with the no-fd flag. */
    private ByteBuffer setVringFd(Message m, Virtqueue vq) throws VhostUserException {
        boolean nofd = (m.payload.getLong(0) & Request.VRING_NOFD_MASK) != 0;
        if (m.nfds != (nofd ? 0 : 1)) {
            throw new VhostUserException(m.nfds + " file descriptors" + (nofd ? " with the no-fd flag" : ", expected 1"),
                    false);
        }
        EventFd fd = null;
        if (!nofd) {
            int raw = m.fds[0];
            m.fds[0] = -1;
            m.nfds = 0;
            try {
                fd = EventFd.adopt(raw); // non-blocking: a front end's full counter must not stall the PMD
            } catch (io.pvio.posix.PosixException e) {
                throw new VhostUserException(e.getMessage(), false);
            }
        }
        if (m.request == Request.SET_VRING_ERR) {
            if (fd != null) {
                fd.close(); // errors are not reported
            }
        } else if (m.request == Request.SET_VRING_CALL) {
            vq.setCall(fd);
        } else {
            vq.start(fd);
        }
        return null;
    }

    private void setEnabled(Virtqueue vq, boolean on) {
        boolean changed;
        vq.lock();
        try {
            changed = vq.setEnabled(on);
        } finally {
            vq.unlock();
        }
        if (changed) {
            int i = vq.index();
            boolean isRx = (i & 1) == 1; // the guest's transmit queue is our rx queue
            LOG.info(String.format("State of queue %d ( %s_qid %d ) of vhost device '%s' changed to '%s'", i,
                    isRx ? "rx" : "tx", i / 2, name, on ? "enabled" : "disabled"));
        }
        updateRunning();
    }

    /** Re-evaluates running/carrier and the queue layout; tells the port when something changed. */
    private void updateRunning() {
        boolean any = false;
        int highest = -1;
        for (Virtqueue vq : vqs) {
            if (vq.ready()) {
                any = true;
            }
            if (vq.started() || vq.ready()) {
                highest = Math.max(highest, vq.index());
            }
        }
        boolean nowRunning = any && mem != null && connected;
        boolean changed = false;
        if (nowRunning != running) {
            running = nowRunning;
            changed = true;
            if (nowRunning) {
                LOG.info(String.format("vHost Device '%s' has been added on numa node %d", name, 0));
            } else {
                LOG.info(String.format("vHost Device '%s' has been removed", name));
            }
        }
        if (nowRunning) {
            int pairs = Math.max(1, highest / 2 + 1);
            if (pairs != queuePairs) {
                queuePairs = pairs;
                changed = true;
            }
        }
        if (changed) {
            listener.changed();
        }
    }
}
