package io.pvio.dpif.netdev;

import io.pvio.netdev.Netdev;
import io.pvio.netdev.NetdevClass;
import io.pvio.netdev.NetdevContext;
import io.pvio.netdev.NetdevStats;
import io.pvio.packet.Packet;
import io.pvio.packet.PacketBatch;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A netdev class whose ports transmit "asynchronously": send keeps the packets in flight and returns their
 * count; each freePkts completes up to 4 of them (when the gate is open) and returns what is left.
 */
final class FakeAsyncClass implements NetdevClass {
    static final String TYPE = "fakeasync";
    final Map<String, Port> ports = new ConcurrentHashMap<>();
    volatile Map<String, String> otherConfig;
    final AtomicLong otherConfigCalls = new AtomicLong();

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Netdev open(String name, Map<String, String> options, NetdevContext context) {
        Port p = new Port(name, Integer.parseInt(options.getOrDefault("n_txq", "1")));
        ports.put(name, p);
        return p;
    }

    @Override
    public void setOtherConfig(Map<String, String> cfg) {
        otherConfig = cfg;
        otherConfigCalls.incrementAndGet();
    }

    static final class Port implements Netdev {
        final String name;
        final int nTxq;
        final ArrayDeque<Packet>[] inFlight;
        volatile boolean gate = true;
        /** Thrown by every freePkts while set (a port that fails on each PMD iteration). */
        volatile Error fault;
        /** Thrown by the next send, once, after it took the batch's packets. */
        volatile Error sendFault;
        final AtomicLong sends = new AtomicLong();
        final AtomicLong freeCalls = new AtomicLong();
        final AtomicLong completed = new AtomicLong();
        volatile int inFlightAtClose = -1;
        volatile boolean sawConcurrent;

        @SuppressWarnings("unchecked")
        Port(String name, int nTxq) {
            this.name = name;
            this.nTxq = nTxq;
            inFlight = new ArrayDeque[nTxq];
            for (int i = 0; i < nTxq; i++) {
                inFlight[i] = new ArrayDeque<>();
            }
        }

        synchronized int inFlight() {
            int n = 0;
            for (ArrayDeque<Packet> q : inFlight) {
                n += q.size();
            }
            return n;
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
        public void setConfig(Map<String, String> options) {
        }

        @Override
        public Map<String, String> getConfig() {
            return Map.of();
        }

        @Override
        public int nRxq() {
            return 0;
        }

        @Override
        public int nTxq() {
            return nTxq;
        }

        @Override
        public int rxqRecv(int qid, PacketBatch batch) {
            return 0;
        }

        @Override
        public synchronized int send(int qid, PacketBatch batch, boolean concurrentTxq) {
            sends.incrementAndGet();
            sawConcurrent |= concurrentTxq;
            for (int i = 0; i < batch.size(); i++) {
                inFlight[qid].add(batch.get(i));
            }
            Error f = sendFault;
            if (f != null) {
                sendFault = null;
                throw f; // after taking the packets, which stay the port's
            }
            batch.clear();
            return inFlight[qid].size();
        }

        @Override
        public synchronized int freePkts(int qid, boolean concurrentTxq) {
            freeCalls.incrementAndGet();
            Error f = fault;
            if (f != null) {
                throw f;
            }
            if (gate) {
                for (int i = 0; i < 4 && !inFlight[qid].isEmpty(); i++) {
                    inFlight[qid].poll().free();
                    completed.incrementAndGet();
                }
            }
            return inFlight[qid].size();
        }

        @Override
        public void getStats(NetdevStats stats) {
            stats.txPackets = completed.get();
            stats.txInFlight = inFlight();
        }

        @Override
        public boolean carrier() {
            return true;
        }

        @Override
        public synchronized void close() {
            inFlightAtClose = inFlight();
            for (ArrayDeque<Packet> q : inFlight) {
                while (!q.isEmpty()) {
                    q.poll().free();
                }
            }
        }
    }
}
