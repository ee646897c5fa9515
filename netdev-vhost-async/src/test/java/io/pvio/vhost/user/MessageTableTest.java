package io.pvio.vhost.user;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.pvio.vhost.user.MessageTable.Row;
import io.pvio.vhost.user.VhostDevice.Message;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.Test;

/** VhostDevice's message table: one row per accepted request, sizes and descriptor counts checked first. */
public class MessageTableTest {
    /** The requests the back end accepts (vhost-user.rst numbers), as DPDK's table without the ones not offered. */
    private static final Set<Integer> ACCEPTED = Set.of(Request.GET_FEATURES, Request.SET_FEATURES,
            Request.SET_OWNER, Request.RESET_OWNER, Request.SET_MEM_TABLE, Request.SET_LOG_BASE,
            Request.SET_LOG_FD, Request.SET_VRING_NUM,
            Request.SET_VRING_ADDR, Request.SET_VRING_BASE, Request.GET_VRING_BASE, Request.SET_VRING_KICK,
            Request.SET_VRING_CALL, Request.SET_VRING_ERR, Request.GET_PROTOCOL_FEATURES,
            Request.SET_PROTOCOL_FEATURES, Request.GET_QUEUE_NUM, Request.SET_VRING_ENABLE, Request.SEND_RARP);

    static Message message(int request, int size, int nfds) {
        Message m = new Message();
        m.request = request;
        m.payload = ByteBuffer.allocate(Request.MAX_PAYLOAD).order(ByteOrder.LITTLE_ENDIAN);
        m.size = size;
        m.nfds = nfds;
        for (int i = 0; i < nfds; i++) {
            m.fds[i] = -1; // counted, never a descriptor of this process
        }
        return m;
    }

    @Test
    public void everyAcceptedRequestHasExactlyOneRow() {
        VhostDevice d = new VhostDevice("t0", () -> { });
        MessageTable t = d.messageTable();
        Set<Integer> rows = new TreeSet<>();
        for (int r = 0; r < 256; r++) {
            Message m = message(r, 0, 0);
            String error = null;
            try {
                d.handle(m);
            } catch (VhostUserException e) {
                error = e.getMessage();
            }
            boolean unsupported = "unsupported request".equals(error);
            assertEquals(Request.name(r) + ": " + error, t.row(r) == null, unsupported);
            if (t.row(r) != null) {
                assertEquals(r, t.row(r).request());
                rows.add(r);
            }
        }
        assertEquals(ACCEPTED, rows);
        assertEquals(rows.size(), t.size()); // no request has a second row
        Row a = t.row(Request.SET_OWNER);
        try {
            new MessageTable(a, a);
            fail("a table with two rows for one request");
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("VHOST_USER_SET_OWNER"));
        }
    }

    /** A message outside a row's sizes or descriptor counts never reaches the row's handler. */
    @Test
    public void wrongSizeOrFdCountIsRefusedBeforeTheHandler() throws Exception {
        VhostDevice d = new VhostDevice("t0", () -> { });
        List<Row> recording = new ArrayList<>();
        int[] calls = new int[1];
        for (int r = 0; r < 256; r++) {
            Row row = d.messageTable().row(r);
            if (row != null) {
                recording.add(new Row(r, row.minSize(), row.maxSize(), row.minFds(), row.maxFds(), row.lock(),
                        (m, vq) -> {
                            calls[0]++;
                            return null;
                        }));
            }
        }
        MessageTable t = new MessageTable(recording.toArray(new Row[0]));
        int refused = 0;
        for (Row row : recording) {
            List<Message> wrong = new ArrayList<>();
            if (row.minSize() > 0) {
                wrong.add(message(row.request(), row.minSize() - 1, row.minFds()));
            }
            wrong.add(message(row.request(), row.maxSize() + 1, row.minFds()));
            wrong.add(message(row.request(), row.maxSize() + 8, row.minFds()));
            if (row.minFds() > 0) {
                wrong.add(message(row.request(), row.minSize(), row.minFds() - 1));
            }
            wrong.add(message(row.request(), row.minSize(), row.maxFds() + 1));
            for (Message m : wrong) {
                try {
                    t.check(m);
                    fail(Request.name(row.request()) + " accepted " + m.size + " bytes, " + m.nfds + " fds");
                } catch (VhostUserException e) {
                    refused++;
                    assertTrue(e.getMessage(), e.getMessage().contains(m.nfds != row.minFds() ? "file descriptors"
                            : "payload of " + m.size + " bytes"));
                }
            }
            Message ok = message(row.request(), row.minSize(), row.minFds());
            assertNotNull(t.check(ok));
            t.check(ok).handler().handle(ok, null);
        }
        assertEquals(recording.size(), calls[0]); // only the well-formed messages
        assertTrue(refused >= 3 * recording.size());
    }

    /** Through the device: refused, counted, state untouched, the connection goes on. */
    @Test
    public void theDeviceRefusesAWrongSizeAndKeepsItsState() throws Exception {
        VhostDevice d = new VhostDevice("t0", () -> { });
        Message set = message(Request.SET_FEATURES, 8, 0);
        set.payload.putLong(0, 1L << 32); // VIRTIO_F_VERSION_1
        d.handle(set);
        assertEquals(1L << 32, d.features());
        Message shortOne = message(Request.SET_FEATURES, 4, 0);
        shortOne.payload.putLong(0, 0);
        try {
            d.handle(shortOne);
            fail();
        } catch (VhostUserException e) {
            assertEquals("payload of 4 bytes, expected 8", e.getMessage());
        }
        assertEquals(1L << 32, d.features());
        assertEquals(1, d.badMessages());
        assertEquals("VHOST_USER_SET_FEATURES: payload of 4 bytes, expected 8", d.lastError());
        Message withFd = message(Request.GET_QUEUE_NUM, 0, 1);
        try {
            d.handle(withFd);
            fail();
        } catch (VhostUserException e) {
            assertEquals("1 file descriptors, expected 0", e.getMessage());
        }
        assertEquals(0, withFd.nfds); // closed, not leaked
        Message q = message(Request.GET_QUEUE_NUM, 0, 0);
        assertEquals(VhostDevice.MAX_QUEUE_PAIRS, d.handle(q).getLong(0));
    }
}
