package io.pvio.vhost.user;

import io.pvio.vhost.ring.Virtqueue;
import io.pvio.vhost.user.VhostDevice.Message;
import java.nio.ByteBuffer;

/**
 * The back end's vhost-user requests as a table (DPDK vhost_user.c's vhost_message_handlers): for each
 * request the payload sizes and descriptor counts it accepts, the lock its handler runs under, and the
 * handler. {@link #check} refuses a message the table does not accept before any handler runs.
 */
final class MessageTable {
    /** The locks a handler runs under. */
    enum Lock {
        /** None: the handler touches no ring, or locks the rings itself one at a time. */
        NONE,
        /** The addressed ring's lock, taken by {@link VhostDevice} around the handler ({@link #ring}). */
        QUEUE,
        /** Every ring's lock, taken by the handler itself: mapping and unmapping stay outside the locks. */
        ALL
    }

    /** A request's handler; {@code vq} is the addressed ring for {@link Lock#QUEUE} rows, else null. */
    @FunctionalInterface
    interface Handler {
        /** Returns the reply payload for requests that reply with data, else null. */
        ByteBuffer handle(Message m, Virtqueue vq) throws VhostUserException;
    }

    /** One request: payload size in [minSize, maxSize] bytes, [minFds, maxFds] descriptors. */
    record Row(int request, int minSize, int maxSize, int minFds, int maxFds, Lock lock, Handler handler) {
        static Row exact(int request, int size, int fds, Lock lock, Handler handler) {
            return new Row(request, size, size, fds, fds, lock, handler);
        }
    }

    private final Row[] rows;
    private final int count;

    MessageTable(Row... rows) {
        int max = 0;
        for (Row r : rows) {
            max = Math.max(max, r.request());
        }
        this.rows = new Row[max + 1];
        for (Row r : rows) {
            if (this.rows[r.request()] != null) {
                throw new IllegalArgumentException("two rows for " + Request.name(r.request()));
            }
            this.rows[r.request()] = r;
        }
        this.count = rows.length;
    }

    /** The row of {@code request}, or null when the back end does not accept it. */
    Row row(int request) {
        return request >= 0 && request < rows.length ? rows[request] : null;
    }

    int size() {
        return count;
    }

    /** The row {@code m} is for, once its payload size and descriptor count are within the row's. */
    Row check(Message m) throws VhostUserException {
        Row r = row(m.request);
        if (r == null) {
            throw new VhostUserException("unsupported request", false);
        }
        if (m.size < r.minSize() || m.size > r.maxSize()) {
            throw new VhostUserException("payload of " + m.size + " bytes, expected " + range(r.minSize(), r.maxSize()),
                    false);
        }
        if (m.nfds < r.minFds() || m.nfds > r.maxFds()) {
            throw new VhostUserException(m.nfds + " file descriptors, expected " + range(r.minFds(), r.maxFds()),
                    false);
        }
        return r;
    }

    /**
     * The ring a {@link Lock#QUEUE} message addresses: the u32 at payload offset 0 (vhost_vring_state,
     * vhost_vring_addr), or for SET_VRING_KICK/CALL/ERR the u64 word's index bits (its other bits refused).
     */
    static int ring(Message m) throws VhostUserException {
        if (m.request == Request.SET_VRING_KICK || m.request == Request.SET_VRING_CALL
                || m.request == Request.SET_VRING_ERR) {
            long word = m.payload.getLong(0);
            if ((word & ~(Request.VRING_IDX_MASK | Request.VRING_NOFD_MASK)) != 0) {
                throw new VhostUserException(String.format("bad vring index word 0x%x", word), false);
            }
            return (int) (word & Request.VRING_IDX_MASK);
        }
        return m.payload.getInt(0);
    }

    private static String range(int min, int max) {
        return min == max ? Integer.toString(min) : min + ".." + max;
    }
}
