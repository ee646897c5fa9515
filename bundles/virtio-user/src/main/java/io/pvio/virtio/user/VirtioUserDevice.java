package io.pvio.virtio.user;

import static io.pvio.virtio.user.VhostUser.*;

import io.pvio.netdev.DataPathClasses;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import io.pvio.packet.PacketPool;
import io.pvio.posix.EventFd;
import io.pvio.posix.Fd;
import io.pvio.posix.PosixException;
import io.pvio.posix.SharedMemory;
import io.pvio.posix.UnixSocket;
import io.pvio.vhostuser.SplitRing;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A virtio-net device driven over vhost-user: the front end of one vhost-user connection, in either socket
 * role. {@link #open} allocates guest memory (one memfd, shared with every back end that connects), builds
 * the virtqueues and starts a control thread that connects (client) or accepts (server), runs the vhost-user
 * setup, and after the back end went away connects or accepts again and re-runs the setup, resuming each
 * ring where the back end left it (rings, counters and frames not yet consumed survive).
 *
 * <h2>Data path</h2>
 * Queue pair {@code p} is RX virtqueue {@code 2p} (back end to us) and TX virtqueue {@code 2p+1}. Each
 * direction of a pair may be used by one thread at a time; different pairs and directions in parallel.
 * Nothing allocates per frame. Polling mode: interrupts are suppressed, the back end is kicked only when it
 * asks (VRING_USED_F_NO_NOTIFY / EVENT_IDX avail_event).
 *
 * <h2>Lifecycle</h2>
 * {@link #close()} must run after the data path threads stopped using the device.
 */
public final class VirtioUserDevice implements AutoCloseable {
    static { // see DataPathClasses
        DataPathClasses.resolve(VirtioUserDevice.class, Packet.class, PacketBatch.class, PacketPool.class,
                SplitRing.class, EventFd.class);
    }

    static final Logger LOG = Logger.getLogger("virtio_user");
    private static final int MAX_REPLY_FDS = 8;
    private static final int SCRATCH_SIZE = 256 * 1024;

    private final VirtioUserConfig cfg;
    private final String name;
    private final SharedMemory memory;
    private final ByteBuffer mem;
    private final Virtqueue[] queues;
    private final int scratchOff;
    private final ReentrantLock chanLock = new ReentrantLock();
    private final Object stateLock = new Object();
    private final UnixSocket listenSock;
    private final Thread control;

    private volatile UnixSocket sock;
    private volatile boolean closed;
    private volatile boolean connected;
    private volatile boolean ready;
    private int failedSetups; // control thread only: setups refused in a row
    private volatile long generation;
    private volatile String lastError;
    private volatile boolean gaveUp;
    private volatile long features;
    private volatile long protocolFeatures;
    private volatile long backendQueueNum = -1;
    private volatile boolean replyAck;
    private volatile Runnable listener;

    private VirtioUserDevice(VirtioUserConfig cfg) throws IOException {
        this.cfg = cfg;
        this.name = cfg.name;
        int n = cfg.queueSize;
        int nq = 2 * cfg.queuePairs;
        // layout: rings, TX indirect tables, scratch, buffers
        long off = 0;
        int[] ringOff = new int[nq];
        for (int q = 0; q < nq; q++) {
            ringOff[q] = (int) off;
            off += Virtqueue.ringBytes(n);
        }
        int txK = txDescsPerSlot(cfg.txShape);
        int[] indOff = new int[nq];
        for (int q = 1; q < nq; q += 2) {
            indOff[q] = (int) off;
            off += RingMath.alignUp(Virtqueue.IND_TABLE_BYTES * (n / txK), 4096);
        }
        scratchOff = (int) off;
        off += SCRATCH_SIZE;
        int txSlotBytes = RingMath.alignUp(cfg.txBufSize, 64);
        int rxSeg = cfg.effectiveRxBufSize();
        int rxK = cfg.mrgRxbuf ? 1 : (cfg.rxMaxLen + rxSeg - 1) / rxSeg;
        int rxSlotBytes = rxSeg * rxK;
        int[] bufOff = new int[nq];
        for (int q = 0; q < nq; q++) {
            off = RingMath.alignUp((int) off, 4096);
            bufOff[q] = (int) off;
            boolean tx = (q & 1) == 1;
            off += (long) (tx ? txSlotBytes : rxSlotBytes) * (n / (tx ? txK : rxK));
            if (off > cfg.memSize) {
                break;
            }
        }
        if (off > cfg.memSize) {
            throw new IllegalArgumentException("mem_size " + cfg.memSize + " is too small for " + cfg.queuePairs
                    + " queue pair(s) of " + n + " descriptors with these buffer sizes (needs at least " + off
                    + " bytes)");
        }
        memory = SharedMemory.createMemfd("pvio-virtio-user-" + name, cfg.memSize, cfg.sealMemory);
        mem = memory.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        queues = new Virtqueue[nq];
        UnixSocket ls = null;
        try {
            for (int q = 0; q < nq; q++) {
                boolean tx = (q & 1) == 1;
                int ro = ringOff[q];
                int availOff = ro + SplitRing.descTableBytes(n);
                int usedOff = ro + SplitRing.legacyUsedOffset(n, SplitRing.LEGACY_ALIGN);
                queues[q] = new Virtqueue(q, mem, cfg.gpaBase, ro, availOff, usedOff, n, tx ? txK : rxK, bufOff[q],
                        tx ? txSlotBytes : rxSlotBytes, tx ? txSlotBytes : rxSeg, indOff[q], cfg.txShape,
                        cfg.mrgRxbuf, cfg.packed, EventFd.create(), EventFd.create());
                queues[q].init();
            }
            if (cfg.server) {
                Path p = cfg.path;
                if (Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    if (!isSocket(p)) {
                        throw new IOException(p + " exists and is not a socket; refusing to replace it");
                    }
                    Files.delete(p);
                }
                ls = UnixSocket.listen(p, 1);
            }
        } catch (IOException | RuntimeException e) {
            releaseQueues();
            memory.unmap();
            throw e;
        }
        listenSock = ls;
        control = new Thread(this::controlLoop, "virtio-user-" + name);
        control.setDaemon(true);
    }

    private static boolean isSocket(Path p) {
        try {
            return "socket".equals(Files.probeContentType(p)) || Files.readAttributes(p,
                    java.nio.file.attribute.BasicFileAttributes.class,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS).isOther();
        } catch (IOException e) {
            return false;
        }
    }

    static int txDescsPerSlot(TxShape s) {
        switch (s) {
            case CHAIN:
                return 2;
            case SPLIT:
                return 4;
            default:
                return 1;
        }
    }

    /**
     * Creates the device and starts connecting (client) or listening (server) in the background; use
     * {@link #awaitReady} to wait for a configured back end.
     *
     * @throws IllegalArgumentException for a bad configuration
     * @throws IOException when guest memory or the listening socket cannot be created
     */
    public static VirtioUserDevice open(VirtioUserConfig config) throws IOException {
        VirtioUserConfig c = config.copy();
        c.validate();
        VirtioUserDevice d = new VirtioUserDevice(c);
        LOG.info(d.name + ": guest memory " + (c.memSize >> 20) + " MiB at gpa 0x" + Long.toHexString(c.gpaBase)
                + ", " + c.queuePairs + " queue pair(s) of " + c.queueSize + (c.packed ? " (packed)" : "") + ", "
                + (c.server ? "listening on " : "connecting to ") + c.path);
        d.control.start();
        return d;
    }

    // ------------------------------------------------------------------ state --

    /** The configuration in force (a copy). */
    public VirtioUserConfig config() {
        return cfg.copy();
    }

    public String name() {
        return name;
    }

    public int queuePairs() {
        return cfg.queuePairs;
    }

    /** True while a back end is connected and the setup completed (the link is up). */
    public boolean isReady() {
        return ready;
    }

    /** True while a socket to a back end is open (set up or not). */
    public boolean isConnected() {
        return connected;
    }

    /** Number of completed setups so far (grows by one per (re)connection). */
    public long generation() {
        return generation;
    }

    /** The last connection or setup error, or null. */
    public String lastError() {
        return lastError;
    }

    /** Negotiated virtio features of the current (or last) connection. */
    public long features() {
        return features;
    }

    /** Negotiated vhost-user protocol features of the current (or last) connection. */
    public long protocolFeatures() {
        return protocolFeatures;
    }

    /** GET_QUEUE_NUM's answer, or -1 when it was not asked. */
    public long backendQueueNum() {
        return backendQueueNum;
    }

    /** Called (on the control thread) whenever the device goes up or down. */
    public void setListener(Runnable r) {
        listener = r;
    }

    /**
     * Waits until the device is ready with a generation greater than {@code afterGeneration}.
     *
     * @return true when ready; false on timeout, or when the device gave up (see {@link #lastError()})
     */
    public boolean awaitReady(long afterGeneration, long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        synchronized (stateLock) {
            while (!(ready && generation > afterGeneration)) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0 || closed || gaveUp) {
                    return false;
                }
                stateLock.wait(Math.min(left, 100));
            }
            return true;
        }
    }

    /** Waits until the device is ready (any generation). */
    public boolean awaitReady(long timeoutMs) throws InterruptedException {
        return awaitReady(0, timeoutMs);
    }

    /** Waits until the device is down (no back end). */
    public boolean awaitDown(long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        synchronized (stateLock) {
            while (connected) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0) {
                    return false;
                }
                stateLock.wait(Math.min(left, 100));
            }
            return true;
        }
    }

    private void stateChanged() {
        synchronized (stateLock) {
            stateLock.notifyAll();
        }
        Runnable r = listener;
        if (r != null) {
            try {
                r.run();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, name + ": state listener failed", e);
            }
        }
    }

    // ------------------------------------------------------------------ data path --

    private Virtqueue txq(int pair) {
        return queues[2 * pair + 1];
    }

    private Virtqueue rxq(int pair) {
        return queues[2 * pair];
    }

    /** Largest frame that can be transmitted. */
    public int maxTxFrame() {
        return cfg.maxTxFrame();
    }

    private boolean txOne(Virtqueue q, int len) {
        if (len <= 0 || len > q.maxFrame) {
            throw new IllegalArgumentException("frame length " + len + " outside 1.." + q.maxFrame);
        }
        if (!q.ready || q.raw) {
            q.count(Virtqueue.C_NOT_READY, 1);
            return false;
        }
        return q.enqueue(len);
    }

    /**
     * Transmits one frame (bytes {@code off..off+len} of {@code frame}) on queue pair {@code pair} and
     * publishes it. Returns false when the device is not ready or the TX ring is full (counted).
     */
    public boolean transmit(int pair, byte[] frame, int off, int len) {
        Virtqueue q = txq(pair);
        q.sourceBytes(frame, off);
        boolean ok = txOne(q, len);
        q.publish();
        return ok;
    }

    public boolean transmit(int pair, byte[] frame) {
        return transmit(pair, frame, 0, frame.length);
    }

    /** Transmits the bytes between {@code frame}'s position and limit (position unchanged). */
    public boolean transmit(int pair, ByteBuffer frame) {
        Virtqueue q = txq(pair);
        q.sourceBuffer(frame, frame.position());
        boolean ok = txOne(q, frame.remaining());
        q.publish();
        return ok;
    }

    /** Transmits a packet's bytes (all segments). The packet stays the caller's (not freed). */
    public boolean transmit(int pair, Packet pkt) {
        Virtqueue q = txq(pair);
        q.sourcePacket(pkt);
        boolean ok = txOne(q, pkt.length());
        q.publish();
        return ok;
    }

    /**
     * Transmits {@code frames[i][0..lens[i])} for i &lt; n, publishing once. Returns how many were
     * accepted (the first ones; stops at the first that does not fit).
     */
    public int transmitBatch(int pair, byte[][] frames, int[] lens, int n) {
        Virtqueue q = txq(pair);
        int sent = 0;
        for (; sent < n; sent++) {
            q.sourceBytes(frames[sent], 0);
            if (!txOne(q, lens[sent])) {
                break;
            }
        }
        q.publish();
        return sent;
    }

    /**
     * Transmits the packets of {@code batch} (the batch and its packets stay the caller's), publishing once.
     * Returns how many were accepted; packets longer than {@link #maxTxFrame()} (counted as TX errors) and
     * those that found the ring full or the device down are not transmitted.
     */
    public int transmitBatch(int pair, PacketBatch batch) {
        Virtqueue q = txq(pair);
        int sent = 0;
        for (int i = 0; i < batch.size(); i++) {
            Packet p = batch.get(i);
            int len = p.length();
            if (len <= 0 || len > q.maxFrame) {
                q.count(Virtqueue.C_ERRORS, 1);
                continue;
            }
            if (!q.ready || q.raw) {
                q.count(Virtqueue.C_NOT_READY, batch.size() - i);
                break;
            }
            q.sourcePacket(p);
            if (!q.enqueue(len)) {
                q.count(Virtqueue.C_RING_FULL, batch.size() - i - 1);
                break;
            }
            sent++;
        }
        q.publish();
        return sent;
    }

    /** Reclaims TX slots the back end completed; returns frames still in flight on pair {@code pair}. */
    public int reclaim(int pair) {
        return txq(pair).reclaim();
    }

    /**
     * Receives one frame of pair {@code pair} into {@code dst} from {@code off}. Returns the frame's length
     * (if larger than {@code dst.length - off}, only that much was copied and the frame counts as dropped),
     * or -1 when no frame is waiting. Reposts the buffers at once.
     */
    public int receive(int pair, byte[] dst, int off) {
        Virtqueue q = rxq(pair);
        if (q.raw) {
            return -1;
        }
        int len = q.rxNext();
        if (len < 0) {
            return -1;
        }
        q.copyOut(dst, off, dst.length - off);
        if (len > dst.length - off) {
            q.count(Virtqueue.C_DROPPED, 1);
        } else {
            q.count(Virtqueue.C_PACKETS, 1);
            q.count(Virtqueue.C_BYTES, len);
        }
        q.rxRelease();
        q.publish();
        return len;
    }

    /**
     * Receives up to {@code batch.room()} frames of pair {@code pair} as packets of {@code pool} (chained
     * when a frame exceeds one buffer) added to {@code batch}; the caller owns them. Frames that do not fit
     * the pool are dropped (counted). Returns the number added.
     */
    public int receive(int pair, PacketPool pool, PacketBatch batch) {
        Virtqueue q = rxq(pair);
        if (q.raw) {
            return 0;
        }
        int got = 0;
        while (!batch.isFull()) {
            int len = q.rxNext();
            if (len < 0) {
                break;
            }
            Packet p = pool.alloc();
            if (p == null) {
                q.count(Virtqueue.C_DROPPED, 1);
                q.rxRelease();
                continue;
            }
            if (!q.copyOut(p)) {
                p.free();
                q.count(Virtqueue.C_DROPPED, 1);
                q.rxRelease();
                continue;
            }
            q.rxRelease();
            q.count(Virtqueue.C_PACKETS, 1);
            q.count(Virtqueue.C_BYTES, len);
            batch.add(p);
            got++;
        }
        q.publish();
        return got;
    }

    /** Fills {@code s} with the sums of all queues' counters. */
    public void stats(VirtioUserStats s) {
        s.clear();
        for (Virtqueue q : queues) {
            if (q.tx) {
                s.txPackets += q.counter(Virtqueue.C_PACKETS);
                s.txBytes += q.counter(Virtqueue.C_BYTES);
                s.txRingFull += q.counter(Virtqueue.C_RING_FULL);
                s.txNotReady += q.counter(Virtqueue.C_NOT_READY);
                s.txErrors += q.counter(Virtqueue.C_ERRORS);
            } else {
                s.rxPackets += q.counter(Virtqueue.C_PACKETS);
                s.rxBytes += q.counter(Virtqueue.C_BYTES);
                s.rxErrors += q.counter(Virtqueue.C_ERRORS);
                s.rxDropped += q.counter(Virtqueue.C_DROPPED);
            }
            s.kicks += q.counter(Virtqueue.C_KICKS);
        }
    }

    /** A new stats snapshot (allocates: control path). */
    public VirtioUserStats stats() {
        VirtioUserStats s = new VirtioUserStats();
        stats(s);
        return s;
    }

    // ------------------------------------------------------------------ raw mode --

    /**
     * Puts virtqueue {@code queueIndex} (RX 2p, TX 2p+1) into raw mode and returns its raw handle; the normal
     * data path skips the queue from now on.
     */
    public RawQueue rawQueue(int queueIndex) {
        Virtqueue q = queues[queueIndex];
        q.raw = true;
        return new RawQueue(q);
    }

    /** Guest physical address of guest memory byte 0. */
    public long gpaBase() {
        return cfg.gpaBase;
    }

    /** Guest memory size. */
    public long memSize() {
        return cfg.memSize;
    }

    /** Guest physical address of a scratch area that the driver never uses (for raw-mode tests). */
    public long scratchGpa() {
        return cfg.gpaBase + scratchOff;
    }

    public int scratchSize() {
        return SCRATCH_SIZE;
    }

    /** Writes bytes into guest memory at guest physical address {@code gpa} (bounds-checked). */
    public void guestWrite(long gpa, byte[] src, int off, int len) {
        mem.put(guestOffset(gpa, len), src, off, len);
    }

    /** Reads bytes of guest memory at guest physical address {@code gpa} (bounds-checked). */
    public void guestRead(long gpa, byte[] dst, int off, int len) {
        mem.get(guestOffset(gpa, len), dst, off, len);
    }

    private int guestOffset(long gpa, int len) {
        long o = gpa - cfg.gpaBase;
        if (o < 0 || len < 0 || o + len > cfg.memSize) {
            throw new IndexOutOfBoundsException("gpa 0x" + Long.toHexString(gpa) + "+" + len + " outside guest memory");
        }
        return (int) o;
    }

    /** The guest memory's memfd (e.g. to send in a hand-made SET_MEM_TABLE). */
    public int memFd() {
        return memory.fd();
    }

    /** A kick and a call eventfd of queue {@code queueIndex} (e.g. for hand-made SET_VRING_KICK). */
    public int kickFd(int queueIndex) {
        return queues[queueIndex].kickFd.fd();
    }

    public int callFd(int queueIndex) {
        return queues[queueIndex].callFd.fd();
    }

    /**
     * Holds the vhost-user channel for the calling thread until {@link Channel#close()}: the control thread
     * reads nothing meanwhile, so the caller can send and receive arbitrary messages.
     */
    public Channel channel() throws IOException {
        chanLock.lock();
        if (sock == null) {
            chanLock.unlock();
            throw new IOException(name + ": not connected");
        }
        return new Channel(sock);
    }

    /** Sends {@code msg} and, when {@code expectReply}, returns the back end's next message (else null). */
    public VhostUserMessage request(VhostUserMessage msg, boolean expectReply) throws IOException {
        try (Channel ch = channel()) {
            ch.send(msg);
            return expectReply ? ch.receive(cfg.replyTimeoutMs) : null;
        }
    }

    /** Exclusive use of the vhost-user socket by one thread (raw mode). */
    public final class Channel implements AutoCloseable {
        private final UnixSocket s;
        private boolean open = true;

        private Channel(UnixSocket s) {
            this.s = s;
        }

        public void send(VhostUserMessage m) throws IOException {
            writeMessage(s, m);
        }

        /** The next message, waiting up to {@code timeoutMs}; null when the back end closed the connection. */
        public VhostUserMessage receive(int timeoutMs) throws IOException {
            if (!s.awaitReadable(timeoutMs)) {
                throw new IOException(name + ": no message from the back end within " + timeoutMs + " ms");
            }
            return readMessage(s);
        }

        /** True when the back end has closed the connection (or sent something) within {@code timeoutMs}. */
        public boolean readable(int timeoutMs) throws IOException {
            return s.awaitReadable(timeoutMs);
        }

        @Override
        public void close() {
            if (open) {
                open = false;
                chanLock.unlock();
            }
        }
    }

    // ------------------------------------------------------------------ messages --

    private void writeMessage(UnixSocket s, VhostUserMessage m) throws IOException {
        byte[] b = new byte[HEADER_SIZE + m.payload.length];
        ByteBuffer h = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(0, m.request).putInt(4, m.flags).putInt(8, m.size);
        System.arraycopy(m.payload, 0, b, HEADER_SIZE, m.payload.length);
        s.send(b, 0, b.length, m.fds, m.fds.length);
    }

    /** Reads one message; null on EOF before a header. Received descriptors belong to the caller. */
    private VhostUserMessage readMessage(UnixSocket s) throws IOException {
        byte[] h = new byte[HEADER_SIZE];
        int[] fds = new int[MAX_REPLY_FDS];
        int[] nfds = new int[1];
        if (!s.receiveFully(h, 0, HEADER_SIZE, fds, nfds)) {
            return null;
        }
        ByteBuffer hb = ByteBuffer.wrap(h).order(ByteOrder.LITTLE_ENDIAN);
        int size = hb.getInt(8);
        if (size < 0 || size > MAX_PAYLOAD) {
            Fd.closeAll(fds, nfds[0]);
            throw new IOException(name + ": back end sent " + requestName(hb.getInt(0)) + " with payload size "
                    + Integer.toUnsignedString(size) + " (at most " + MAX_PAYLOAD + ")");
        }
        byte[] payload = new byte[size];
        if (size > 0 && !s.receiveFully(payload, 0, size, new int[0], new int[1])) {
            Fd.closeAll(fds, nfds[0]);
            throw new IOException(name + ": connection closed in the middle of a message");
        }
        return new VhostUserMessage(hb.getInt(0), hb.getInt(4), size, payload,
                java.util.Arrays.copyOf(fds, nfds[0]));
    }

    private VhostUserMessage awaitReply(UnixSocket s, int request) throws IOException {
        if (!s.awaitReadable(cfg.replyTimeoutMs)) {
            throw new IOException("no reply to " + requestName(request) + " within " + cfg.replyTimeoutMs + " ms");
        }
        VhostUserMessage r = readMessage(s);
        if (r == null) {
            throw new IOException("back end closed the connection instead of replying to " + requestName(request));
        }
        Fd.closeAll(r.fds, r.fds.length);
        if (r.request != request || !r.isReply()) {
            throw new IOException("expected a reply to " + requestName(request) + ", got " + r);
        }
        return r;
    }

    /** A GET request with a u64 reply. */
    private long getU64(UnixSocket s, int request) throws IOException {
        writeMessage(s, new VhostUserMessage(request, FLAG_VERSION, null));
        VhostUserMessage r = awaitReply(s, request);
        if (r.payload.length != 8) {
            throw new IOException("reply to " + requestName(request) + " has " + r.payload.length
                    + " payload bytes, expected 8");
        }
        return r.payloadU64();
    }

    /** A SET request; with REPLY_ACK negotiated, asks for and checks the acknowledgement. */
    private void set(UnixSocket s, int request, byte[] payload, int... fds) throws IOException {
        boolean ack = replyAck;
        writeMessage(s, new VhostUserMessage(request, FLAG_VERSION | (ack ? FLAG_NEED_REPLY : 0), payload, fds));
        if (ack) {
            VhostUserMessage r = awaitReply(s, request);
            long status = r.payloadU64();
            if (status != 0) {
                throw new IOException("back end rejected " + requestName(request) + " (status " + status + ")");
            }
        }
    }

    private static byte[] u64(long v) {
        return VhostUserMessage.le(8).putLong(0, v).array();
    }

    private static byte[] state(int index, int num) {
        return VhostUserMessage.le(8).putInt(0, index).putInt(4, num).array();
    }

    // ------------------------------------------------------------------ setup --

    private static long bit(int b) {
        return 1L << b;
    }

    private void setup(UnixSocket s) throws IOException {
        replyAck = false;
        backendQueueNum = -1;
        long offered = getU64(s, GET_FEATURES);
        if ((offered & bit(VIRTIO_F_VERSION_1)) == 0) {
            throw new IOException("back end does not offer VIRTIO_F_VERSION_1 (features 0x"
                    + Long.toHexString(offered) + "); only virtio 1.x is supported");
        }
        if (cfg.mrgRxbuf && (offered & bit(VIRTIO_NET_F_MRG_RXBUF)) == 0) {
            throw new IOException("back end does not offer VIRTIO_NET_F_MRG_RXBUF; use mrg_rxbuf=false");
        }
        if (cfg.txShape == TxShape.INDIRECT && (offered & bit(VIRTIO_RING_F_INDIRECT_DESC)) == 0) {
            throw new IOException("back end does not offer VIRTIO_RING_F_INDIRECT_DESC, needed by tx_shape=indirect");
        }
        if (cfg.packed && (offered & bit(VIRTIO_F_RING_PACKED)) == 0) {
            throw new IOException("back end does not offer VIRTIO_F_RING_PACKED; use packed=false");
        }
        long want = bit(VIRTIO_F_VERSION_1) | bit(VHOST_USER_F_PROTOCOL_FEATURES) | bit(VIRTIO_NET_F_MQ);
        if (cfg.packed) {
            want |= bit(VIRTIO_F_RING_PACKED);
        }
        if (cfg.mrgRxbuf) {
            want |= bit(VIRTIO_NET_F_MRG_RXBUF);
        }
        if (cfg.indirectDesc) {
            want |= bit(VIRTIO_RING_F_INDIRECT_DESC);
        }
        if (cfg.eventIdx) {
            want |= bit(VIRTIO_RING_F_EVENT_IDX);
        }
        long neg = offered & want;
        long pneg = 0;
        if ((neg & bit(VHOST_USER_F_PROTOCOL_FEATURES)) != 0) {
            long poffered = getU64(s, GET_PROTOCOL_FEATURES);
            pneg = poffered & (bit(PROTOCOL_F_MQ) | bit(PROTOCOL_F_REPLY_ACK));
            set(s, SET_PROTOCOL_FEATURES, u64(pneg));
            replyAck = (pneg & bit(PROTOCOL_F_REPLY_ACK)) != 0;
            if ((pneg & bit(PROTOCOL_F_MQ)) != 0) {
                long qn = getU64(s, GET_QUEUE_NUM);
                backendQueueNum = qn;
                if (qn < cfg.queuePairs) {
                    throw new IOException("back end supports " + qn + " queue pair(s), " + cfg.queuePairs
                            + " configured");
                }
            }
        }
        if (cfg.queuePairs > 1 && ((neg & bit(VIRTIO_NET_F_MQ)) == 0 || (pneg & bit(PROTOCOL_F_MQ)) == 0)) {
            throw new IOException("back end does not support multiqueue (VIRTIO_NET_F_MQ and protocol MQ), "
                    + cfg.queuePairs + " queue pairs configured");
        }
        set(s, SET_OWNER, null);
        set(s, SET_FEATURES, u64(neg));
        ByteBuffer m = VhostUserMessage.le(8 + 32);
        m.putInt(0, 1).putInt(4, 0);
        m.putLong(8, cfg.gpaBase).putLong(16, cfg.memSize).putLong(24, cfg.uvaBase).putLong(32, 0);
        set(s, SET_MEM_TABLE, m.array(), memory.fd());
        boolean evt = (neg & bit(VIRTIO_RING_F_EVENT_IDX)) != 0;
        for (Virtqueue q : queues) {
            q.eventIdx = evt;
            set(s, SET_VRING_CALL, u64(q.index), q.callFd.fd());
        }
        for (Virtqueue q : queues) {
            int base = q.resumeBase();
            set(s, SET_VRING_NUM, state(q.index, q.size));
            set(s, SET_VRING_BASE, state(q.index, base));
            ByteBuffer a = VhostUserMessage.le(40);
            a.putInt(0, q.index).putInt(4, 0).putLong(8, cfg.uvaBase + q.descOff).putLong(16, cfg.uvaBase + q.usedOff)
                    .putLong(24, cfg.uvaBase + q.availOff).putLong(32, 0);
            set(s, SET_VRING_ADDR, a.array());
            set(s, SET_VRING_KICK, u64(q.index), q.kickFd.fd());
            LOG.fine(name + ": queue " + q.index + " size " + q.size + " base 0x" + Integer.toHexString(base));
        }
        if ((neg & bit(VHOST_USER_F_PROTOCOL_FEATURES)) != 0) {
            for (Virtqueue q : queues) {
                set(s, SET_VRING_ENABLE, state(q.index, 1));
            }
        }
        features = neg;
        protocolFeatures = pneg;
        LOG.info(name + ": vhost-user device ready: features 0x" + Long.toHexString(neg) + " (offered 0x"
                + Long.toHexString(offered) + "), protocol features 0x" + Long.toHexString(pneg));
    }

    /** Stops the rings with GET_VRING_BASE (best effort, on close). */
    private void stopRings(UnixSocket s) {
        for (Virtqueue q : queues) {
            try {
                writeMessage(s, new VhostUserMessage(GET_VRING_BASE, FLAG_VERSION, state(q.index, 0)));
                VhostUserMessage r = awaitReply(s, GET_VRING_BASE);
                LOG.fine(name + ": queue " + q.index + " stopped at " + (r.payload.length >= 8 ? r.payloadU32(4) : -1));
            } catch (IOException e) {
                LOG.fine(name + ": GET_VRING_BASE of queue " + q.index + " failed: " + e.getMessage());
                return;
            }
        }
    }

    // ------------------------------------------------------------------ control thread --

    private void controlLoop() {
        while (!closed) {
            UnixSocket s = cfg.server ? acceptOne() : connectWithRetry();
            if (s == null) {
                break;
            }
            chanLock.lock();
            try {
                sock = s;
                connected = true;
            } finally {
                chanLock.unlock();
            }
            try {
                if (cfg.handshake) {
                    chanLock.lock();
                    try {
                        setup(s);
                    } finally {
                        chanLock.unlock();
                    }
                    for (Virtqueue q : queues) {
                        q.ready = true;
                        q.kickFd.signal(); // as DPDK's virtio_dev_start: a back end that waits for a kick
                    }                      // sees the buffers posted before it (re)connected
                    ready = true;
                    lastError = null;
                    generation++;
                    failedSetups = 0;
                }
                stateChanged();
                monitor(s);
            } catch (IOException | RuntimeException e) {
                if (!closed) {
                    lastError = "vhost-user session on " + cfg.path + " failed: " + e.getMessage();
                    if (!ready) {
                        failedSetups++; // a setup the back end refuses: retried with a growing delay
                    }
                    if ((failedSetups & (failedSetups - 1)) == 0) { // 0, 1, 2, 4, 8...
                        LOG.warning(name + ": " + lastError + (failedSetups > 1 ? " (" + failedSetups
                                + " setups in a row)" : ""));
                    }
                }
            } finally {
                for (Virtqueue q : queues) {
                    q.ready = false;
                }
                ready = false;
                chanLock.lock();
                try {
                    if (closed && cfg.handshake && generation > 0 && connected) {
                        stopRings(s);
                    }
                    sock = null;
                    connected = false;
                    s.close();
                } finally {
                    chanLock.unlock();
                }
                stateChanged();
            }
            if (!cfg.reconnect || closed) {
                break;
            }
            LOG.info(name + ": back end went away; " + (cfg.server ? "waiting for it to connect again"
                    : "reconnecting"));
            sleepQuietly(failedSetups == 0 ? 100 : (int) Math.min(5000, 100L << Math.min(6, failedSetups - 1)));
        }
    }

    /** Watches the connection for hang-up (and logs unexpected messages) until it ends or the device closes. */
    private void monitor(UnixSocket s) throws IOException {
        while (!closed) {
            if (!s.awaitReadable(100)) {
                continue;
            }
            chanLock.lock();
            try {
                if (closed) {
                    return;
                }
                if (!s.awaitReadable(0)) {
                    continue;
                }
                VhostUserMessage m = readMessage(s);
                if (m == null) {
                    LOG.info(name + ": back end closed the connection");
                    return;
                }
                Fd.closeAll(m.fds, m.fds.length);
                LOG.warning(name + ": ignoring unexpected message from the back end: " + m);
            } finally {
                chanLock.unlock();
            }
        }
    }

    private UnixSocket acceptOne() {
        while (!closed) {
            try {
                if (listenSock.awaitReadable(200)) {
                    UnixSocket s = listenSock.accept();
                    LOG.info(name + ": back end connected to " + cfg.path);
                    return s;
                }
            } catch (PosixException e) {
                if (closed) {
                    return null;
                }
                lastError = "accept on " + cfg.path + " failed: " + e.getMessage();
                LOG.warning(name + ": " + lastError);
                sleepQuietly(200);
            }
        }
        return null;
    }

    private UnixSocket connectWithRetry() {
        long start = System.nanoTime();
        String err = null;
        int delay = 20;
        while (!closed) {
            try {
                UnixSocket s = UnixSocket.connect(cfg.path);
                LOG.info(name + ": connected to " + cfg.path);
                return s;
            } catch (PosixException e) {
                err = e.getMessage();
            }
            long waited = (System.nanoTime() - start) / 1_000_000L;
            if (cfg.connectTimeoutMs > 0 && waited >= cfg.connectTimeoutMs) {
                lastError = "could not connect to " + cfg.path + " within " + cfg.connectTimeoutMs + " ms: " + err;
                LOG.warning(name + ": " + lastError);
                gaveUp = true;
                stateChanged();
                return null;
            }
            sleepQuietly(delay);
            delay = Math.min(500, delay * 2);
        }
        return null;
    }

    private void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops the rings (GET_VRING_BASE), disconnects, removes a server socket and releases guest memory.
     * The data path must have stopped using the device.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            control.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        UnixSocket s = sock;
        if (s != null) {
            s.shutdown();
            try {
                control.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (listenSock != null) {
            listenSock.close();
            try {
                Files.deleteIfExists(cfg.path);
            } catch (IOException e) {
                LOG.fine(name + ": could not remove " + cfg.path + ": " + e.getMessage());
            }
        }
        releaseQueues();
        memory.unmap();
        stateChanged();
        LOG.info(name + ": closed");
    }

    private void releaseQueues() {
        for (Virtqueue q : queues) {
            if (q != null) {
                q.kickFd.close();
                q.callFd.close();
            }
        }
    }

    @Override
    public String toString() {
        return "VirtioUserDevice[" + name + " " + cfg.path + (ready ? " ready" : connected ? " connected" : " down")
                + "]";
    }
}
